"""`kinema generate` end to end on a tiny model folder: real files are written, decoded and compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from kinema.cli import main
from kinema.media import read_video, read_video_metadata


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, tiny_vae_folder: Path, text_encoder) -> Path:
    """A tiny model folder (16x16 and 32x16 (WxH); 1 or 17 frames; 2 steps) written by save_pretrained."""
    from kinema.config import TRANSFORMER_PRESETS
    from kinema.models.transformer import DiffusionTransformer
    from kinema.models.vae import load_vae
    from kinema.pipeline import KinemaPipeline, PipelineConfig

    torch.manual_seed(0)
    transformer = DiffusionTransformer(TRANSFORMER_PRESETS["tiny-test"])
    with torch.no_grad():  # a fresh model predicts zero; give its head weights so outputs depend on inputs
        for parameter in transformer.parameters():
            if parameter.abs().sum() == 0:
                parameter.normal_(0, 0.02)
    config = PipelineConfig(name="tiny", sizes=((16, 16), (16, 32)), frame_counts=(1, 17), steps=2)
    pipe = KinemaPipeline(transformer, load_vae(tiny_vae_folder), text_encoder, config)
    return pipe.save_pretrained(tmp_path_factory.mktemp("model") / "tiny")


def generate(capsys, model: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["generate", "a red ball", "--model", str(model), "--size", "16x16", "--quiet", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_writes_an_mp4_with_its_prompt_and_seed(model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "a.mp4"
    code, stdout, err = generate(capsys, model, "-o", str(out), "--seed", "3")
    assert code == 0, err
    frames, fps = read_video(out)
    assert frames.shape == (17, 16, 16, 3) and fps == pytest.approx(8.0)
    metadata = read_video_metadata(out)
    assert metadata["prompt"] == "a red ball" and metadata["seed"] == "3"
    assert (metadata["steps"], metadata["guidance"], metadata["model"]) == ("2", "3.0", "tiny")
    assert f"wrote {out} (seed 3)" in stdout and "generated 1 video of 17 frames at 16x16 in" in stdout


def test_the_same_seed_gives_the_same_video_and_another_seed_another(model: Path, tmp_path: Path, capsys) -> None:
    paths = {name: tmp_path / f"{name}.png" for name in ("first", "again", "other")}
    for name, seed in (("first", "5"), ("again", "5"), ("other", "6")):
        assert generate(capsys, model, "-o", str(paths[name]), "--seed", seed, "--frames", "1")[0] == 0
    first, again, other = (read_video(paths[name])[0] for name in ("first", "again", "other"))
    assert first.shape == (1, 16, 16, 3)  # PNG is lossless: equal files mean equal frames
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_variations_are_consecutive_seeds_in_numbered_files(model: Path, tmp_path: Path, capsys) -> None:
    code, stdout, err = generate(capsys, model, "-o", str(tmp_path / "v.gif"), "--seed", "10", "--variations", "2",
                                 "--fps", "4")
    assert code == 0, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["v_0.gif", "v_1.gif"]
    assert [read_video_metadata(tmp_path / f"v_{i}.gif")["seed"] for i in (0, 1)] == ["10", "11"]
    frames, fps = read_video(tmp_path / "v_1.gif")
    assert frames.shape == (17, 16, 16, 3) and fps == pytest.approx(4.0)  # --fps changes the file only
    assert "generated 2 videos" in stdout


def test_png_output_writes_numbered_frames(model: Path, tmp_path: Path, capsys) -> None:
    code, stdout, err = generate(capsys, model, "-o", str(tmp_path / "clip.png"), "--seed", "1", "--size", "32x16")
    assert code == 0, err
    assert len(list(tmp_path.glob("clip_*.png"))) == 17 and "17 PNG frames" in stdout
    frames, _ = read_video(tmp_path / "clip.png")
    assert frames.shape == (17, 16, 32, 3)
    assert read_video_metadata(tmp_path / "clip.png")["prompt"] == "a red ball"


def test_duration_picks_the_nearest_video_length_and_verbose_prints_settings(model: Path, tmp_path: Path,
                                                                             capsys) -> None:
    code, _, err = generate(capsys, model, "-o", str(tmp_path / "d.webp"), "--duration", "0.5", "--seed", "0",
                            "--verbose", "--negative-prompt", "blur")
    assert code == 0, err
    assert read_video(tmp_path / "d.webp")[0].shape[0] == 17  # the model's only video length
    assert "frames:    17" in err and "seed:      0" in err and "negative:  blur" in err
    assert read_video_metadata(tmp_path / "d.webp")["negative_prompt"] == "blur"


def test_frames_for_duration() -> None:
    from kinema.cli.generate import frames_for_duration

    assert frames_for_duration(2.0, 8.0, (1, 17, 33)) == 17
    assert frames_for_duration(4.0, 8.0, (1, 17, 33)) == 33
    assert frames_for_duration(60.0, 8.0, (1, 17, 33)) == 33
    assert frames_for_duration(1.0, 8.0, (1,)) == 1  # an image-only model


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--size", "64x64"], "choose one of 16x16, 32x16"),
        (["--frames", "9"], "--frames must be one of 1, 17"),
        (["--frames", "17", "--duration", "2"], "not allowed with argument"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--variations", "0"], "--variations must be at least 1"),
        (["-o", "{tmp}/out.avi"], "must end in .mp4, .gif, .webp, .png"),
        (["--size", "16"], "WIDTHxHEIGHT"),
        (["--model", "{tmp}/nothing"], "nothing: no such folder"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv: list[str], expected: str, model: Path, tmp_path: Path,
                                          capsys) -> None:
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    code, stdout, err = generate(capsys, model, "-o", str(tmp_path / "out.mp4"), *argv)
    assert code == 2
    assert expected in err and "Traceback" not in err and stdout == ""
    assert not (tmp_path / "out.mp4").exists()


def test_no_shipped_model_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    import kinema.pretrained

    monkeypatch.setattr(kinema.pretrained, "DEFAULT_MODEL_DIR", tmp_path / "missing")
    code = main(["generate", "a red ball", "-o", str(tmp_path / "out.mp4")])
    err = capsys.readouterr().err
    assert code == 2
    assert "kinema: error: no model is shipped yet in this version; pass --model DIR " \
           "(a folder written by KinemaPipeline.save_pretrained)" in err


def test_choices_match_the_library() -> None:
    from kinema.cli.generate import OUTPUT_SUFFIXES, SAMPLER_CHOICES
    from kinema.flow.samplers import SAMPLERS
    from kinema.media.video import WRITE_SUFFIXES

    assert set(SAMPLER_CHOICES) == set(SAMPLERS)
    assert OUTPUT_SUFFIXES == WRITE_SUFFIXES


def test_help_lists_every_option(capsys) -> None:
    code = main(["generate", "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "examples:" in out
    for option in ["PROMPT", "--output", "--model", "--size", "--frames", "--duration", "--steps", "--guidance",
                   "--negative-prompt", "--seed", "--variations", "--sampler", "--fps", "--verbose", "--quiet"]:
        assert option in out, option
