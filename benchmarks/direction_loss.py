"""Does a model's loss depend on which way its caption says? A cheap check to watch during training.

`direction_probe.py` samples clips and tracks the object, which takes minutes; this asks the
transformer directly. On 24 one-object world clips moving left, right, up or down (no wall, pan,
weather or occluder: the direction word is what decides the motion), the flow loss at a time t near
pure noise is computed with each clip's own caption and with its direction word flipped (left <->
right, up <-> down), from the same noise. Reported: flipped loss / own loss, per mask and t.
1.00 means the model does not read the word's sign; the model that memorised four clips in
`direction_sign.py` reached 98x.

Two masks: `none` (text-to-video) and `first` (the first latent frame given, image-to-video, where
the first frame pins where the object starts, so only the word can say the way).

Binding (`swapped`): on 24 two-object clips whose objects go different ways, the two objects'
direction words are swapped ("a red ball moving left and a blue star moving up" becomes "... red
... up ... blue ... left"), with the first frame given. The caption keeps the same words, so only a
model that ties each word to its object tells them apart.

    python benchmarks/direction_loss.py [--model DIR --label NAME ...] [--append] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from kinema.evaluation.validation import OPPOSITE
from kinema.pipeline import KinemaPipeline
from kinema.training.trainer import encode_batch, flow_training_loss
from kinema.world.captions import canonical_caption
from kinema.world.render import render
from kinema.world.sampling import WorldDistribution, sample_scene
from kinema.world.spec import DIRECTIONS

RESULTS = Path(__file__).parent / "results"
TIMES = (0.98, 0.95, 0.9)
CLIPS = 24
# One object in a straight line and nothing else moving (the training focus scenes before step 32,200).
ONE_OBJECT_SCENES = WorldDistribution(object_counts=(1,), object_count_weights=(1.0,), motions=tuple(DIRECTIONS),
                                      p_occluder=0.0, p_camera_pan=0.0, p_weather=0.0)
TWO_OBJECT_SCENES = replace(ONE_OBJECT_SCENES, object_counts=(2,))


def turned_round(scene):
    """The scene with its object going the opposite way; everything else unchanged."""
    return replace(scene, objects=tuple(replace(obj, motion=OPPOSITE[obj.motion]) for obj in scene.objects))


def swapped(scene):
    """The two-object scene with the objects' directions exchanged; everything else unchanged."""
    first, second = scene.objects
    return replace(scene, objects=(replace(first, motion=second.motion), replace(second, motion=first.motion)))


def two_ways_scenes() -> list:
    """CLIPS two-object scenes whose objects go different ways (so swapping their words changes the meaning)."""
    scenes = (sample_scene(2000 + i, dist=TWO_OBJECT_SCENES) for i in range(100 * CLIPS))
    return [scene for scene in scenes
            if len(scene.objects) == 2 and scene.objects[0].motion != scene.objects[1].motion][:CLIPS]


def all_ratios(pipe: KinemaPipeline) -> dict[str, dict[str, float]]:
    """The one-object flips under both masks and the two-object swap with the first frame given."""
    one = [sample_scene(1000 + i, dist=ONE_OBJECT_SCENES) for i in range(CLIPS)]
    ratios = loss_ratios(pipe, one, turned_round, ("none", "first"))
    ratios["swapped"] = loss_ratios(pipe, two_ways_scenes(), swapped, ("first",))["first"]
    return ratios


def loss_ratios(pipe: KinemaPipeline, scenes: list, change, masks) -> dict[str, dict[str, float]]:
    """Changed-caption loss over own-caption loss, by mask and time."""
    clips = np.stack([render(scene, 17, 64, 64) for scene in scenes])
    captions = [canonical_caption(scene) for scene in scenes]
    changed = [canonical_caption(change(scene)) for scene in scenes]
    latents, own = encode_batch(pipe.vae, pipe.text_encoder, clips, captions, torch.Generator().manual_seed(0), 0.0)
    _, other = encode_batch(pipe.vae, pipe.text_encoder, clips, changed, torch.Generator().manual_seed(0), 0.0)
    ratios: dict[str, dict[str, float]] = {}
    for mask in masks:
        given = torch.zeros(latents.shape[0], latents.shape[2], dtype=torch.bool)
        given[:, 0] = mask == "first"
        ratios[mask] = {}
        for t in TIMES:
            noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(9))
            at = torch.full((latents.shape[0],), t)
            with torch.no_grad():
                right = flow_training_loss(pipe.transformer, latents, noise, at, own, given).item()
                wrong = flow_training_loss(pipe.transformer, latents, noise, at, other, given).item()
            ratios[mask][str(t)] = round(wrong / right, 3)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model folder; repeat to compare (default: the shipped model)")
    parser.add_argument("--label", action="append", help="the name of each --model's row (default: its path)")
    parser.add_argument("--append", action="store_true", help="keep the rows already in --out (a row of the same name is replaced)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where direction_loss.json and .md go")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = args.model or [None]
    labels = args.label or [model or "kinema-world (shipped)" for model in models]
    if len(labels) != len(models):
        parser.error(f"give one --label per --model ({len(models)} models, {len(labels)} labels)")
    path = args.out / "direction_loss.json"
    results = json.loads(path.read_text())["results"] if args.append and path.exists() else []
    for model, label in zip(models, labels):
        pipe = KinemaPipeline.from_pretrained(model)
        results = [r for r in results if r["model"] != label] + [{"model": label, "ratios": all_ratios(pipe)}]
        print(json.dumps(results[-1]), flush=True)
    write_report(results, args.out)


def write_report(results: list[dict], out: Path) -> None:
    """direction_loss.json and a Markdown table, one row per model."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "direction_loss.json").write_text(json.dumps({"clips": CLIPS, "results": results}, indent=2) + "\n")
    groups = ("none", "first", "swapped")
    header = " | ".join(f"{group} t={t}" for group in groups for t in TIMES)
    rows = [f"| {r['model']} | " + " | ".join(cell(r["ratios"], group, t) for group in groups for t in TIMES) + " |"
            for r in results]
    (out / "direction_loss.md").write_text(
        "# Direction word: flipped-caption loss ratio\n\n"
        f"Flow loss with the direction word flipped over the loss with the clip's own caption, {CLIPS} one-object "
        "world clips, same noise; `none` = text-to-video, `first` = first frame given. 1.00 = the word's sign "
        f"is not read. `swapped`: {CLIPS} two-object clips, first frame given, the objects' direction words "
        "exchanged; 1.00 = the words are not tied to their objects.\n\n"
        f"| model | {header} |\n|---|" + "---|" * (len(groups) * len(TIMES)) + "\n" + "\n".join(rows) + "\n\n"
        "Reproduce: `python benchmarks/direction_loss.py --model DIR --label NAME --append`\n"
    )


def cell(ratios: dict, group: str, t: float) -> str:
    """One table cell; results from before the swap was measured have none."""
    return f"{ratios[group][str(t)]:.3f}" if group in ratios else "n/a"


if __name__ == "__main__":
    main()
