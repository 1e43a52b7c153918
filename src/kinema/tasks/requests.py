"""A pipeline call's task arguments checked, read, sized and laid out as a `Plan`.

`prepare_task` is the boundary for the task arguments of `KinemaPipeline.__call__`: it decides
the task from which arguments are set, reads the inputs (`kinema.tasks.inputs`), picks or checks
the size and frame count, and returns the plan with the fitted input frames. Every error is a
ValueError (FileNotFoundError for a missing file) naming the argument and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kinema.tasks import plan as plans
from kinema.tasks.inputs import fit_frames, nearest_size, read_clip, read_image

DEFAULT_STRENGTH = 1.0  # edit noise level when video= comes without strength= (inverted edits keep the layout even at 1)
TASK_ARGUMENTS = ("image=", "last_image=", "extend=", "loop=True", "join=", "video=")
# Which task arguments may go together: an image may open an end-on-image clip or a loop.
COMBINATIONS = {(): "text-to-video", ("image",): "image-to-video", ("last_image",): "image-to-video",
                ("image", "last_image"): "image-to-video", ("extend",): "extend", ("loop",): "loop",
                ("image", "loop"): "loop", ("join",): "join", ("video",): "edit"}


@dataclass(frozen=True)
class Limits:
    """What the model supports: sizes (height, width), trained clip lengths, the longest job, frames per latent."""

    sizes: tuple[tuple[int, int], ...]
    frame_counts: tuple[int, ...]
    max_frames: int
    group: int = 4

    @property
    def longest(self) -> int:
        """Latent groups in the longest trained clip: the largest window."""
        return (max(self.frame_counts) - 1) // self.group

    @property
    def default_frames(self) -> int:
        return 17 if 17 in self.frame_counts else max(self.frame_counts)


@dataclass
class TaskRequest:
    """A checked task: its plan, the input frames by name (fitted to the size), the size and what was done to inputs."""

    plan: plans.Plan
    inputs: dict[str, np.ndarray]
    height: int
    width: int
    rules: list[str] = field(default_factory=list)
    strength: float | None = None


def task_of(image: Any, last_image: Any, extend: Any, backward: bool, loop: bool, join: Any, video: Any,
            strength: float | None) -> str:
    """The task these arguments ask for; a ValueError for combinations no task has."""
    named = {"image": image, "last_image": last_image, "extend": extend, "loop": loop or None, "join": join,
             "video": video}
    present = tuple(name for name, value in named.items() if value is not None)
    if present not in COMBINATIONS:
        shown = ", ".join("loop=True" if name == "loop" else f"{name}=" for name in present)
        raise ValueError(f"one task per call: {shown} cannot be combined (image= may go with last_image= or "
                         f"loop=True); the task arguments are {', '.join(TASK_ARGUMENTS)}")
    if backward and extend is None:
        raise ValueError("backward=True extends a clip backwards; pass the clip as extend=")
    if strength is not None and video is None:
        raise ValueError("strength= is the edit strength of video= (SDEdit); pass the clip to edit as video=")
    if strength is not None:
        check_strength(strength)
    task = COMBINATIONS[present]
    return "extend-backward" if task == "extend" and backward else task


def prepare_task(limits: Limits, *, num_frames: int | None, height: int | None, width: int | None, image: Any = None,
                 last_image: Any = None, extend: Any = None, backward: bool = False, loop: bool = False,
                 join: Any = None, video: Any = None, strength: float | None = None) -> TaskRequest:
    """Check and read a call's task arguments and lay the task out (see kinema.tasks.plan)."""
    task = task_of(image, last_image, extend, backward, loop, join, video, strength)
    raw = read_inputs(image=image, last_image=last_image, extend=extend, join=join, video=video)
    height, width = pick_size(limits, height, width, raw)
    inputs, rules = {}, []
    for name, frames in raw.items():
        inputs[name], rule = fit_frames(frames, height, width, argument_name(name))
        if rule:
            rules.append(rule)
    if "last_image" in inputs:  # held for one latent group: see plan.py on tails
        inputs["last_image"] = np.repeat(inputs["last_image"], limits.group, axis=0)
    plan, extra = plan_task(task, limits, num_frames, inputs)
    plan.check({name: len(frames) for name, frames in inputs.items()})
    if task == "edit":
        strength = DEFAULT_STRENGTH if strength is None else float(strength)
    return TaskRequest(plan, inputs, height, width, rules + extra, strength)


