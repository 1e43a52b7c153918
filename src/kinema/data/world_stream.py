"""An endless, seekable stream of rendered world clips in batches of one shape (a bucket per step).

Batch `step` is a pure function of (seed, step), so resuming at step N yields exactly the data an
uninterrupted run would have seen, with no iterator state to save.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinema.world.render import check_render_size, render
from kinema.world.sampling import WorldDistribution, sample_scene

FPS = 8.0


@dataclass(frozen=True)
class Bucket:
    """One clip shape and how many clips of it make a batch."""

    frames: int
    height: int
    width: int
    batch_size: int
    weight: float = 1.0

    def __post_init__(self) -> None:
        check_render_size(self.frames, self.height, self.width, FPS)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {self.batch_size}")


def parse_buckets(text: str) -> tuple[Bucket, ...]:
    """Buckets from "FxHxW:B[:weight],..." e.g. "17x64x64:4,1x64x64:16:0.5"."""
    buckets = []
    for item in text.split(","):
        parts = item.strip().split(":")
        try:
            frames, height, width = (int(v) for v in parts[0].split("x"))
            batch = int(parts[1])
            weight = float(parts[2]) if len(parts) > 2 else 1.0
        except (ValueError, IndexError):
            raise ValueError(f"bucket must look like FRAMESxHEIGHTxWIDTH:BATCH[:WEIGHT] (e.g. 17x64x64:4); got {item!r}") from None
        buckets.append(Bucket(frames, height, width, batch, weight))
    return tuple(buckets)


def world_batch(seed: int, step: int, buckets: tuple[Bucket, ...], dist: WorldDistribution = WorldDistribution()) -> tuple[np.ndarray, list]:
    """Batch number `step`: uint8 clips (B, T, H, W, 3) of one bucket's shape and their scene specs."""
    bucket, specs = world_specs(seed, step, buckets, dist)
    clips = np.stack([render(spec, bucket.frames, bucket.height, bucket.width, FPS) for spec in specs])
    return clips, specs


def world_specs(seed: int, step: int, buckets: tuple[Bucket, ...],
                dist: WorldDistribution = WorldDistribution()) -> tuple[Bucket, list]:
    """The bucket and scene specs of batch number `step`, without rendering them."""
    rng = np.random.default_rng([seed, step])
    weights = np.asarray([b.weight for b in buckets], np.float64)
    bucket = buckets[int(rng.choice(len(buckets), p=weights / weights.sum()))]
    duration = max((bucket.frames - 1) / FPS, 2.125)
    return bucket, [sample_scene(rng, duration=duration, dist=dist) for _ in range(bucket.batch_size)]


def to_model_range(clips: np.ndarray):
    """uint8 (B, T, H, W, 3) -> float tensor (B, 3, T, H, W) in [-1, 1]."""
    import torch

    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)


def to_pixels(video) -> np.ndarray:
    """Float tensor (B, 3, T, H, W) in [-1, 1] -> uint8 (B, T, H, W, 3)."""
    return ((video.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 4, 1).cpu().numpy()
