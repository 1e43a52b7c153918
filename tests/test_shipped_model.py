"""The shipped kinema-world: small fp16 weights, loaded by default, and a real (few-step) video from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import safe_open

from kinema.cli import main
from kinema.media import read_video, read_video_metadata
from kinema.pretrained import DEFAULT_MODEL_DIR, PRETRAINED_DIR

MAX_BYTES = 60_000_000  # issue 5: 60 MB at most in total


def test_the_default_model_is_kinema_world_small_and_fp16() -> None:
    assert DEFAULT_MODEL_DIR == PRETRAINED_DIR / "kinema-world"
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["name"] == "kinema-world" and (PRETRAINED_DIR / config["vae"] / "config.json").is_file()
    sizes = {tuple(size) for size in config["sizes"]}  # (height, width)
    assert (64, 64) in sizes and any(h < w for h, w in sizes) and any(h > w for h, w in sizes)
    assert {1, 17, 33} <= set(config["frame_counts"]) and config["fps"] == 8.0
    weights = list(DEFAULT_MODEL_DIR.rglob("*.safetensors")) + list((PRETRAINED_DIR / config["vae"]).rglob("*.safetensors"))
    assert weights and sum(path.stat().st_size for path in weights) <= MAX_BYTES
    for path in weights:
        with safe_open(path, "pt") as tensors:
            assert {str(tensors.get_slice(name).get_dtype()) for name in tensors.keys()} == {"F16"}, path


def test_kinema_generate_with_no_model_makes_a_moving_coloured_video(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ball.mp4"
    code = main(["generate", "a red ball bouncing on green grass", "-o", str(out), "--steps", "2", "--seed", "0", "--quiet"])
    assert code == 0, capsys.readouterr().err
    frames, fps = read_video(out)
    assert frames.shape == (17, 64, 64, 3) and fps == 8.0
    assert read_video_metadata(out)["model"] == "kinema-world"
    assert frames.std() > 5  # not a constant image
    assert np.abs(np.diff(frames.astype(np.int16), axis=0)).mean() > 0  # and not one frame repeated
