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
NO_SHIPPED_MODEL = ("no model is shipped yet in this version; pass --model DIR "
                    "(a folder written by KinemaPipeline.save_pretrained)")
# The pipeline names its arguments; the user typed these flags.
PIPELINE_ARGUMENTS = {"num_frames": "--frames", "num_inference_steps": "--steps", "guidance_scale": "--guidance",
                      "num_videos": "--variations"}

DESCRIPTION = """\
Generate videos from a text prompt with a Kinema model folder (default: the model shipped with
Kinema) and write them by extension: .mp4 (H.264), .gif, .webp (lossless, looping) or .png (one
file per frame: OUT_0000.png, ...). Each file stores the prompt, seed, steps, guidance and model
as metadata. A model supports the sizes and frame counts it was trained for; asking for another
is an error that lists them. The same prompt, settings and --seed always give the same video.

--variations N makes N videos from seeds S, S+1, ... in one batched run, written as OUT_0.mp4,
OUT_1.mp4, ... --duration picks the supported frame count whose length at the model's frame rate
is nearest to the given seconds."""

EPILOG = """\
examples:
  kinema generate "a red ball bouncing on grass" -o ball.mp4
  kinema generate "a blue square moving left at night" --size 80x48 --duration 4 --seed 7 -o square.gif
  kinema generate "a yellow star spinning" --variations 4 --steps 30 --guidance 4 -o star.mp4
  kinema generate "a green triangle moving up" --model out/model --size 16x16 -o out.webp --verbose"""


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
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file; its extension picks the format: .mp4, .gif, .webp or .png")
    parser.add_argument("--model", metavar="DIR",
                        help="a model folder written by KinemaPipeline.save_pretrained (default: the shipped model)")
    parser.add_argument("--size", default="64x64", metavar="WxH", help="frame width x height, one the model supports")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--frames", type=int, metavar="F",
                        help="frames per video, a count the model supports (default: 17)")
    length.add_argument("--duration", type=float, metavar="SECONDS",
                        help="instead of --frames: the supported frame count nearest to this length at the model's fps")
    parser.add_argument("--steps", type=int, metavar="N", help="sampling steps (default: the model's)")
    parser.add_argument("--guidance", type=float, metavar="X",
                        help="classifier-free guidance scale; 1 = none (default: the model's)")
    parser.add_argument("--negative-prompt", metavar="TEXT", help="what the video should not show")
    parser.add_argument("--seed", type=int, metavar="S", help="random seed (default: a random one, printed and stored)")
    parser.add_argument("--variations", type=int, default=1, metavar="N",
                        help="make N videos from seeds S, S+1, ..., written as OUT_0, OUT_1, ...")
    parser.add_argument("--sampler", choices=SAMPLER_CHOICES, help="ODE sampler (default: the model's)")
    parser.add_argument("--fps", type=float, metavar="X", help="frame rate of the written file (default: the model's)")
    parser.add_argument("--verbose", action="store_true", help="print the settings before generating")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the written paths are still printed)")
    parser.set_defaults(command=run_generate)


# ----------------------------------------------------------------------------- run


def run_generate(args: argparse.Namespace) -> int:
    """`kinema generate`: load the model, sample, write each video, print the paths and the time taken."""
    from kinema.pipeline import KinemaPipeline

    width, height = parse_size(args.size)
    output = _checked_options(args)
    folder = model_folder(args.model)
    started = time.perf_counter()
    pipe = KinemaPipeline.from_pretrained(folder)
    loaded = time.perf_counter()
    config = pipe.config
    frames = args.frames if args.frames is not None else 17
    if args.duration is not None:
        frames = frames_for_duration(args.duration, config.fps, config.frame_counts)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    fps = args.fps if args.fps is not None else config.fps
    if args.verbose:
        _print_settings(args, folder, config, width, height, frames, seed, fps)
    bar = StepBar(enabled=not args.quiet)
    try:
        result = pipe(args.prompt, negative_prompt=args.negative_prompt, num_frames=frames, height=height, width=width,
                      num_inference_steps=args.steps, guidance_scale=args.guidance, seed=seed,
                      num_videos=args.variations, sampler=args.sampler, callback=bar)
    except ValueError as error:
        raise ValueError(_as_flags(str(error))) from None
    finally:
        bar.close()
    paths = [write_one(video, info, variation_path(output, index, args.variations), fps)
             for index, (video, info) in enumerate(zip(result.frames, result.metadata))]
    seconds = time.perf_counter() - loaded
    for path, info in zip(paths, result.metadata):
        print(f"wrote {_describe_written(path)} (seed {info['seed']})")
    count = f"{args.variations} videos" if args.variations > 1 else "1 video"
    print(f"generated {count} of {frames} frames at {width}x{height} in {seconds:.1f} s "
          f"(loading the model: {loaded - started:.1f} s)")
    return EXIT_OK


