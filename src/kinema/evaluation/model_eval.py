"""The text-to-video eval: generate every prompt of a set, judge each clip, and measure FVD.

For each prompt of a set (prompt_sets.py) and each seed the pipeline makes one clip; the analytic
checker judges it against the prompt's scene spec, and the verdicts are tallied into the issue's
attribute groups: colour, shape, size, direction (directional motions), speed, count, background,
bounce, occluder (object permanence behind a wall), camera pan; plus motion of every kind,
consistency (an object does not vanish or jump in size) and no_wall (none invented). A clip is
"all right" when every verdict on it is right; "combination right" when the probe object (the
held-out triple, or its seen twin) has the right colour, shape and motion together.

FVD compares the classifier features of the generated clips with the rendered reference clips of
the same scenes. As the estimate depends on the number of clips, a floor is reported beside it:
the FVD between the references and as many freshly drawn scenes of the same set rendered by the
world itself, i.e. what a perfect generator would score at this sample size.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinema.evaluation.checker import Verdict, check
from kinema.evaluation.prompt_sets import SET_NAMES, EvalPrompt, prompt_set
from kinema.world.render import render
from kinema.world.spec import DIRECTIONS

ATTRIBUTES = ("colour", "shape", "size", "direction", "speed", "count", "background", "bounce", "occluder", "camera_pan")
EXTRA_ATTRIBUTES = ("motion", "consistency", "no_wall")
# The targets for the shipped model on both sets, and the largest allowed seen-heldout gap.
TARGETS = {"colour": 0.90, "direction": 0.85, "background": 0.90, "count": 0.80, "shape": 0.75, "bounce": 0.70,
           "occluder": 0.70}
MAX_GAP = 0.10
RESULTS_NAME = "model_eval"


@dataclass
class SetResult:
    """Tallies, per-prompt records, FVDs and a few kept clips for one prompt set."""

    name: str
    prompts: int = 0
    clips: int = 0
    judged: Counter = field(default_factory=Counter)
    right: Counter = field(default_factory=Counter)
    all_right: int = 0
    combination_right: int = 0
    # Direction tallied by the number of objects in the scene: (judged, right) per count. Binding each
    # direction word to the right object is what fails in scenes of two or three.
    direction_judged: Counter = field(default_factory=Counter)
    direction_right: Counter = field(default_factory=Counter)
    records: list[dict] = field(default_factory=list)
    fvd: float | None = None
    fvd_floor: float | None = None
    seconds: float = 0.0
    samples: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (label, frames) for the contact sheet

    def rate(self, attribute: str) -> float | None:
        return round(self.right[attribute] / self.judged[attribute], 4) if self.judged[attribute] else None

    def direction_by_object_count(self) -> dict[str, dict]:
        """{"1": {"rate", "right", "judged"}, "2": ...} for the scenes' object counts that had a direction to judge."""
        return {str(count): {"rate": round(self.direction_right[count] / judged, 4), "right": self.direction_right[count],
                             "judged": judged} for count, judged in sorted(self.direction_judged.items())}

    def to_dict(self) -> dict:
        attributes = {name: {"rate": self.rate(name), "right": self.right[name], "judged": self.judged[name]}
                      for name in (*ATTRIBUTES, *EXTRA_ATTRIBUTES)}
        return {
            "set": self.name, "prompts": self.prompts, "clips": self.clips,
            "all_right": round(self.all_right / max(self.clips, 1), 4),
            "combination_right": round(self.combination_right / max(self.clips, 1), 4),
            "attributes": attributes, "direction_by_object_count": self.direction_by_object_count(),
            "fvd": self.fvd, "fvd_floor": self.fvd_floor,
            "seconds_per_clip": round(self.seconds / max(self.clips, 1), 3), "records": self.records,
        }


def attribute_groups(verdict: Verdict) -> tuple[str, ...]:
    """The report's groups a checker verdict counts towards."""
    if verdict.attribute == "motion":
        if verdict.expected in DIRECTIONS:
            return "motion", "direction"
        return ("motion", "bounce") if verdict.expected == "bounce" else ("motion",)
    if verdict.attribute == "occluder":
        return ("occluder",) if verdict.expected == "reappeared" else ("no_wall",)
    return (verdict.attribute,)


