"""How far apart does the text encoder put two captions that differ in one attribute?

The transformer sees a prompt only through the frozen text encoder: its token states (cross-
attention) and its pooled vector (adaLN). An attribute whose words barely move those inputs is
hard to learn, whatever the video loss. This script takes single-object canonical captions (the
style prompt expansion writes), swaps one attribute for another value of the same word-piece
length, and measures the change:

- `pooled_distance`: mean 1 - cosine of the two pooled vectors;
- `token_change`: mean over positions of |states_a - states_b| / |states_a| (how much of the
  sequence the swap touches);
- `top_token_change`: the same at the most changed position (how loud the swapped word itself is).

Printed next to the shipped model's eval accuracy (`benchmarks/results/model_eval.json`, seen set)
so the two can be read together.

    python benchmarks/text_separation.py [--pairs 200] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from kinema.models.text import load_text_encoder
from kinema.world.captions import canonical_caption
from kinema.world.spec import BACKGROUNDS, COLOURS, SHAPES, SIZES, SPEEDS, ObjectSpec, SceneSpec

RESULTS = Path(__file__).parent / "results"
# One-word directions only: a swap must keep the caption's token count so positions line up.
DIRECTIONS = ("left", "right", "up", "down")
CHOICES: dict[str, tuple[str, ...]] = {
    "colour": tuple(COLOURS),
    "shape": SHAPES,
    "size": tuple(SIZES),
    "direction": DIRECTIONS,
    "speed": tuple(SPEEDS),
    "background": BACKGROUNDS,
}


def random_scene(rng: np.random.Generator) -> SceneSpec:
    obj = ObjectSpec(
        shape=str(rng.choice(SHAPES)), colour=str(rng.choice(tuple(COLOURS))), size=str(rng.choice(tuple(SIZES))),
        motion=str(rng.choice(DIRECTIONS)), speed=str(rng.choice(tuple(SPEEDS))),
    )  # fmt: skip
    return SceneSpec(objects=(obj,), background=str(rng.choice(BACKGROUNDS)))


def swapped(scene: SceneSpec, attribute: str, value: str) -> SceneSpec:
    if attribute == "background":
        return replace(scene, background=value)
    field = "motion" if attribute == "direction" else attribute
    return replace(scene, objects=(replace(scene.objects[0], **{field: value}),))


def caption_pairs(attribute: str, pairs: int, seed: int) -> list[tuple[str, str]]:
    """`pairs` (caption, the caption with `attribute` changed to another value)."""
    rng = np.random.default_rng([seed, list(CHOICES).index(attribute)])
    out: list[tuple[str, str]] = []
    for _ in range(pairs):
        scene = random_scene(rng)
        obj = scene.objects[0]
        current = {"background": scene.background, "direction": obj.motion}.get(attribute) or getattr(obj, attribute)
        other = str(rng.choice([v for v in CHOICES[attribute] if v != current]))
        out.append((canonical_caption(scene), canonical_caption(swapped(scene, attribute, other))))
    return out


@torch.no_grad()
def separation(encoder, pairs: list[tuple[str, str]]) -> dict:
    """Mean changes over the pairs whose two captions have the same token count (so positions line up)."""
    encoded = encoder.encode([a for a, _ in pairs] + [b for _, b in pairs])
    n = len(pairs)
    first, second, mask = encoded.states[:n], encoded.states[n:], encoded.mask[:n]
    aligned = (encoded.mask[:n].sum(1) == encoded.mask[n:].sum(1))
    pooled = 1.0 - torch.nn.functional.cosine_similarity(encoded.pooled[:n], encoded.pooled[n:], dim=-1)
    change = (first - second).norm(dim=-1) / first.norm(dim=-1).clamp_min(1e-6) * mask.float()
    mean_change = change.sum(1) / mask.sum(1)
    return {
        "aligned_pairs": int(aligned.sum()),
        "pooled_distance": round(float(pooled[aligned].mean()), 4),
        "token_change": round(float(mean_change[aligned].mean()), 4),
        "top_token_change": round(float(change.amax(1)[aligned].mean()), 4),
    }


def eval_accuracy() -> dict[str, float]:
    path = RESULTS / "model_eval.json"
    if not path.exists():
        return {}
    report = json.loads(path.read_text())
    seen = report["sets"]["seen"]["attributes"]
    return {name: entry["rate"] for name, entry in seen.items() if isinstance(entry, dict) and "rate" in entry}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="caption pairs per attribute (default: 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    encoder = load_text_encoder()
    accuracy = eval_accuracy()
    rows = {}
    for attribute in CHOICES:
        rows[attribute] = separation(encoder, caption_pairs(attribute, args.pairs, args.seed))
        rows[attribute]["eval_accuracy_seen"] = accuracy.get(attribute)  # the eval names them alike
    report = {"text_encoder": str(encoder), "pairs": args.pairs, "seed": args.seed, "attributes": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "text_separation.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Text separation: how much one swapped attribute moves the text encoder's output",
        "",
        f"{args.pairs} single-object canonical caption pairs per attribute; reproduce: "
        "`python benchmarks/text_separation.py`.",
        "",
        "| attribute | pooled 1 - cos | mean token change | top token change | eval accuracy (seen) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for attribute, row in rows.items():
        acc = row["eval_accuracy_seen"]
        acc_text = f"{100 * acc:.1f}%" if acc is not None else "n/a"
        lines.append(f"| {attribute} | {row['pooled_distance']:.4f} | {row['token_change']:.3f} | "
                     f"{row['top_token_change']:.3f} | {acc_text} |")
    (args.out / "text_separation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
