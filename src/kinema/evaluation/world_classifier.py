"""A small 3D-conv video classifier of the world, whose penultimate features embed clips for FVD.

FVD as published embeds clips with I3D trained on Kinetics; no such network can be downloaded
here, and Kinetics features would not know a star from a triangle anyway. This classifier is
trained on rendered world clips to name what the world varies: the colour, shape and motion of
the main object (learnt from one-object clips, where the main object is unambiguous), the
background and the object count (learnt from clips of one to three objects). Its 128-d
penultimate features are the FVD embedding (fvd.py).

The network is fully convolutional with global mean and max pooling, so any clip size and frame
count goes in without resizing: the square 64x64, landscape 80x48 and portrait 48x80 clips it is
trained on, and smaller ones. The shipped folder is `kinema/pretrained/world-classifier`
(config.json + fp16 model.safetensors); retrain it with

    python -m kinema.evaluation.world_classifier --train --out src/kinema/pretrained/world-classifier \\
        --results benchmarks/results/world_classifier.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kinema.world.render import render
from kinema.world.sampling import WorldDistribution, sample_scene
from kinema.world.spec import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, SceneSpec

OBJECT_HEADS = ("colour", "shape", "motion")  # the main object: trained and scored on one-object clips
SCENE_HEADS = ("background", "count")
TRAIN_SIZES = ((64, 64), (48, 80), (80, 48))  # (height, width): square, landscape, portrait
ATTENTION_MAPS = 2
IGNORE = -100  # cross_entropy's ignore_index
TRAIN_SEED = 70_000_000
EVAL_SEED = 71_000_000
FRAMES = 17
FPS = 8.0


@dataclass(frozen=True)
class WorldClassifierConfig:
    """Widths of the conv stages, the feature size, and the vocabulary each head names."""

    channels: tuple[int, ...] = (16, 32, 64, 128)
    feature_dim: int = 128
    colours: tuple[str, ...] = tuple(COLOURS)
    shapes: tuple[str, ...] = SHAPES
    motions: tuple[str, ...] = MOTIONS
    backgrounds: tuple[str, ...] = BACKGROUNDS
    max_count: int = 3

    def head_sizes(self) -> dict[str, int]:
        return {"colour": len(self.colours), "shape": len(self.shapes), "motion": len(self.motions),
                "background": len(self.backgrounds), "count": self.max_count}


class ConvStage(nn.Module):
    """3x3x3 conv (strided), BatchNorm, SiLU (BatchNorm learnt colour 2x faster than GroupNorm here)."""

    def __init__(self, in_channels: int, out_channels: int, stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.norm = nn.BatchNorm3d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.norm(self.conv(x)))


class WorldClassifier(nn.Module):
    """Video (B, 3, T, H, W) in [-1, 1] -> features (B, feature_dim) -> logits per head."""

    def __init__(self, config: WorldClassifierConfig = WorldClassifierConfig()) -> None:
        super().__init__()
        self.config = config
        # Time is halved at the first stage (half the cost; an object moves at most ~3 px in two
        # frames at 64x64, well inside a 3x3 kernel) and at the third.
        strides = [(2, 2, 2), (1, 2, 2), (2, 2, 2)] + [(1, 2, 2)] * (len(config.channels) - 3)
        widths = (5, *config.channels)  # RGB, chroma and the frame-to-frame change
        self.stages = nn.Sequential(*[ConvStage(widths[i], widths[i + 1], strides[i]) for i in range(len(config.channels))])
        # Objects are a few percent of the pixels, which mean pooling alone drowns in background:
        # attention and max pooling find them (measured: 40% colour accuracy after 60 steps, against
        # 8% for mean and max pooling with GroupNorm).
        self.attention = nn.Conv3d(config.channels[-1], ATTENTION_MAPS, 1)
        self.project = nn.Linear((ATTENTION_MAPS + 2) * config.channels[-1], config.feature_dim)
        self.heads = nn.ModuleDict({name: nn.Linear(config.feature_dim, size) for name, size in config.head_sizes().items()})

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """The FVD embedding: attention-, max- and mean-pooled conv features, projected. (B, feature_dim)"""
        # Chroma (max - min over RGB) marks the objects: the world keeps every background and
        # decoration below saturation 0.45 (spec.py); it lifted colour accuracy from 40% to 54% early on.
        chroma = video.amax(dim=1, keepdim=True) - video.amin(dim=1, keepdim=True)  # (B, 1, T, H, W)
        # The change since the previous frame (zero for the first) shows where things move, which
        # the first stage's time stride would otherwise blur (motion was 19% right without it).
        grey = video.mean(dim=1, keepdim=True)
        change = torch.cat([torch.zeros_like(grey[:, :, :1]), grey[:, :, 1:] - grey[:, :, :-1]], dim=2)
        x = self.stages(torch.cat([video, chroma, change], dim=1)).flatten(2)  # (B, C, N) over N = T' H' W' positions
        weights = self.attention.weight.flatten(1)  # (A, C)
        scores = torch.einsum("ac,bcn->ban", weights, x) + self.attention.bias[:, None]  # (B, A, N)
        attended = torch.einsum("ban,bcn->bac", scores.softmax(dim=-1), x).flatten(1)  # (B, A C)
        pooled = torch.cat([attended, x.amax(dim=2), x.mean(dim=2)], dim=1)  # (B, (A + 2) C)
        return F.silu(self.project(pooled))  # (B, feature_dim)

    def forward(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(video)
        return {name: head(features) for name, head in self.heads.items()}


def to_input(clips: np.ndarray) -> torch.Tensor:
    """uint8 clips (B, T, H, W, 3) -> float (B, 3, T, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def load_world_classifier(folder: str | Path | None = None) -> WorldClassifier:
    """The classifier in a model folder (default: the one shipped with Kinema)."""
    from kinema.models.io import load_model_folder
    from kinema.pretrained import PRETRAINED_DIR

    folder = Path(folder) if folder is not None else PRETRAINED_DIR / "world-classifier"
    return load_model_folder(WorldClassifierConfig, WorldClassifier, folder)


def save_world_classifier(model: WorldClassifier, folder: str | Path) -> Path:
    """Write config.json + fp16 model.safetensors."""
    from kinema.models.io import save_model_folder

    return save_model_folder(model, model.config, folder, torch.float16)


# ---------------------------------------------------------------------------- features and predictions


def by_shape(clips: Sequence[np.ndarray], batch: int) -> list[list[int]]:
    """Indices of clips grouped into batches of equal shape (a batch must stack)."""
    groups: dict[tuple, list[int]] = {}
    for index, clip in enumerate(clips):
        groups.setdefault(tuple(clip.shape), []).append(index)
    return [indices[i : i + batch] for indices in groups.values() for i in range(0, len(indices), batch)]


@torch.no_grad()
def clip_features(model: WorldClassifier, clips: Sequence[np.ndarray], batch: int = 32) -> np.ndarray:
    """Features (N, feature_dim) float64 of uint8 clips (T, H, W, 3) of any mix of sizes."""
    model.eval()
    out = np.zeros((len(clips), model.config.feature_dim))
    for indices in by_shape(clips, batch):
        out[indices] = model.features(to_input(np.stack([clips[i] for i in indices]))).double().numpy()
    return out


@torch.no_grad()
def predict(model: WorldClassifier, clips: Sequence[np.ndarray], batch: int = 32) -> list[dict]:
    """Per clip: the main object's colour, shape and motion, the background and the object count."""
    model.eval()
    config = model.config
    vocab = {"colour": config.colours, "shape": config.shapes, "motion": config.motions, "background": config.backgrounds,
             "count": tuple(range(1, config.max_count + 1))}
    results: list[dict] = [{} for _ in clips]
    for indices in by_shape(clips, batch):
        logits = model(to_input(np.stack([clips[i] for i in indices])))
        for name, values in vocab.items():
            for row, top in zip(indices, logits[name].argmax(dim=1).tolist()):
                results[row][name] = values[top]
    return results


def truth(spec: SceneSpec) -> dict:
    """What the classifier should say about a rendered scene, in predict()'s form (the main object: object 0)."""
    main = spec.objects[0]
    return {"colour": main.colour, "shape": main.shape, "motion": main.motion, "background": spec.background,
            "count": spec.count}


# ---------------------------------------------------------------------------- data, training, evaluation


def world_clips(seeds: Sequence[int], height: int, width: int, dist: WorldDistribution) -> tuple[np.ndarray, list[SceneSpec]]:
    """Rendered clips (N, 17, H, W, 3) and their specs, one scene per seed."""
    specs = [sample_scene(seed, duration=2.125, dist=dist) for seed in seeds]
    return np.stack([render(spec, FRAMES, height, width, FPS) for spec in specs]), specs


def targets(specs: Sequence[SceneSpec], config: WorldClassifierConfig) -> dict[str, torch.Tensor]:
    """Class indices per head; the object heads ignore clips of several objects (no single main object)."""
    vocab = {"colour": config.colours, "shape": config.shapes, "motion": config.motions}
    out = {name: torch.tensor([values.index(getattr(s.objects[0], name)) if s.count == 1 else IGNORE for s in specs])
           for name, values in vocab.items()}
    out["background"] = torch.tensor([config.backgrounds.index(s.background) for s in specs])
    out["count"] = torch.tensor([s.count - 1 for s in specs])
    return out


def loss_fn(logits: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the heads' cross-entropies."""
    return sum(F.cross_entropy(logits[name], target[name], ignore_index=IGNORE) for name in (*OBJECT_HEADS, *SCENE_HEADS))


def train_classifier(steps: int = 2000, batch: int = 16, lr: float = 3e-3, seed: int = 0,
                     config: WorldClassifierConfig = WorldClassifierConfig(), progress: bool = True,
                     init: WorldClassifier | None = None, first_step: int = 0) -> tuple[WorldClassifier, list[dict]]:
    """Train on freshly rendered clips (every size in turn, held-out triples included) with AdamW and cosine decay.

    `init` continues from a trained classifier (a new schedule) on clips after `first_step` steps' worth.
    """
    from tqdm import tqdm

    torch.manual_seed(seed)
    model = init if init is not None else WorldClassifier(config)
    config = model.config
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    # The classifier measures every combination, so it trains on held-out triples too; more
    # one-object clips than the training stream, as only they teach the object heads.
    dist = WorldDistribution(heldout="allow", object_count_weights=(0.6, 0.25, 0.15))
    log: list[dict] = []
    bar = tqdm(range(steps), desc="world classifier", disable=not progress, dynamic_ncols=True)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / steps))
        height, width = TRAIN_SIZES[step % len(TRAIN_SIZES)]
        clips, specs = world_clips([TRAIN_SEED + (first_step + step) * batch + i for i in range(batch)], height, width, dist)
        video = to_input(clips)
        video = video + torch.randn_like(video) * torch.rand(batch, 1, 1, 1, 1) * 0.06  # robust to generator noise
        loss = loss_fn(model.train()(video), targets(specs, config))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        log.append({"step": step, "loss": round(float(loss), 4)})
        bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
    return model.eval(), log


