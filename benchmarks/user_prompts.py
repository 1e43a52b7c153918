"""Prompts as a new user types them: does the whole path (reading, expansion, model) give what was asked?

`kinema eval` prompts are training-style captions, so they measure the model but not the reader in
front of it. These prompts (52) are written the way people write ("a tiny orange cube drifting
upwards while the camera pans left", typos, synonyms, two sentences), each paired with a plain
statement of what it asks for, written by hand in caption words. Each prompt is generated as
`kinema generate` does (prompt expansion on, the model's defaults, 17 frames at 64x64), and the
analytic checker judges the clip against the statement, so only what the user asked is judged:
attributes the prompt leaves open are the world's to fill. A prompt the reader misunderstands
fails here even when the model draws its expanded caption perfectly.

    python benchmarks/user_prompts.py [--model DIR] [--seeds 2] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import torch

from kinema.evaluation.checker import check
from kinema.pipeline import KinemaPipeline
from kinema.world.expansion import expand_prompt
from kinema.world.prompts import parse_prompt
from kinema.world.spec import SceneAttributes

RESULTS = Path(__file__).parent / "results"
# (what a user types, what it asks for in caption words)
PROMPTS: tuple[tuple[str, str], ...] = (
    ("a ball rolling left", "a circle moving left"),
    ("crimson square going up at night", "a red square moving up, at night"),
    ("A yellow triangle slides slowly from left to right while it's snowing",
     "a yellow triangle moving right slowly, while it snows"),
    ("two balls colliding in the middle", "a circle moving right and a circle moving left"),
    ("a tiny orange cube drifting upwards while the camera pans left",
     "a small orange square moving up. The camera pans left."),
    ("an enormous purple sphere rolls down", "a large purple circle moving down"),
    ("a scarlet ball jumping up and down on a black background", "a red circle bouncing, on a plain charcoal background"),
    ("a lime green star going up", "a green star moving up"),
    ("make a video of a teal ball rolling to the left", "a cyan circle moving left"),
    ("a big red ball that is moving to the right and a small yellow one moving left",
     "a large red circle moving right and a small yellow circle moving left"),
    ("an orange ball stays still in the middle of a sunny sky", "an orange circle standing still, under a blue sky"),
    ("A blue ball goes right. A red ball goes left.", "a blue circle moving right and a red circle moving left"),
    ("a ball moving north-west quickly", "a circle moving up and to the left quickly"),
    ("a pink star twirling on a striped background", "a pink star spinning, on a striped background"),
    ("a fast moving magenta triangle heading east", "a pink triangle moving right quickly"),
    ("a green box falls down in the rain", "a green square moving down, in the rain"),
    ("a white background with a purple dot sliding right", "a purple circle moving right, on a plain white background"),
    ("two squares moving in opposite directions", "a square moving right and a square moving left"),
    ("a cyan ball passes behind a wall", "a cyan circle, with a wall in the middle"),
    ("a red ball getting bigger", "a red circle growing"),
    ("a shrinking blue triangle on grass", "a blue triangle shrinking, on grass"),
    ("a yellow circle orbiting at night", "a yellow circle moving in a circle, at night"),
    ("A small green ball bouncing in the snow", "a small green circle bouncing, while it snows"),
    ("three stars", "three stars"),
    ("a red ball and a blue square racing to the right",
     "a red circle moving right quickly and a blue square moving right quickly"),
    ("The camera pans right across a field while a red ball bounces",
     "a red circle bouncing, on grass. The camera pans right."),
    ("an orange triangle falling from the sky", "an orange triangle moving down, under a blue sky"),
    ("a big star rising slowly on a beige background", "a large star moving up slowly, on a plain beige background"),
    ("a blue square moving diagonally down to the right", "a blue square moving down and to the right"),
    ("a tiny red dot zooming left", "a small red circle moving left quickly"),
    ("a huge yellow square standing still on a dark background",
     "a large yellow square standing still, on a plain charcoal background"),
    ("a green triangle moves up and a pink ball moves down", "a green triangle moving up and a pink circle moving down"),
    ("a blue ball creeping to the right under a starry sky", "a blue circle moving right slowly, at night"),
    ("a red cube and a blue sphere, both spinning", "a red square spinning and a blue circle spinning"),
    ("a purple star moving left while it rains, camera panning left",
     "a purple star moving left, in the rain. The camera pans left."),
    ("a light grey background with an orange ball bouncing", "an orange circle bouncing, on a plain gray background"),
    ("a small cyan square and a large red triangle", "a small cyan square and a large red triangle"),
    ("a pink ball drifting down slowly in the snow at night",
     "a pink circle moving down slowly, at night, while it snows"),
    ("a yellow star sliding right behind a pillar", "a yellow star moving right, with a wall in the middle"),
    ("a green ball rolls across the screen", "a green circle moving right"),
    ("a blue triangle coming from the top", "a blue triangle moving down"),
    ("a medium-sized orange square moving up quickly on stripes",
     "a medium orange square moving up quickly, on a striped background"),
    ("a gren ball rols left on the gras", "a green circle moving left, on grass"),
    ("a red heart moving right", "a red thing moving right"),
    ("a purple ball on a blue background", "a purple circle, under a blue sky"),
    ("two balls, the red one moving left and the blue one moving right",
     "a red circle moving left and a blue circle moving right"),
    ("a yellow square chasing a green star to the right", "a yellow square moving right and a green star moving right"),
    ("the orange ball moves faster than the cyan one, both going left",
     "an orange circle moving left quickly and a cyan circle moving left slowly"),
    ("an extremely slow pink triangle sinking", "a pink triangle moving down slowly"),
    ("a dog running left and a cat running right", "a thing moving left and a thing moving right"),
    ("a red car and a blue truck driving to the left", "a red thing moving left and a blue thing moving left"),
    ("a bird flying up into the sky", "a thing moving up, under a blue sky"),
)  # fmt: skip


def read_as_asked(read: SceneAttributes, asked: SceneAttributes) -> bool:
    """Whether the reader's full reading of a prompt has every object and scene attribute the statement asks for."""
    if len(read.objects) != len(asked.objects):
        return False
    if any(getattr(asked, name) not in (None, getattr(read, name))
           for name in ("background", "camera_pan", "weather", "occluder")):
        return False
    free = list(read.objects)
    for wanted in asked.objects:
        match = next((obj for obj in free if all(getattr(wanted, name) in (None, getattr(obj, name))
                                                 for name in ("colour", "shape", "size", "motion", "speed"))), None)
        if match is None:
            return False
        free.remove(match)
    return True