def describe_wrong(verdict: Verdict) -> str:
    """'shape#0: star -> circle'."""
    where = "" if verdict.object is None else f"#{verdict.object}"
    return f"{verdict.attribute}{where}: {verdict.expected} -> {verdict.observed}"


def eval_size(pipe, size: tuple[int, int] | None, num_frames: int | None) -> tuple[int, int, int]:
    """(num_frames, height, width): the given ones, else 17 frames at 64x64 or the model's first size and clip length."""
    config = pipe.config
    if size is None:
        size = (64, 64) if (64, 64) in config.sizes else config.sizes[0]
    if num_frames is None:
        num_frames = 17 if 17 in config.frame_counts else max(config.frame_counts)
    return num_frames, size[0], size[1]


def generate(pipe, prompt: str, seeds: Sequence[int], **kwargs) -> np.ndarray:
    """(len(seeds), T, H, W, 3) clips; consecutive seeds go through one batched call."""
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return pipe(prompt, seed=seeds[0], num_videos=len(seeds), **kwargs).frames
    return np.concatenate([pipe(prompt, seed=seed, num_videos=1, **kwargs).frames for seed in seeds])


def evaluate_model(pipe, prompts: Sequence[EvalPrompt], seeds: Sequence[int] = (0, 1), steps: int | None = None,
                   guidance: float | None = None, size: tuple[int, int] | None = None, num_frames: int | None = None,
                   classifier=None, progress: bool = True, keep: int = 4) -> SetResult:
    """Generate, judge and (with a classifier) measure FVD for one prompt set; `keep` prompts' clips are kept for a sheet."""
    from tqdm import tqdm

    if not prompts:
        raise ValueError("evaluate_model needs at least one prompt")
    if not seeds:
        raise ValueError("evaluate_model needs at least one seed, e.g. seeds=(0, 1)")
    num_frames, height, width = eval_size(pipe, size, num_frames)
    request = {"num_frames": num_frames, "height": height, "width": width, "num_inference_steps": steps,
               "guidance_scale": guidance}
    result = SetResult(prompts[0].set_name, prompts=len(prompts))
    generated, references = [], []
    bar = tqdm(prompts, desc=f"eval {result.name}", unit="prompt", disable=not progress, dynamic_ncols=True)
    for number, item in enumerate(bar):
        started = time.perf_counter()
        clips = generate(pipe, item.prompt, seeds, **request)
        result.seconds += time.perf_counter() - started
        reference = render(item.spec, num_frames, height, width, pipe.config.fps)
        record = {"index": item.index, "prompt": item.prompt, "seeds": {}}
        for seed, clip in zip(seeds, clips):
            record["seeds"][str(seed)] = judge_clip(result, item, clip, pipe.config.fps)
        result.records.append(record)
        generated.extend(clips)
        references.append(reference)
        if number < keep:
            result.samples.extend(sample_rows(item, reference, clips, seeds, record))
        bar.set_postfix(all_right=f"{result.all_right / result.clips:.0%}")
    if classifier is not None:
        measure_fvd(result, classifier, generated, references, prompts, num_frames, height, width, pipe.config.fps)
    return result


def judge_clip(result: SetResult, item: EvalPrompt, clip: np.ndarray, fps: float) -> dict:
    """Check one generated clip against its scene, add it to the tallies, and return its record."""
    report = check(clip, item.spec, fps=fps)
    for verdict in report.verdicts:
        groups = attribute_groups(verdict)
        for group in groups:
            result.judged[group] += 1
            result.right[group] += verdict.ok
        if "direction" in groups:
            result.direction_judged[len(item.spec.objects)] += 1
            result.direction_right[len(item.spec.objects)] += verdict.ok
    probe = [v for v in report.verdicts if v.object == item.probe and v.attribute in ("colour", "shape", "motion")]
    combination = len(probe) == 3 and all(v.ok for v in probe)
    result.clips += 1
    result.all_right += report.all_ok
    result.combination_right += combination
    return {"all_right": report.all_ok, "combination_right": combination,
            "wrong": [describe_wrong(v) for v in report.verdicts if not v.ok]}


