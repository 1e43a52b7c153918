"""ServerSettings: what `kinema serve` was told, checked once, shared by the app and the worker."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_QUEUE = 64
DEFAULT_EXPIRE_HOURS = 24.0
DEFAULT_MAX_STEPS = 500


@dataclass(frozen=True)
class ServerSettings:
    """Server options; the data folder holds the job database and every output."""

    data_dir: Path
    api_keys: frozenset[str] = field(default_factory=frozenset)  # empty: no authentication
    max_queue: int = DEFAULT_MAX_QUEUE  # queued jobs beyond this get 429
    expire_hours: float = DEFAULT_EXPIRE_HOURS  # outputs are deleted this long after completion; 0: never
    max_steps: int = DEFAULT_MAX_STEPS  # the most sampling steps one request may ask for
    max_attempts: int = 2  # a job the process died rendering is retried until tried this often, then failed
    poll_after_ms: int = 500  # sent as openai-poll-after-ms; the SDK's poll helpers wait this long
    expand_prompts: bool = True  # rewrite prompts into the model's caption style first, as `kinema generate` does
    device: str = "cpu"  # where the worker samples (checked by `kinema serve` with kinema.pipeline.resolve_device)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "api_keys", frozenset(self.api_keys))
        checks = [
            (self.max_queue >= 1, f"--max-queue must be at least 1; got {self.max_queue}"),
            (math.isfinite(self.expire_hours) and self.expire_hours >= 0,
             f"--expire-hours must be 0 (never expire) or a positive number of hours; got {self.expire_hours}"),
            (self.max_steps >= 1, f"max_steps must be at least 1; got {self.max_steps}"),
            (self.max_attempts >= 1, f"max_attempts must be at least 1; got {self.max_attempts}"),
            (all(key and key == key.strip() for key in self.api_keys),
             "API keys must be non-empty and have no surrounding whitespace"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def expire_seconds(self) -> int | None:
        """Seconds from completion to expiry, or None when outputs never expire."""
        return round(self.expire_hours * 3600) if self.expire_hours > 0 else None

    @property
    def database_path(self) -> Path:
        """The SQLite job database inside the data folder."""
        return self.data_dir / "jobs.sqlite3"


def read_api_keys(path: str | Path) -> frozenset[str]:
    """Keys from a file, one a line; blank lines and `#` comments are skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--api-keys-file {path}: no such file (one key a line)")
    keys = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    keys = [key for key in keys if key and not key.startswith("#")]
    if not keys:
        raise ValueError(f"--api-keys-file {path} holds no keys; put one key a line")
    return frozenset(keys)
