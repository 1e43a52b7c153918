"""The worker in its own process: the API process answers requests while the model renders elsewhere.

A worker thread inside the API process shares its interpreter lock with every request thread.
Measured here (2 cores, 50 clients polling 200 tiny-model jobs): a worker thread rendered 8.6
jobs/s with a status-poll p99 of 264 ms, a worker process 13.9 jobs/s with a p99 of 124 ms. In a
child process the operating system shares the cores instead, and a crash in native model code
(or an out-of-memory kill) cannot take the API down: the server notices a dead worker and starts a
new one, which re-queues the job it was rendering. The child dies with the server (Linux
`PR_SET_PDEATHSIG`, which fires when the *thread* that started the child ends, so it is started from
the server's main thread), so a killed server never leaves a renderer behind that races the
restarted one.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kinema.server.settings import ServerSettings

log = logging.getLogger("kinema.server")
PR_SET_PDEATHSIG = 1
LOAD_TIMEOUT_S = 1800.0  # loading a large model on a busy machine can take minutes


class WorkerProcess:
    """Start, watch and stop a child process that renders jobs (the same interface as `Worker`)."""

    def __init__(self, model_dir: Path, settings: ServerSettings, *, keys_dir: Path | None = None,
                 log_level: str = "INFO") -> None:
        self.model_dir = Path(model_dir)
        self.settings = settings
        self.keys_dir = keys_dir
        self.log_level = log_level
        self._context = multiprocessing.get_context("spawn")  # no fork of a process with threads and torch
        # No shared locks or events: a child killed while waiting on a multiprocessing.Event leaves it
        # unusable (set() then waits forever for the dead waiter). The child reports readiness over a
        # pipe and is told to stop with SIGTERM.
        self._ready: Any = None
        self._process: Any = None
        self._stopping = False

    def start(self) -> None:
        """Start the child and wait until its model is loaded; a RuntimeError when it dies first.

        Call from a thread that lives as long as the server (its main thread): the kernel kills the
        child when the thread that started it exits.
        """
        self.launch()
        self.wait_until_ready()

    def launch(self) -> None:
        """Start the child without waiting for it (same thread rule as `start`)."""
        self._ready, ready_out = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=_run_worker, name="kinema-worker", daemon=True,
            args=(self.model_dir, self.settings, self.keys_dir, self.log_level, ready_out, os.getpid()))
        self._process.start()
        ready_out.close()  # the child holds its own copy

    def wait_until_ready(self) -> None:
        """Block until the child has loaded its model; a RuntimeError when it dies or takes too long."""
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not self._ready.poll(0.2):
            if not self._process.is_alive():
                raise RuntimeError(f"the worker process exited with code {self._process.exitcode} while loading "
                                   f"the model from {self.model_dir}; its error is in the log above")
            if time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError(f"the worker process did not load {self.model_dir} in {LOAD_TIMEOUT_S:.0f} s")

    def revive(self) -> bool:
        """Start a new child if this one died unasked (a crash, an OOM kill); whether it did.

        The new child re-queues the job the dead one was rendering (or fails it after
        `max_attempts`), exactly as a restarted server would.
        """
        if self._process is None or self._process.is_alive() or self._stopping:
            return False
        log.error("the worker process died (exit code %s); starting a new one", self._process.exitcode)
        self._process.join()
        self.launch()
        return True

    def stop(self, timeout_s: float = 60.0) -> None:
        """Ask the child to stop after its current sampling step (the job goes back to the queue)."""
        self._stopping = True
        if self._process is None:
            return
        self._process.terminate()
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()


def _run_worker(model_dir: Path, settings: ServerSettings, keys_dir: Path | None, log_level: str,
                ready: Any, parent_pid: int) -> None:
    """The child's main: load the pipeline, render until SIGTERM, then put the unfinished job back."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us cleanly
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stopping.set())
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from kinema.pipeline import KinemaPipeline, resolve_device
    from kinema.server.catalog import ModelCatalog
    from kinema.server.files import JobFiles
    from kinema.server.sqlite_store import SQLiteJobStore
    from kinema.server.worker import Worker

    pipeline = KinemaPipeline.from_pretrained(model_dir).to(resolve_device(settings.device))
    catalog = ModelCatalog.from_config(pipeline.config)
    store = SQLiteJobStore(settings.database_path)
    worker = Worker(pipeline, store, JobFiles(settings.data_dir), catalog, settings, sign=_signer(keys_dir))
    worker.start()
    ready.send("ready")
    while not stopping.wait(0.5):
        pass
    worker.stop()
    store.close()


def _signer(keys_dir: Path | None) -> Any:
    """kinema.provenance.sign_video bound to the key folder, or None without one."""
    if keys_dir is None:
        return None
    from functools import partial

    from kinema.provenance import sign_video

    return partial(sign_video, key_dir=keys_dir)


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux); elsewhere a daemon child is the best effort."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        log.warning("could not tie the worker's life to the server's (prctl failed)")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
