"""Make docs/web-ui.png: the web page of a real `kinema serve` running the shipped model.

Starts the server on a free port with a temporary data folder, makes three videos through the
API, then makes one more through the page itself in headless Debian chromium (Playwright, as in
tests/test_web_ui.py) and screenshots the page once that video plays.

    python docs/make_web_screenshot.py [--out docs/web-ui.png]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

API_PROMPTS = ("a yellow star spinning at night", "a blue square moving left", "a big green triangle going up")
PAGE_PROMPT = "a red ball bouncing on green grass"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).parent / "web-ui.png"), help="PNG to write")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([sys.executable, "-m", "kinema.cli", "serve", "--port", str(port), "--data-dir", data,
                                   "--log-level", "warning"])
        try:
            wait_for(f"{url}/health")
            for prompt in API_PROMPTS:
                httpx.post(f"{url}/v1/videos", json={"prompt": prompt, "size": "64x64", "seed": 0}, timeout=30).raise_for_status()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=shutil.which("chromium"))
                page = browser.new_page(viewport={"width": 1100, "height": 820})
                page.goto(f"{url}/")
                page.get_by_label("Size").select_option("64x64")
                page.get_by_label("Prompt", exact=True).fill(PAGE_PROMPT)
                page.get_by_role("button", name="Generate").click()
                page.wait_for_function("document.querySelectorAll('#gallery video').length >= 4", timeout=300_000)
                page.wait_for_function("[...document.querySelectorAll('#gallery video')].every(v => v.readyState >= 2)",
                                       timeout=300_000)
                page.mouse.move(0, 0)
                page.wait_for_timeout(3000)
                page.screenshot(path=args.out, full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
