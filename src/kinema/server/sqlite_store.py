"""SQLiteJobStore: the default JobStore, one SQLite file in WAL mode in the server's data folder.

WAL lets the API's many reader threads poll while the worker writes progress. Each thread gets its
own connection (sqlite3 connections must not be shared across threads); writes that read first
(enqueue's queue bound, claiming the oldest job) run in `BEGIN IMMEDIATE` transactions, so two
writers never both see the same queue. `synchronous=NORMAL` survives a killed process (only a power
loss can drop the last commits), which is the durability a job queue on one machine needs.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from kinema.server.jobs import (
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    QUEUED,
    Job,
    JobStore,
    Page,
    QueueFull,
)

SCHEMA_VERSION = 1
JOB_FIELDS = tuple(field.name for field in dataclasses.fields(Job))
_COLUMNS = ", ".join(JOB_FIELDS)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order: the list cursor
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL, prompt TEXT NOT NULL, task TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, seconds TEXT NOT NULL, num_frames INTEGER NOT NULL,
    seed INTEGER NOT NULL, created_at INTEGER NOT NULL,
    status TEXT NOT NULL, progress INTEGER NOT NULL,
    steps INTEGER, guidance_scale REAL, negative_prompt TEXT, strength REAL, source_id TEXT,
    started_at INTEGER, completed_at INTEGER, expires_at INTEGER,
    attempts INTEGER NOT NULL, error_code TEXT, error_message TEXT,
    deleted_at INTEGER,  -- a tombstone: hidden from reads, kept so cursors resolve
    purged_at INTEGER    -- the job's files were removed (deleted or expired)
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
"""


class SQLiteJobStore(JobStore):
    """Jobs in one SQLite database file; safe across threads and across restarts."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        connection = self._connection()
        connection.execute("PRAGMA journal_mode=WAL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise ValueError(f"job database {self.path} has schema version {version}; this Kinema reads "
                             f"version {SCHEMA_VERSION}. Use a new --data-dir or upgrade Kinema")
        connection.executescript(_SCHEMA)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the database's write lock before its first read."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _one(self, sql: str, parameters: tuple = ()) -> Job | None:
        row = self._connection().execute(sql, parameters).fetchone()
        return _job(row) if row is not None else None

    # ------------------------------------------------------------------ the API's side

    def enqueue(self, job: Job, *, max_queued: int) -> Job:
        with self._write() as connection:
            queued = connection.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (QUEUED,)).fetchone()[0]
            if queued >= max_queued:
                raise QueueFull(queued, max_queued)
            values = dataclasses.astuple(job)
            connection.execute(f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._one(f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND deleted_at IS NULL", (job_id,))

    def list(self, *, after: str | None, limit: int, order: Literal["asc", "desc"]) -> Page:
        connection = self._connection()
        compare, direction = (">", "ASC") if order == "asc" else ("<", "DESC")
        cursor_clause, parameters = "", ()
        if after is not None:
            row = connection.execute("SELECT seq FROM jobs WHERE id = ?", (after,)).fetchone()
            if row is None:
                raise KeyError(after)
            cursor_clause, parameters = f"AND seq {compare} ?", (row[0],)
        rows = connection.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE deleted_at IS NULL {cursor_clause} ORDER BY seq {direction} LIMIT ?",
            (*parameters, limit + 1)).fetchall()
        return Page([_job(row) for row in rows[:limit]], has_more=len(rows) > limit)

    def delete(self, job_id: str) -> Job | None:
        with self._write() as connection:
            row = connection.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND deleted_at IS NULL",
                                     (job_id,)).fetchone()
            if row is None:
                return None
            connection.execute(
                "UPDATE jobs SET deleted_at = strftime('%s', 'now'), "
                "status = CASE status WHEN ? THEN ? ELSE status END WHERE id = ?", (QUEUED, FAILED, job_id))
        return _job(row)

    def count_queued(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (QUEUED,)).fetchone()[0]

    def is_purged(self, job_id: str) -> bool:
        row = self._connection().execute("SELECT purged_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row is not None and row[0] is not None

    # ------------------------------------------------------------------ the worker's side

    def claim_next(self, now: int) -> Job | None:
        with self._write() as connection:
            row = connection.execute("SELECT id FROM jobs WHERE status = ? AND deleted_at IS NULL ORDER BY seq LIMIT 1",
                                     (QUEUED,)).fetchone()
            if row is None:
                return None
            connection.execute("UPDATE jobs SET status = ?, progress = 0, started_at = ?, attempts = attempts + 1 "
                               "WHERE id = ?", (IN_PROGRESS, now, row[0]))
            claimed = connection.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (row[0],)).fetchone()
        return _job(claimed)

    def set_progress(self, job_id: str, progress: int) -> bool:
        cursor = self._connection().execute(
            "UPDATE jobs SET progress = ? WHERE id = ? AND status = ? AND deleted_at IS NULL",
            (max(0, min(100, int(progress))), job_id, IN_PROGRESS))
        return cursor.rowcount == 1

    def complete(self, job_id: str, now: int, expires_at: int | None) -> bool:
        cursor = self._connection().execute(
            "UPDATE jobs SET status = ?, progress = 100, completed_at = ?, expires_at = ? "
            "WHERE id = ? AND status = ? AND deleted_at IS NULL", (COMPLETED, now, expires_at, job_id, IN_PROGRESS))
        return cursor.rowcount == 1

    def fail(self, job_id: str, now: int, code: str, message: str) -> None:
        self._connection().execute(
            "UPDATE jobs SET status = ?, completed_at = ?, error_code = ?, error_message = ? WHERE id = ?",
            (FAILED, now, code, message, job_id))

    def release(self, job_id: str) -> None:
        self._connection().execute(
            "UPDATE jobs SET status = ?, progress = 0, started_at = NULL, attempts = MAX(attempts - 1, 0) "
            "WHERE id = ? AND status = ?", (QUEUED, job_id, IN_PROGRESS))

    def recover_interrupted(self, now: int, *, max_attempts: int) -> list[Job]:
        with self._write() as connection:
            ids = [row[0] for row in connection.execute("SELECT id FROM jobs WHERE status = ? ORDER BY seq",
                                                        (IN_PROGRESS,))]
            connection.execute(
                "UPDATE jobs SET status = ?, completed_at = ?, error_code = 'interrupted', error_message = ? "
                "WHERE status = ? AND (attempts >= ? OR deleted_at IS NOT NULL)",
                (FAILED, now, (f"the server stopped while rendering this video {max_attempts} times; "
                              "it will not be retried again"), IN_PROGRESS, max_attempts))
            connection.execute("UPDATE jobs SET status = ?, progress = 0, started_at = NULL WHERE status = ?",
                               (QUEUED, IN_PROGRESS))
            rows = [connection.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
                    for job_id in ids]
        return [_job(row) for row in rows]

    def purgeable(self, now: int) -> list[str]:
        rows = self._connection().execute(
            "SELECT id FROM jobs WHERE purged_at IS NULL AND status != ? "
            "AND (deleted_at IS NOT NULL OR expires_at <= ?) ORDER BY seq", (IN_PROGRESS, now)).fetchall()
        return [row[0] for row in rows]

    def mark_purged(self, job_id: str) -> None:
        self._connection().execute("UPDATE jobs SET purged_at = strftime('%s', 'now') WHERE id = ?", (job_id,))

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


def _job(row: sqlite3.Row) -> Job:
    """A Job from a row selected with JOB_FIELDS."""
    return Job(**{name: row[name] for name in JOB_FIELDS})
