"""`kinema generate` end to end on a tiny model folder: real files are written, decoded and compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_transformer

from kinema.cli import main
from kinema.media import read_video, read_video_metadata


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, tiny_vae_folder: Path, text_encoder) -> Path:
    """A tiny model folder (16x16 and 32x16 (WxH); 1 or 17 frames; 2 steps) written by save_pretrained."""
    from kinema.models.vae import load_vae
    from kinema.pipeline import KinemaPipeline, PipelineConfig

    transformer = tiny_transformer()
    config = PipelineConfig(name="tiny", sizes=((16, 16), (16, 32)), frame_counts=(1, 17), steps=2)
    pipe = KinemaPipeline(transformer, load_vae(tiny_vae_folder), text_encoder, config)
    return pipe.save_pretrained(tmp_path_factory.mktemp("model") / "tiny")


def clip(frames: int, height: int = 16, width: int = 16, seed: int = 0) -> np.ndarray:
    """A smooth moving colour pattern (T, H, W, 3) uint8 that survives H.264 well."""
    t, y, x = np.meshgrid(np.arange(frames), np.arange(height), np.arange(width), indexing="ij")
    phase = np.random.default_rng(seed).uniform(0, 6, size=3)
    channels = [np.sin(0.3 * x + 0.2 * y + 0.2 * t + p) for p in phase]
    return ((np.stack(channels, axis=-1) + 1) * 100 + 28).round().astype(np.uint8)


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


def test_mp4s_are_signed_once_keys_exist(model: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    pytest.importorskip("c2pa")
    from kinema.provenance import init_keys, verify_video

    monkeypatch.setenv("KINEMA_HOME", str(tmp_path / "home"))
    unsigned, signed = tmp_path / "unsigned.mp4", tmp_path / "signed.mp4"
    assert generate(capsys, model, "-o", str(unsigned))[0] == 0
    assert verify_video(unsigned).status == "unsigned"
    init_keys()  # what `kinema keys init` does: the default key folder under $KINEMA_HOME
    assert generate(capsys, model, "-o", str(signed), "--seed", "4")[0] == 0
    report = verify_video(signed, key_dir=tmp_path / "home" / "keys")
    assert report.trusted and report.model == "tiny" and report.seed == 4 and report.matches_prompt("a red ball")
    assert read_video_metadata(signed)["seed"] == "4" and read_video(signed)[0].shape == (17, 16, 16, 3)


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
    assert frames_for_duration(60.0, 8.0, (1, 17, 33)) == 33  # without a limit: trained lengths only
    assert frames_for_duration(1.0, 8.0, (1,)) == 1  # an image-only model
    assert frames_for_duration(60.0, 8.0, (1, 17, 33), max_frames=481) == 481  # a long video: chained windows
    assert frames_for_duration(4.2, 8.0, (1, 17, 33), max_frames=481) == 33  # within the trained lengths
    assert frames_for_duration(4.6, 8.0, (1, 17, 33), max_frames=481) == 37  # just beyond: one more window
    assert frames_for_duration(10.0, 8.0, (1, 17, 33), max_frames=481) == 81
    assert frames_for_duration(2.0, 8.0, (1, 17), task="extend") == 17  # 16 frames added after the seam frame
    assert frames_for_duration(2.0, 8.0, (1, 17), task="join") == 18  # plus the end frames of A and B
    assert frames_for_duration(4.0, 8.0, (1, 17), task="loop") == 33


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--size", "64x64"], "choose one of 16x16, 32x16"),
        (["--frames", "9"], "--frames must be one of 1, 17"),
        (["--frames", "17", "--duration", "2"], "not allowed with argument"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--still-guidance", "-2"], "--still-guidance must be 0 or more"),
        (["--variations", "0"], "--variations must be at least 1"),
        (["-o", "{tmp}/out.avi"], "must end in .mp4, .gif, .webp, .png"),
        (["--size", "16"], "WIDTHxHEIGHT"),
        (["--model", "{tmp}/nothing"], "nothing: no such folder"),
        (["--image", "{tmp}/missing.png"], "--image {tmp}/missing.png: no such file"),
        (["--strength", "0.5"], "--strength is the strength of --edit CLIP"),
        (["--edit-noise", "random"], "--edit-noise applies to --edit CLIP"),
        (["--loop", "--join", "{clip}", "{clip}"], "--loop, --join cannot be combined"),
        (["--edit", "{clip}", "--strength", "1.5"], "strength must be in (0, 1]"),
        (["--join", "{clip}", "{clip}", "--frames", "17"], "2 + 4k frames from 6 to 14"),
        (["--duration", "90"], "a duration of 90 s is 721 frames at 8 fps; this model makes at most 481 frames (60 s)"),
        (["--seconds", "90"], "at most 481 frames"),  # the Videos API's word for it
        (["--device", "gpu0"], "device must be cpu, cuda, cuda:N or mps; got 'gpu0'"),
        *([(["--device", "cuda"], "this PyTorch sees no CUDA GPU")] if not torch.cuda.is_available() else []),
    ],
)
def test_bad_input_exits_2_with_a_message(argv: list[str], expected: str, model: Path, tmp_path: Path,
                                          capsys) -> None:
    from kinema.media import write_video

    write_video(clip(17), tmp_path / "clip.mp4")
    argv = [arg.replace("{tmp}", str(tmp_path)).replace("{clip}", str(tmp_path / "clip.mp4")) for arg in argv]
    expected = expected.replace("{tmp}", str(tmp_path))
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
    assert f"kinema: error: the shipped model kinema-world is missing from this installation ({tmp_path / 'missing'}); " \
           "reinstall Kinema, or pass --model DIR" in err


def test_choices_match_the_library() -> None:
    from kinema.cli.generate import EDIT_NOISE_CHOICES, OUTPUT_SUFFIXES, SAMPLER_CHOICES
    from kinema.flow.samplers import SAMPLERS
    from kinema.media.video import WRITE_SUFFIXES
    from kinema.pipeline import EDIT_NOISES

    assert set(SAMPLER_CHOICES) == set(SAMPLERS)
    assert OUTPUT_SUFFIXES == WRITE_SUFFIXES
    assert EDIT_NOISE_CHOICES == EDIT_NOISES


def test_factorised_animates_the_image_the_same_seed_makes(model: Path, tmp_path: Path, capsys) -> None:
    image, video, plain = tmp_path / "image.png", tmp_path / "video.png", tmp_path / "plain.png"
    assert generate(capsys, model, "-o", str(image), "--seed", "4", "--frames", "1")[0] == 0
    assert generate(capsys, model, "-o", str(video), "--seed", "4", "--factorised")[0] == 0
    assert generate(capsys, model, "-o", str(plain), "--seed", "4", "--no-factorised")[0] == 0
    first = read_video(image)[0][0].astype(int)
    assert np.abs(read_video(video)[0][0] - first).max() <= 1  # the tiny VAE's round trip of a first frame is exact
    assert np.abs(read_video(plain)[0][0] - first).max() > 1


def test_help_lists_every_option(capsys) -> None:
    code = main(["generate", "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "examples:" in out
    for option in ["PROMPT", "--output", "--model", "--size", "--frames", "--duration", "--steps", "--guidance",
                   "--still-guidance",
                   "--negative-prompt", "--seed", "--variations", "--sampler", "--fps", "--device", "--verbose",
                   "--quiet", "--image", "--last-image", "--extend", "--backward", "--loop", "--join", "--edit",
                   "--strength", "--new-only", "--no-expand", "--factorised", "--no-factorised", "centre-cropped", "long video"]:
        assert option in out, option


# ----------------------------------------------------------------------------- tasks end to end


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, Path]:
    """A 40x24 PNG (another size than the model's), a 17-frame and a 9-frame MP4."""
    from kinema.media import write_image, write_video

    return {"image": write_image(clip(1, 24, 40)[0], tmp_path / "first.png"),
            "clip": write_video(clip(17, seed=1), tmp_path / "clip.mp4"),
            "short": write_video(clip(9, seed=2), tmp_path / "short.mp4")}


def test_image_to_video_resizes_by_the_printed_rule(model: Path, inputs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "animated.mp4"
    code, _stdout, err = generate(capsys, model, "-o", str(out), "--image", str(inputs["image"]), "--size", "32x16",
                                 "--seed", "1", "--factorised", "--verbose")
    assert code == 0, err
    assert read_video(out)[0].shape == (17, 16, 32, 3)
    assert "input resized: image: 40x24 scaled by 0.8 to 32x19 (Lanczos) and centre-cropped to 32x16" in err
    assert "task:      --image" in err and "made as an image" not in err  # the given image is the first frame
    assert read_video_metadata(out)["task"] == "image-to-video"


def test_extend_writes_the_clip_then_the_new_frames(model: Path, inputs, tmp_path: Path, capsys) -> None:
    out = tmp_path / "longer.mp4"
    code, stdout, err = generate(capsys, model, "-o", str(out), "--extend", str(inputs["clip"]), "--duration", "2")
    assert code == 0, err
    frames, _ = read_video(out)
    source, _ = read_video(inputs["clip"])
    assert frames.shape == (33, 16, 16, 3)
    played = np.abs(frames[:17].astype(int) - source).mean()
    assert played < 12 and played < 0.5 * np.abs(frames[16:].astype(int) - source).mean()  # the clip plays first
    # the tiny model: 2 + 2 groups each, and one group more for the clip's last frame, sampled again
    assert "extend: 16 new frames in 3 windows, 17 from the input" in stdout
    back = tmp_path / "before.mp4"
    code, _, err = generate(capsys, model, "-o", str(back), "--extend", str(inputs["clip"]), "--backward", "--new-only")
    assert code == 0, err
    assert read_video(back)[0].shape == (17, 16, 16, 3)  # 16 new frames, then the clip's first frame


def test_loop_join_and_edit_make_real_videos(model: Path, inputs, tmp_path: Path, capsys) -> None:
    runs = {
        "loop.mp4": (["--loop", "--frames", "17"], 17),
        "joined.mp4": (["--join", str(inputs["clip"]), str(inputs["short"]), "--frames", "10"], 17 + 8 + 9),
        "edited.mp4": (["--edit", str(inputs["clip"]), "--strength", "0.5"], 17),
        "remixed.mp4": (["--edit", str(inputs["clip"]), "--edit-noise", "random"], 17),
    }
    for name, (argv, length) in runs.items():
        code, _stdout, err = generate(capsys, model, "-o", str(tmp_path / name), "--seed", "2", *argv)
        assert code == 0, err
        assert read_video(tmp_path / name)[0].shape == (length, 16, 16, 3), name
    assert read_video_metadata(tmp_path / "edited.mp4")["strength"] == "0.5"
    assert read_video_metadata(tmp_path / "edited.mp4")["edit_noise"] == "inverted"
    assert read_video_metadata(tmp_path / "remixed.mp4")["edit_noise"] == "random"
    assert read_video_metadata(tmp_path / "loop.mp4")["task"] == "loop"


def test_duration_beyond_the_trained_lengths_makes_a_long_video(model: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "long.mp4"
    code, stdout, err = generate(capsys, model, "-o", str(out), "--duration", "6", "--seed", "0")
    assert code == 0, err
    assert read_video(out)[0].shape == (49, 16, 16, 3)
    assert "long in 5 windows" in stdout  # 17 frames, then 4 windows of 9 context + 8 new (the tiny model's longest: 17)


def test_prompt_expansion_is_printed_and_can_be_turned_off(model: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("kinema.world.expansion", reason="kinema.world.expansion is not in this checkout yet")
    from kinema.world.expansion import expand_prompt

    prompt = "a red ball zorbling leftt"
    argv = ["generate", prompt, "--model", str(model), "--size", "16x16", "--quiet", "--frames", "1", "--seed", "0"]
    assert main([*argv, "-o", str(tmp_path / "expanded.png"), "--verbose"]) == 0
    err = capsys.readouterr().err
    expansion = expand_prompt(prompt)
    assert f"expanded:  {expansion.caption}" in err and "zorbling" in err
    assert "read 'leftt' as 'left'" in err and "moving left" in expansion.caption
    assert read_video_metadata(tmp_path / "expanded.png")["caption"] == expansion.caption
    assert main([*argv, "-o", str(tmp_path / "typed.png"), "--no-expand", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "expanded:" not in err and "caption" not in read_video_metadata(tmp_path / "typed.png")


def test_without_output_the_file_is_named_after_the_prompt_and_never_overwrites(model: Path, tmp_path: Path,
                                                                                  capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for seed in ("1", "2"):
        code, stdout, err = generate(capsys, model, "--seed", seed)
        assert code == 0, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-red-ball-2.mp4", "a-red-ball.mp4"]
    assert read_video_metadata(tmp_path / "a-red-ball-2.mp4")["seed"] == "2"
    assert "wrote a-red-ball-2.mp4 (seed 2)" in stdout
    code, _, err = generate(capsys, model, "--frames", "1", "--variations", "2")
    assert code == 0, err
    assert {"a-red-ball_0.png", "a-red-ball_1.png"} <= {path.name for path in tmp_path.iterdir()}
