"""`kinema eval`: the text-to-video eval of a model folder, or (with --task) a Sora task's eval.

Without --task it generates every prompt of the seen and held-out prompt sets with each seed,
judges the clips with the analytic checker, measures FVD in the shipped world classifier's
features, and writes model_eval.json, model_eval.md and model_eval_contact_sheet.png
(kinema.evaluation.model_eval does the work). With --task NAME it hands the parsed arguments to
`kinema.cli.eval_tasks.run_task_eval`, whose `add_task_options(parser)` adds that module's own
options to this parser. Task options should not reuse this command's flag names; if one does,
the task's definition wins (argparse's "resolve" conflict handler) rather than breaking the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from types import ModuleType

from kinema.cli import EXIT_OK, HelpFormatter, parse_size
from kinema.cli.flags import all_cores, check_threads

TASKS_MODULE = "kinema.cli.eval_tasks"
NO_TASKS = ("--task needs the task evals (kinema.cli.eval_tasks), which this version of Kinema does not "
            "have yet; run `kinema eval` without --task for the text-to-video eval")

DESCRIPTION = """\
Evaluate a text-to-video model folder (default: the shipped model) on two prompt sets of 200
prompts each: combinations of (colour, shape, motion) seen in training, and the 12 held-out
combinations the training stream never shows (the same scenes with one object recoloured, so
the gap between the sets measures compositional generalisation). Every prompt is generated once
per seed and judged by the analytic checker; the report gives per-attribute accuracy (colour,
shape, size, direction, speed, count, background, bounce, occluder permanence, camera pan), the
"all attributes right" rate and FVD against the rendered reference clips, per set.

Writes OUT/model_eval.json, OUT/model_eval.md and OUT/model_eval_contact_sheet.png. The full run
is 800 generations; --limit N evaluates the first N prompts of each set for a quick look.

--task NAME runs a Sora task's eval (image-to-video, extension, looping, ...) instead, with
the task options listed below when this installation has them."""

EPILOG = """\
examples:
  kinema eval
  kinema eval --limit 20 --steps 10 --out out/eval
  kinema eval --model out/model --set heldout --seeds 0,1,2 --guidance 4
  kinema eval --model out/model --size 80x48 --limit 50 --no-fvd"""


def add_eval_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema eval`; options are added on first use, as the task evals' options come from another module."""
    commands.add_parser(
        "eval",
        help="evaluate a model: per-attribute accuracy and FVD on seen and held-out prompts",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
        add_options=add_options,
    )


def add_options(parser: argparse.ArgumentParser) -> None:
    """The text-to-video eval's flags, --task, and the task evals' own options when installed."""
    parser.add_argument("--model", metavar="DIR",
                        help="a model folder written by KinemaPipeline.save_pretrained (default: the shipped model)")
    parser.add_argument("--set", choices=("seen", "heldout", "both"), default="both", dest="prompt_set",
                        help="which prompt set to evaluate")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N prompts of each set (default: all 200)")
    parser.add_argument("--seeds", default="0,1", metavar="S,S,...", help="generation seeds, one clip per prompt each")
    parser.add_argument("--steps", type=int, metavar="N", help="sampling steps (default: the model's)")
    parser.add_argument("--guidance", type=float, metavar="X", help="classifier-free guidance scale (default: the model's)")
    parser.add_argument("--size", metavar="WxH", help="clip width x height (default: 64x64 when the model supports it)")
    parser.add_argument("--frames", type=int, metavar="F", help="frames per clip (default: 17 when the model supports it)")
    parser.add_argument("--factorised", action=argparse.BooleanOptionalAction,
                        help="text to video with the first frame made as an image first (default: the model's)")
    parser.add_argument("--still-guidance", type=float, metavar="X",
                        help="guidance for that first frame (default: the model's)")
    parser.add_argument("--classifier", metavar="DIR", help="world classifier folder for FVD (default: the shipped one)")
    parser.add_argument("--no-fvd", action="store_true", help="skip FVD (and the classifier)")
    parser.add_argument("--out", default="benchmarks/results", metavar="DIR", help="where the JSON, Markdown and PNG go")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--threads", type=int, metavar="N",
                        help=f"torch CPU threads (default: all {all_cores()} cores; 1 next to a training run)")
    parser.add_argument("--task", metavar="NAME", help="run this Sora task's eval instead (see the task options below)")
    parser.set_defaults(command=run_eval)
    tasks = task_module()
    if tasks is not None:
        parser.conflict_handler = "resolve"  # a clashing task option replaces ours instead of breaking `kinema eval`
        tasks.add_task_options(parser)


