"""The job queue survives its process: a full queue, restarts, expiry, a kill -9 of the server or its worker.

Each test runs `kinema serve` processes over one data folder: an API-only process (`--workers 0`)
fills the queue deterministically, a crash is a real SIGKILL while the worker samples.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK marks the Videos API deprecated


def sdk(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)


def stored(data_dir, video_id: str) -> sqlite3.Row:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as connection:
        connection.row_factory = sqlite3.Row
        return connection.execute("SELECT * FROM jobs WHERE id = ?", (video_id,)).fetchone()


def test_a_full_queue_answers_429_and_queued_jobs_run_after_a_restart(kinema_server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    api_only = kinema_server_factory(data, "--workers", "0", "--max-queue", "2")
    client = sdk(api_only)
    assert httpx.get(f"{api_only.url}/health").json() == {"status": "ok", "model": "kinema-tiny", "queued": 0,
                                                          "worker": False}
    queued = [client.videos.create(prompt=f"a red ball {i}", size="16x16", seconds="2").id for i in range(2)]
    with pytest.raises(openai.RateLimitError, match="queue is full") as full:
        client.videos.create(prompt="one too many")
    assert full.value.code == "queue_full" and full.value.response.headers["retry-after"] == "10"
    api_only.stop()

    worker = kinema_server_factory(data, "--max-queue", "2", "--expire-hours", "0.0005")  # outputs live 2 s
    client = sdk(worker)
    for video_id in queued:
        done = client.videos.poll(video_id, poll_interval_ms=100)
        assert done.status == "completed" and done.progress == 100, done.error
        assert done.expires_at - done.completed_at == 2
    assert len(client.videos.list().data) == 2  # the refused request left no job

    folder = data / "videos" / queued[-1]
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:  # the worker's sweep deletes expired outputs
        time.sleep(0.1)
    assert not folder.exists()
    with pytest.raises(openai.APIStatusError, match="expired") as gone:
        client.videos.download_content(queued[-1])
    assert gone.value.status_code == 410
    assert client.videos.retrieve(queued[-1]).status == "completed"  # the record stays; the files are gone


def start_slow_job(client, prompt: str):
    """A job that renders for a while (30 steps), returned once the worker has started it."""
    slow = client.videos.create(prompt=prompt, size="16x16", seconds="2", extra_body={"steps": 30})
    deadline = time.monotonic() + 300
    while client.videos.retrieve(slow.id).status != "in_progress" and time.monotonic() < deadline:
        time.sleep(0.02)
    return slow


def worker_pid(server) -> int:
    """The server's worker process (its multiprocessing child running spawn_main)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if parent == server.process.pid and b"spawn_main" in command:
            return int(stat.parent.name)
    raise AssertionError("the server has no worker process")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker process through /proc")
def test_a_killed_server_or_worker_never_leaves_a_job_stuck(kinema_server_factory, tmp_path) -> None:
    data = tmp_path / "data"
    server = kinema_server_factory(data)
    client = sdk(server)
    slow = start_slow_job(client, "a long slow render")
    behind = client.videos.create(prompt="waiting behind it", size="16x16", seconds="2")
    server.kill()  # kill -9 the server; its worker dies with it
    assert stored(data, slow.id)["status"] == "in_progress"  # what the dead process left behind

    server = kinema_server_factory(data)
    client = sdk(server)
    done = client.videos.poll(slow.id, poll_interval_ms=200)
    assert done.status == "completed" and done.progress == 100, done.error
    assert stored(data, slow.id)["attempts"] == 2  # rendered again from the start, with the same seed
    assert client.videos.poll(behind.id, poll_interval_ms=100).status == "completed"

    again = start_slow_job(client, "the worker dies under this one")
    os.kill(worker_pid(server), signal.SIGKILL)  # an out-of-memory kill, say: the server starts a new worker
    done = client.videos.poll(again.id, poll_interval_ms=200)
    assert done.status == "completed", done.error
    assert stored(data, again.id)["attempts"] == 2
    assert httpx.get(f"{server.url}/health").json()["worker"] is True