def _checked_options(args: argparse.Namespace) -> Path:
    """Validate the options the pipeline does not see (or names differently); return the output path."""
    if not args.prompt.strip():
        raise ValueError("PROMPT is empty; say what the video should show, e.g. \"a red ball bouncing on grass\"")
    output = Path(args.output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"-o/--output must end in {', '.join(OUTPUT_SUFFIXES)} (the extension picks the format); "
                         f"got {args.output!r}")
    checks = [
        (args.frames is not None and args.frames < 1, f"--frames must be at least 1; got {args.frames}"),
        (args.duration is not None and not args.duration > 0, f"--duration must be > 0 seconds; got {args.duration}"),
        (args.steps is not None and args.steps < 1, f"--steps must be at least 1; got {args.steps}"),
        (args.guidance is not None and args.guidance < 0,
         f"--guidance must be 0 or more (1 = none); got {args.guidance}"),
        (args.seed is not None and args.seed < 0, f"--seed must be 0 or more; got {args.seed}"),
        (args.variations < 1, f"--variations must be at least 1; got {args.variations}"),
        (args.fps is not None and not args.fps > 0, f"--fps must be > 0; got {args.fps}"),
    ]
    for failed, message in checks:
        if failed:
            raise ValueError(message)
    return output


def model_folder(model: str | None) -> Path:
    """The model folder to load: --model, else the shipped one; a clear error when it is not there."""
    import kinema.pretrained as pretrained

    if model is None:
        if not (pretrained.DEFAULT_MODEL_DIR / "config.json").is_file():
            raise ValueError(NO_SHIPPED_MODEL)
        return pretrained.DEFAULT_MODEL_DIR
    folder = Path(model)
    if not folder.is_dir():
        raise FileNotFoundError(f"--model {model}: no such folder; "
                                "pass a folder written by KinemaPipeline.save_pretrained")
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"--model {model} is not a model folder (no config.json); "
                                "pass a folder written by KinemaPipeline.save_pretrained")
    return folder


def frames_for_duration(seconds: float, fps: float, frame_counts: tuple[int, ...]) -> int:
    """The supported frame count whose length (count / fps) is nearest to `seconds`; videos before stills."""
    videos = [count for count in frame_counts if count > 1] or list(frame_counts)
    return min(videos, key=lambda count: (abs(count / fps - seconds), count))


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
    return write_video(video, path, fps=fps, metadata=metadata)


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
    pattern = re.compile(r"\b(" + "|".join(PIPELINE_ARGUMENTS) + r")\b")
    return pattern.sub(lambda match: PIPELINE_ARGUMENTS[match.group(1)], message)


def _describe_written(path: Path | list[Path]) -> str:
    """A path, or the first and last of a PNG sequence."""
    if isinstance(path, list):
        return f"{path[0]} ... {path[-1]} ({len(path)} PNG frames)" if len(path) > 1 else str(path[0])
    return str(path)


def _print_settings(args: argparse.Namespace, folder: Path, config: Any, width: int, height: int, frames: int,
                    seed: int, fps: float) -> None:
    """--verbose: what will be generated, on stderr (stdout keeps to the written paths)."""
    seeds = str(seed) if args.variations == 1 else f"{seed}..{seed + args.variations - 1}"
    lines = [
        f"model:     {folder} ({config.name})",
        f"prompt:    {args.prompt}",
        f"negative:  {args.negative_prompt or '(none)'}",
        f"size:      {width}x{height}",
        f"frames:    {frames} ({frames / config.fps:.2f} s at the model's {config.fps:g} fps; written at {fps:g} fps)",
        f"steps:     {args.steps if args.steps is not None else config.steps}",
        f"guidance:  {args.guidance if args.guidance is not None else config.guidance_scale}",
        f"sampler:   {args.sampler or config.sampler}",
        f"seed:      {seeds}",
    ]
    print("\n".join(lines), file=sys.stderr)