def sample_rows(item: EvalPrompt, reference: np.ndarray, clips: np.ndarray, seeds: Sequence[int], record: dict) -> list:
    """Contact-sheet rows for one prompt: the rendered reference, then the first generated clip and its verdict."""
    first = record["seeds"][str(seeds[0])]
    verdict = "all right" if first["all_right"] else "wrong " + "; ".join(first["wrong"])
    return [(f"[{item.set_name} {item.index}] rendered reference: {item.prompt}", reference),
            (f"[{item.set_name} {item.index}] generated, seed {seeds[0]}: {verdict}", clips[0])]


def measure_fvd(result: SetResult, classifier, generated: list, references: list, prompts: Sequence[EvalPrompt],
                num_frames: int, height: int, width: int, fps: float) -> None:
    """FVD of generated vs reference clips, and the floor: references vs as many fresh rendered scenes of the same set."""
    from kinema.evaluation.fvd import feature_distance
    from kinema.evaluation.world_classifier import clip_features

    reference_features = clip_features(classifier, references)
    result.fvd = round(feature_distance(clip_features(classifier, generated), reference_features), 3)
    if prompts[0].set_name in SET_NAMES:
        used = {item.index for item in prompts}
        start = max(used) + 1
        fresh = prompt_set(prompts[0].set_name, start + len(generated))[start:]
        fresh_clips = [render(item.spec, num_frames, height, width, fps) for item in fresh]
        result.fvd_floor = round(feature_distance(clip_features(classifier, fresh_clips), reference_features), 3)


# ---------------------------------------------------------------------------- a whole run and its files


def run_model_eval(pipe, sets: Sequence[str] = SET_NAMES, limit: int | None = None, seeds: Sequence[int] = (0, 1),
                   steps: int | None = None, guidance: float | None = None, size: tuple[int, int] | None = None,
                   num_frames: int | None = None, classifier=None, out_dir: str | Path | None = None,
                   model_name: str = "", progress: bool = True, set_size: int | None = None) -> dict:
    """Evaluate each named set (the first `limit` prompts of it), then write JSON, Markdown and a contact sheet to out_dir."""
    from kinema.evaluation.prompt_sets import DEFAULT_SET_SIZE

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 prompt; got {limit}")
    size_of_set = set_size or DEFAULT_SET_SIZE
    results = [evaluate_model(pipe, prompt_set(name, size_of_set)[:limit], seeds, steps, guidance, size, num_frames,
                              classifier, progress) for name in sets]
    frames, height, width = eval_size(pipe, size, num_frames)
    settings = {"seeds": list(seeds), "steps": steps if steps is not None else pipe.config.steps,
                "guidance": guidance if guidance is not None else pipe.config.guidance_scale,
                "num_frames": frames, "size": f"{width}x{height}", "limit": limit, "sampler": pipe.config.sampler,
                "factorised": pipe.config.factorised}
    if pipe.config.factorised:
        settings["still_guidance"] = pipe.still_guidance(None, guidance)
    report = build_report(results, settings, model_name or pipe.config.name)
    if out_dir is not None:
        write_results(report, results, Path(out_dir))
    return report


def build_report(results: Sequence[SetResult], settings: dict, model_name: str) -> dict:
    """The JSON report: settings, each set's numbers, targets met or missed, and the seen-heldout gaps."""
    sets = {result.name: result.to_dict() for result in results}
    targets = {}
    for attribute, target in TARGETS.items():
        rates = {name: data["attributes"][attribute]["rate"] for name, data in sets.items()}
        targets[attribute] = {"target": target, **rates, "met": all(r is not None and r >= target for r in rates.values())}
    gaps = {}
    if "seen" in sets and "heldout" in sets:
        for attribute in (*ATTRIBUTES, "all_right", "combination_right"):
            seen, held = (rate_of(sets[name], attribute) for name in ("seen", "heldout"))
            if seen is not None and held is not None:
                gaps[attribute] = {"gap": round(seen - held, 4), "within": seen - held <= MAX_GAP}
    return {"model": model_name, "settings": settings, "sets": sets, "targets": targets, "gap_seen_minus_heldout": gaps,
            "max_gap": MAX_GAP}


