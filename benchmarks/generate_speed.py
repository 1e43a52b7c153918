"""The first impression: how long the shipped model takes to load and to make one default video.

Times, in one process on the CPU, `KinemaPipeline.from_pretrained()` (the shipped model, the VAE
and the text encoder) and then a default `kinema generate` request (17 frames, 64x64, the model's
default steps and guidance) including the MP4 write, best and median of several repeats; then the
whole `kinema generate "..." -o out.mp4` command as a fresh process, which is what a user waits for.
Writes benchmarks/results/generate_speed.json and .md. Targets (issue 5): load <= 5 s, generate <= 10 s.

    python benchmarks/generate_speed.py [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from kinema.media import write_video
from kinema.pipeline import KinemaPipeline

RESULTS = Path(__file__).parent / "results"
PROMPT = "a red ball bouncing on green grass"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure(repeats: int) -> dict:
    """Load and generation seconds (each repeat loads afresh), with the settings the defaults use."""
    loads, generations = [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(repeats):
            load_seconds, pipe = timed(KinemaPipeline.from_pretrained)
            loads.append(load_seconds)

            def generate(pipe=pipe, repeat=repeat):
                output = pipe(PROMPT, seed=repeat, expand=True)  # as `kinema generate` does
                write_video(output.frames[0], Path(folder) / f"out{repeat}.mp4", fps=pipe.config.fps)
                return output

            generate_seconds, output = timed(generate)
            generations.append(generate_seconds)
        command = [sys.executable, "-m", "kinema.cli", "generate", PROMPT, "-o", str(Path(folder) / "cli.mp4"), "--seed", "0"]
        process_seconds, completed = timed(lambda: subprocess.run(command, capture_output=True, text=True))
        if completed.returncode:
            raise RuntimeError(f"kinema generate failed: {completed.stderr}")
    return {
        "prompt": PROMPT, "num_frames": 17, "height": 64, "width": 64,
        "steps": pipe.config.steps, "guidance_scale": pipe.config.guidance_scale, "sampler": pipe.config.sampler,
        "load_seconds_first": round(loads[0], 2),  # what a user waits for: the first load in a process
        "load_seconds_best": round(min(loads), 2), "load_seconds_median": round(statistics.median(loads), 2),
        "generate_seconds_best": round(min(generations), 2), "generate_seconds_median": round(statistics.median(generations), 2),
        "cli_process_seconds": round(process_seconds, 2), "repeats": repeats,
    }


def write_results(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generate_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Shipped model: load and generate time",
        "",
        f"CPU ({platform.machine()}, {result['threads']} threads), torch {torch.__version__}, fp32. Prompt "
        f"\"{result['prompt']}\", {result['num_frames']} frames at {result['width']}x{result['height']}, "
        f"{result['steps']} {result['sampler']} steps, guidance {result['guidance_scale']}; generate includes the MP4 write.",
        "",
        "| what | best s | median s | target s |",
        "|---|---|---|---|",
        f"| first load in a process (`KinemaPipeline.from_pretrained()`, imports included) | {result['load_seconds_first']} | | 5 |",
        f"| load again | {result['load_seconds_best']} | {result['load_seconds_median']} | 5 |",
        f"| generate one video | {result['generate_seconds_best']} | {result['generate_seconds_median']} | 10 |",
        f"| `kinema generate` as a fresh process (import, load, generate, write) | {result['cli_process_seconds']} | | |",
        "",
    ]
    (RESULTS / "generate_speed.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {"threads": args.threads, **measure(args.repeats)}
    write_results(result)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
