"""Clip sources for training: batch `step` of a bucket's shape, as uint8 clips and their captions.

Two sources share one interface, so the training loop never knows which it reads:
- `WorldSource`: the procedural world, rendered on the fly, captioned in varied wording;
- `VideoFolder`: a folder of real videos with `captions.jsonl` (`{"file": ..., "caption": ...}`
  per line, as `kinema data render` writes) or `captions.csv` (columns `file,caption`).
Every batch is a pure function of (seed, step), so a resumed run reads exactly what it would have.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from kinema.data.world_stream import FPS, Bucket, world_batch, world_specs
from kinema.world.captions import caption, canonical_caption
from kinema.world.render import object_coverage
from kinema.world.sampling import WorldDistribution
from kinema.world.spec import DIRECTIONS, MOTIONS

# One to three objects, each moving in a straight line or still, nothing else moving: the scenes
# where which way each object goes is what the caption's direction words decide. In the full world
# those words explain a tiny share of the loss next to colour, background, pans and weather, and the
# model learnt the axis (left/right against up/down) but not the sign (docs/model-card.md). Until
# step 32,200 the focus was one object alone; it then followed the sign for one object about half
# the time but for two or three objects a seventh of the time, as it had to bind each direction
# word to the right object, so later runs draw two and three objects too. At step 36,700 one object
# followed its word two thirds of the time but two or three objects still a quarter of the time (no
# better than a guess), so the eleventh run draws mostly two and three. Bounces and walls fell while
# the focus scenes had neither (bounce 22% to 9-19% over the eleventh run), so since the twelfth run
# they keep both, at the full world's rates.
DIRECTIONAL_SCENES = WorldDistribution(object_counts=(1, 2, 3), object_count_weights=(0.25, 0.4, 0.35),
                                       motions=("still", *DIRECTIONS, "bounce"), p_camera_pan=0.0,
                                       p_weather=0.0)

# The full world with four times the bounces (listed four times, drawn four times as often) and a
# wall tried in every scene: bounce and object permanence behind a wall are each a few clips in a
# hundred of the world, and the twenty-fifth run of the plain recipe moved them by about a clip.
EVENT_SCENES = WorldDistribution(motions=(*MOTIONS, "bounce", "bounce", "bounce"), p_occluder=1.0)


class ClipSource(Protocol):
    """What the training loop reads from."""

    def batch(self, step: int, buckets: tuple[Bucket, ...]) -> tuple[np.ndarray, list[str]]:
        """uint8 clips (B, T, H, W, 3) of one bucket's shape and one caption per clip."""
        ...


def pick_bucket(rng: np.random.Generator, buckets: tuple[Bucket, ...]) -> Bucket:
    """One bucket, drawn by weight."""
    weights = np.asarray([b.weight for b in buckets], np.float64)
    return buckets[int(rng.choice(len(buckets), p=weights / weights.sum()))]


@dataclass(frozen=True)
class WorldSource:
    """The procedural world as a training source (held-out combinations excluded by default)."""

    seed: int = 0
    distribution: WorldDistribution = WorldDistribution()
    # Prompt expansion writes the canonical wording, so the model sees it this often; the rest
    # is varied wording, which is what keeps a user's own phrasing understood.
    canonical_fraction: float = 0.3
    motion_focus: float = 0.0  # share of steps drawn from DIRECTIONAL_SCENES instead of `distribution`
    event_focus: float = 0.0  # share of steps drawn from EVENT_SCENES instead of `distribution`

    def batch(self, step: int, buckets: tuple[Bucket, ...]) -> tuple[np.ndarray, list[str]]:
        clips, specs = world_batch(self.seed, step, buckets, self.scenes(step))
        rng = np.random.default_rng([self.seed, step, 1])  # wording has its own stream
        return clips, [canonical_caption(spec) if rng.random() < self.canonical_fraction else caption(spec, rng) for spec in specs]

    def object_coverage(self, step: int, buckets: tuple[Bucket, ...]) -> np.ndarray:
        """How much of each pixel of batch `step`'s clips the objects cover, float32 (B, T, H, W) in [0, 1]."""
        bucket, specs = world_specs(self.seed, step, buckets, self.scenes(step))
        return np.stack([object_coverage(spec, bucket.frames, bucket.height, bucket.width, FPS) for spec in specs])

    def scenes(self, step: int) -> WorldDistribution:
        """The distribution step `step` draws its scenes from."""
        draw = np.random.default_rng([self.seed, step, 2]).random()  # one draw: adding events moves no motion step
        if draw < self.motion_focus:
            return DIRECTIONAL_SCENES
        return EVENT_SCENES if draw < self.motion_focus + self.event_focus else self.distribution


class VideoFolder:
    """Real videos and their captions; clips are random windows, resized to cover the bucket and cropped."""

    def __init__(self, root: str | Path, seed: int = 0) -> None:
        self.root = Path(root)
        self.seed = seed
        self.items = read_caption_index(self.root)
        missing = [item[0] for item in self.items if not (self.root / item[0]).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} videos listed in {self.root} are missing, e.g. {self.root / missing[0]}")

    def __len__(self) -> int:
        return len(self.items)

    def batch(self, step: int, buckets: tuple[Bucket, ...]) -> tuple[np.ndarray, list[str]]:
        rng = np.random.default_rng([self.seed, step])
        bucket = pick_bucket(rng, buckets)
        picks = rng.integers(len(self.items), size=bucket.batch_size)
        clips = [self.clip(int(i), bucket, rng) for i in picks]
        return np.stack(clips), [self.items[int(i)][1] for i in picks]

    def clip(self, index: int, bucket: Bucket, rng: np.random.Generator) -> np.ndarray:
        """A window of bucket.frames frames (the last frame repeated if the video is shorter), resized and cropped."""
        from kinema.media import read_video

        frames, _ = read_video(self.root / self.items[index][0])
        start = int(rng.integers(max(1, len(frames) - bucket.frames + 1)))
        window = frames[start : start + bucket.frames]
        if len(window) < bucket.frames:
            window = np.concatenate([window, np.repeat(window[-1:], bucket.frames - len(window), axis=0)])
        return np.stack([cover_and_crop(frame, bucket.height, bucket.width) for frame in window])


def read_caption_index(root: Path) -> list[tuple[str, str]]:
    """(file, caption) pairs from root/captions.jsonl or root/captions.csv; errors name the file and line."""
    jsonl, table = root / "captions.jsonl", root / "captions.csv"
    if jsonl.is_file():
        items = []
        for number, line in enumerate(jsonl.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                items.append((str(record["file"]), str(record["caption"])))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{jsonl}:{number}: expected a JSON object with \"file\" and \"caption\"") from None
    elif table.is_file():
        with open(table, newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"file", "caption"} <= set(reader.fieldnames):
                raise ValueError(f"{table}: the header must name the columns file,caption; got {reader.fieldnames}")
            items = [(row["file"], row["caption"]) for row in reader]
    else:
        raise FileNotFoundError(f"{root} has no captions.jsonl or captions.csv listing its videos and captions")
    if not items:
        raise ValueError(f"{root}: the captions file lists no videos")
    return items


def cover_and_crop(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (keeping aspect) so the frame covers height x width, then crop the centre."""
    from PIL import Image

    h, w = frame.shape[:2]
    scale = max(height / h, width / w)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    resized = np.asarray(Image.fromarray(frame).resize(size, Image.BICUBIC))
    top, left = (size[1] - height) // 2, (size[0] - width) // 2
    return resized[top : top + height, left : left + width]
