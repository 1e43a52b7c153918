"""Where do extra objects come from? The colours the checker sees that a scene does not have.

The checker counts the object colours it sees (`kinema.evaluation.observe`), so anything drawn in
a colour the scene lacks is one more object: an object whose colour drifts for a few frames, a
fringe beside it, or a faint copy elsewhere. This script finds every extra colour in two places
and says how long it lasts and how near it is, in hue and in place, to a true object:

- `generated`: the eval's two-object seen prompts (its seeds 0 and 1, 20 steps, the model's
  defaults), each clip with more colours than objects;
- `vae`: VAE round trips of rendered held-out world clips (`kinema.evaluation.vae_quality`'s seed),
  which isolates what the decoder alone does.

Per extra colour: frames visible (of 17), mean area in pixels (64x64 clips), the hue step to the nearest
true colour (1 = the next of the eight object colours), whether it stands in place of the object
of that hue (which is not seen in most of its frames: the object changed colour), and the
distance to the nearest true object in frame widths over the frames both are seen (a split or a
fringe beside it). Writes extra_colours.json and .md.

    python benchmarks/extra_colours.py [--model DIR] [--prompts 80] [--vae-clips 128] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kinema.data.world_stream import to_model_range, to_pixels
from kinema.evaluation.observe import COLOUR_NAMES, ObjectTrack, observe
from kinema.evaluation.prompt_sets import prompt_set
from kinema.evaluation.vae_quality import EVAL_SEED
from kinema.pipeline import KinemaPipeline
from kinema.world.render import render
from kinema.world.sampling import sample_scene

RESULTS = Path(__file__).parent / "results"
SEEDS = (0, 1)  # the eval's


def extra_colours(clip: np.ndarray, true_colours: set[str]) -> list[dict]:
    """One row per colour seen in `clip` that no object of the scene has."""
    tracks = observe(clip).objects
    truth = [t for t in tracks if t.colour in true_colours]
    return [describe_extra(t, truth) for t in tracks if t.colour not in true_colours]


def describe_extra(extra: ObjectTrack, truth: list[ObjectTrack]) -> dict:
    """How long an extra colour lasts, how near in hue and place it is to the scene's objects."""
    index = COLOUR_NAMES.index(extra.colour)
    hue_steps = [min((index - COLOUR_NAMES.index(t.colour)) % 8, (COLOUR_NAMES.index(t.colour) - index) % 8)
                 for t in truth]
    nearest_hue = truth[int(np.argmin(hue_steps))] if truth else None
    distances = []
    for track in truth:
        both = extra.visible & track.visible
        if both.any():
            distances.append(float(np.mean(np.hypot(extra.x[both] - track.x[both], extra.y[both] - track.y[both]))))
    return {
        "colour": extra.colour,
        "frames": int(extra.visible.sum()),
        "area_px": round(float(extra.area[extra.visible].mean() * 64 * 64), 1),
        "hue_steps_to_nearest_object": min(hue_steps) if hue_steps else None,
        # the object of the nearest hue is not seen in most frames where the extra colour is: it changed colour
        "replaces_that_object": bool(nearest_hue is not None and np.mean(~nearest_hue.visible[extra.visible]) >= 0.5),
        "distance_to_nearest_object": round(min(distances), 3) if distances else None,
    }


def summarise(rows: list[dict], clips: int) -> dict:
    frames = [r["frames"] for r in rows]
    return {
        "clips": clips,
        "clips_with_extra": len({r["clip"] for r in rows}),
        "extra_colours": len(rows),
        "median_frames_visible": float(np.median(frames)) if rows else None,
        "visible_in_5_frames_or_fewer": sum(f <= 5 for f in frames),
        "next_hue_to_an_object": sum(r["hue_steps_to_nearest_object"] == 1 for r in rows),
        "replaces_the_object_of_that_hue": sum(r["replaces_that_object"] for r in rows),
        "beside_an_object": sum(not r["replaces_that_object"] and (r["distance_to_nearest_object"] or 1) <= 0.15
                                for r in rows),
        "rows": rows,
    }


def generated_extras(pipe: KinemaPipeline, prompts: int) -> dict:
    items = [p for p in prompt_set("seen") if len(p.spec.objects) == 2][:prompts]
    rows = []
    for item in items:
        clips = pipe(item.prompt, seed=SEEDS[0], num_videos=len(SEEDS), num_frames=17, height=64, width=64).frames
        for seed, clip in zip(SEEDS, clips):
            for row in extra_colours(clip, {o.colour for o in item.spec.objects}):
                rows.append({"clip": f"{item.index}/{seed}", **row})
    return summarise(rows, len(items) * len(SEEDS))


def vae_extras(pipe: KinemaPipeline, count: int, batch: int = 8) -> dict:
    rows = []
    for start in range(0, count, batch):
        specs = [sample_scene(EVAL_SEED + i, duration=2.0) for i in range(start, min(start + batch, count))]
        clips = np.stack([render(spec, 17, 64, 64) for spec in specs])
        with torch.no_grad():
            rebuilt = to_pixels(pipe.vae.decode(pipe.vae.encode(to_model_range(clips))))
        for offset, (spec, clip) in enumerate(zip(specs, rebuilt)):
            for row in extra_colours(clip, {o.colour for o in spec.objects}):
                rows.append({"clip": start + offset, **row})
    return summarise(rows, count)


def markdown(results: dict) -> str:
    lines = ["# Extra colours: where the checker's over-counts come from", "",
             f"Model `{results['model']}`. Reproduce: `python benchmarks/extra_colours.py`.", "",
             "| source | clips | clips with an extra colour | extra colours | median frames visible (of 17) "
             "| visible in 5 frames or fewer | next hue to an object's | in place of that object | beside an object (0.15 widths) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ("generated", "vae"):
        r = results[name]
        lines.append(f"| {name} | {r['clips']} | {r['clips_with_extra']} | {r['extra_colours']} | "
                     f"{r['median_frames_visible']} | {r['visible_in_5_frames_or_fewer']} | "
                     f"{r['next_hue_to_an_object']} | {r['replaces_the_object_of_that_hue']} | {r['beside_an_object']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a model folder (default: the shipped model)")
    parser.add_argument("--prompts", type=int, default=80, help="two-object seen prompts (default: all 80)")
    parser.add_argument("--vae-clips", type=int, default=128, help="rendered clips for the VAE round trip")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=str(RESULTS), help="where extra_colours.json and .md go")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = KinemaPipeline.from_pretrained(args.model)
    results = {"model": args.model or pipe.config.name, "generated": generated_extras(pipe, args.prompts),
               "vae": vae_extras(pipe, args.vae_clips)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "extra_colours.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "extra_colours.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