def stitch(request: TaskRequest, frames: np.ndarray) -> np.ndarray:
    """The inputs with the generated frames (N, T, H, W, 3) in place: clip + new, new + clip, A + new + B."""
    inputs, task = request.inputs, request.plan.task

    def batch(name: str) -> np.ndarray:
        return np.broadcast_to(inputs[name], (len(frames), *inputs[name].shape))

    if task == "extend":
        return np.concatenate([batch("clip"), frames[:, 1:]], axis=1)
    if task == "extend-backward":
        return np.concatenate([frames[:, :-1], batch("clip")], axis=1)
    if task == "join":
        return np.concatenate([batch("a"), frames[:, 1:-1], batch("b")], axis=1)
    return frames


def describe_task(request: TaskRequest, frames: np.ndarray) -> dict:
    """The task's part of each output's metadata: what was made, at what size, and what was done to the inputs."""
    described = {"task": request.plan.task, "num_frames": frames.shape[1], "height": request.height,
                 "width": request.width, "windows": len(request.plan.windows), "input_rules": list(request.rules)}
    if request.strength is not None:
        described["strength"] = request.strength
    return described


def argument_name(name: str) -> str:
    return {"clip": "extend", "a": "join[0]", "b": "join[1]"}.get(name, name)


def read_inputs(*, image: Any, last_image: Any, extend: Any, join: Any, video: Any) -> dict[str, np.ndarray]:
    """Every given input as frames, named as plans name them (clip, a, b, ...)."""
    inputs: dict[str, np.ndarray] = {}
    if image is not None:
        inputs["image"] = read_image(image, "image")[None]
    if last_image is not None:
        inputs["last_image"] = read_image(last_image, "last_image")[None]
    if extend is not None:
        inputs["clip"] = read_clip(extend, "extend")
    if join is not None:
        if isinstance(join, (str, bytes)) or not hasattr(join, "__len__") or len(join) != 2:
            raise ValueError("join must be a pair (clip_a, clip_b): the transition goes from A's last frame to B's first")
        inputs["a"], inputs["b"] = read_clip(join[0], "join[0]"), read_clip(join[1], "join[1]")
    if video is not None:
        inputs["video"] = read_clip(video, "video")
    return inputs


def pick_size(limits: Limits, height: int | None, width: int | None, inputs: dict[str, np.ndarray]) -> tuple[int, int]:
    """The requested size, else the supported size nearest the first input's aspect ratio, else 64x64."""
    if (height is None) != (width is None):
        raise ValueError(f"give both height and width, or neither (then the inputs' aspect picks); got height={height}, "
                         f"width={width}")
    if height is None:
        if inputs:
            first = next(iter(inputs.values()))
            return nearest_size(first.shape[1], first.shape[2], limits.sizes)
        return (64, 64) if (64, 64) in limits.sizes else limits.sizes[0]
    if (height, width) not in limits.sizes:
        sizes = ", ".join(f"{w}x{h}" for h, w in limits.sizes)
        raise ValueError(f"size {width}x{height} (width x height) is not one this model was trained for; "
                         f"choose one of {sizes}")
    return height, width


def check_strength(strength: float) -> float:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
        raise ValueError(f"strength must be in (0, 1] (1 = all the way to noise; small = stay close to the clip; "
                         f"default {DEFAULT_STRENGTH}); got {strength!r}")
    return float(strength)


# ----------------------------------------------------------------------------- frame counts and plans


def plan_task(task: str, limits: Limits, num_frames: int | None,
              inputs: dict[str, np.ndarray]) -> tuple[plans.Plan, list[str]]:
    """The task's plan for num_frames (or its default), and notes on what was done to the inputs."""
    g, longest = limits.group, limits.longest
    if longest < 1 and task != "text-to-video":
        raise ValueError(f"this model makes single images only (frame counts {limits.frame_counts}); {task} needs video")
    if task in ("extend-backward", "join", "loop") and longest < 2:
        raise ValueError(f"{task} needs clips of at least {1 + 2 * g} frames (given frames at the end and new ones "
                         f"before them); this model's longest is {max(limits.frame_counts)}")
    if task == "edit":
        return plan_edit(limits, num_frames, inputs)
    if task in ("text-to-video", "image-to-video"):
        return plan_clip(limits, num_frames, "image" in inputs, "last_image" in inputs), []
    if task in ("extend", "extend-backward"):
        frames = num_frames if num_frames is not None else 1 + g * max(1, round(16 / g))
        check_frames(frames, (frames - 1) % g == 0 and 1 + g <= frames <= limits.max_frames, task,
                     f"1 + {g}k frames from {1 + g} to {limits.max_frames} (the first is the clip's "
                     f"{'last' if task == 'extend' else 'first'} frame)")
        clip = len(inputs["clip"])
        if task == "extend":
            return plans.plan_extend(clip, frames, longest, g), []
        if clip < g:
            raise ValueError(f"extending backwards needs a clip of at least {g} frames; got {clip} "
                             "(to end on one image use last_image=)")
        return plans.plan_extend_backward(clip, frames, longest, g), []
    if task == "join":
        return plan_join(limits, num_frames, inputs), []
    return plan_loop(limits, num_frames, "image" in inputs), []


