"""Make docs/samples.gif: the shipped model's videos for a few everyday prompts, in one grid.

Each prompt is generated once (seed 0, the model's default steps and guidance, 17 frames at
64x64), enlarged 2x and tiled left to right, top to bottom, in the order of PROMPTS; the README
lists the prompts beside the GIF. Nothing is picked: rerun it after retraining and commit the result.

    python docs/make_samples_gif.py [--out docs/samples.gif] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

PROMPTS = (
    "a red ball bouncing on green grass",
    "a blue square moving left",
    "a yellow star spinning at night",
    "a big green triangle going up on a white background",
    "a purple circle growing under a blue sky",
    "an orange box sliding right on stripes",
)
COLUMNS = 3
SCALE = 2
GAP = 4  # pixels of dark border between tiles


def grid(videos: list[np.ndarray], columns: int) -> np.ndarray:
    """Videos (T, H, W, 3) of one shape, enlarged SCALE x and tiled into (T, rows H', columns W', 3)."""
    frames, height, width, _ = videos[0].shape
    tile_h, tile_w = height * SCALE, width * SCALE
    rows = -(-len(videos) // columns)
    canvas = np.full((frames, GAP + rows * (tile_h + GAP), GAP + columns * (tile_w + GAP), 3), 24, np.uint8)
    for index, video in enumerate(videos):
        top = GAP + (index // columns) * (tile_h + GAP)
        left = GAP + (index % columns) * (tile_w + GAP)
        canvas[:, top : top + tile_h, left : left + tile_w] = video.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent / "samples.gif"), help="GIF to write")
    parser.add_argument("--seed", type=int, default=0, help="generation seed for every prompt (default 0)")
    args = parser.parse_args()

    from kinema.media import write_video
    from kinema.pipeline import KinemaPipeline

    pipe = KinemaPipeline.from_pretrained()
    videos = [pipe(prompt, seed=args.seed).frames[0] for prompt in PROMPTS]
    path = write_video(grid(videos, COLUMNS), args.out, fps=pipe.config.fps)
    print(f"wrote {path}: " + "; ".join(f"{i + 1}. {p}" for i, p in enumerate(PROMPTS)))


if __name__ == "__main__":
    main()
