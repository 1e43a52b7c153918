"""Do the direction words move the object? One object, four directions, the same seeds.

The eval's direction accuracy mixes two failures: objects the checker cannot track, and objects
that move the wrong way. This probe isolates the second. Each (colour, shape, seed) is generated
four times, moving left, right, up and down, from the same starting noise, and the object of the
prompted colour is tracked (`kinema.evaluation.observe`). If the model uses the direction word,
"right" ends further right than "left" from the same noise; if it ignores the word, the four clips
move alike, wherever the noise sends them.

Reported, in frame widths (a fast object travels 0.4 widths in a 17-frame clip at 8 fps):
- `text_effect`: mean of (dx_right - dx_left) / 2 and (dy_down - dy_up) / 2 over groups; 0.4 for
  a model that moves exactly as told, 0 for one that ignores the words;
- `seed_spread`: the standard deviation of the displacement along the prompted axis across seeds
  for one prompt (how much the noise alone moves things);
- `accuracy`: clips whose larger displacement axis and sign match the prompt (chance 25%);
- `missing`: clips where the prompted colour was not found.

With --from-image the four clips of a group start from one rendered first frame, the object in
the middle of a plain gray frame (image-to-video): the image says nothing about the way to go, so
only the word can (results in direction_probe_image.json).

    python benchmarks/direction_probe.py [--model DIR] [--seeds 4] [--from-image] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from kinema.evaluation.observe import observe
from kinema.pipeline import KinemaPipeline

RESULTS = Path(__file__).parent / "results"
COLOURS = ("red", "blue", "green", "yellow")
SHAPES = ("ball", "square")
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}  # image y grows downwards
OPPOSITES = (("left", "right", 0), ("up", "down", 1))  # (minus, plus, axis)


def displacement(frames: np.ndarray, colour: str) -> tuple[float, float] | None:
    """(dx, dy) in frame widths from the first to the last frame the colour is seen in; None if never seen twice."""
    track = next((t for t in observe(frames).objects if t.colour == colour), None)
    return None if track is None else track.displacement


def follows(move: tuple[float, float], direction: str) -> bool:
    """Whether the larger displacement axis and its sign are the prompted direction's."""
    dx, dy = move
    want_x, want_y = DIRECTIONS[direction]
    return (abs(dx) >= abs(dy) and want_x and np.sign(dx) == want_x) or (abs(dy) > abs(dx) and want_y and np.sign(dy) == want_y)


def centred_image(colour: str, shape: str) -> np.ndarray:
    """The first frame of --from-image: the object still, in the middle of a plain gray 64x64 frame."""
    from kinema.world.render import render
    from kinema.world.spec import ObjectSpec, SceneSpec

    world_shape = {"ball": "circle"}.get(shape, shape)
    return render(SceneSpec((ObjectSpec(world_shape, colour, "large", "still", None, 0.5, 0.5),), background="gray"), 1, 64, 64)[0]


def probe(pipe: KinemaPipeline, seeds: int, from_image: bool = False) -> dict:
    moves: dict[tuple[str, str, str], list] = {}
    for colour, shape, direction in itertools.product(COLOURS, SHAPES, DIRECTIONS):
        prompt = f"a large {colour} {shape} moving {direction} fast on a plain gray background"
        image = centred_image(colour, shape) if from_image else None
        clips = pipe(prompt, seed=0, num_videos=seeds, num_frames=17, height=64, width=64, expand=True, image=image).frames
        moves[colour, shape, direction] = [displacement(clip, colour) for clip in clips]
    effects, spreads, right, missing, judged = [], [], 0, 0, 0
    for colour, shape in itertools.product(COLOURS, SHAPES):
        group = {d: moves[colour, shape, d] for d in DIRECTIONS}
        for direction, found in group.items():
            judged += len(found)
            missing += sum(m is None for m in found)
            right += sum(m is not None and follows(m, direction) for m in found)
            axis = 0 if DIRECTIONS[direction][0] else 1
            along = [m[axis] for m in found if m is not None]
            if len(along) > 1:
                spreads.append(float(np.std(along)))
        for seed in range(seeds):
            for minus, plus, axis in OPPOSITES:
                a, b = group[minus][seed], group[plus][seed]
                if a is not None and b is not None:
                    effects.append((b[axis] - a[axis]) / 2)
    return {
        "clips": judged,
        "text_effect": round(float(np.mean(effects)), 4) if effects else None,
        "text_effect_positive": round(float(np.mean(np.asarray(effects) > 0)), 4) if effects else None,
        "seed_spread": round(float(np.mean(spreads)), 4) if spreads else None,
        "accuracy": round(right / judged, 4),
        "missing": round(missing / judged, 4),
        "pairs": len(effects),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder (default: the shipped model)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per prompt (default: 4)")
    parser.add_argument("--from-image", action="store_true", help="start every clip from a centred first frame")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where direction_probe.json and .md go")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipe = KinemaPipeline.from_pretrained(args.model) if args.model else KinemaPipeline.from_pretrained()
    result = {
        "model": args.model or "kinema-world (shipped)",
        "settings": {"steps": pipe.config.steps, "guidance_scale": pipe.config.guidance_scale, "seeds": args.seeds,
                     "colours": COLOURS, "shapes": SHAPES, "frames": 17, "size": "64x64", "from_image": args.from_image,
                     "factorised": pipe.config.factorised and not args.from_image},
        "expected_text_effect": 0.4,
        **probe(pipe, args.seeds, args.from_image),
    }
    name = "direction_probe_image" if args.from_image else "direction_probe"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [f"| {key} | {result[key]} |" for key in ("text_effect", "text_effect_positive", "seed_spread", "accuracy", "missing", "clips")]
    (args.out / f"{name}.md").write_text(
        "# Direction probe" + (" from a centred first frame (image-to-video)" if args.from_image else "") + "\n\n"
        f"Model `{result['model']}`, {args.seeds} seeds x {len(COLOURS) * len(SHAPES)} objects x 4 directions, "
        f"{pipe.config.steps} steps, guidance {pipe.config.guidance_scale}. Displacements in frame widths; a model "
        "that moves exactly as told has a text effect of 0.4, one that ignores the direction word 0.\n\n"
        "| measure | value |\n| --- | --- |\n" + "\n".join(rows) + "\n\n"
        f"Reproduce: `python benchmarks/direction_probe.py{' --from-image' if args.from_image else ''}`\n"
    )
    print(json.dumps({k: v for k, v in result.items() if k != "settings"}, indent=2))


if __name__ == "__main__":
    main()
