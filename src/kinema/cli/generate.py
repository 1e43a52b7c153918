"""`kinema generate "PROMPT" -o out.mp4`: text to video with a model folder, written by file extension.

The command parses and checks its options, loads `KinemaPipeline`, calls it once (N variations
are one batched call from consecutive seeds), and writes each video with `kinema.media.write_video`,
which stores the prompt, seed, steps, guidance and model in the file. The pipeline's own argument
checks (sizes and frame counts the model supports) surface as `kinema: error: ...`, reworded to
name this command's flags.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from kinema.cli import EXIT_OK, HelpFormatter, parse_size

OUTPUT_SUFFIXES = (".mp4", ".gif", ".webp", ".png")  # kinema.media.video.WRITE_SUFFIXES; a test keeps them equal
SAMPLER_CHOICES = ("euler", "heun")  # kinema.flow.samplers.SAMPLERS; a test keeps them equal
EDIT_NOISE_CHOICES = ("inverted", "random")  # kinema.pipeline.EDIT_NOISES, the first the default; a test keeps them equal
NO_SHIPPED_MODEL = ("the shipped model kinema-world is missing from this installation ({folder}); reinstall "
                    "Kinema, or pass --model DIR (a folder written by KinemaPipeline.save_pretrained)")
# The pipeline names its arguments; the user typed these flags.
PIPELINE_ARGUMENTS = {"num_frames": "--frames", "num_inference_steps": "--steps", "guidance_scale": "--guidance",
                      "still_guidance_scale": "--still-guidance",
                      "num_videos": "--variations", "last_image=": "--last-image", "image=": "--image",
                      "extend=": "--extend", "backward=True": "--backward", "loop=True": "--loop", "join=": "--join",
                      "video=": "--edit", "strength=": "--strength", "edit_noise": "--edit-noise"}

DESCRIPTION = """\
Generate videos from a text prompt with a Kinema model folder (default: the model shipped with
Kinema) and write them by extension: .mp4 (H.264), .gif, .webp (lossless, looping) or .png (one
file per frame: OUT_0000.png, ...). Each file stores the prompt, seed, steps, guidance and model
as metadata. A model supports the sizes and frame counts it was trained for; asking for another
is an error that lists them. The same prompt, settings and --seed always give the same video.
Without -o the video goes to this folder, named after the prompt (a-red-ball.mp4, then
a-red-ball-2.mp4, ...: an earlier video is never overwritten).

Tasks (one per run; every one is the same model and sampler, given different frames):
  (none)             text to video; --frames 1 makes a still image
  --image IMG        animate an image: it is the first frame (add --last-image to end on another)
  --last-image IMG   end on this image (held for the last half second)
  --extend CLIP      continue a clip; writes the clip followed by the new frames
  --extend CLIP --backward   what came before the clip; writes the new frames, then the clip
  --loop             a clip whose last frame flows into its first (with --image: starting on it)
  --join A B         a transition from A's last frame to B's first; writes A, the transition, B
  --edit CLIP --strength S   restyle a clip with the prompt (SDEdit): S near 0 keeps the clip,
                     1 goes all the way to noise (default); the clip's motion is kept by inverting the
                     model's flow (--edit-noise random: plain SDEdit with fresh noise)
Inputs of another size are scaled to cover the output size and centre-cropped; the rule applied
is printed. Without --size the supported size nearest the first input's aspect ratio is used.

