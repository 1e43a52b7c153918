"""The `kinema` command line: parse arguments, call the library, print results.

One module per command group (`generate`, `data`, `check`, `train_vae`, `train`; `flags` builds
training flags from config dataclasses); this one builds the parser tree, runs a command and turns
errors into exit codes. Library modules (numpy, PyAV, Pillow, torch, the
world, the checker) are imported inside the command functions, so `kinema --help` and
`kinema --version` start instantly and a typo in one subcommand's options never pays for another's
imports. A command whose options come from a torch-importing module (`train-vae` and `train`, whose
flags are built from `VAETrainConfig` and `TrainConfig`) adds them only when it is run or asked for
`--help`; see LazyParser.

Exit codes: 0 success (for `check`: every judged attribute right), 1 `check` found a wrong
attribute, 2 a usage or input error (printed as `kinema: error: ...`, never a traceback),
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable

from kinema import __version__

EXIT_OK, EXIT_WRONG, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
_SIZE_PATTERN = re.compile(r"(\d+)[xX](\d+)")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-wrapped examples in descriptions and epilogs; show meaningful defaults."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if unset or "default" in help_text or not action.option_strings:
            return help_text
        return f"{help_text} (default: %(default)s)"


class LazyParser(argparse.ArgumentParser):
    """An ArgumentParser whose options are added by `add_options(parser)` on first use.

    Used as every subcommand's parser class; a command passes `add_options` when its options
    need a heavy import (torch), so building the whole tree stays free. argparse runs a chosen
    subcommand through its `parse_known_args`, and help or usage through `format_*`.
    """

    def __init__(self, *args: Any, add_options: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pending_options = add_options

    def _add_pending_options(self) -> None:
        if self._pending_options is not None:
            add_options, self._pending_options = self._pending_options, None
            add_options(self)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._add_pending_options()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._add_pending_options()
        return super().format_help()

    def format_usage(self) -> str:
        self._add_pending_options()
        return super().format_usage()


def main(argv: list[str] | None = None) -> int:
    """Run `kinema` with `argv` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and argparse's own usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    if not hasattr(args, "command"):
        args.parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return args.command(args)
    except (ValueError, OSError) as error:  # OSError covers FileNotFoundError, permissions, full disks
        print(f"kinema: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kinema: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED  # the shell's code for a SIGINT-terminated command


def build_parser() -> argparse.ArgumentParser:
    """The whole `kinema` parser tree: `generate`, `data render`, `data preview`, `check`, `train-vae`, `train`."""
    # The command modules import HelpFormatter and friends from this package, so they are
    # imported here, once this module is complete, rather than at its top.
    from kinema.cli import check, data, generate, keys, serve, train, train_vae, verify
    from kinema.cli import eval as eval_command

    parser = argparse.ArgumentParser(
        prog="kinema",
        description="Kinema: self-hostable Sora-style text-to-video.\n\n"
        "Generate videos from a prompt with a model folder; render the procedural world Kinema\n"
        "trains on and preview it; check a video against a prompt with the analytic checker; train\n"
        "the video VAE and then the diffusion transformer (on one process or many with torchrun).",
        epilog="examples:\n"
        "  kinema data render --n 8 --out out/world\n"
        "  kinema data preview out/world --out out/world/sheet.png\n"
        '  kinema check out/world/clip_00000.mp4 --prompt "a red ball bouncing on grass"\n'
        "  kinema train-vae --run-dir runs/vae --steps 20000 --export out/vae\n"
        "  kinema train --run-dir runs/world-s --vae out/vae --steps 20000\n"
        '  kinema generate "a red ball bouncing on grass" --model out/model -o ball.mp4\n\n'
        "Run `kinema COMMAND --help` for a command's options.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kinema {__version__}")
    parser.set_defaults(parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=LazyParser)
    generate.add_generate_parser(commands)
    data.add_data_parser(commands)
    check.add_check_parser(commands)
    train_vae.add_train_vae_parser(commands)
    train.add_train_parser(commands)
    serve.add_serve_parser(commands)
    keys.add_keys_parser(commands)
    verify.add_verify_parser(commands)
    eval_command.add_eval_parser(commands)
    return parser


def parse_size(text: str) -> tuple[int, int]:
    """Parse `--size WxH` (e.g. "64x64", "80x48") into (width, height)."""
    match = _SIZE_PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 64x64 or 80x48; got {text!r}")
    return int(match.group(1)), int(match.group(2))