def evaluate_classifier(model: WorldClassifier, clips_per_size: int = 200, seed: int = EVAL_SEED) -> dict:
    """Accuracy per head on fresh scenes at each training size.

    Object heads on one-object clips (all combinations, and held-out triples alone); background and
    count on clips of one to three objects as the world draws them.
    """
    one = {"object_counts": (1,), "object_count_weights": (1.0,)}
    draws = {"object": WorldDistribution(heldout="allow", **one), "heldout_triples": WorldDistribution(heldout="only", **one),
             "scene": WorldDistribution(heldout="allow")}
    heads = {"object": OBJECT_HEADS, "heldout_triples": OBJECT_HEADS, "scene": SCENE_HEADS}
    results = {}
    for number, (height, width) in enumerate(TRAIN_SIZES):
        size_result = {}
        for offset, (kind, dist) in enumerate(draws.items()):
            seeds = [seed + number * 100_000 + offset * 10_000 + i for i in range(clips_per_size)]
            clips, specs = world_clips(seeds, height, width, dist)
            predictions = predict(model, list(clips))
            for head in heads[kind]:
                right = [p[head] == truth(spec)[head] for p, spec in zip(predictions, specs)]
                size_result[head if kind != "heldout_triples" else f"{head}_heldout_triples"] = round(float(np.mean(right)), 4)
        results[f"{width}x{height}"] = size_result
    overall = {key: round(float(np.mean([r[key] for r in results.values()])), 4) for key in next(iter(results.values()))}
    return {"overall": overall, "by_size": results, "clips_per_size_and_kind": clips_per_size}


