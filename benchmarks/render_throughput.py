"""Rendering throughput of the procedural world on one core: is the renderer ever the training bottleneck?

Times scene sampling plus rendering (what a training data stream does per clip) at 64x64x17 and
128x128x17, single-threaded, and writes benchmarks/results/render.json and render.md.

    python benchmarks/render_throughput.py [--clips 500]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the issue asks

from kinema.world.render import render  # noqa: E402
from kinema.world.sampling import sample_scene  # noqa: E402

RESULTS = Path(__file__).parent / "results"
CASES = ((64, 64, 17), (128, 128, 17), (48, 80, 17), (64, 64, 33))


def measure(height: int, width: int, frames: int, clips: int) -> dict:
    """Clips per second for sampling+rendering and for rendering alone (best of three passes)."""
    duration = (frames - 1) / 8.0
    specs = [sample_scene(seed, duration=duration) for seed in range(clips)]
    best_total, best_render = float("inf"), float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for spec in specs:
            render(spec, frames, height, width)
        best_render = min(best_render, time.perf_counter() - start)
        start = time.perf_counter()
        for seed in range(clips):
            render(sample_scene(seed, duration=duration), frames, height, width)
        best_total = min(best_total, time.perf_counter() - start)
    return {
        "size": f"{width}x{height}x{frames}",
        "clips": clips,
        "sample_and_render_clips_per_s": round(clips / best_total, 1),
        "render_only_clips_per_s": round(clips / best_render, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=500, help="clips per size (default 500)")
    args = parser.parse_args()
    rows = [measure(h, w, f, args.clips) for h, w, f in CASES]
    result = {"benchmark": "render_throughput", "threads": 1, "machine": platform.processor() or platform.machine(), "results": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# World rendering throughput (one core)", "", "| size (WxHxT) | sample + render clips/s | render only clips/s |", "|---|---|---|"]
    lines += [f"| {r['size']} | {r['sample_and_render_clips_per_s']} | {r['render_only_clips_per_s']} |" for r in rows]
    (RESULTS / "render.md").write_text("\n".join(lines) + "\n\nReproduce: `python benchmarks/render_throughput.py`\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