--duration SECONDS sets the length: for a plain or image-to-video clip, the nearest trained clip
length, or, beyond the longest one, a long video (up to the model's limit, e.g. 60 s) made by
chaining windows that each continue the last; for --extend and --join, the length added; for
--loop, the loop's length. --variations N makes N videos from seeds S, S+1, ... in one batched
run, written as OUT_0.mp4, OUT_1.mp4, ... The prompt is first rewritten into the caption style the
model was trained on (prompt expansion; --verbose prints it, words it does not know are warned
about); --no-expand conditions on the prompt exactly as typed."""

EPILOG = """\
examples:
  kinema generate "a red ball bouncing on grass" -o ball.mp4
  kinema generate "a blue square moving left at night" --size 80x48 --duration 4 --seed 7 -o square.gif
  kinema generate "a yellow star spinning" --variations 4 --steps 30 --guidance 4 -o star.mp4
  kinema generate "the ball rolls right" --image first.png -o animated.mp4
  kinema generate "it keeps bouncing" --extend ball.mp4 --duration 2 -o longer.mp4
  kinema generate "a green circle circling" --loop -o loop.gif
  kinema generate "the ball moves across" --join a.mp4 b.mp4 -o joined.mp4
  kinema generate "a blue ball bouncing at night" --edit ball.mp4 --strength 0.6 -o night.mp4
  kinema generate "a red ball moving right over grass" --duration 60 -o minute.mp4"""


# ----------------------------------------------------------------------------- parser


def add_generate_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema generate`: every option is hand-written and cheap, so `--help` imports nothing heavy."""
    parser = commands.add_parser(
        "generate",
        help="generate videos from a text prompt (MP4, GIF, WebP or PNG frames)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("prompt", metavar="PROMPT", help="what the video shows, e.g. \"a red ball bouncing on grass\"")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="output file; its extension picks the format: .mp4, .gif, .webp or .png (default: a new "
                             "file in this folder named after the prompt, e.g. a-red-ball-bouncing-on-grass.mp4; "
                             ".png for --frames 1)")
    parser.add_argument("--model", metavar="DIR",
                        help="a model folder written by KinemaPipeline.save_pretrained (default: the shipped model)")
    parser.add_argument("--size", metavar="WxH",
                        help="frame width x height, one the model supports (default: 64x64, or the inputs' aspect)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, metavar="F",
                        help="frames to generate (default: 17): a trained count, or longer (1 + 4k) for a long video")
    length.add_argument("--duration", "--seconds", type=float, metavar="SECONDS",
                        help="instead of --frames: length in seconds (see above; up to the model's limit, e.g. 60); "
                             "--seconds, as in the Videos API, is the same")
    add_task_flags(parser)
    parser.add_argument("--steps", type=int, metavar="N", help="sampling steps (default: the model's)")
    parser.add_argument("--guidance", type=float, metavar="X",
                        help="classifier-free guidance scale; 1 = none (default: the model's)")
    parser.add_argument("--still-guidance", type=float, metavar="X",
                        help="guidance for a still: the first frame that text to video makes as an image, and a "
                        "--frames 1 image unless --guidance is given (default: the model's)")
    parser.add_argument("--negative-prompt", metavar="TEXT", help="what the video should not show")
    parser.add_argument("--seed", type=int, metavar="S", help="random seed (default: a random one, printed and stored)")
    parser.add_argument("--variations", type=int, default=1, metavar="N",
                        help="make N videos from seeds S, S+1, ..., written as OUT_0, OUT_1, ...")
    parser.add_argument("--sampler", choices=SAMPLER_CHOICES, help="ODE sampler (default: the model's)")
    parser.add_argument("--fps", type=float, metavar="X", help="frame rate of the written file (default: the model's)")
    parser.add_argument("--device", default="cpu", metavar="DEV",
                        help="where to sample: cpu (default), cuda, cuda:N or mps (the text encoder stays on the CPU)")
    parser.add_argument("--factorised", action=argparse.BooleanOptionalAction,
                        help="text to video: make the first frame as an image, then animate it; the model sets the "
                             "default (kinema-world: on, it follows direction words better that way)")
    parser.add_argument("--no-expand", action="store_true",
                        help="condition on the prompt as typed, without rewriting it into the training caption style")
    parser.add_argument("--verbose", action="store_true", help="print the settings and the expanded prompt first")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the written paths are still printed)")
    parser.set_defaults(command=run_generate)


