"""`kinema serve` called by a second real client: the official openai Node SDK (tests/node_client).

The Python SDK drives tests/test_server_api.py; a tool written in JavaScript for Sora's hosted API
must work unchanged too. The SDK version is pinned in tests/node_client/package-lock.json and
installed from the npm registry into a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).parent / "node_client"
KEY = "sk-node-test"


@pytest.fixture(scope="module")
def node_client(tmp_path_factory) -> Path:
    """A copy of tests/node_client with its pinned openai package installed (`npm ci`)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("needs Node.js and npm (.ci/run installs Debian's nodejs and npm)")
    folder = tmp_path_factory.mktemp("node_client")
    for name in ("package.json", "package-lock.json", "videos.mjs"):
        shutil.copy(CLIENT / name, folder / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True, timeout=300)
    return folder


def test_the_openai_node_sdk_makes_reads_and_deletes_videos(node_client, kinema_server_factory, tmp_path) -> None:
    from PIL import Image

    from kinema.media import write_video
    from kinema.world.render import render
    from kinema.world.spec import ObjectSpec, SceneSpec

    server = kinema_server_factory(tmp_path / "data", "--api-key", KEY)
    image = tmp_path / "first.png"
    Image.new("RGB", (16, 32), (200, 30, 30)).save(image)
    scene = SceneSpec((ObjectSpec("circle", "blue", "large", "left", "slow"),), "gray")
    clip = write_video(render(scene, num_frames=9, height=64, width=64), tmp_path / "ball.mp4", fps=8)
    env = {"PATH": os.environ["PATH"], "KINEMA_URL": server.url, "KINEMA_KEY": KEY,
           "KINEMA_IMAGE": str(image), "KINEMA_CLIP": str(clip)}
    run = subprocess.run(["node", "videos.mjs"], cwd=node_client, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    steps = {line["step"]: line for line in map(json.loads, run.stdout.splitlines())}

    # No size: OpenAI's portrait default, at the tiny model's nearest size; no seconds: "4".
    assert steps["create"]["status"] == "queued"
    assert steps["finished"] | {"id": None} == {"step": "finished", "id": None, "status": "completed",
                                                "size": "16x32", "seconds": "4", "error": None}
    assert steps["download"]["box"] == "ftyp" and steps["download"]["bytes"] > 1000
    assert steps["thumbnail"]["type"] == "image/webp"
    for task in ("image", "remix", "extend", "edit"):
        assert steps[task]["status"] == "completed", steps[task]
    assert steps["extend"]["seconds"] == "6"  # 4 s and the 2 s asked for
    assert steps["list"] == {"step": "list", "first_page": 2, "has_more": True, "all": 5}
    assert steps["character"] == {"step": "character", "name": "Bally", "look": "large blue circle"}
    assert steps["delete"]["deleted"] is True and steps["delete"]["object"] == "video.deleted"

    assert steps["bad size"]["status"] == 400 and "choose one of 16x16, 32x16, 16x32" in steps["bad size"]["message"]
    assert steps["missing"]["status"] == 404 and "no video with id 'video_missing'" in steps["missing"]["message"]
    assert steps["wrong key"]["status"] == 401 and "invalid API key" in steps["wrong key"]["message"]
