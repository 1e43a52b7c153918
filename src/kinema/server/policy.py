"""Prompt policies: checked before a job is queued, so a refused prompt is never rendered or stored.

A policy answers one question, `refusal(prompt) -> reason or None`. Two ship:

- `BlocklistPolicy`, read from a text file (`kinema serve --policy FILE`): one entry a line; a
  plain word or phrase matches as whole words, case-insensitively; a line `re:PATTERN` is a
  case-insensitive regular expression searched anywhere; blank lines and `#` comments are skipped.
- `ClassifierPolicy`, any Python callable `classify(prompt) -> bool | str | None` (True or a
  reason string refuses), for a moderation model or an external service
  (`kinema serve --policy-classifier package.module:function`).

`AllPolicies` refuses when any of its policies does.
"""

from __future__ import annotations

import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path


class PromptPolicy(ABC):
    """Decides whether a prompt may be rendered."""

    @abstractmethod
    def refusal(self, prompt: str) -> str | None:
        """Why `prompt` is refused, or None to allow it."""


class AllowAll(PromptPolicy):
    """The default: every prompt is allowed."""

    def refusal(self, prompt: str) -> str | None:
        return None


class BlocklistPolicy(PromptPolicy):
    """Refuses prompts containing a listed word or phrase, or matching a listed regular expression."""

    def __init__(self, entries: Sequence[str], *, source: str = "blocklist") -> None:
        self.patterns: list[tuple[str, re.Pattern[str]]] = []
        for number, entry in enumerate(entries, start=1):
            entry = entry.strip()
            if not entry or entry.startswith("#"):
                continue
            self.patterns.append((entry, _compile(entry, f"{source} line {number}")))

    @classmethod
    def from_file(cls, path: str | Path) -> BlocklistPolicy:
        """Read a blocklist file (UTF-8, one entry a line)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--policy {path}: no such file; a blocklist has one word, phrase or re:PATTERN a line")
        return cls(path.read_text(encoding="utf-8").splitlines(), source=str(path))

    def refusal(self, prompt: str) -> str | None:
        for entry, pattern in self.patterns:
            if pattern.search(prompt):
                return f"it matches the blocklist entry {entry!r}"
        return None


def _compile(entry: str, where: str) -> re.Pattern[str]:
    """A blocklist entry as a case-insensitive pattern; plain text matches whole words only."""
    if entry.startswith("re:"):
        try:
            return re.compile(entry[3:], re.IGNORECASE)
        except re.error as error:
            raise ValueError(f"{where}: {entry!r} is not a valid regular expression: {error}") from None
    words = r"\s+".join(re.escape(word) for word in entry.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


class ClassifierPolicy(PromptPolicy):
    """Wraps `classify(prompt)`: True or a reason string refuses; False, None or "" allows."""

    def __init__(self, classify: Callable[[str], bool | str | None], *, name: str = "classifier") -> None:
        if not callable(classify):
            raise TypeError(f"a classifier policy needs a callable prompt -> bool | str | None; got {classify!r}")
        self.classify = classify
        self.name = name

    def refusal(self, prompt: str) -> str | None:
        verdict = self.classify(prompt)
        if verdict is True:
            return f"the {self.name} flagged it"
        if isinstance(verdict, str) and verdict:
            return verdict
        return None

    @classmethod
    def from_spec(cls, spec: str) -> ClassifierPolicy:
        """Import `package.module:function` (the function, or a class instance with __call__)."""
        module_name, _, attribute = spec.partition(":")
        if not module_name or not attribute:
            raise ValueError(f"--policy-classifier must be MODULE:CALLABLE, e.g. mypkg.moderation:classify; got {spec!r}")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"--policy-classifier {spec}: cannot import {module_name!r}: {error}") from None
        if not hasattr(module, attribute):
            raise ValueError(f"--policy-classifier {spec}: module {module_name!r} has no {attribute!r}")
        return cls(getattr(module, attribute), name=spec)


class AllPolicies(PromptPolicy):
    """Refuses when any policy refuses; the first refusal's reason is reported."""

    def __init__(self, policies: Sequence[PromptPolicy]) -> None:
        self.policies = list(policies)

    def refusal(self, prompt: str) -> str | None:
        for policy in self.policies:
            reason = policy.refusal(prompt)
            if reason:
                return reason
        return None