def task_module() -> ModuleType | None:
    """kinema.cli.eval_tasks, or None when this installation does not have it."""
    import importlib

    try:
        return importlib.import_module(TASKS_MODULE)
    except ModuleNotFoundError as error:
        if error.name != TASKS_MODULE:  # the module is there but something it imports is not: say so
            raise
        return None


def run_eval(args: argparse.Namespace) -> int:
    """`kinema eval`: a task's eval with --task, else the text-to-video eval; prints the table and the files written."""
    check_threads(args.threads)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    if args.task is not None:
        tasks = task_module()
        if tasks is None:
            raise ValueError(NO_TASKS)
        return tasks.run_task_eval(args)
    seeds = parse_seeds(args.seeds)
    size = checked_size(args)
    from kinema.cli.generate import model_folder
    from kinema.evaluation.model_eval import SET_NAMES, run_model_eval
    from kinema.pipeline import KinemaPipeline

    folder = model_folder(args.model)
    pipe = KinemaPipeline.from_pretrained(folder)
    if args.factorised is not None:
        pipe.config = dataclasses.replace(pipe.config, factorised=args.factorised)
    if args.still_guidance is not None:
        pipe.config = dataclasses.replace(pipe.config, still_guidance_scale=args.still_guidance)
    classifier = None
    if not args.no_fvd:
        from kinema.evaluation.world_classifier import load_world_classifier

        classifier = load_world_classifier(args.classifier)
    sets = SET_NAMES if args.prompt_set == "both" else (args.prompt_set,)
    report = run_model_eval(pipe, sets, limit=args.limit, seeds=seeds, steps=args.steps, guidance=args.guidance, size=size,
                            num_frames=args.frames, classifier=classifier, out_dir=args.out, model_name=str(folder),
                            progress=not args.quiet)
    from kinema.evaluation.model_eval import RESULTS_NAME, markdown_table

    print(markdown_table(report))
    out = Path(args.out)
    print(f"wrote {out / (RESULTS_NAME + '.json')}, {out / (RESULTS_NAME + '.md')} and "
          f"{out / (RESULTS_NAME + '_contact_sheet.png')}", file=sys.stderr)
    return EXIT_OK


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0,1' -> (0, 1); distinct non-negative integers."""
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, e.g. 0,1; got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds must be one or more distinct integers >= 0, e.g. 0,1; got {text!r}")
    return seeds


def checked_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """Validate the numeric options; return --size as (height, width) or None."""
    checks = [
        (args.limit is not None and args.limit < 1, f"--limit must be at least 1 prompt; got {args.limit}"),
        (args.steps is not None and args.steps < 1, f"--steps must be at least 1; got {args.steps}"),
        (args.guidance is not None and args.guidance < 0, f"--guidance must be 0 or more (1 = none); got {args.guidance}"),
        (args.still_guidance is not None and args.still_guidance < 0,
         f"--still-guidance must be 0 or more (1 = none); got {args.still_guidance}"),
        (args.frames is not None and args.frames < 1, f"--frames must be at least 1; got {args.frames}"),
    ]
    for failed, message in checks:
        if failed:
            raise ValueError(message)
    if args.size is None:
        return None
    width, height = parse_size(args.size)
    return height, width
