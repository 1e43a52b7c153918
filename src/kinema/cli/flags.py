"""Flags built from frozen config dataclasses, and the run-folder helpers the training commands share.

`add_config_flags` gives every field of a config dataclass one `--kebab-case` flag, typed by its
annotation and defaulted by its default, so a command and its library cannot drift apart; the
command supplies a one-line help per field. `config_from_args` builds the config back from the
parsed flags and rewords the library's errors (which name fields) in terms of flags (which the user
typed). `train-vae` and `train` both use them, and both keep a run folder whose settings are fixed
(`settings_mismatch`) and whose newest checkpoint says how far it got (`reached_step`).

Nothing here imports torch; the config classes are passed in by the commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import typing
from pathlib import Path
from typing import Any, Iterable, Sequence

from kinema.config import config_from_dict

FLAG_TYPES = {int: "N", float: "X", str: None}  # supported field types and their metavars


def config_flag(name: str) -> str:
    """The command-line flag of a config field: `warmup_steps` -> `--warmup-steps`."""
    return "--" + name.replace("_", "-")


def add_config_flags(
    group: argparse._ActionsContainer,
    config_class: type,
    field_help: dict[str, str],
    choices: dict[str, Sequence[str]] | None = None,
    metavars: dict[str, str] | None = None,
) -> None:
    """One typed, defaulted flag per field of `config_class`; `choices` restricts some str fields."""
    choices, metavars = choices or {}, metavars or {}
    for field in dataclasses.fields(config_class):
        add_config_flag(group, config_class, field, field_help.get(field.name), choices.get(field.name),
                        metavars.get(field.name))


def add_config_flag(
    group: argparse._ActionsContainer,
    config_class: type,
    field: dataclasses.Field,
    help_text: str | None = None,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
) -> None:
    """One flag for `field`; a field that cannot become a flag fails loudly rather than vanish."""
    kind = typing.get_type_hints(config_class)[field.name]
    where = f"{config_class.__name__}.{field.name}"
    if field.default is dataclasses.MISSING or kind not in (*FLAG_TYPES, bool):
        raise TypeError(f"{where} needs a plain int, float, str or bool default to become a flag; "
                        "add its flag by hand in the command that uses it")
    help_text = help_text or where
    if kind is bool:
        group.add_argument(config_flag(field.name), dest=field.name, action=argparse.BooleanOptionalAction,
                           default=field.default, help=help_text)
        return
    group.add_argument(config_flag(field.name), dest=field.name, type=kind, default=field.default,
                       choices=list(choices) if choices else None,
                       metavar=None if choices else metavar or FLAG_TYPES[kind] or field.name.upper(), help=help_text)


def config_from_args(config_class: type, args: argparse.Namespace) -> Any:
    """The config the parsed flags describe; its ValueErrors name flags instead of fields."""
    fields = dataclasses.fields(config_class)
    try:
        return config_class(**{field.name: getattr(args, field.name) for field in fields})
    except ValueError as error:  # the library names fields; the user typed flags
        raise ValueError(fields_as_flags(str(error), (field.name for field in fields))) from None


def fields_as_flags(message: str, names: Iterable[str]) -> str:
    """Replace each whole-word field name in `message` by its flag: "lr must be > 0" -> "--lr must be > 0"."""
    names = sorted(names, key=len, reverse=True)
    if not names:
        return message
    # One pass, so a flag just written ("--warmup-steps") is never rewritten again ("--warmup---steps").
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda match: config_flag(match.group(1)), message)


def settings_mismatch(run_dir: Path, config: Any, saved_name: str = "train_config.json") -> str | None:
    """Name the flags that differ from the run folder's saved settings, or None when none do (or none are saved)."""
    saved_path = run_dir / saved_name
    try:
        saved = json.loads(saved_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    try:  # read as the library does: keys a run saved before a setting existed take its default
        previous = dataclasses.asdict(config_from_dict(type(config), saved, str(saved_path)))
    except (TypeError, ValueError):
        previous = saved
    given = dataclasses.asdict(config)
    changed = [f"{config_flag(name)} {value} (the run has {previous.get(name, 'no such setting')})"
               for name, value in given.items() if previous.get(name) != value]
    if not changed:
        return None
    return (f"{run_dir} holds a run started with other settings: {', '.join(changed)}; "
            f"give the settings in {saved_path} to resume it, or a new --run-dir to start another run")


def reached_step(run_dir: Path) -> int:
    """How many steps the newest checkpoint in run_dir has trained (0 without one)."""
    from kinema.training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    if checkpoint is None:
        return 0
    return json.loads((checkpoint / "state.json").read_text())["step"]  # steps done


def last_logged(run_dir: Path) -> dict:
    """The last line of run_dir/metrics.jsonl (a finished run's scalars), or {}."""
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, json.JSONDecodeError):
        return {}


def checked_run_dir(text: str) -> Path:
    """--run-dir as a Path, refusing a path that is a file."""
    run_dir = Path(text)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--run-dir {str(run_dir)!r} is a file, not a folder; choose a folder path")
    return run_dir


def check_threads(threads: int | None) -> None:
    """--threads is unset (all cores) or at least 1."""
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be at least 1; got {threads}")


def all_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