def add_task_flags(parser: argparse.ArgumentParser) -> None:
    """The task flags: each becomes one keyword argument of KinemaPipeline.__call__."""
    tasks = parser.add_argument_group("tasks (one per run; see above)")
    tasks.add_argument("--image", metavar="IMG", help="first frame to animate (PNG, JPEG, WebP)")
    tasks.add_argument("--last-image", metavar="IMG", help="end on this image")
    tasks.add_argument("--extend", metavar="CLIP", help="continue this clip (MP4, GIF, WebP, PNG frames)")
    tasks.add_argument("--backward", action="store_true", help="with --extend: generate what came before the clip")
    tasks.add_argument("--loop", action="store_true", help="make a seamless loop (its last frame flows into its first)")
    tasks.add_argument("--join", nargs=2, metavar=("A", "B"), help="a transition from clip A's last frame to B's first")
    tasks.add_argument("--new-only", action="store_true",
                       help="with --extend or --join: write only the generated frames (with the seam frames), "
                            "not the input clips around them")
    tasks.add_argument("--edit", metavar="CLIP", help="restyle this clip with the prompt (SDEdit)")
    tasks.add_argument("--strength", type=float, metavar="S",
                       help="with --edit: how much is re-imagined, in (0, 1] (default: 1.0)")
    tasks.add_argument("--edit-noise", choices=EDIT_NOISE_CHOICES,
                       help="with --edit: reach the strength's noise level by running the model's flow backwards "
                            "from the clip, which keeps where things are and how they move (inverted, the "
                            "default), or by mixing in fresh noise (random: plain SDEdit)")


# ----------------------------------------------------------------------------- run


def run_generate(args: argparse.Namespace) -> int:
    """`kinema generate`: load the model, sample, write each video, print the paths and the time taken."""
    from kinema.pipeline import KinemaPipeline, resolve_device

    size = parse_size(args.size) if args.size is not None else None
    output = _checked_options(args)
    task_kwargs = task_arguments(args)
    folder = model_folder(args.model)
    device = resolve_device(args.device)
    started = time.perf_counter()
    pipe = KinemaPipeline.from_pretrained(folder).to(device)
    loaded = time.perf_counter()
    config = pipe.config
    frames = args.frames
    if args.duration is not None:
        frames = frames_for_duration(args.duration, config.fps, config.frame_counts, task=task_name(args),
                                     group=pipe.vae.config.temporal_compression, max_frames=config.max_frames)
        if config.max_frames is not None and frames > config.max_frames:
            longest = (config.max_frames - 1) / config.fps
            raise ValueError(f"a duration of {args.duration:g} s is {frames} frames at {config.fps:g} fps; this "
                             f"model makes at most {config.max_frames} frames ({longest:g} s) in one request")
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    fps = args.fps if args.fps is not None else config.fps
    if args.verbose:
        still = pipe.still_guidance(args.still_guidance, args.guidance)
        _print_settings(args, folder, config, size, frames, seed, fps, still)
    expand = prompt_expansion(args)
    bar = StepBar(enabled=not args.quiet)
    width, height = size if size is not None else (None, None)
    try:
        result = pipe(args.prompt, negative_prompt=args.negative_prompt, num_frames=frames, height=height, width=width,
                      num_inference_steps=args.steps, guidance_scale=args.guidance, seed=seed,
                      num_videos=args.variations, sampler=args.sampler, callback=bar, expand=expand,
                      factorised=args.factorised, still_guidance_scale=args.still_guidance, **task_kwargs)
    except ValueError as error:
        raise ValueError(_as_flags(str(error))) from None
    finally:
        bar.close()
    videos = result.frames if args.new_only else result.stitched
    paths = [write_one(video, info, variation_path(output, index, args.variations), fps)
             for index, (video, info) in enumerate(zip(videos, result.metadata))]
    seconds = time.perf_counter() - loaded
    info = result.metadata[0]
    for rule in info["input_rules"]:
        print(f"kinema: input resized: {rule}", file=sys.stderr)
    for path, each in zip(paths, result.metadata):
        print(f"wrote {_describe_written(path)} (seed {each['seed']})")
    count = f"{args.variations} videos" if args.variations > 1 else "1 video"
    print(f"generated {count} of {videos.shape[1]} frames at {info['width']}x{info['height']} in {seconds:.1f} s "
          f"({describe_task(info, result.frames.shape[1], videos.shape[1])}loading the model: {loaded - started:.1f} s)")
    return EXIT_OK


