"""`kinema eval --task NAME`: one Sora task's eval (kinema.evaluation.task_eval) on a model folder.

`add_task_options(parser)` adds this module's options to the `eval` command's parser (options the
parser already has, such as --model, --steps or --out, are reused, not added twice), and
`run_task_eval(args)` runs the eval, writes OUT/task_eval_<task>.json and .md and prints the table.
"""

from __future__ import annotations

import argparse
import sys

from kinema.cli import EXIT_OK, parse_size
from kinema.cli.generate import EDIT_NOISE_CHOICES

# kinema.evaluation.task_eval.TASKS (a test keeps them equal), here so that --help imports nothing heavy
TASKS = ("image-to-video", "extend", "extend-backward", "loop", "join", "edit", "long")
DEFAULT_CASES = 50
DEFAULT_STRENGTH = 1.0  # kinema.tasks.requests.DEFAULT_STRENGTH (a test keeps them equal)


def add_task_options(parser: argparse.ArgumentParser) -> None:
    """The task evals' options (and the shared ones when the parser lacks them)."""
    group = parser.add_argument_group(
        "task evals (--task image-to-video | extend | extend-backward | loop | join | edit | long)",
        "Each task runs on --cases scenes from the world, once per seed: first-frame PSNR (image-to-video), "
        "the 20% seam rule and the object kept across the seam (extend, extend-backward), the 20% rule from "
        "last frame to first (loop), end-frame PSNR (join), attribute changed and direction kept (edit), the "
        "prompted colour in the last 10 s and per 10-s segment (long).")
    _option(group, parser, "--task", metavar="NAME", help=f"the task to evaluate: one of {', '.join(TASKS)}")
    _option(group, parser, "--cases", type=int, default=DEFAULT_CASES, metavar="N",
            help="scenes per task (the issue asks for at least 50)")
    _option(group, parser, "--case-seed", type=int, default=0, metavar="S", help="seed that draws the scenes")
    _option(group, parser, "--strength", type=float, default=DEFAULT_STRENGTH, metavar="S", help="edit strength (SDEdit noise level)")
    _option(group, parser, "--edit-noise", choices=EDIT_NOISE_CHOICES, default=EDIT_NOISE_CHOICES[0],
            help="how an edit reaches its noise level: inverting the model's flow, or fresh noise (plain SDEdit)")
    _option(group, parser, "--long-seconds", type=float, default=60.0, metavar="SECONDS",
            help="length of the long videos")
    _option(group, parser, "--model", metavar="DIR", help="a model folder (default: the shipped model)")
    _option(group, parser, "--seeds", default="0,1", metavar="S,S,...", help="generation seeds, one output per case each")
    _option(group, parser, "--steps", type=int, metavar="N", help="sampling steps (default: the model's)")
    _option(group, parser, "--guidance", type=float, metavar="X", help="guidance scale (default: the model's)")
    _option(group, parser, "--size", metavar="WxH", help="clip width x height (default: 64x64 when supported)")
    _option(group, parser, "--out", default="benchmarks/results", metavar="DIR", help="where the JSON and Markdown go")
    _option(group, parser, "--quiet", action="store_true", help="no progress bar")


def _option(group: argparse._ArgumentGroup, parser: argparse.ArgumentParser, flag: str, **kwargs) -> None:
    """Add a flag unless the parser already has it (then the existing definition is shared)."""
    if flag not in parser._option_string_actions:
        group.add_argument(flag, **kwargs)


def run_task_eval(args: argparse.Namespace) -> int:
    """Run one task's eval, write its JSON and Markdown, print the table and the paths."""
    from kinema.cli.generate import model_folder
    from kinema.evaluation.task_eval import (
        eval_size,
        evaluate_task,
        make_cases,
        markdown,
        write_report,
    )
    from kinema.pipeline import KinemaPipeline

    task, seeds = check_task_options(args)
    pipe = KinemaPipeline.from_pretrained(model_folder(args.model))
    size = None
    if getattr(args, "size", None):
        width, height = parse_size(args.size)
        size = (height, width)
    height, width = eval_size(pipe, size)
    cases = make_cases(task, args.cases, height, width, pipe.config.fps, seed=args.case_seed,
                       long_seconds=args.long_seconds)
    bar = None
    if not getattr(args, "quiet", False):
        from tqdm import tqdm

        bar = tqdm(total=len(cases), desc=f"eval {task}", unit="case", file=sys.stderr, dynamic_ncols=True)
    report = evaluate_task(pipe, task, cases, seeds, steps=args.steps, guidance=getattr(args, "guidance", None),
                           strength=args.strength, edit_noise=args.edit_noise, long_seconds=args.long_seconds,
                           progress=(lambda done, total: bar.update(done - bar.n)) if bar else None)
    if bar is not None:
        bar.close()
    paths = write_report(report, args.out)
    print(markdown(report))
    print(f"wrote {paths['json']} and {paths['markdown']}")
    return EXIT_OK


def check_task_options(args: argparse.Namespace) -> tuple[str, list[int]]:
    """The task name and seeds, or a ValueError naming the bad option."""
    if args.task not in TASKS:
        raise ValueError(f"--task must be one of {', '.join(TASKS)}; got {args.task!r}")
    if args.cases < 1:
        raise ValueError(f"--cases must be at least 1; got {args.cases}")
    if not 0 < args.strength <= 1:
        raise ValueError(f"--strength must be in (0, 1]; got {args.strength}")
    if not args.long_seconds > 0:
        raise ValueError(f"--long-seconds must be > 0; got {args.long_seconds}")
    try:
        seeds = [int(part) for part in str(args.seeds).split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, e.g. 0,1; got {args.seeds!r}") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds needs at least one seed >= 0; got {args.seeds!r}")
    return args.task, seeds
