"""How well a VAE keeps what the world shows: PSNR, and whether the checker still sees the same scene.

Clips are drawn from seeds far from any training stream, at the square, landscape and portrait
sizes the model supports. Checker agreement compares the verdicts on the original with those on
the reconstruction, attribute by attribute: a VAE that blurs a star into a circle or drops a
small object changes a verdict even when its PSNR looks fine.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from kinema.data.world_stream import to_model_range, to_pixels
from kinema.evaluation.checker import judge
from kinema.evaluation.metrics import psnr
from kinema.evaluation.observe import observe
from kinema.models.vae import VideoVAE
from kinema.world.render import render
from kinema.world.sampling import WorldDistribution, sample_scene
from kinema.world.spec import attributes_of

EVAL_SEED = 50_000_000  # never drawn by the training streams (they seed with [seed, step])


@torch.no_grad()
def evaluate_vae(vae: VideoVAE, clips: int, height: int, width: int, frames: int = 17, batch: int = 8) -> dict:
    """PSNR (mean and 5th percentile), temporal error and per-attribute checker agreement over `clips` held-out scenes.

    Temporal error: the mean absolute difference (grey levels) between the reconstruction's and the
    original's frame-to-frame steps, overall and at latent-group boundaries (the step into frame
    1 + g k), where a causal VAE's decoder tends to jump.
    """
    vae.eval()
    scores: list[float] = []
    step_errors: list[np.ndarray] = []
    judged, agreed = Counter(), Counter()
    shapes_judged, shapes_agreed = Counter(), Counter()  # by the object's true shape and size: which ones blur
    distribution = WorldDistribution(heldout="allow")
    for start in range(0, clips, batch):
        specs = [sample_scene(EVAL_SEED + i, duration=(frames - 1) / 8.0, dist=distribution) for i in range(start, min(clips, start + batch))]
        originals = np.stack([render(spec, frames, height, width) for spec in specs])
        rebuilt = to_pixels(vae.decode(vae.encode(to_model_range(originals))))
        for spec, original, copy in zip(specs, originals, rebuilt):
            scores.append(psnr(copy, original))
            step_errors.append(np.abs(np.diff(copy.astype(np.float32), axis=0)
                                      - np.diff(original.astype(np.float32), axis=0)).mean(axis=(1, 2, 3)))
            truth = attributes_of(spec)
            before = {(v.attribute, v.object): v.ok for v in judge(observe(original), truth).verdicts}
            after = {(v.attribute, v.object): v.ok for v in judge(observe(copy), truth).verdicts}
            for key, ok in before.items():
                agreed_now = ok == after.get(key)
                judged[key[0]] += 1
                agreed[key[0]] += agreed_now
                if key[0] == "shape":
                    obj = spec.objects[key[1]]
                    shapes_judged[f"{obj.size} {obj.shape}"] += 1
                    shapes_agreed[f"{obj.size} {obj.shape}"] += agreed_now
    return {
        "size": f"{width}x{height}x{frames}",
        "clips": clips,
        "psnr_mean": round(float(np.mean(scores)), 2),
        "psnr_p05": round(float(np.percentile(scores, 5)), 2),
        **temporal_error(np.stack(step_errors), vae.config.temporal_compression),
        "checker_agreement": round(sum(agreed.values()) / max(1, sum(judged.values())), 4),
        "checker_agreement_by_attribute": {name: round(agreed[name] / judged[name], 4) for name in sorted(judged)},
        "shape_agreement_by_object": {name: round(shapes_agreed[name] / shapes_judged[name], 4) for name in sorted(shapes_judged)},
    }


def temporal_error(step_errors: np.ndarray, group: int) -> dict:
    """Mean step error (clips, T - 1) over all steps, over steps into a new latent group, and within groups."""
    boundary = np.arange(step_errors.shape[1]) % group == 0  # step i goes into frame i + 1; frame 1 + g k opens a group
    return {"temporal_error": round(float(step_errors.mean()), 3),
            "temporal_error_group_boundary": round(float(step_errors[:, boundary].mean()), 3),
            "temporal_error_within_group": round(float(step_errors[:, ~boundary].mean()), 3)}


@torch.no_grad()
def tiling_error(vae: VideoVAE, height: int = 128, width: int = 192, frames: int = 17) -> dict:
    """Largest and mean pixel difference (0-255) between tiled and whole encode+decode of one large clip."""
    spec = sample_scene(EVAL_SEED - 1, duration=(frames - 1) / 8.0)
    video = to_model_range(render(spec, frames, height, width)[None])
    whole = to_pixels(vae.decode(vae.encode(video))).astype(np.int16)
    sc = vae.config.spatial_compression
    tiled = to_pixels(vae.decode(vae.encode(video, tile=8 * sc), tile=8)).astype(np.int16)
    streamed = to_pixels(vae.decode(vae.encode(video, chunk_frames=1), chunk_latents=1)).astype(np.int16)
    return {
        "size": f"{width}x{height}x{frames}",
        "tile_pixels": 8 * sc,
        "tiled_max_abs": int(np.abs(tiled - whole).max()),
        "tiled_mean_abs": round(float(np.abs(tiled - whole).mean()), 3),
        "chunked_max_abs": int(np.abs(streamed - whole).max()),
    }