def task_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The pipeline's task keyword arguments from the flags; input files must exist (named by flag)."""
    files = {"--image": args.image, "--last-image": args.last_image, "--extend": args.extend, "--edit": args.edit}
    files.update({f"--join {'AB'[index]}": path for index, path in enumerate(args.join or ())})
    for flag, path in files.items():
        if path is not None and not Path(path).is_file() and not _is_png_sequence(path):
            raise FileNotFoundError(f"{flag} {path}: no such file")
    kwargs: dict[str, Any] = {"image": args.image, "last_image": args.last_image, "extend": args.extend,
                              "backward": args.backward, "loop": args.loop, "video": args.edit,
                              "strength": args.strength}
    if args.edit_noise is not None:
        kwargs["edit_noise"] = args.edit_noise
    if args.join:
        kwargs["join"] = tuple(args.join)
    if args.new_only and not (args.extend or args.join):
        raise ValueError("--new-only applies to --extend and --join (the other tasks write only new frames)")
    return kwargs


def _is_png_sequence(path: str) -> bool:
    """clip.png written as clip_0000.png, clip_0001.png, ... (as `kinema generate -o clip.png` writes it)."""
    candidate = Path(path)
    return candidate.suffix.lower() == ".png" and candidate.with_name(f"{candidate.stem}_0000.png").is_file()


def task_name(args: argparse.Namespace) -> str:
    """The task the flags ask for, as --duration reads it."""
    if args.extend:
        return "extend"
    if args.join:
        return "join"
    if args.loop:
        return "loop"
    return "edit" if args.edit else "text-to-video"


def describe_task(info: dict, generated: int, written: int) -> str:
    """'extend: 16 new frames after the clip; ' and the like, for the summary line."""
    task = info["task"]
    if task in ("text-to-video", "image-to-video"):
        return ""
    windows = f" in {info['windows']} windows" if info["windows"] > 1 else ""
    if task in ("extend", "extend-backward", "join"):
        new = generated - (2 if task == "join" else 1)
        return f"{task}: {new} new frames{windows}, {written - new} from the input; "
    if task == "edit":
        return f"edit at strength {info['strength']:g}; "
    return f"{task}{windows}; "


def prompt_expansion(args: argparse.Namespace) -> bool:
    """Whether to expand the prompt (the pipeline does it); warns about unknown words and, --verbose, prints the caption."""
    if args.no_expand:
        return False
    try:
        from kinema.world.expansion import expand_prompt
    except ImportError:
        print("kinema: warning: prompt expansion is not in this installation; conditioning on the prompt as typed",
              file=sys.stderr)
        return False
    expansion = expand_prompt(args.prompt)
    if expansion.corrected:
        readings = ", ".join(f"{typed!r} as {known!r}" for typed, known in expansion.corrected)
        print(f"kinema: note: read {readings} (--no-expand keeps the prompt as typed)", file=sys.stderr)
    if expansion.unknown:
        print(f"kinema: warning: words the model's world does not know: {', '.join(expansion.unknown)} "
              "(they are left out of the expanded prompt; --no-expand keeps the prompt as typed)", file=sys.stderr)
    if args.verbose:
        print(f"expanded:  {expansion.caption}", file=sys.stderr)
        if expansion.filled:
            print(f"filled in: {', '.join(expansion.filled)}", file=sys.stderr)
    return True