def check_frames(frames: int, ok: bool, task: str, allowed: str) -> None:
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or not ok:
        raise ValueError(f"num_frames for {task} must be {allowed}; got {frames!r}")


def plan_clip(limits: Limits, num_frames: int | None, image: bool, last_image: bool) -> plans.Plan:
    """One window (a trained clip length), or a chain of windows for a longer video."""
    g, counts = limits.group, limits.frame_counts
    frames = num_frames if num_frames is not None else limits.default_frames
    task = "image-to-video" if image or last_image else "text-to-video"
    listed = ", ".join(str(count) for count in counts)
    if isinstance(frames, (int, np.integer)) and frames in counts and (frames > 1 or not (image or last_image)):
        return plans.plan_single(task, frames, g, head=1 if image else 0,
                                 tail_input="last_image" if last_image else None)
    if last_image:
        check_frames(frames, False, "last_image=", f"one of the model's clip lengths above 1 ({listed})")
    longer = f"a longer 1 + {g}k up to {limits.max_frames} (made by chained extension)"
    ok = (isinstance(frames, (int, np.integer)) and limits.longest >= 1 and max(counts) < frames <= limits.max_frames
          and (frames - 1) % g == 0)
    if not ok:
        raise ValueError(f"num_frames must be one of {listed} for this model, or {longer}; got {frames!r}")
    return plans.plan_long(frames, max(counts), limits.longest, g, image=image)


def plan_join(limits: Limits, num_frames: int | None, inputs: dict[str, np.ndarray]) -> plans.Plan:
    g, longest = limits.group, limits.longest
    most = 2 + g * (longest - plans.JOIN_TAIL)
    frames = num_frames if num_frames is not None else 2 + g * min(longest - 1, max(1, round(16 / g)))
    check_frames(frames, (frames - 2) % g == 0 and 2 + g <= frames <= most, "join",
                 f"2 + {g}k frames from {2 + g} to {most} (A's last frame, {g}k new ones, B's first frame)")
    if len(inputs["b"]) < g * plans.JOIN_TAIL:
        raise ValueError(f"join needs a clip B of at least {g * plans.JOIN_TAIL} frames (its opening is the "
                         f"transition's given end); got {len(inputs['b'])}")
    return plans.plan_join(len(inputs["a"]), len(inputs["b"]), frames, g, longest)


def plan_loop(limits: Limits, num_frames: int | None, image: bool) -> plans.Plan:
    g, longest = limits.group, limits.longest
    default = limits.default_frames if plans.loop_split(limits.default_frames, longest, g, limits.frame_counts) else None
    frames = num_frames if num_frames is not None else default
    least, most = 1 + 2 * g, 1 + g * (2 * longest - plans.JOIN_TAIL)
    ok = isinstance(frames, (int, np.integer)) and (frames - 1) % g == 0
    first = plans.loop_split(frames, longest, g, limits.frame_counts) if ok else None
    if first is None:
        raise ValueError(f"num_frames for a loop must be 1 + {g}k from {least} to {most} for this model "
                         f"(a clip, then a window back to its start); got {frames!r}")
    return plans.plan_loop(frames, first, g, longest, image=image)


def plan_edit(limits: Limits, num_frames: int | None, inputs: dict[str, np.ndarray]) -> tuple[plans.Plan, list[str]]:
    """SDEdit over the clip's first num_frames frames (default: the longest trained length that fits)."""
    counts, clip = limits.frame_counts, len(inputs["video"])
    fitting = [count for count in counts if count <= clip]
    if not fitting:
        raise ValueError(f"video= has {clip} frames; this model edits clips of {', '.join(map(str, counts))} frames")
    frames = num_frames if num_frames is not None else max(fitting)
    listed = ", ".join(str(count) for count in counts)
    check_frames(frames, frames in counts, "edit", f"one of {listed} (the clip's first frames are edited)")
    if clip < frames:
        raise ValueError(f"video= has {clip} frames; editing {frames} frames needs at least that many "
                         f"(pass num_frames= one of {', '.join(str(c) for c in fitting)})")
    notes = []
    if clip > frames:
        inputs["video"] = inputs["video"][:frames]
        notes.append(f"video: the first {frames} of its {clip} frames are edited")
    return plans.plan_single("edit", frames, limits.group, edit=True), notes
