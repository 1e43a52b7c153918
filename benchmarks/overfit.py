"""Can the training machinery memorise a handful of world clips? A tiny transformer, the shipped VAE, 1 minute.

Encodes four captioned world clips once, trains a small diffusion transformer on them with the
same loss, masks and timesteps as `kinema train`, then samples each caption through the pipeline
and judges the samples with the analytic checker. Writes benchmarks/results/overfit.json.

    python benchmarks/overfit.py [--steps 400]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from kinema.config import TransformerConfig
from kinema.data.world_stream import to_model_range
from kinema.evaluation.checker import check
from kinema.models.text import load_text_encoder
from kinema.models.transformer import DiffusionTransformer
from kinema.models.vae import load_vae
from kinema.pipeline import KinemaPipeline, PipelineConfig
from kinema.pretrained import VAE_DIR
from kinema.training.trainer import flow_training_loss, step_generator, step_noise
from kinema.world.captions import canonical_caption
from kinema.world.render import render
from kinema.world.spec import ObjectSpec, SceneSpec

RESULTS = Path(__file__).parent / "results"
SCENES = (
    SceneSpec((ObjectSpec("circle", "red", "large", "right", "fast", 0.25, 0.5),), "gray"),
    SceneSpec((ObjectSpec("square", "blue", "large", "still", None, 0.5, 0.5),), "beige"),
    SceneSpec((ObjectSpec("star", "yellow", "large", "down", "fast", 0.5, 0.3),), "night"),
    SceneSpec((ObjectSpec("triangle", "green", "large", "left", "slow", 0.6, 0.5),), "white"),
)
MODEL = TransformerConfig(width=96, depth=3, heads=4, ffn_dim=384)


def overfit(steps: int = 400, lr: float = 2e-3, seed: int = 0, vae_dir: str | Path = VAE_DIR) -> dict:
    """Train on the four scenes; return losses, samples' checker verdicts and timings."""
    torch.manual_seed(seed)
    vae, encoder = load_vae(vae_dir), load_text_encoder()
    clips = np.stack([render(spec, 17, 64, 64) for spec in SCENES])
    captions = [canonical_caption(spec) for spec in SCENES]
    with torch.no_grad():
        latents = vae.encode(to_model_range(clips))
    text = encoder.encode(captions)
    model = DiffusionTransformer(MODEL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    none_given = torch.zeros(latents.shape[0], latents.shape[2], dtype=torch.bool)
    losses, started = [], time.perf_counter()
    for step in range(steps):
        noise, t = step_noise(latents, step_generator(seed, step), 1.0)
        loss = flow_training_loss(model, latents, noise, t, text, none_given)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    train_seconds = time.perf_counter() - started
    pipe = KinemaPipeline(model, vae, encoder, PipelineConfig(sizes=((64, 64),), frame_counts=(17,), steps=20, guidance_scale=1.0))
    reports = [check(pipe(caption, seed=i).frames[0], spec).to_dict() for i, (caption, spec) in enumerate(zip(captions, SCENES))]
    reference = [check(frames, spec).all_ok for frames, spec in zip(clips, SCENES)]
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    return {
        "steps": steps, "train_seconds": round(train_seconds, 1), "loss_first10": round(first, 5), "loss_last10": round(last, 5),
        "loss_drop": round(first / last, 1), "samples_all_ok": [r["all_ok"] for r in reports],
        "sample_accuracy": [round(r["accuracy"], 3) for r in reports], "renders_all_ok": reference, "captions": captions,
        "wrong": [[v for v in r["verdicts"] if not v["ok"]] for r in reports],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--vae", default=str(VAE_DIR), help="VAE model folder (default: the shipped one)")
    args = parser.parse_args()
    result = overfit(args.steps, vae_dir=args.vae)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "overfit.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "wrong"}, indent=1))


if __name__ == "__main__":
    main()