def rate_of(set_data: dict, attribute: str) -> float | None:
    """A set's rate for an attribute group, all_right or combination_right."""
    if attribute in set_data["attributes"]:
        return set_data["attributes"][attribute]["rate"]
    return set_data[attribute]


def write_results(report: dict, results: Sequence[SetResult], out_dir: Path) -> dict[str, Path]:
    """model_eval.json, model_eval.md and model_eval_contact_sheet.png in out_dir."""
    from kinema.media import contact_sheet, write_image

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / f"{RESULTS_NAME}.json", "markdown": out_dir / f"{RESULTS_NAME}.md",
             "contact_sheet": out_dir / f"{RESULTS_NAME}_contact_sheet.png"}
    paths["json"].write_text(json.dumps(report, indent=1) + "\n")
    paths["markdown"].write_text(markdown_table(report))
    rows = [row for result in results for row in result.samples]
    if rows:
        sheet = contact_sheet([clip for _, clip in rows], labels=[label for label, _ in rows], frames_per_clip=6, scale=2)
        write_image(sheet, paths["contact_sheet"])
    return paths


def markdown_table(report: dict) -> str:
    """The eval as a Markdown table: one row per attribute, one column per set, the target beside it."""
    names = list(report["sets"])
    settings = report["settings"]
    counts = ", ".join(f"{name} ({report['sets'][name]['prompts']} prompts, {report['sets'][name]['clips']} clips)"
                       for name in names)
    lines = [f"# Text-to-video eval: {report['model']}", "",
             (f"{counts}; seeds {settings['seeds']}, {settings['steps']} steps, guidance {settings['guidance']}, "
              f"{settings['num_frames']} frames at {settings['size']}"
              + (f", the first frame made as an image at guidance {settings['still_guidance']}."
                 if "still_guidance" in settings else ".")), "",
             "| attribute | " + " | ".join(names) + " | target |", "|---|" + "---|" * (len(names) + 1)]
    for attribute in (*ATTRIBUTES, *EXTRA_ATTRIBUTES, "all_right", "combination_right"):
        cells = []
        for name in names:
            rate = rate_of(report["sets"][name], attribute)
            judged = report["sets"][name]["attributes"].get(attribute, {}).get("judged")
            cells.append("n/a" if rate is None else f"{rate:.1%}" + (f" (n={judged})" if judged is not None else ""))
        target = f"{TARGETS[attribute]:.0%}" if attribute in TARGETS else ""
        lines.append(f"| {attribute} | " + " | ".join(cells) + f" | {target} |")
    for key in ("fvd", "fvd_floor"):
        cells = ["n/a" if report["sets"][n][key] is None else f"{report['sets'][n][key]:.2f}" for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " | |")
    for name in names:
        by_count = report["sets"][name].get("direction_by_object_count", {})
        if by_count:
            parts = [f"{count} object{'s' if count != '1' else ''} {data['rate']:.1%} (n={data['judged']})"
                     for count, data in by_count.items()]
            lines += ["", f"Direction on {name}, by objects in the scene: " + ", ".join(parts) + "."]
    if report["gap_seen_minus_heldout"]:
        worst = max(report["gap_seen_minus_heldout"].items(), key=lambda item: item[1]["gap"])
        lines += ["", f"Largest seen - heldout gap: {worst[0]} {worst[1]['gap']:+.1%} (allowed {report['max_gap']:.0%})."]
    lines += ["", "fvd_floor: rendered references vs as many fresh rendered scenes of the same set (a perfect generator).",
              "", f"Reproduce: `{reproduce_command(report)}`", ""]
    return "\n".join(lines)


def reproduce_command(report: dict) -> str:
    """The `kinema eval` command line that remakes this report (the model folder aside)."""
    settings = report["settings"]
    sets = list(report["sets"])
    command = (f"kinema eval --set {'both' if len(sets) == 2 else sets[0]} --seeds {','.join(map(str, settings['seeds']))} "
               f"--steps {settings['steps']} --guidance {settings['guidance']} --size {settings['size']} "
               f"--frames {settings['num_frames']}")
    command += " --factorised" if settings.get("factorised") else " --no-factorised"
    command += f" --still-guidance {settings['still_guidance']}" if "still_guidance" in settings else ""
    return command + (f" --limit {settings['limit']}" if settings["limit"] else "")
