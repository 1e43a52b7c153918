"""The job record and the JobStore interface that the API and the worker share.

The store is the only shared state: the API enqueues and reads, the worker claims, reports
progress and finishes. Everything goes through the abstract `JobStore`, so a server database
(Postgres with `SELECT ... FOR UPDATE SKIP LOCKED`, say) can replace the SQLite default when
several machines run workers.

Lifecycle: queued -> in_progress -> completed | failed. A deleted job keeps its row as a tombstone
(hidden from every read) so a list cursor that names it still resolves; a deleted in-progress job
is noticed by the worker, which stops and marks it failed. A job whose process died while it ran
is re-queued until it has been attempted `max_attempts` times, then failed: never stuck.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

QUEUED, IN_PROGRESS, COMPLETED, FAILED = "queued", "in_progress", "completed", "failed"
STATUSES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED)
Task = Literal["generate", "image", "remix", "extend"]
TASKS = ("generate", "image", "remix", "extend")


class QueueFull(Exception):
    """The store already holds the most queued jobs it may."""

    def __init__(self, queued: int, limit: int) -> None:
        super().__init__(f"{queued} jobs are queued (the limit is {limit})")
        self.queued = queued
        self.limit = limit


@dataclass(frozen=True)
class Job:
    """One video request and its state; the fields the worker needs to render it again after a restart."""

    id: str
    model: str
    prompt: str
    task: Task
    width: int
    height: int
    seconds: str  # the API's duration; for an extension, the stitched total
    num_frames: int  # frames the pipeline makes: the whole clip, or the new segment of an extension
    seed: int
    created_at: int
    status: str = QUEUED
    progress: int = 0
    steps: int | None = None  # None: the model's default
    guidance_scale: float | None = None
    negative_prompt: str | None = None
    strength: float | None = None  # remix: how far the source is noised (SDEdit); None: the pipeline's default
    source_id: str | None = None  # the video a remix or extension starts from
    started_at: int | None = None
    completed_at: int | None = None
    expires_at: int | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @property
    def size(self) -> str:
        """"WIDTHxHEIGHT", as the API spells it."""
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Page:
    """One page of a listing and whether more follow it."""

    jobs: list[Job]
    has_more: bool


class JobStore(ABC):
    """Durable jobs. Every method is atomic and safe to call from any thread."""

    @abstractmethod
    def enqueue(self, job: Job, *, max_queued: int) -> Job:
        """Store a new queued job, or raise QueueFull when `max_queued` jobs already wait."""

    @abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The live (not deleted) job with this id, or None."""

    @abstractmethod
    def list(self, *, after: str | None, limit: int, order: Literal["asc", "desc"]) -> Page:
        """Live jobs in creation order after the cursor job; KeyError when the cursor names no job ever stored."""

    @abstractmethod
    def delete(self, job_id: str) -> Job | None:
        """Hide the job from reads (a queued one is failed, so never claimed); the job as it was, or None."""

    @abstractmethod
    def claim_next(self, now: int) -> Job | None:
        """Move the oldest queued job to in_progress (counting an attempt) and return it; None when none waits."""

    @abstractmethod
    def set_progress(self, job_id: str, progress: int) -> bool:
        """Record progress (0-100) of an in-progress job; False when it was deleted meanwhile (stop rendering)."""

    @abstractmethod
    def complete(self, job_id: str, now: int, expires_at: int | None) -> bool:
        """Mark an in-progress job completed; False when it was deleted meanwhile (its files must go)."""

    @abstractmethod
    def fail(self, job_id: str, now: int, code: str, message: str) -> None:
        """Mark a job failed with a machine-readable code and a message a person can act on."""

    @abstractmethod
    def release(self, job_id: str) -> None:
        """Put an in-progress job back in the queue without counting the attempt (a clean shutdown)."""

    @abstractmethod
    def recover_interrupted(self, now: int, *, max_attempts: int) -> list[Job]:
        """Re-queue jobs left in_progress by a dead process, or fail those tried `max_attempts` times.

        Call only where no live worker shares the store (the SQLite store's single worker, at start).
        Returns the jobs as they are now.
        """

    @abstractmethod
    def count_queued(self) -> int:
        """How many jobs wait to be rendered."""

    @abstractmethod
    def purgeable(self, now: int) -> list[str]:
        """Ids whose files should be removed: deleted or expired jobs no worker is rendering, not purged yet."""

    @abstractmethod
    def mark_purged(self, job_id: str) -> None:
        """Record that a job's files are gone, so later reads report it expired and sweeps skip it."""

    @abstractmethod
    def is_purged(self, job_id: str) -> bool:
        """Whether a job's files were removed (expired)."""

    def close(self) -> None:
        """Release connections; the default store has nothing else to close."""
