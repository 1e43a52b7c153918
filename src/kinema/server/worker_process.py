"""The worker in its own process: the API process answers requests while the model renders elsewhere.

A worker thread inside the API process shares its interpreter lock with every request thread: under
fifty polling clients a tiny model rendered 4x slower than alone, and the pollers slowed in turn.
In a child process the operating system shares the cores instead, and a crash in native model code
cannot take the API down. The child loads the pipeline, runs `Worker` over the same job store, and
dies with its parent (Linux `PR_SET_PDEATHSIG`), so a killed server never leaves a renderer behind
that races the restarted one; the restarted server re-queues what the dead one was rendering.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kinema.server.settings import ServerSettings

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
        self._stop = self._context.Event()
        self._ready = self._context.Event()
        self._process: Any = None

    def start(self) -> None:
        """Start the child and wait until its model is loaded; a RuntimeError when it dies first."""
        self._process = self._context.Process(
            target=_run_worker, name="kinema-worker", daemon=True,
            args=(self.model_dir, self.settings, self.keys_dir, self.log_level, self._stop, self._ready, os.getpid()))
        self._process.start()
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not self._ready.wait(0.2):
            if not self._process.is_alive():
                raise RuntimeError(f"the worker process exited with code {self._process.exitcode} while loading "
                                   f"the model from {self.model_dir}; its error is in the log above")
            if time.monotonic() > deadline:
                self._process.kill()
                raise RuntimeError(f"the worker process did not load {self.model_dir} in {LOAD_TIMEOUT_S:.0f} s")

    def stop(self, timeout_s: float = 60.0) -> None:
        """Ask the child to stop after its current sampling step (the job goes back to the queue)."""
        if self._process is None:
            return
        self._stop.set()
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()


def _run_worker(model_dir: Path, settings: ServerSettings, keys_dir: Path | None, log_level: str,
                stop: Any, ready: Any, parent_pid: int) -> None:
    """The child's main: load the pipeline, render until told to stop."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent stops us cleanly
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from kinema.pipeline import KinemaPipeline
    from kinema.server.catalog import ModelCatalog, supported_tasks
    from kinema.server.files import JobFiles
    from kinema.server.sqlite_store import SQLiteJobStore
    from kinema.server.worker import Worker

    pipeline = KinemaPipeline.from_pretrained(model_dir)
    catalog = ModelCatalog.from_config(pipeline.config, tasks=supported_tasks(pipeline.__call__))
    store = SQLiteJobStore(settings.database_path)
    worker = Worker(pipeline, store, JobFiles(settings.data_dir), catalog, settings, sign=_signer(keys_dir))
    worker.start()
    ready.set()
    stop.wait()
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
        logging.getLogger("kinema.server").warning("could not tie the worker's life to the server's (prctl failed)")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