def _checked_options(args: argparse.Namespace) -> Path:
    """Validate the options the pipeline does not see (or names differently); return the output path."""
    if not args.prompt.strip():
        raise ValueError("PROMPT is empty; say what the video should show, e.g. \"a red ball bouncing on grass\"")
    if args.output is not None and Path(args.output).suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"-o/--output must end in {', '.join(OUTPUT_SUFFIXES)} (the extension picks the format); "
                         f"got {args.output!r}")
    checks = [
        (args.frames is not None and args.frames < 1, f"--frames must be at least 1; got {args.frames}"),
        (args.duration is not None and not args.duration > 0, f"--duration must be > 0 seconds; got {args.duration}"),
        (args.steps is not None and args.steps < 1, f"--steps must be at least 1; got {args.steps}"),
        (args.guidance is not None and args.guidance < 0,
         f"--guidance must be 0 or more (1 = none); got {args.guidance}"),
        (args.still_guidance is not None and args.still_guidance < 0,
         f"--still-guidance must be 0 or more (1 = none); got {args.still_guidance}"),
        (args.seed is not None and args.seed < 0, f"--seed must be 0 or more; got {args.seed}"),
        (args.variations < 1, f"--variations must be at least 1; got {args.variations}"),
        (args.fps is not None and not args.fps > 0, f"--fps must be > 0; got {args.fps}"),
        (args.strength is not None and not args.edit, "--strength is the strength of --edit CLIP; pass the clip too"),
        (args.edit_noise is not None and not args.edit, "--edit-noise applies to --edit CLIP; pass the clip too"),
    ]
    for failed, message in checks:
        if failed:
            raise ValueError(message)
    if args.output is None:
        return default_output(args.prompt, still=args.frames == 1, count=args.variations)
    return Path(args.output)


def model_folder(model: str | None) -> Path:
    """The model folder to load: --model, else the shipped one; a clear error when it is not there."""
    from kinema import pretrained

    if model is None:
        if not (pretrained.DEFAULT_MODEL_DIR / "config.json").is_file():
            raise ValueError(NO_SHIPPED_MODEL.format(folder=pretrained.DEFAULT_MODEL_DIR))
        return pretrained.DEFAULT_MODEL_DIR
    folder = Path(model)
    if not folder.is_dir():
        raise FileNotFoundError(f"--model {model}: no such folder; "
                                "pass a folder written by KinemaPipeline.save_pretrained")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"--model {model} is not a model folder (no config.json); "
                                "pass a folder written by KinemaPipeline.save_pretrained")
    return folder


def frames_for_duration(seconds: float, fps: float, frame_counts: tuple[int, ...], *, task: str = "text-to-video",
                        group: int = 4, max_frames: int | None = None) -> int:
    """Frames for --duration: a trained clip length, a long video, or (extend, join, loop) the frames added.

    For a clip the nearest trained count (length = count / fps; videos before stills) unless the
    duration is clearly beyond the longest (max_frames given): then 1 + group k frames, the
    nearest to `seconds`, capped at max_frames (the pipeline names the limit). Extend adds
    group k frames after the seam frame, join 2 + group k, and a loop lasts 1 + group k frames.
    """
    steps = max(1, round(seconds * fps / group))
    if task == "extend":
        return 1 + group * steps
    if task == "join":
        return 2 + group * steps
    if task == "loop":
        return 1 + group * max(2, steps)
    videos = [count for count in frame_counts if count > 1] or list(frame_counts)
    longest = max(videos)
    if max_frames is not None and task == "text-to-video" and seconds * fps > longest + group / 2:
        return 1 + group * round((seconds * fps - 1) / group)
    return min(videos, key=lambda count: (abs(count / fps - seconds), count))


def default_output(prompt: str, still: bool, count: int = 1, folder: Path = Path()) -> Path:
    """Without -o: a file named after the prompt ("a-red-ball-bouncing.mp4"), numbered past any that exist.

    A still is a PNG. "-2", "-3", ... are added until none of the files the run writes exists, so a
    repeated command never overwrites the video it made before.
    """
    stem = "-".join(re.findall(r"[a-z0-9]+", prompt.lower()))[:60].rstrip("-") or "kinema"
    suffix = ".png" if still else ".mp4"
    number = 1
    while True:
        path = folder / f"{stem if number == 1 else f'{stem}-{number}'}{suffix}"
        if not any(variation_path(path, index, count).exists() for index in range(count)):
            return path
        number += 1


def variation_path(output: Path, index: int, count: int) -> Path:
    """OUT itself for one video; OUT_0, OUT_1, ... (before the extension) for several."""
    return output if count == 1 else output.with_name(f"{output.stem}_{index}{output.suffix}")


