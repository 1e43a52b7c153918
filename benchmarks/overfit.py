"""Can the training machinery memorise a handful of world clips? A tiny transformer, the shipped VAE, under a minute.

Encodes four captioned world clips once, trains a small diffusion transformer on them with the
same loss, timesteps and learning-rate schedule as `kinema train` (no frames given), then samples each
caption through the pipeline and judges the samples with the analytic checker. Writes
benchmarks/results/overfit.json.

The checker also judges each clip's VAE round trip: a sample is decoded by the same VAE, so the
round trip's verdicts are the best any transformer can reach. A memorised sample passes every
attribute its round trip passes (`samples_match_vae`).

Training times are shifted towards pure noise (SD3's shift, 3 here as for `kinema train
--timestep-shift 3`): the clean-latent prediction is scored as a velocity, which weighs an error
at time t by 1/t^2, so without the shift the steps go to nearly clean inputs and the noisy
times, where the caption decides the layout, stay unlearnt (measured after 1,500 steps: x0 error
0.92 at t = 0.95 unshifted, when no sample matched its round trip; 0.01 shifted).

    python benchmarks/overfit.py [--steps 1500] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from kinema.config import TransformerConfig
from kinema.data.world_stream import to_model_range, to_pixels
from kinema.evaluation.checker import check
from kinema.models.text import load_text_encoder
from kinema.models.transformer import DiffusionTransformer
from kinema.models.vae import load_vae
from kinema.pipeline import KinemaPipeline, PipelineConfig
from kinema.pretrained import VAE_DIR
from kinema.training.run import learning_rate
from kinema.training.trainer import TrainConfig, flow_training_loss, step_generator, step_noise
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
SHIFT = 3.0


def failed(report) -> set[str]:
    """The attributes a checker report got wrong, e.g. {'size#0', 'count'}."""
    return {v["attribute"] + ("" if v["object"] is None else f"#{v['object']}") for v in report["verdicts"] if not v["ok"]}


def overfit(steps: int = 1500, lr: float = 2e-3, seed: int = 0, vae_dir: str | Path = VAE_DIR) -> dict:
    """Train on the four scenes; return losses, the samples' and round trips' checker verdicts, timings."""
    torch.manual_seed(seed)
    vae, encoder = load_vae(vae_dir), load_text_encoder()
    clips = np.stack([render(spec, 17, 64, 64) for spec in SCENES])
    captions = [canonical_caption(spec) for spec in SCENES]
    with torch.no_grad():
        latents = vae.encode(to_model_range(clips))
        round_trips = to_pixels(vae.decode(latents))
    text = encoder.encode(captions)
    model = DiffusionTransformer(MODEL)
    schedule = TrainConfig(steps=steps, lr=lr, warmup_steps=max(1, steps // 20), timestep_shift=SHIFT)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    none_given = torch.zeros(latents.shape[0], latents.shape[2], dtype=torch.bool)
    losses, started = [], time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(schedule, step)
        noise, t = step_noise(latents.shape, step_generator(seed, step), SHIFT)
        loss = flow_training_loss(model, latents, noise, t, text, none_given)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    train_seconds = time.perf_counter() - started
    config = PipelineConfig(sizes=((64, 64),), frame_counts=(17,), steps=20, guidance_scale=1.0, timestep_shift=SHIFT)
    pipe = KinemaPipeline(model.eval(), vae, encoder, config)
    samples = [check(pipe(caption, seed=i).frames[0], spec).to_dict() for i, (caption, spec) in enumerate(zip(captions, SCENES))]
    vae_reports = [check(np.asarray(frames), spec).to_dict() for frames, spec in zip(round_trips, SCENES)]
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    return {
        "steps": steps, "lr": lr, "timestep_shift": SHIFT, "train_seconds": round(train_seconds, 1),
        "loss_first10": round(first, 5), "loss_last10": round(last, 5), "loss_drop": round(first / last, 1),
        "captions": captions,
        "renders_all_ok": [check(frames, spec).all_ok for frames, spec in zip(clips, SCENES)],
        "vae_round_trip_wrong": [sorted(failed(r)) for r in vae_reports],
        "samples_wrong": [sorted(failed(r)) for r in samples],
        "samples_match_vae": [failed(s) <= failed(v) for s, v in zip(samples, vae_reports)],
        "samples_all_ok": [r["all_ok"] for r in samples],
        "sample_accuracy": [round(r["accuracy"], 3) for r in samples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds (initialisation and noise)")
    parser.add_argument("--vae", default=str(VAE_DIR), help="VAE model folder (default: the shipped one)")
    args = parser.parse_args()
    runs = [{"seed": seed, **overfit(args.steps, seed=seed, vae_dir=args.vae)} for seed in map(int, args.seeds.split(","))]
    matched = sum(sum(run["samples_match_vae"]) for run in runs)
    result = {"samples_matching_vae": f"{matched} of {4 * len(runs)}", "runs": runs}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "overfit.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
