"""Where each task puts its frames: a timeline of pixel frames and the sampling windows that fill it.

Every Sora task is laid out the same way. The *timeline* is the pixel frames of the job: the
inputs (an image, a clip, two clips) sit at fixed places and the rest is generated. A *window* is
one run of the one sampler over 1 + g L pixel frames (g = the VAE's temporal compression, 4): it
reads its given frames from the timeline, samples the others and writes back the frames it keeps.
Text-to-video is one window with nothing given; a 60 s video is a chain of windows, each given
the last frames of the one before; a loop is a clip and then a window given both of its ends.

Pixel <-> latent mapping (the VAE is causal; latent 0 encodes pixel 0 alone and latent j >= 1 the
pixels g(j-1)+1 .. gj), so a window's given frames come in two shapes:

- a **head** of h latents: the window's first 1 + g(h-1) pixels, encoded as a video of their own.
  This is exactly what the encoder makes of a clip's opening frames, the frames the model was
  trained to continue (the `first` / `first_k` masks). An image is a head of 1. An extension
  re-encodes the clip's *last* 1 + gm frames as a head, so the clip's last frame is the head's last
  pixel and the first new latent starts on the very next frame: the new frames are decoded
  causally after the clip's own latents and carry its motion (m groups of velocity) over the seam.
  Encoding only the last frame as latent 0 (the image-to-video layout) is also exact but shows
  the model no velocity, so motion could stall or turn at the seam; reusing the previous
  window's latents at the new window's start is wrong, as only latent 0 is a one-frame latent.
- a **tail** of t latents: the window's last g t pixels (the clip that comes *after*: extending
  backwards, joining, looping, ending on an image). A tail's latents depend causally on frames
  before it, which are exactly the unknown ones, so it is encoded after a still of its own first
  frame (see `kinema.tasks.conditioning`); only the first tail latent feels that filler. Its first
  pixel is a latent's first pixel, so the frame *before* the tail is the last generated one.

A head whose frames an earlier window of the same job sampled is *carried*: after its first latent
(a one-frame latent, which no earlier window's grid holds, so it is encoded from the frame), its
latents are that window's own sampled latents, not an encoding of the decoded pixels. The VAE's
round trip of generated frames is not the identity (5-17% of the latents' size) and fades faint
colours a little each time; over the 20 windows of a 60-s video, re-encoding lost small objects
one window at a time. On the first 20 cases of the long-video eval with the step 48,200 model,
carrying kept the prompted colour to the end in 16 against 14 (10-s segments: 115 against 104 of
140), and cost less (50 against 54-62 s per video, one frame encoded per window instead of nine).

Seam frames: a forward extension's output starts with the clip's last frame and a backward one's
ends with the clip's first: lengths then add up (17 + 17 - 1 = 33 frames). The decoded window is
anchored to the known frame there (`kinema.tasks.anchors`), so the seam frame is the clip's own
and the step across the seam is the model's step, not the VAE's error. A join's
output starts with A's last frame and ends with B's first (so it has 2 + g n frames). A loop's
output is a clip whose last frame is followed by its first: the closing window is given the
opening clip's end as its head and the loop's first frames as its tail, so the step from the
last frame back to the first is a step inside one window.

Where a seam falls on the latent grid matters: the VAE decodes a latent group's first frame with a
step about twice the true one and its other frames with smaller ones (`benchmarks/seam_ceiling.py`,
by the frame stepped into: 1.43, 0.61, 0.80, 0.37 grey levels against 0.71; with the refiner
1.43, 0.94, 0.89, 0.58), so a seam right after a head's last pixel, or right before a tail's first,
carries the largest step of the group. An extension's window therefore ends its head g - 1 frames
before the seam and samples those frames again (`head_overlap`; a backward one starts its tail
one frame after, `tail_overlap`), and a loop's closing window and a join's window do both (one
group in all); the anchor sits on the seam frame itself, so it is still the clip's own. Each seam
is then the step into a group's last frame, the smallest step under either decoder: with the seam
into a group's second frame instead, a perfect transformer under the refined decoder passes the
extend eval's seam rule in 80% of cases (100% into the last).

Everything here is integer bookkeeping (no torch), so the layouts are unit-tested exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Context of a chained forward/backward window, in latent groups beyond the seam frame: 2 groups
# (9 pixel frames, ~1 s at 8 fps) carry velocity and a bounce's curvature into the next window. A
# window that has room takes more (up to the model's longest clip): context costs tokens, not quality.
CHAIN_CONTEXT = 2
# A join or loop window is given one latent at each end: the `both` mask the model is trained on.
JOIN_HEAD, JOIN_TAIL = 1, 1


@dataclass(frozen=True)
class Window:
    """One sampling run: `frames` = 1 + g L pixel frames starting at timeline index `start`.

    `head` / `tail`: given latents at the start / end; the tail's pixels are read from timeline
    index `tail_from` (default: the window's own last g*tail frames; a loop reads its first frames).
    `keep` = [a, b): the decoded window pixels written to the timeline at start + a ... start + b - 1.
    `edit`: start from the timeline's own frames noised to the request's strength (SDEdit).
    `carry`: the index of an earlier window of the plan whose latents give the head (see above).
    `head_overlap` / `tail_overlap`: given frames right after the head / before the tail that the
    window samples again and discards; the seam frame (anchored) is the last / first of them, so it
    falls inside a latent group (see "Seam frames" above).
    """

    start: int
    frames: int
    head: int = 0
    tail: int = 0
    keep: tuple[int, int] = (0, 0)
    tail_from: int | None = None
    edit: bool = False
    carry: int | None = None
    head_overlap: int = 0
    tail_overlap: int = 0

    def latents(self, group: int) -> int:
        return 1 + (self.frames - 1) // group

    def head_span(self, group: int) -> tuple[int, int]:
        """Timeline [a, b) of the head's pixels (empty without a head)."""
        return (self.start, self.start + 1 + group * (self.head - 1)) if self.head else (self.start, self.start)

    def tail_span(self, group: int) -> tuple[int, int]:
        """Timeline [a, b) of the tail's pixels (empty without a tail)."""
        first = self.tail_from if self.tail_from is not None else self.start + self.frames - group * self.tail
        return (first, first + group * self.tail) if self.tail else (first, first)

    def carried_latents(self, source: Window, group: int) -> tuple[int, int]:
        """[a, b) of `source`'s latents over this window's head (latent a ends on the head's first frame)."""
        first = (self.start - source.start) // group
        return first, first + self.head


@dataclass(frozen=True)
class Plan:
    """A task's timeline length, where the inputs go, the windows in order and the output's span."""

    task: str
    timeline: int
    inputs: tuple[tuple[str, int], ...]  # (input name, timeline index of its first frame)
    windows: tuple[Window, ...]
    output: tuple[int, int]
    group: int = 4
    notes: tuple[str, ...] = field(default=())

    def check(self, input_lengths: dict[str, int]) -> None:
        """Raise ValueError unless every window reads only known frames and the output is fully made."""
        known = [False] * self.timeline
        for name, start in self.inputs:
            for index in range(start, start + input_lengths[name]):
                known[index] = True
        for number, window in enumerate(self.windows):
            g = self.group
            if (window.frames - 1) % g or window.head + window.tail > window.latents(g):
                raise ValueError(f"window {number} of {self.task}: {window} is not a valid window")
            if window.carry is not None:
                source = self.windows[window.carry] if 0 <= window.carry < number else None
                a, b = window.carried_latents(source, g) if source else (0, 0)
                on_grid = source is not None and (window.start - source.start) % g == 0
                if not (window.head and on_grid and 0 <= a and b <= source.latents(g)):
                    raise ValueError(f"window {number} of {self.task} carries its head from window {window.carry}, "
                                     "which does not hold those frames on its latent grid")
            head_end, tail_start = window.head_span(g)[1], window.tail_span(g)[0]
            overlaps = ((head_end, head_end + window.head_overlap), (tail_start - window.tail_overlap, tail_start))
            for a, b in (window.head_span(g), window.tail_span(g), *overlaps):
                if a == b:
                    continue
                if a < 0 or b > self.timeline or not all(known[a:b]):
                    raise ValueError(f"window {number} of {self.task} reads frames [{a}, {b}) before they exist")
            a, b = window.keep
            if window.start + a < 0 or window.start + b > self.timeline or not 0 <= a < b <= window.frames:
                raise ValueError(f"window {number} of {self.task} keeps {window.keep} outside the timeline")
            for index in range(window.start + a, window.start + b):
                known[index] = True
        if not all(known[self.output[0] : self.output[1]]):
            raise ValueError(f"the {self.task} plan leaves output frames unmade")

    @property
    def output_frames(self) -> int:
        return self.output[1] - self.output[0]


# ----------------------------------------------------------------------------- chains


def head_overlap(group: int) -> int:
    """Given frames a window samples again after its head: the seam is then a step into a group's last frame."""
    return group - 1


def tail_overlap(group: int) -> int:
    """Given frames a window samples again before its tail: the seam is then a step into a group's last frame."""
    return 1


def forward_chain(seam: int, groups: int, longest: int, group: int, keep_seam: bool,
                  context: int = CHAIN_CONTEXT, *, first_index: int = 0, carry_first: bool = False,
                  overlap: int = 0) -> list[Window]:
    """Windows that add `groups` latent groups after timeline frame `seam`, each given what precedes it.

    Each window takes up to `longest` latent groups: as much context as precedes the seam (at
    least `context` groups when there is that much), the rest new. The first window keeps the seam
    frame itself (anchored to the known one) when `keep_seam`; later ones keep only their new frames.
    With `overlap`, the first window's head ends that many frames before the seam (it samples them
    again and takes one more group), so the seam falls inside a latent group.
    The windows will be plan windows first_index, first_index + 1, ...; each carries its head from
    the one before it (the first only when `carry_first`: the frames before the seam were sampled
    by window first_index - 1, not given).
    """
    windows: list[Window] = []
    end = seam + group * groups + 1  # one past the last frame the chain makes
    seam, groups = seam - overlap, groups + (1 if overlap else 0)
    while groups > 0:
        available = seam // group
        new = max(1, min(groups, longest - min(context, available)))
        before = min(available, longest - new)
        frames = 1 + group * (before + new)
        start = seam - group * before
        skipped = 0 if windows else overlap
        first_kept = group * before + skipped + (0 if keep_seam and not windows else 1)
        carries = bool(windows) or carry_first
        windows.append(Window(start, frames, head=before + 1, keep=(first_kept, min(frames, end - start)),
                              carry=first_index + len(windows) - 1 if carries else None, head_overlap=skipped))
        seam += group * new
        groups -= new
    return windows


def backward_chain(seam: int, timeline: int, groups: int, longest: int, group: int, keep_seam: bool,
                   context: int = CHAIN_CONTEXT, *, overlap: int = 0) -> list[Window]:
    """Windows that add `groups` latent groups before timeline frame `seam`, each given what follows it.

    A window is [one frame | new groups | tail groups]; its single first frame falls where the
    next window (or, for the last one, index -1) goes, and is not kept. With `overlap`, the first
    window's tail starts that many frames after the seam (it samples them again and takes one more
    group), so the seam falls inside a latent group.
    """
    windows: list[Window] = []
    begin = seam - group * groups  # the first frame the chain makes
    seam, groups = seam + overlap, groups + (1 if overlap else 0)
    while groups > 0:
        available = (timeline - seam) // group
        new = max(1, min(groups, longest - max(1, min(context, available))))
        after = max(1, min(available, longest - new))
        frames = 1 + group * (new + after)
        start = seam - group * new - 1
        skipped = 0 if windows else overlap
        last_kept = 1 + group * new - skipped + (1 if keep_seam and not windows else 0)
        windows.append(Window(start, frames, tail=after, keep=(max(1, begin - start), last_kept),
                              tail_overlap=skipped))
        seam -= group * new
        groups -= new
    return windows


# ----------------------------------------------------------------------------- tasks


def plan_single(task: str, frames: int, group: int, *, head: int = 0, tail_input: str | None = None,
                edit: bool = False) -> Plan:
    """One window over the whole clip: text-, image- or last-image-to-video, or an edit."""
    inputs: list[tuple[str, int]] = []
    if head:
        inputs.append(("image", 0))
    if tail_input:
        inputs.append((tail_input, frames - group))
    if edit:
        inputs.append(("video", 0))
    window = Window(0, frames, head=head, tail=1 if tail_input else 0, keep=(0, frames), edit=edit)
    return Plan(task, frames, tuple(inputs), (window,), (0, frames), group)


def plan_long(frames: int, first: int, longest: int, group: int, *, image: bool = False) -> Plan:
    """A video longer than one window: a first window of `first` frames, then chained extensions."""
    head = 1 if image else 0
    windows = [Window(0, first, head=head, keep=(0, first))]
    windows += forward_chain(first - 1, (frames - first) // group, longest, group, keep_seam=False, first_index=1,
                             carry_first=True)
    inputs = (("image", 0),) if image else ()
    return Plan("long", frames, inputs, tuple(windows), (0, frames), group)


def plan_extend(clip: int, frames: int, longest: int, group: int) -> Plan:
    """`frames` frames continuing a `clip`-frame clip: output[0] is the clip's last frame.

    The window samples the clip's last frame again (`head_overlap`) when the clip is longer than a group.
    """
    overlap = head_overlap(group) if clip > head_overlap(group) + group else 0
    windows = forward_chain(clip - 1, (frames - 1) // group, longest, group, keep_seam=True, overlap=overlap)
    return Plan("extend", clip + frames - 1, (("clip", 0),), tuple(windows), (clip - 1, clip + frames - 1), group)


def plan_extend_backward(clip: int, frames: int, longest: int, group: int) -> Plan:
    """`frames` frames leading into a clip: output[-1] is the clip's first frame."""
    new = frames - 1
    timeline = new + clip
    overlap = tail_overlap(group) if clip >= tail_overlap(group) + group else 0
    windows = backward_chain(new, timeline, new // group, longest, group, keep_seam=True, overlap=overlap)
    return Plan("extend-backward", timeline, (("clip", new),), tuple(windows), (0, frames), group)


def plan_join(a: int, b: int, frames: int, group: int, longest: int) -> Plan:
    """A transition from clip A's last frame to clip B's first: `frames` = 2 + g n frames.

    The window overlaps A's end and B's start (`head_overlap`, `tail_overlap`: one group in all)
    when A and B hold the frames they read and the extra group fits in `longest`.
    """
    new = frames - 2
    ahead, behind = head_overlap(group), tail_overlap(group)
    if a <= ahead or b < behind + group * JOIN_TAIL or new // group + 1 + JOIN_TAIL > longest:
        ahead, behind = 0, 0
    before = group * (JOIN_HEAD - 1)
    window_frames = 1 + before + ahead + new + behind + group * JOIN_TAIL
    window = Window(a - 1 - before - ahead, window_frames, head=JOIN_HEAD, tail=JOIN_TAIL,
                    keep=(before + ahead, before + ahead + new + 2), head_overlap=ahead, tail_overlap=behind)
    return Plan("join", a + new + b, (("a", 0), ("b", a + new)), (window,), (a - 1, a + new + 1), group)


def plan_loop(frames: int, first: int, group: int, longest: int, *, image: bool = False) -> Plan:
    """A `frames`-frame loop: a first clip of `first` frames, then a window from its last frame back to its first.

    The closing window overlaps the opening clip and the loop's start (`head_overlap`,
    `tail_overlap`: one group in all) when the opening clip holds the frames they read and the
    window's extra group fits in `longest`.
    """
    new = frames - first
    head = 1 if image else 0
    opening = Window(0, first, head=head, keep=(0, first))
    ahead, behind = head_overlap(group), tail_overlap(group)
    if first < behind + group * JOIN_TAIL or new // group + 1 + JOIN_TAIL > longest:
        ahead, behind = 0, 0
    closing = Window(first - 1 - ahead, 1 + ahead + new + behind + group * JOIN_TAIL, head=JOIN_HEAD, tail=JOIN_TAIL,
                     tail_from=behind, keep=(1 + ahead, 1 + ahead + new), head_overlap=ahead, tail_overlap=behind)
    inputs = (("image", 0),) if image else ()
    return Plan("loop", frames, inputs, (opening, closing), (0, frames), group)


def loop_split(frames: int, longest: int, group: int, trained: tuple[int, ...]) -> int | None:
    """Frames of a loop's opening clip: a trained clip length when one fits, else about half; None if none fits.

    The opening clip needs at least one latent group (its first g frames are the closing window's
    tail) and the closing window adds 1 to longest - 1 groups.
    """
    total = (frames - 1) // group
    candidates = [opening for opening in range(1, longest + 1) if 1 <= total - opening <= longest - JOIN_TAIL]
    if not candidates:
        return None
    preferred = [opening for opening in candidates if 1 + group * opening in trained]
    opening = max(preferred) if preferred else min(candidates, key=lambda c: (abs(2 * c - total), -c))
    return 1 + group * opening
