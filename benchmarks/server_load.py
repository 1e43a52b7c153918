"""Load check of `kinema serve`: many concurrent clients create videos and poll them until done.

Starts a real server (a subprocess on a local port) over a tiny random model, then runs N client
threads (httpx, one connection each) that all start at once: each creates its videos, polls every
one until it is completed or failed, and downloads each completed MP4. The worker renders while
the clients poll, so the status latencies include that contention. Afterwards every created id
must be listed by GET /v1/videos: one that is missing (or answers 404) counts as lost; one still
queued or rendering when polling gives up (--timeout) counts as unfinished. Writes benchmarks/results/server_load.json and server_load.md.

    python benchmarks/server_load.py [--clients 50] [--jobs-per-client 4] [--poll-interval 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

RESULTS = Path(__file__).parent / "results"
TERMINAL = ("completed", "failed")


def build_tiny_model(folder: Path) -> Path:
    """A random tiny-test pipeline (the test suite's) saved as a model folder."""
    import torch

    from kinema.config import TRANSFORMER_PRESETS, VAE_PRESETS
    from kinema.models.transformer import DiffusionTransformer
    from kinema.models.vae import VideoVAE
    from kinema.pipeline import KinemaPipeline, PipelineConfig

    torch.manual_seed(0)
    config = PipelineConfig(name="kinema-tiny", sizes=((16, 16), (16, 32), (32, 16)), frame_counts=(1, 17, 33), steps=2)
    pipe = KinemaPipeline(DiffusionTransformer(TRANSFORMER_PRESETS["tiny-test"]), VideoVAE(VAE_PRESETS["tiny-test"]),
                          None, config)
    return pipe.save_pretrained(folder / "model", dtype=torch.float32)


def start_server(model: Path, data: Path, max_queue: int) -> tuple[subprocess.Popen, str]:
    """`kinema serve` on a free port; returns the process and its base URL once /health answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "kinema.cli", "serve", "--model", str(model), "--data-dir", str(data), "--port",
               str(port), "--max-queue", str(max_queue), "--log-level", "warning"]
    with open(data.parent / "server.log", "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if process.poll() is not None:
            raise RuntimeError(f"kinema serve exited:\n{(data.parent / 'server.log').read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError("kinema serve did not answer /health within 5 minutes")


@dataclass
class ClientLog:
    """What one client saw."""

    created: list[str] = field(default_factory=list)
    outcome: dict[str, str] = field(default_factory=dict)
    create_ms: list[float] = field(default_factory=list)
    poll_ms: list[float] = field(default_factory=list)
    downloads_ok: int = 0
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    transport_retries: int = 0  # requests whose connection the server closed or that timed out, then retried


def send(http: httpx.Client, log: ClientLog, method: str, path: str, **options: object) -> httpx.Response:
    """One request, retried (up to twice) when the connection fails rather than the server answering."""
    for attempt in range(3):
        try:
            log.requests += 1
            return http.request(method, path, **options)
        except httpx.TransportError as error:
            if attempt == 2:
                raise
            log.transport_retries += 1
            log.errors.append(f"{method} {path}: {type(error).__name__}: {error} (retried)")
    raise AssertionError("unreachable")


def run_client(url: str, index: int, jobs: int, poll_interval: float, deadline: float,
               start: threading.Barrier) -> ClientLog:
    """Create `jobs` videos, poll each until it ends, download the completed ones."""
    log = ClientLog()
    with httpx.Client(base_url=url, timeout=60) as http:
        start.wait()
        for job in range(jobs):
            began = time.perf_counter()
            response = send(http, log, "POST", "/v1/videos", json={
                "prompt": f"a red ball bouncing, client {index} job {job}", "size": "16x16", "seconds": "2",
                "seed": index * 100 + job})
            log.create_ms.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                log.errors.append(f"create: {response.status_code} {response.text[:200]}")
                continue
            log.created.append(response.json()["id"])
        for video_id in log.created:
            log.outcome[video_id] = poll_until_done(http, video_id, poll_interval, deadline, log)
            if log.outcome[video_id] == "completed":
                content = send(http, log, "GET", f"/v1/videos/{video_id}/content")
                log.downloads_ok += int(content.status_code == 200 and content.content[4:8] == b"ftyp")
    return log


def poll_until_done(http: httpx.Client, video_id: str, poll_interval: float, deadline: float, log: ClientLog) -> str:
    """Poll one video until completed or failed (or the deadline); its last status."""
    status = "unknown"
    while time.monotonic() < deadline:
        began = time.perf_counter()
        response = send(http, log, "GET", f"/v1/videos/{video_id}")
        log.poll_ms.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            log.errors.append(f"poll: {response.status_code} {response.text[:200]}")
            return "error"
        status = response.json()["status"]
        if status in TERMINAL:
            return status
        time.sleep(poll_interval)
    return status


def listed_ids(url: str) -> set[str]:
    """Every id GET /v1/videos returns, following the cursor."""
    ids, after = set(), None
    with httpx.Client(base_url=url, timeout=60) as http:
        while True:
            page = http.get("/v1/videos", params={"limit": 100, "order": "asc", **({"after": after} if after else {})})
            body = page.json()
            ids.update(video["id"] for video in body["data"])
            if not body["has_more"]:
                return ids
            after = body["last_id"]


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def summarise(logs: list[ClientLog], listed: set[str], wall_s: float, args: argparse.Namespace) -> dict:
    """The numbers the report shows."""
    created = [video_id for log in logs for video_id in log.created]
    outcomes = {video_id: status for log in logs for video_id, status in log.outcome.items()}
    completed = [video_id for video_id, status in outcomes.items() if status == "completed"]
    failed = [video_id for video_id, status in outcomes.items() if status == "failed"]
    lost = [video_id for video_id in created if video_id not in listed or outcomes.get(video_id) == "error"]
    unfinished = [video_id for video_id in created if outcomes.get(video_id) in ("queued", "in_progress")]
    create_ms = [ms for log in logs for ms in log.create_ms]
    poll_ms = [ms for log in logs for ms in log.poll_ms]
    requests = sum(log.requests for log in logs)
    return {
        "benchmark": "server_load", "clients": args.clients, "jobs_per_client": args.jobs_per_client,
        "poll_interval_s": args.poll_interval, "model": "kinema-tiny (random tiny-test, 16x16, 17 frames, 2 steps)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other work)",
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),  # other processes competing for the cores
        "jobs_requested": args.clients * args.jobs_per_client, "jobs_created": len(created),
        "jobs_completed": len(completed), "jobs_failed": len(failed), "jobs_lost": len(lost),
        "jobs_unfinished_at_timeout": len(unfinished), "timeout_s": args.timeout,
        "downloads_verified": sum(log.downloads_ok for log in logs), "requests": requests,
        "transport_retries": sum(log.transport_retries for log in logs),
        "wall_s": round(wall_s, 1), "requests_per_s": round(requests / wall_s, 1),
        "jobs_per_s": round(len(completed) / wall_s, 2),
        "create_ms": {"p50": percentile(create_ms, 50), "p99": percentile(create_ms, 99), "max": percentile(create_ms, 100)},
        "status_poll_ms": {"count": len(poll_ms), "p50": percentile(poll_ms, 50), "p99": percentile(poll_ms, 99),
                           "max": percentile(poll_ms, 100)},
        "errors": [error for log in logs for error in log.errors][:20],
    }


def write_report(result: dict) -> str:
    lines = [
        "# Server load check (`kinema serve`, tiny model)", "",
        (f"{result['clients']} concurrent clients (httpx, one thread each) each create {result['jobs_per_client']} "
        f"video(s) at once, poll every {result['poll_interval_s']} s until done, and download the MP4, while the "
        f"worker renders. Model: {result['model']}. Machine: {result['machine']}; load average "
         f"{result['load_average_1min_at_end']} at the end, so latencies include waiting for a core."), "",
        ("| jobs created | completed | failed | lost | unfinished | MP4s verified | requests | wall s | requests/s "
        "| jobs/s |"),
        "|---|---|---|---|---|---|---|---|---|---|",
        (f"| {result['jobs_created']} | {result['jobs_completed']} | {result['jobs_failed']} | {result['jobs_lost']} | "
         f"{result['jobs_unfinished_at_timeout']} | "
        f"{result['downloads_verified']} | {result['requests']} | {result['wall_s']} | {result['requests_per_s']} | "
        f"{result['jobs_per_s']} |"), "",
        "| latency (ms) | p50 | p99 | max |", "|---|---|---|---|",
        f"| POST /v1/videos | {result['create_ms']['p50']} | {result['create_ms']['p99']} | {result['create_ms']['max']} |",
        (f"| GET /v1/videos/{{id}} ({result['status_poll_ms']['count']} polls) | {result['status_poll_ms']['p50']} | "
        f"{result['status_poll_ms']['p99']} | {result['status_poll_ms']['max']} |"), "",
        (f"Requests retried after a dropped connection: {result['transport_retries']}. "
         "Lost = created but not listed by GET /v1/videos (or 404); unfinished = still queued or rendering "
         f"when polling stopped after {result['timeout_s']:.0f} s. "
        "Reproduce: `python benchmarks/server_load.py`"),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--jobs-per-client", type=int, default=4, help="videos each client creates (default 4)")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between a client's polls")
    parser.add_argument("--timeout", type=float, default=3600, help="give up polling after this many seconds")
    parser.add_argument("--no-write", action="store_true", help="print the report without writing results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kinema-load-") as scratch:
        model = build_tiny_model(Path(scratch))
        process, url = start_server(model, Path(scratch) / "data", max_queue=args.clients * args.jobs_per_client)
        try:
            start = threading.Barrier(args.clients)
            deadline = time.monotonic() + args.timeout
            began = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                futures = [pool.submit(run_client, url, index, args.jobs_per_client, args.poll_interval, deadline,
                                       start) for index in range(args.clients)]
                logs = [future.result() for future in futures]
            wall_s = time.perf_counter() - began
            result = summarise(logs, listed_ids(url), wall_s, args)
            result["server_restarts_or_crashes"] = 0 if process.poll() is None else 1
        finally:
            if process.poll() is not None:
                print(f"the server exited (code {process.returncode}):\n"
                      f"{(Path(scratch) / 'server.log').read_text()[-3000:]}", file=sys.stderr)
            process.terminate()
            process.wait(timeout=60)
    report = write_report(result)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "server_load.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "server_load.md").write_text(report)
    print(report)
    if result["jobs_lost"] or result["jobs_unfinished_at_timeout"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