def main(argv: list[str] | None = None) -> None:
    """Train the world classifier, write the model folder, evaluate it and write the results JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="store_true", help="train a new classifier (else evaluate --out)")
    parser.add_argument("--out", required=True, help="model folder to write (with --train) or to evaluate")
    parser.add_argument("--results", help="write the accuracy JSON here")
    parser.add_argument("--steps", type=int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--batch", type=int, default=16, help="clips per step (default 16)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    parser.add_argument("--eval-clips", type=int, default=200, help="fresh clips per size to evaluate on (default 200)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--init", metavar="DIR", help="continue training from this classifier folder")
    parser.add_argument("--first-step", type=int, default=0,
                        help="with --init: steps already trained, so new clips follow the old ones (default 0)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    log: list[dict] = []
    if args.train:
        init = load_world_classifier(args.init) if args.init else None
        model, log = train_classifier(args.steps, args.batch, args.lr, init=init, first_step=args.first_step)
        save_world_classifier(model, args.out)
    trained_s = time.perf_counter() - started
    model = load_world_classifier(args.out)  # evaluate what is shipped: the fp16 weights
    accuracy = evaluate_classifier(model, args.eval_clips)
    results = {"model": str(args.out), "config": asdict(model.config),
               "parameters": sum(p.numel() for p in model.parameters()),
               "training": {"steps": args.steps, "batch": args.batch, "lr": args.lr, "threads": args.threads,
                            "seconds": round(trained_s, 1), "sizes": [f"{w}x{h}" for h, w in TRAIN_SIZES],
                            "loss_per_50_steps": [round(float(np.mean([r["loss"] for r in log[i : i + 50]])), 3)
                                                  for i in range(0, len(log), 50)],
                            "continued_from": args.init, "first_step": args.first_step},
               "heldout_accuracy": accuracy}
    if args.results:
        path = Path(args.results)
        if args.init and path.is_file():  # keep the record of the earlier phases
            results["training"]["previous"] = json.loads(path.read_text()).get("training")
        path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(accuracy["overall"], indent=1))


if __name__ == "__main__":
    main()
