"""`kinema check`: judge a video against a prompt with the analytic checker, attribute by attribute."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kinema.cli import EXIT_OK, EXIT_WRONG, HelpFormatter


def add_check_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema check VIDEO --prompt TEXT`."""
    check = commands.add_parser(
        "check",
        help="judge a video against a prompt, attribute by attribute",
        description="Measure a video with the analytic checker and judge every attribute the prompt states\n"
        "(count, colour, shape, size, motion, speed, background, camera pan, wall). Attributes the\n"
        "prompt leaves open are not judged.\n\n"
        "exit codes: 0 every judged attribute is right, 1 some are wrong,\n"
        "            2 usage or input error (including a prompt with nothing to judge)",
        epilog="examples:\n"
        '  kinema check out/world/clip_00000.mp4 --prompt "a small red ball bouncing on grass"\n'
        '  kinema check clip.gif --prompt "two stars moving left" --json > report.json',
        formatter_class=HelpFormatter,
    )
    check.add_argument("video", metavar="VIDEO", help="clip to judge (.mp4, .gif, .webp, ...)")
    check.add_argument("--prompt", required=True, help="what the video should show")
    check.add_argument("--fps", type=float, default=None, help="frame rate to judge at (default: the file's own)")
    check.add_argument("--json", action="store_true", help="print the full report as JSON instead of a table")
    check.set_defaults(command=run_check)


def run_check(args: argparse.Namespace) -> int:
    """`kinema check`: judge VIDEO against --prompt; exit 0 when all judged attributes are right."""
    from kinema.evaluation.checker import check
    from kinema.media import read_video
    from kinema.world.prompts import describe_unknown, parse_prompt

    if not args.prompt.strip():
        raise ValueError("--prompt is empty; say what the video should show, e.g. \"a red ball bouncing\"")
    if args.fps is not None and not args.fps > 0:
        raise ValueError(f"--fps must be positive; got {args.fps:g}")
    frames, file_fps = read_video(args.video)
    fps = args.fps if args.fps is not None else file_fps
    attributes = parse_prompt(args.prompt)
    report = check(frames, attributes, fps=fps)
    unknown = describe_unknown(attributes)
    if not report.verdicts:
        hint = f" ({unknown})" if unknown else ""
        raise ValueError(f"the prompt names nothing the checker can judge{hint}; name a colour, shape, motion, ...")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report, fps, len(frames)))
        if unknown:
            print(unknown)
    return EXIT_OK if report.all_ok else EXIT_WRONG


def format_report(report: Any, fps: float, num_frames: int) -> str:
    """The verdicts as an aligned table (objects numbered from 1), what was seen, and the score."""
    rows = [("attribute", "object", "expected", "observed", "result")]
    for verdict in report.verdicts:
        number = "-" if verdict.object is None else f"#{verdict.object + 1}"
        rows.append((verdict.attribute, number, verdict.expected, verdict.observed, "OK" if verdict.ok else "WRONG"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append("")
    lines.append(f"seen in {num_frames} frames at {fps:g} fps: {_describe_seen(report)}")
    right = sum(verdict.ok for verdict in report.verdicts)
    lines.append(f"{right}/{len(report.verdicts)} judged attributes right")
    return "\n".join(lines)


def _describe_seen(report: Any) -> str:
    """One phrase for the scene the checker saw, e.g. "red circle (small, bounce); background grass"."""
    objects = []
    for seen in report.seen:
        motion = f"{seen.motion} {seen.speed}" if seen.speed else seen.motion
        objects.append(f"{seen.colour} {seen.shape} ({seen.size}, {motion})")
    parts = ["; ".join(objects) or "no objects", f"background {report.background}", f"camera pan {report.camera_pan}"]
    if report.wall:
        parts.append("a wall")
    return "; ".join(parts)
