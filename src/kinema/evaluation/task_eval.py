"""The Sora-task evals of issue 6: each task on cases drawn from the world, scored by its own measure.

Cases are rendered by the world, so every input has a known truth; the pipeline runs the task
once per seed, and each output is scored by the analytic checker plus the task's measure:

- image-to-video: PSNR of the first output frame against the input image (target 30 dB; the
  output's first frame is the VAE round trip of the image), and whether the prompt's motion is seen.
- extend: seam continuity, the *20% rule*: the mean absolute step from the clip's last frame to
  the first new one is at most 1.2 x the clip's typical (median) step; and the checker judging the
  stitched clip keeps the object's colour, shape and direction across the seam.
- extend-backward: the same, mirrored: the step from the last new frame into the clip's first.
- loop: the same rule for the step from the last frame back to the first, against the loop's own
  typical step.
- join: PSNR of the first frame against A's last and of the last frame against B's first (30 dB).
- edit: the edited attribute (colour or background) is seen as asked, and the motion direction of
  the source is kept (targets 80% each).
- long: the checker finds the object with its prompted colour in the last 10 s (target 80%), and
  per 10-s segment, to show how quality drifts with length.

Typical steps are floored at MOTION_FLOOR grey levels so a nearly static clip does not turn the
compression noise of a seam into a failure. Measures are pure functions of uint8 frames, tested
on rendered clips; `evaluate_task` runs a pipeline and `write_report` writes JSON and Markdown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kinema.evaluation.checker import check
from kinema.evaluation.metrics import psnr
from kinema.tasks.requests import DEFAULT_STRENGTH
from kinema.world.spec import (
    COLOURS,
    DIRECTIONS,
    PLAIN_BACKGROUNDS,
    Attributes,
    SceneAttributes,
    SceneSpec,
)

TASKS = ("image-to-video", "extend", "extend-backward", "loop", "join", "edit", "long")
PSNR_TARGET = 30.0
SEAM_TOLERANCE = 0.20
MOTION_FLOOR = 1.0  # grey levels (mean absolute step) below which a clip counts as still
TAIL_SECONDS = 10.0
RATE_TARGET = 0.80
CASE_FRAMES = {"image-to-video": 17, "extend": 33, "extend-backward": 33, "join": 49, "edit": 17}  # per case


# ----------------------------------------------------------------------------- measures


def step_sizes(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference (grey levels) of each consecutive pair of frames (T, H, W, 3): (T - 1,)."""
    frames = frames.astype(np.float32)
    return np.abs(frames[1:] - frames[:-1]).mean(axis=(1, 2, 3))


def step_rule(seam_step: float, typical_steps: np.ndarray) -> dict:
    """The 20% rule: a seam step is at most (1 + SEAM_TOLERANCE) x the typical (median) step."""
    typical = max(float(np.median(typical_steps)), MOTION_FLOOR)
    ratio = seam_step / typical
    return {"seam_step": round(float(seam_step), 3), "typical_step": round(typical, 3), "ratio": round(ratio, 3),
            "ok": bool(ratio <= 1 + SEAM_TOLERANCE)}


def seam_continuity(clip: np.ndarray, after: np.ndarray) -> dict:
    """The step from the clip's last frame to the first frame after it, against the clip's typical step."""
    if len(clip) < 2 or len(after) < 1:
        raise ValueError(f"seam continuity needs a clip of 2+ frames and 1+ frames after it; got {len(clip)}, {len(after)}")
    return step_rule(float(step_sizes(np.stack([clip[-1], after[0]]))[0]), step_sizes(clip))


def loop_continuity(frames: np.ndarray) -> dict:
    """The step from the last frame back to the first, against the loop's own typical step."""
    if len(frames) < 3:
        raise ValueError(f"a loop needs at least 3 frames; got {len(frames)}")
    return step_rule(float(step_sizes(np.stack([frames[-1], frames[0]]))[0]), step_sizes(frames))


def first_frame_psnr(frames: np.ndarray, image: np.ndarray) -> float:
    """PSNR (dB) of the first output frame against the input image."""
    return psnr(frames[0], image)


