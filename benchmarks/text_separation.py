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

Binding: two-object captions whose objects go different ways ("a red circle moving left and a blue
square moving up") against the same caption with the two direction words exchanged. The words
are the same, so what changes is only which object each belongs to:
- `direction_word_context_cosine`: cosine between one direction word's state after the first object
  and its state after the second (1 = the word's state says nothing of its object);
- `object_token_change`: mean change of every other token (how much the object words hear their
  direction).
Cross-attention reads token states as an unordered set, so with cosine near 1 and object tokens
unchanged, nothing tells the video which object a direction word belongs to.

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


def binding_pairs(pairs: int, seed: int) -> list[tuple[str, str]]:
    """`pairs` (two-object caption, the same caption with the objects' direction words exchanged)."""
    rng = np.random.default_rng([seed, len(CHOICES)])
    out: list[tuple[str, str]] = []
    for _ in range(pairs):
        first, second = random_scene(rng).objects[0], random_scene(rng).objects[0]
        second = replace(second, colour=str(rng.choice([c for c in COLOURS if c != first.colour])),
                         motion=str(rng.choice([d for d in DIRECTIONS if d != first.motion])))
        scene = SceneSpec(objects=(first, second), background=str(rng.choice(BACKGROUNDS)))
        exchanged = replace(scene, objects=(replace(first, motion=second.motion), replace(second, motion=first.motion)))
        out.append((canonical_caption(scene), canonical_caption(exchanged)))
    return out


@torch.no_grad()
def binding(encoder, pairs: list[tuple[str, str]]) -> dict:
    """How much a direction word's state depends on its object, over aligned pairs.

    In an aligned pair the two most changed positions hold the direction words: position p holds
    word w after the first object in one caption, and position q holds the same w after the second
    object in the other.
    """
    encoded = encoder.encode([a for a, _ in pairs] + [b for _, b in pairs])
    n = len(pairs)
    first, second, mask = encoded.states[:n], encoded.states[n:], encoded.mask[:n]
    aligned = (encoded.mask[:n].sum(1) == encoded.mask[n:].sum(1)).tolist()
    change = (first - second).norm(dim=-1) / first.norm(dim=-1).clamp_min(1e-6) * mask.float()
    cos = torch.nn.functional.cosine_similarity
    cosines, others = [], []
    for i in range(n):
        if not aligned[i]:
            continue
        p, q = sorted(change[i].topk(2).indices.tolist())
        cosines += [float(cos(first[i, p], second[i, q], dim=0)), float(cos(first[i, q], second[i, p], dim=0))]
        rest = mask[i].clone()
        rest[[p, q]] = False
        others.append(float(change[i][rest].mean()))
    return {
        "aligned_pairs": sum(aligned),
        "direction_word_context_cosine": round(float(np.mean(cosines)), 4),
        "object_token_change": round(float(np.mean(others)), 4),
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
    bound = binding(encoder, binding_pairs(args.pairs, args.seed))
    report = {"text_encoder": str(encoder), "pairs": args.pairs, "seed": args.seed, "attributes": rows, "binding": bound}
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
    lines += [
        "",
        f"Binding: {bound['aligned_pairs']} two-object captions against the same caption with the objects' direction "
        "words exchanged. A direction word's state after one object against its state after the other: cosine "
        f"{bound['direction_word_context_cosine']:.3f} (1 = it says nothing of its object); mean change of the other "
        f"tokens: {bound['object_token_change']:.4f}.",
    ]
    (args.out / "text_separation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