def run(pipe: KinemaPipeline, seeds: int) -> dict:
    """Generate every prompt `seeds` times (seeds 0, 1, ...) and tally the checker's verdicts on what was asked."""
    from tqdm import tqdm

    judged, right, records = Counter(), Counter(), []
    all_right = read_right = 0
    for prompt, statement in tqdm(PROMPTS, desc="user prompts", unit="prompt"):
        asked, expansion = parse_prompt(statement), expand_prompt(prompt)
        read_right += read_as_asked(expansion.attributes, asked)
        clips = pipe(prompt, seed=0, num_videos=seeds, num_frames=17, height=64, width=64, expand=True).frames
        wrong = []
        for seed, clip in enumerate(clips):
            report = check(clip, asked, fps=pipe.config.fps)
            for verdict in report.verdicts:
                judged[verdict.attribute] += 1
                right[verdict.attribute] += verdict.ok
            all_right += report.all_ok
            wrong += [f"seed {seed}: {v.attribute} {v.expected} -> {v.observed}" for v in report.verdicts if not v.ok]
        records.append({"prompt": prompt, "asked": statement, "caption": expansion.caption, "wrong": wrong})
    rates = {name: round(100 * right[name] / judged[name], 1) for name in sorted(judged)}
    return {"prompts": len(PROMPTS), "read_as_asked": read_right, "seeds": seeds, "clips": len(PROMPTS) * seeds,
            "judged": dict(judged), "rates": rates, "all_right": round(100 * all_right / (len(PROMPTS) * seeds), 1),
            "records": records}


def markdown(result: dict) -> str:
    lines = [f"# User prompts: {result['prompts']} prompts as people type them, {result['seeds']} seeds each "
             f"(model {result['model']})", "",
             "Reproduce: `python benchmarks/user_prompts.py`. Each clip is judged only on what its prompt asked.", "",
             f"Prompts whose expanded caption states everything they ask: {result['read_as_asked']} of "
             f"{result['prompts']}.", "",
             "| attribute | right (%) | judged |", "| --- | --- | --- |"]
    lines += [f"| {name} | {rate} | {result['judged'][name]} |" for name, rate in result["rates"].items()]
    lines += [f"| all asked right | {result['all_right']} | {result['clips']} |", "", "## Misses", ""]
    lines += [f"- \"{r['prompt']}\" (read as \"{r['caption']}\"): {'; '.join(r['wrong'])}"
              for r in result["records"] if r["wrong"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model folder (default: the shipped kinema-world)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = KinemaPipeline.from_pretrained(args.model)
    result = {"model": pipe.config.name, **run(pipe, args.seeds)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "user_prompts.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "user_prompts.md").write_text(markdown(result))
    print(markdown(result).split("## Misses")[0])


if __name__ == "__main__":
    main()
