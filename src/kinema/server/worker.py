"""The worker: the loop that owns the pipeline and renders queued jobs one at a time, in a thread.

`kinema serve` runs it in a child process (`worker_process`); the thread form serves tests and
programs that embed the server.

It claims the oldest queued job, calls the pipeline (the library does all the ML), writes the
MP4, thumbnail and spritesheet, optionally signs the MP4, and marks the job completed. Progress
goes to the store from the pipeline's `callback(step, total)`; the same callback notices that the
job was deleted (cancelled) or that the server is stopping, and stops sampling. At start it
re-queues or fails jobs a dead process left in progress, and between jobs it deletes the files of
deleted and expired videos.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from inspect import signature
from pathlib import Path
from typing import Any

import numpy as np

from kinema.server.catalog import ModelCatalog
from kinema.server.files import JobFiles
from kinema.server.jobs import Job, JobStore
from kinema.server.settings import ServerSettings

log = logging.getLogger("kinema.server")
SAMPLING_SHARE = 95  # progress reaches this when sampling ends; decoding and writing make the rest
PROGRESS_INTERVAL_S = 0.5  # also check for cancellation at least this often while progress stands still
Signer = Callable[..., Any]  # sign(path, *, model: str, prompt: str, seed: int), e.g. kinema.provenance.sign_video


class Cancelled(Exception):
    """The job was deleted while it rendered."""


class Stopping(Exception):
    """The server is shutting down; the job goes back to the queue."""


class JobFailed(Exception):
    """A job that cannot be rendered, with the code its video object reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Worker:
    """Renders jobs from a store with one pipeline, in a background thread."""

    def __init__(self, pipeline: Any, store: JobStore, files: JobFiles, catalog: ModelCatalog,
                 settings: ServerSettings, *, sign: Signer | None = None, clock: Callable[[], float] = time.time,
                 idle_wait_s: float = 0.1, sweep_every_s: float | None = None) -> None:
        self.pipeline = pipeline
        self.store = store
        self.files = files
        self.catalog = catalog
        self.settings = settings
        self.sign = sign
        self.clock = clock
        self.idle_wait_s = idle_wait_s
        # Sweep often enough that files outlive their expiry by a fraction of it, at most a minute.
        if sweep_every_s is None:
            expire = settings.expire_seconds
            sweep_every_s = min(60.0, max(1.0, expire / 10)) if expire is not None else 60.0
        self.sweep_every_s = sweep_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Recover jobs a dead process left in progress, then start rendering in the background."""
        for job in self.store.recover_interrupted(self.now(), max_attempts=self.settings.max_attempts):
            log.warning("job %s was in progress when the server stopped: now %s", job.id, job.status)
        self._thread = threading.Thread(target=self._run, name="kinema-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the current sampling step; an unfinished job goes back to the queue."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def now(self) -> int:
        return int(self.clock())

    def _run(self) -> None:
        last_sweep = -float("inf")
        while not self._stop.is_set():
            if self.clock() - last_sweep >= self.sweep_every_s:
                self.sweep()
                last_sweep = self.clock()
            job = self.store.claim_next(self.now())
            if job is None:
                self._stop.wait(self.idle_wait_s)
                continue
            self.process(job)

    # ------------------------------------------------------------------ one job

    def process(self, job: Job) -> None:
        """Render one claimed job and record how it ended; never lets an error stop the worker."""
        started = time.perf_counter()
        try:
            frames, caption = self.render(job)
            self.finish(job, frames, caption)
            log.info("job %s completed in %.1f s", job.id, time.perf_counter() - started)
        except Cancelled:
            self.discard(job.id, "cancelled", "deleted while rendering")
        except Stopping:
            self.store.release(job.id)
        except JobFailed as failure:
            self.discard(job.id, failure.code, str(failure))
        except Exception as error:  # a bug or a bad input must fail this job, not the server
            log.exception("job %s failed", job.id)
            self.discard(job.id, "generation_failed", f"rendering failed: {type(error).__name__}: {error}")

    def render(self, job: Job) -> tuple[np.ndarray, str | None]:
        """Call the pipeline for the job's task; the frames (T, H, W, 3) uint8 to write and the caption it used."""
        task_arguments = self.task_arguments(job)
        # Prompt expansion, where the pipeline has it and the server was not told --no-expand.
        expand = {"expand": True} if self.settings.expand_prompts and "expand" in signature(self.pipeline).parameters else {}
        output = self.pipeline(job.prompt, negative_prompt=job.negative_prompt, num_frames=job.num_frames,
                               height=job.height, width=job.width, num_inference_steps=job.steps,
                               guidance_scale=job.guidance_scale, seed=job.seed, callback=self.progress(job.id),
                               **task_arguments, **expand)
        frames = np.asarray(output.frames[0])
        if job.task == "extend":
            frames = stitch_extension(task_arguments["extend"], frames, expected=self.catalog.frames_for(job.seconds))
        metadata = getattr(output, "metadata", None) or [{}]
        return frames, metadata[0].get("caption")

    def task_arguments(self, job: Job) -> dict[str, Any]:
        """The pipeline arguments that make a job image-to-video, a remix or an extension."""
        if job.task == "image":
            return {"image": self.files.load_reference_image(job.id)}
        if job.task in ("remix", "extend"):
            source = self._source_frames(job)
            if job.task == "extend":
                return {"extend": source}
            return {"video": source} if job.strength is None else {"video": source, "strength": job.strength}
        return {}

    def _source_frames(self, job: Job) -> np.ndarray:
        """The source of a remix or extension (a completed video, or the uploaded clip); a clear failure when it is gone."""
        if job.source_id is None:
            from kinema.media import read_video

            path = self.files.source_video(job.id)
            if not path.is_file():
                raise JobFailed("source_unavailable", f"the uploaded source clip of {job.id} is missing")
            return read_video(path)[0]
        path = self.files.output(job.source_id or "", "video")
        if not path.is_file():
            raise JobFailed("source_unavailable", f"the source video {job.source_id} was deleted or expired "
                                                  "before this job rendered")
        return self.files.load_video(job.source_id or "")

    def progress(self, job_id: str) -> Callable[[int, int], None]:
        """The pipeline callback: record progress, and stop when the job is deleted or the server stops."""
        last = {"percent": -1, "time": 0.0}

        def callback(step: int, total: int) -> None:
            if self._stop.is_set():
                raise Stopping()
            percent = SAMPLING_SHARE * step // max(total, 1)
            now = time.monotonic()
            if percent == last["percent"] and now - last["time"] < PROGRESS_INTERVAL_S:
                return
            last.update(percent=percent, time=now)
            if not self.store.set_progress(job_id, percent):
                raise Cancelled()

        return callback

    def finish(self, job: Job, frames: np.ndarray, caption: str | None = None) -> None:
        """Write the files, sign the MP4, and complete the job (unless it was deleted meanwhile)."""
        caption = {"caption": caption} if caption and caption != job.prompt else {}  # what the model was told
        metadata = {"prompt": job.prompt, "seed": str(job.seed), "model": job.model, "video_id": job.id,
                    "steps": str(job.steps or ""), "task": job.task, **caption}
        path = self.files.write_outputs(job.id, frames, fps=self.catalog.fps, metadata=metadata)
        self._sign(path, job)
        now = self.now()
        expire = self.settings.expire_seconds
        if not self.store.complete(job.id, now, now + expire if expire is not None else None):
            raise Cancelled()

    def _sign(self, path: Path, job: Job) -> None:
        """Attach the provenance manifest; a video that should be signed and is not is a failed job."""
        if self.sign is None:
            return
        try:
            self.sign(path, model=job.model, prompt=job.prompt, seed=job.seed)
        except Exception as error:
            log.exception("signing %s failed", path)
            raise JobFailed("provenance_failed", f"signing the video's C2PA manifest failed: {error}") from error

    def discard(self, job_id: str, code: str, message: str) -> None:
        """Fail a job and remove its files (a failed or cancelled video has no content)."""
        self.store.fail(job_id, self.now(), code, message)
        self.files.remove(job_id)
        self.store.mark_purged(job_id)

    # ------------------------------------------------------------------ housekeeping

    def sweep(self) -> int:
        """Remove the files of deleted and expired videos; how many were removed."""
        removed = 0
        for job_id in self.store.purgeable(self.now()):
            self.files.remove(job_id)
            self.store.mark_purged(job_id)
            removed += 1
        if removed:
            log.info("removed the files of %d deleted or expired videos", removed)
        return removed


def stitch_extension(source: np.ndarray, generated: np.ndarray, *, expected: int) -> np.ndarray:
    """The extended clip: the source, then the new frames after its last one.

    The pipeline may return the new segment alone (whose first frame continues the source's last)
    or the whole clip with the source in front; both are accepted, and the result must have the
    length the job promised.
    """
    if len(generated) == expected:
        return generated
    stitched = np.concatenate([source, generated[1:]]) if len(source) + len(generated) - 1 == expected else None
    if stitched is None:
        raise JobFailed("generation_failed", f"the pipeline returned {len(generated)} frames extending a "
                                             f"{len(source)}-frame video; expected {expected} frames in all")
    return stitched