def write_one(video: Any, info: dict, path: Path, fps: float) -> Path | list[Path]:
    """Write one video with its provenance as metadata (str values, as every format stores them)."""
    from kinema.media import write_video

    metadata = {"prompt": info["prompt"], "seed": str(info["seed"]), "steps": str(info["steps"]),
                "guidance": str(info["guidance_scale"]), "sampler": info["sampler"], "model": str(info["model"])}
    if info.get("negative_prompt"):
        metadata["negative_prompt"] = info["negative_prompt"]
    if info.get("caption", info["prompt"]) != info["prompt"]:
        metadata["caption"] = info["caption"]  # the expanded prompt the model was conditioned on
    if info.get("task", "text-to-video") != "text-to-video":
        metadata["task"] = info["task"]
    if info.get("strength") is not None:
        metadata["strength"] = str(info["strength"])
        metadata["edit_noise"] = info.get("edit_noise", "inverted")
    written = write_video(video, path, fps=fps, metadata=metadata)
    sign_output(written, info)
    return written


def sign_output(written: Path | list[Path], info: dict) -> None:
    """Embed a signed C2PA manifest in an MP4 when `kinema keys init` has made keys (else leave it as is)."""
    from kinema.provenance import sign_if_keys_exist

    try:
        sign_if_keys_exist(written, model=str(info["model"]), prompt=info["prompt"], seed=info["seed"])
    except ImportError as error:  # keys exist but c2pa-python does not: the video is fine, just unsigned
        print(f"kinema generate: {written} is not signed: {error}", file=sys.stderr)


class StepBar:
    """A tqdm bar over sampling steps on stderr, driven by the pipeline's callback(step, total)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, step: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="sampling", unit="step", disable=not self.enabled, file=sys.stderr,
                            dynamic_ncols=True)
        self.bar.update(step - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _as_flags(message: str) -> str:
    """Reword the pipeline's argument names as this command's flags."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(name) for name in PIPELINE_ARGUMENTS) + r")(?!\w)")
    return pattern.sub(lambda match: PIPELINE_ARGUMENTS[match.group(1)], message)


def _describe_written(path: Path | list[Path]) -> str:
    """A path, or the first and last of a PNG sequence."""
    if isinstance(path, list):
        return f"{path[0]} ... {path[-1]} ({len(path)} PNG frames)" if len(path) > 1 else str(path[0])
    return str(path)


def _print_settings(args: argparse.Namespace, folder: Path, config: Any, size: tuple[int, int] | None,
                    frames: int | None, seed: int, fps: float, still: float) -> None:
    """--verbose: what will be generated, on stderr (stdout keeps to the written paths)."""
    seeds = str(seed) if args.variations == 1 else f"{seed}..{seed + args.variations - 1}"
    length = "the task's default" if frames is None else (
        f"{frames} ({frames / config.fps:.2f} s at the model's {config.fps:g} fps; written at {fps:g} fps)")
    inputs = [f"{flag} {value}" for flag, value in (("--image", args.image), ("--last-image", args.last_image),
                                                     ("--extend", args.extend), ("--edit", args.edit)) if value]
    inputs += [f"--join {' '.join(args.join)}"] if args.join else []
    inputs += [flag for flag, on in (("--backward", args.backward), ("--loop", args.loop)) if on]
    video_guidance = config.edit_guidance_scale if args.edit and config.edit_guidance_scale is not None \
        else config.guidance_scale
    guidance = args.guidance if args.guidance is not None else still if frames == 1 else video_guidance
    factorised = (config.factorised if args.factorised is None else args.factorised) and frames != 1 and not inputs
    lines = [
        f"model:     {folder} ({config.name})",
        f"prompt:    {args.prompt}",
        f"negative:  {args.negative_prompt or '(none)'}",
        f"task:      {' '.join(inputs) or 'text to video'}",
        f"size:      {f'{size[0]}x{size[1]}' if size else 'the default, or the aspect of the inputs'}",
        f"frames:    {length}",
        f"steps:     {args.steps if args.steps is not None else config.steps}",
        f"guidance:  {guidance}" + (f" (the first frame, made as an image: {still})" if factorised else ""),
        f"sampler:   {args.sampler or config.sampler}",
        f"seed:      {seeds}",
    ]
    print("\n".join(lines), file=sys.stderr)