def join_psnr(frames: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict:
    """PSNR of the output's first frame against A's last and of its last against B's first; ok when both reach 30 dB."""
    start, end = psnr(frames[0], a[-1]), psnr(frames[-1], b[0])
    return {"start_psnr": _db(start), "end_psnr": _db(end), "ok": bool(min(start, end) >= PSNR_TARGET)}


def edit_outcome(frames: np.ndarray, edited: SceneSpec, attribute: str, fps: float) -> dict:
    """Whether the edited attribute is seen as asked, and whether the (directional) motion is kept."""
    report = check(frames, edited, fps)
    verdicts = {(v.attribute, v.object): v for v in report.verdicts}
    key = (attribute, None if attribute == "background" else 0)
    changed = verdicts.get(key)
    motion = verdicts.get(("motion", 0))
    return {"changed": bool(changed and changed.ok), "seen": changed.observed if changed else "not judged",
            "direction_kept": bool(motion and motion.ok), "motion_seen": motion.observed if motion else "not judged"}


def colour_found(frames: np.ndarray, colour: str, fps: float) -> bool:
    """Whether the checker finds an object of this colour in the frames."""
    report = check(frames, SceneAttributes(objects=(Attributes(colour=colour),)), fps)
    return any(v.attribute == "colour" and v.ok for v in report.verdicts)


def colour_by_segment(frames: np.ndarray, colour: str, fps: float, seconds: float = TAIL_SECONDS) -> list[bool]:
    """colour_found over consecutive segments of `seconds` (the last may be shorter): drift with length."""
    size = max(1, round(seconds * fps))
    return [colour_found(frames[start : start + size], colour, fps) for start in range(0, len(frames), size)]


def colour_in_tail(frames: np.ndarray, colour: str, fps: float, seconds: float = TAIL_SECONDS) -> bool:
    """Whether the object of the prompted colour is still found in the last `seconds`."""
    return colour_found(frames[-max(1, round(seconds * fps)) :], colour, fps)


def _db(value: float) -> float | None:
    """PSNR for JSON: rounded, None for identical frames (infinite)."""
    return None if not np.isfinite(value) else round(float(value), 2)


# ----------------------------------------------------------------------------- cases from the world


@dataclass(frozen=True)
class TaskCase:
    """One eval case: the prompt, the scene it describes, the task's inputs and what to judge."""

    task: str
    index: int
    prompt: str
    spec: SceneSpec
    height: int
    width: int
    inputs: dict = field(default_factory=dict)
    edited: str | None = None  # edit: the attribute the prompt changes


def case_spec(task: str, rng: np.random.Generator, duration: float) -> SceneSpec:
    """A one-object scene whose motion the task can judge: directional for extend/edit/image, periodic for long/loop."""
    from kinema.world.sampling import WorldDistribution, sample_scene

    periodic = ("bounce", "circle", "spin", "still")
    motions = periodic if task in ("long", "loop") else tuple(DIRECTIONS)
    dist = WorldDistribution(object_counts=(1,), object_count_weights=(1.0,), motions=motions, p_occluder=0.0,
                             p_camera_pan=0.0, p_weather=0.0)
    return sample_scene(rng, duration=duration, dist=dist)


def make_cases(task: str, count: int, height: int, width: int, fps: float, *, seed: int = 0,
               long_seconds: float = 60.0) -> list[TaskCase]:
    """`count` cases for a task, rendered at height x width; the same seed gives the same cases."""
    from kinema.world.captions import canonical_caption
    from kinema.world.render import render

    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        frames = CASE_FRAMES.get(task, 17)
        spec = case_spec(task, rng, (long_seconds if task == "long" else frames / fps) + 0.125)
        inputs = case_inputs(task, render(spec, frames, height, width, fps)) if task in CASE_FRAMES else {}
        edited = None
        if task == "edit":
            spec, edited = edited_spec(spec, rng)
        cases.append(TaskCase(task, index, canonical_caption(spec), spec, height, width, inputs, edited))
    return cases


def case_inputs(task: str, clip: np.ndarray) -> dict[str, np.ndarray]:
    """A rendered clip cut into a task's inputs: the first frame, the first 17 frames, or A and B 16 frames apart."""
    if task == "image-to-video":
        return {"image": clip[0]}
    if task == "extend":
        return {"clip": clip[:17]}
    if task == "extend-backward":
        return {"clip": clip[16:]}  # the true lead-in is clip[:17]
    if task == "join":
        return {"a": clip[:17], "b": clip[33:]}  # the true transition is clip[16:34]
    return {"video": clip}


def edited_spec(spec: SceneSpec, rng: np.random.Generator) -> tuple[SceneSpec, str]:
    """The scene with its object recoloured or its background changed (half each): what an edit prompt asks for."""
    obj = spec.objects[0]
    if rng.random() < 0.5:
        colour = str(rng.choice([c for c in COLOURS if c != obj.colour]))
        return replace(spec, objects=(replace(obj, colour=colour),)), "colour"
    background = str(rng.choice([b for b in (*PLAIN_BACKGROUNDS, "night") if b != spec.background]))
    return replace(spec, background=background), "background"


# ----------------------------------------------------------------------------- running a pipeline


def task_request(case: TaskCase, fps: float, strength: float, long_seconds: float, edit_noise: str = "inverted") -> dict:
    """The pipeline keyword arguments of a case."""
    inputs = case.inputs
    return {
        "image-to-video": lambda: {"image": inputs["image"], "num_frames": 17},
        "extend": lambda: {"extend": inputs["clip"], "num_frames": 17},
        "extend-backward": lambda: {"extend": inputs["clip"], "backward": True, "num_frames": 17},
        "loop": lambda: {"loop": True, "num_frames": 33},
        "join": lambda: {"join": (inputs["a"], inputs["b"]), "num_frames": 18},
        "edit": lambda: {"video": inputs["video"], "strength": strength, "edit_noise": edit_noise},
        "long": lambda: {"num_frames": 1 + 4 * round(long_seconds * fps / 4)},
    }[case.task]()


def score(case: TaskCase, frames: np.ndarray, stitched: np.ndarray, fps: float) -> dict:
    """The task's measures for one output (frames as made; stitched: with the inputs around them)."""
    task, inputs = case.task, case.inputs
    if task == "image-to-video":
        value = first_frame_psnr(frames, inputs["image"])
        motion = [v for v in check(frames, case.spec, fps).verdicts if v.attribute == "motion"]
        return {"psnr": _db(value), "ok": bool(value >= PSNR_TARGET), "motion_ok": bool(motion and motion[0].ok)}
    if task in ("extend", "extend-backward"):
        clip = inputs["clip"]
        if task == "extend":
            seam = seam_continuity(clip, stitched[len(clip) :])
        else:  # mirrored: time reversed, the clip's first frame is its last and the lead-in comes after it
            seam = seam_continuity(clip[::-1], stitched[: len(stitched) - len(clip)][::-1])
        verdicts = check(stitched, case.spec, fps).verdicts
        kept = {v.attribute: v.ok for v in verdicts if v.object == 0 and v.attribute in ("colour", "shape", "motion")}
        return {**seam, "kept": kept, "object_kept": bool(kept) and all(kept.values())}
    if task == "loop":
        return {**loop_continuity(frames), "colour_ok": colour_found(frames, case.spec.objects[0].colour, fps)}
    if task == "join":
        return join_psnr(frames, inputs["a"], inputs["b"])
    if task == "edit":
        outcome = edit_outcome(frames, case.spec, case.edited or "colour", fps)
        return {**outcome, "attribute": case.edited, "ok": outcome["changed"] and outcome["direction_kept"]}
    colour = case.spec.objects[0].colour
    segments = colour_by_segment(frames, colour, fps)
    return {"ok": colour_in_tail(frames, colour, fps), "segments": segments}


def evaluate_task(pipe, task: str, cases: Sequence[TaskCase], seeds: Sequence[int] = (0,), *, steps: int | None = None,
                  guidance: float | None = None, strength: float = DEFAULT_STRENGTH, edit_noise: str = "inverted",
                  long_seconds: float = 60.0,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Run every case once per seed (consecutive seeds batched) and return the report (summary + records)."""
    if not cases:
        raise ValueError("evaluate_task needs at least one case (see make_cases)")
    fps = pipe.config.fps
    records, started = [], time.perf_counter()
    for number, case in enumerate(cases):
        request = {**task_request(case, fps, strength, long_seconds, edit_noise), "height": case.height, "width": case.width,
                   "num_inference_steps": steps, "guidance_scale": guidance}
        for seed, frames, stitched in generate(pipe, case.prompt, seeds, request):
            records.append({"case": case.index, "seed": seed, "prompt": case.prompt,
                            **score(case, frames, stitched, fps)})
        if progress is not None:
            progress(number + 1, len(cases))
    return {"task": task, "model": pipe.config.name, "cases": len(cases), "seeds": list(seeds), "steps": steps,
            "guidance": guidance, "strength": strength if task == "edit" else None,
            "edit_noise": edit_noise if task == "edit" else None,
            "seconds_per_output": round((time.perf_counter() - started) / len(records), 3),
            "summary": summarize(task, records), "records": records}


def generate(pipe, prompt: str, seeds: Sequence[int], request: dict) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(seed, frames, stitched) per seed; consecutive seeds are one batched call."""
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        output = pipe(prompt, seed=seeds[0], num_videos=len(seeds), **request)
        return list(zip(seeds, output.frames, output.stitched))
    outputs = [pipe(prompt, seed=seed, **request) for seed in seeds]
    return [(seed, output.frames[0], output.stitched[0]) for seed, output in zip(seeds, outputs)]


def eval_size(pipe, size: tuple[int, int] | None = None) -> tuple[int, int]:
    """(height, width): the given one, else 64x64 when the model supports it, else its first size."""
    if size is not None:
        return size
    return (64, 64) if (64, 64) in pipe.config.sizes else pipe.config.sizes[0]


def summarize(task: str, records: list[dict]) -> dict:
    """Rates (and mean measures) over the records, with the issue's targets."""
    def rate(key: str) -> float:
        return round(sum(bool(r.get(key)) for r in records) / len(records), 4)

    summary: dict = {"outputs": len(records)}
    if task in ("image-to-video", "join"):
        values = [worst_psnr(r) for r in records]  # None: identical frames (infinite PSNR)
        finite = [v for v in values if v is not None]
        summary["psnr_rate"] = rate("ok")
        summary["identical_rate"] = round(1 - len(finite) / len(records), 4)
        summary["mean_psnr_when_not_identical"] = round(float(np.mean(finite)), 2) if finite else None
        summary["target"] = f"PSNR >= {PSNR_TARGET:g} dB"
    if task == "image-to-video":
        summary["motion_rate"] = rate("motion_ok")
    if task in ("extend", "extend-backward", "loop"):
        summary["seam_rate"] = rate("ok")
        summary["median_ratio"] = round(float(np.median([r["ratio"] for r in records])), 3)
        summary["target"] = f"seam step <= {1 + SEAM_TOLERANCE:g} x typical step"
    if task in ("extend", "extend-backward"):
        summary["object_kept_rate"] = rate("object_kept")
    if task == "edit":
        summary.update(changed_rate=rate("changed"), direction_kept_rate=rate("direction_kept"),
                       target=f"changed and direction kept in >= {RATE_TARGET:.0%}")
    if task == "long":
        summary["tail_colour_rate"] = rate("ok")
        longest = max(len(r["segments"]) for r in records)
        summary["colour_rate_by_segment"] = [
            round(float(np.mean([r["segments"][i] for r in records if i < len(r["segments"])])), 4)
            for i in range(longest)]
        summary["target"] = f"colour found in the last {TAIL_SECONDS:g} s in >= {RATE_TARGET:.0%}"
    return summary


def worst_psnr(record: dict) -> float | None:
    """A record's PSNR (image-to-video) or the lower of its two ends (join); None when every frame matched exactly."""
    ends = [record[key] for key in ("psnr", "start_psnr", "end_psnr") if record.get(key) is not None]
    return min(ends) if ends else None


def write_report(report: dict, out_dir: str | Path) -> dict[str, Path]:
    """task_eval_<task>.json (everything) and .md (the summary table) in out_dir."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"task_eval_{report['task']}"
    paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    paths["markdown"].write_text(markdown(report))
    return paths


def markdown(report: dict) -> str:
    """The summary as a Markdown table, with the settings that reproduce it."""
    summary = report["summary"]
    lines = [f"# Task eval: {report['task']}", "",
             f"Model `{report['model']}`, {report['cases']} cases x seeds {report['seeds']}, steps "
             f"{report['steps'] or 'default'}, guidance {report['guidance'] or 'default'}"
             + (f", strength {report['strength']} ({report.get('edit_noise') or 'inverted'} noise)" if report.get("strength") else "")
             + ".", "",
             "| measure | value |", "| --- | --- |"]
    for key, value in summary.items():
        shown = ", ".join(f"{v:.0%}" for v in value) if isinstance(value, list) else value
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines) + "\n"
