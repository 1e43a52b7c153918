"""End-to-end tests of the `kinema` command line: real clips are rendered, decoded and judged; a
tiny VAE is trained, resumed and exported.

Commands run in-process through `main([...])` (fast); the installed console script is run once
through a subprocess to prove the entry point works.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kinema import __version__
from kinema.cli import main, parse_size
from kinema.media import read_video, read_video_metadata
from kinema.world.captions import canonical_caption
from kinema.world.render import render
from kinema.world.spec import COLOURS, ObjectSpec, Occluder, SceneSpec

RENDER_ARGS = ["--n", "3", "--size", "64x64", "--frames", "9", "--fps", "8", "--seed", "0", "--quiet"]


def spec_from_dict(data: dict) -> SceneSpec:
    """Rebuild a SceneSpec from the `spec` field of captions.jsonl (dataclasses.asdict output)."""
    fields = dict(data)
    objects = tuple(ObjectSpec(**obj) for obj in fields.pop("objects"))
    occluder = fields.pop("occluder")
    return SceneSpec(objects=objects, occluder=Occluder(**occluder) if occluder else None, **fields)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 64x64, 9-frame clips rendered by `kinema data render` (seeds 0, 1, 2)."""
    out = tmp_path_factory.mktemp("cli") / "world"
    assert main(["data", "render", *RENDER_ARGS, "--out", str(out)]) == 0
    return out


def read_records(folder: Path) -> list[dict]:
    lines = (folder / "captions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_console_script_version_and_help() -> None:
    script = Path(sys.executable).with_name("kinema")
    assert script.exists(), f"console script missing at {script}; install with `pip install -e .`"
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"kinema {__version__}"
    usage = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "data" in usage.stdout and "check" in usage.stdout
    assert "judge a video against a prompt" in usage.stdout


def test_render_writes_clips_and_captions(world: Path) -> None:
    assert sorted(path.name for path in world.iterdir()) == [
        "captions.jsonl", "clip_00000.mp4", "clip_00001.mp4", "clip_00002.mp4",
    ]
    records = read_records(world)
    assert [record["file"] for record in records] == ["clip_00000.mp4", "clip_00001.mp4", "clip_00002.mp4"]
    assert [record["seed"] for record in records] == [0, 1, 2]
    for record in records:
        assert (record["width"], record["height"], record["frames"], record["fps"]) == (64, 64, 9, 8.0)
        spec = spec_from_dict(record["spec"])
        assert spec.duration == pytest.approx(1.0)  # (frames - 1) / fps keeps objects in frame
        assert record["canonical_caption"] == canonical_caption(spec)
        assert record["caption"] and record["caption"] != ""
        frames, fps = read_video(world / record["file"])
        assert frames.shape == (9, 64, 64, 3) and frames.dtype == np.uint8 and fps == 8.0
        assert read_video_metadata(world / record["file"])["seed"] == str(record["seed"])
        # The MP4 is the scene the spec describes: decoded pixels stay close to a fresh render.
        error = np.abs(frames.astype(np.int16) - render(spec, 9, 64, 64, 8.0).astype(np.int16)).mean()
        assert error < 6.0


def test_render_is_reproducible_and_refuses_to_overwrite(world: Path, tmp_path: Path, capsys) -> None:
    code, out, err = run_main(capsys, "data", "render", *RENDER_ARGS, "--out", str(world))
    assert code == 2 and "--overwrite" in err and "captions.jsonl" in err and "Traceback" not in err
    again = tmp_path / "again"
    code, out, _ = run_main(capsys, "data", "render", *RENDER_ARGS, "--out", str(again))
    assert code == 0 and "rendered 3 clips" in out and "64x64" in out
    assert read_records(again) == read_records(world)
    # --overwrite with fewer clips drops the clips the new captions.jsonl no longer lists.
    code, _, _ = run_main(capsys, "data", "render", "--n", "1", "--frames", "5", "--quiet", "--overwrite",
                          "--format", "gif", "--out", str(again))
    assert code == 0
    assert sorted(path.name for path in again.iterdir()) == ["captions.jsonl", "clip_00000.gif"]
    assert read_video(again / "clip_00000.gif")[0].shape == (5, 64, 64, 3)


def test_render_heldout_only_draws_heldout_objects(tmp_path: Path, capsys) -> None:
    from kinema.world.heldout import is_heldout

    code, _, _ = run_main(capsys, "data", "render", "--n", "2", "--frames", "5", "--size", "80x48",
                          "--heldout", "only", "--quiet", "--out", str(tmp_path))
    assert code == 0
    for record in read_records(tmp_path):
        first = record["spec"]["objects"][0]
        assert is_heldout(first["colour"], first["shape"], first["motion"])
        assert read_video(tmp_path / record["file"])[0].shape == (5, 48, 80, 3)


def test_preview_of_folder_and_of_fresh_scenes(world: Path, tmp_path: Path, capsys) -> None:
    sheet = tmp_path / "sheet.png"
    code, out, _ = run_main(capsys, "data", "preview", str(world), "--out", str(sheet), "--scale", "1")
    assert code == 0 and "3 clips" in out
    with Image.open(sheet) as image:
        width, height = image.size
    assert width == 5 * 64 + 4 * 2  # five frames per clip, 2-pixel gutters
    assert height > 3 * 64 + 2 * 2  # three rows plus their caption bands
    fresh = tmp_path / "fresh.png"
    code, out, _ = run_main(capsys, "data", "preview", "--n", "5", "--max-clips", "2", "--size", "80x48",
                            "--frames", "5", "--out", str(fresh))
    assert code == 0 and "2 clips" in out
    with Image.open(fresh) as image:
        assert image.size[0] == 5 * 80 * 2 + 4 * 2  # default scale 2
    code, _, err = run_main(capsys, "data", "preview", str(world), "--n", "2", "--out", str(fresh))
    assert code == 2 and "not both" in err


def test_check_passes_on_own_caption(world: Path, capsys) -> None:
    record = read_records(world)[0]
    video = str(world / record["file"])
    code, out, _ = run_main(capsys, "check", video, "--prompt", record["canonical_caption"], "--json")
    assert code == 0
    report = json.loads(out)
    assert report["all_ok"] is True and report["accuracy"] == 1.0 and report["verdicts"]
    code, out, _ = run_main(capsys, "check", video, "--prompt", record["canonical_caption"])
    assert code == 0
    right = len(report["verdicts"])
    assert f"{right}/{right} judged attributes right" in out
    assert "WRONG" not in out


def test_check_fails_on_wrong_colour(world: Path, capsys) -> None:
    record = read_records(world)[0]
    true_colour = record["spec"]["objects"][0]["colour"]
    used = {obj["colour"] for obj in record["spec"]["objects"]}
    wrong = next(colour for colour in COLOURS if colour not in used)
    prompt = record["canonical_caption"].replace(true_colour, wrong) + " zorbly"
    code, out, _ = run_main(capsys, "check", str(world / record["file"]), "--prompt", prompt)
    assert code == 1
    colour_rows = [line.split() for line in out.splitlines() if line.startswith("colour")]
    assert colour_rows == [["colour", "#1", wrong, "missing", "WRONG"]]
    assert "not understood: zorbly" in out
    code, out, _ = run_main(capsys, "check", str(world / record["file"]), "--prompt", prompt, "--json")
    report = json.loads(out)
    assert code == 1 and report["all_ok"] is False
    colour = [v for v in report["verdicts"] if v["attribute"] == "colour"]
    assert colour == [{"attribute": "colour", "expected": wrong, "observed": "missing", "ok": False, "object": 0}]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["data", "render", "--size", "64by64", "--out", "{tmp}"], "'64by64'"),
        (["data", "render", "--frames", "20", "--out", "{tmp}"], "1 + 4k"),
        (["data", "render", "--size", "60x64", "--out", "{tmp}"], "multiple of 16"),
        (["data", "render", "--n", "0", "--out", "{tmp}"], "--n must be at least 1"),
        (["check", "{tmp}/missing.mp4", "--prompt", "a red ball"], "missing.mp4"),
        (["data", "preview", "{tmp}", "--out", "{tmp}/sheet.png"], "no captions.jsonl"),
        (["check", "{tmp}/missing.mp4", "--prompt", "  "], "--prompt is empty"),
        (["data", "render", "--bogus", "--out", "{tmp}"], "unrecognized arguments: --bogus"),
        (["serve", "--device", "tpu", "--data-dir", "{tmp}/data"],
         "device must be cpu, cuda, cuda:N or mps; got 'tpu'"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv: list[str], expected: str, tmp_path: Path, capsys) -> None:
    code, out, err = run_main(capsys, *(arg.replace("{tmp}", str(tmp_path)) for arg in argv))
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "captions.jsonl").exists()


def test_check_prompt_with_nothing_to_judge_exits_2(world: Path, capsys) -> None:
    code, out, err = run_main(capsys, "check", str(world / "clip_00000.mp4"), "--prompt", "hello there")
    assert code == 2 and "nothing the checker can judge" in err and "hello" in err and out == ""


def test_parse_size() -> None:
    assert parse_size("80x48") == (80, 48)
    assert parse_size("64X64") == (64, 64)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("64")


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        ([], ["data", "check", "train-vae", "--version"]),
        (["data"], ["render", "preview"]),
        (["data", "render"], ["--n", "--size", "--frames", "--fps", "--seed", "--format", "--heldout", "--out",
                              "--overwrite", "--quiet", "1 + 4k"]),
        (["data", "preview"], ["DIR", "--n", "--max-clips", "--out", "--size", "--frames"]),
        (["check"], ["VIDEO", "--prompt", "--fps", "--json", "exit codes"]),
    ],
)
def test_help(argv: list[str], options: list[str], capsys) -> None:
    code, out, _ = run_main(capsys, *argv, "--help")
    assert code == 0
    assert "examples:" in out
    for option in options:
        assert option in out


def test_no_command_prints_usage_and_exits_2(capsys) -> None:
    code, out, err = run_main(capsys)
    assert code == 2 and "usage: kinema" in err


def test_help_imports_no_heavy_library() -> None:
    probe = ("import sys; from kinema.cli import main; assert main(['--help']) == 0; "
             "heavy = {'torch', 'numpy'} & set(sys.modules); assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------- train-vae

# A 3-step tiny-test run: checkpoints after steps 2 and 3, one preview after step 3.
TINY_VAE_ARGS = ["--preset", "tiny-test", "--steps", "3", "--buckets", "5x16x16:1", "--checkpoint-every", "2",
                 "--preview-every", "3", "--log-every", "1", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder trained by `kinema train-vae` with TINY_VAE_ARGS; tests copy it before changing it."""
    run_dir = tmp_path_factory.mktemp("vae") / "run"
    assert main(["train-vae", "--run-dir", str(run_dir), *TINY_VAE_ARGS]) == 0
    return run_dir


def checkpoint_weights(run_dir: Path) -> dict:
    """The model tensors of run_dir's newest checkpoint."""
    from safetensors.torch import load_file

    name = (run_dir / "checkpoints" / "latest").read_text().strip()
    tensors = load_file(run_dir / "checkpoints" / name / "state.safetensors")
    return {key[len("model."):]: value for key, value in tensors.items() if key.startswith("model.")}


def test_train_vae_flags_come_from_the_config(capsys) -> None:
    from kinema.cli import build_parser
    from kinema.cli.train_vae import FIELD_HELP
    from kinema.training.vae_trainer import VAETrainConfig

    code, out, _ = run_main(capsys, "train-vae", "--help")
    assert code == 0 and "examples:" in out and "RUN_DIR/checkpoints" in out and "resumes" in out
    fields = dataclasses.fields(VAETrainConfig)
    for field in fields:
        assert f"--{field.name.replace('_', '-')} " in out, field.name
    for option in ["--run-dir", "--init", "--threads", "--export", "--quiet", "tiny-test", "world-16x"]:
        assert option in out
    assert set(FIELD_HELP) == {field.name for field in fields}  # every flag has a hand-written explanation
    parse = build_parser().parse_args
    defaults = parse(["train-vae", "--run-dir", "runs/x"])
    assert VAETrainConfig(**{field.name: getattr(defaults, field.name) for field in fields}) == VAETrainConfig()
    given = parse(["train-vae", "--run-dir", "runs/x", "--lr", "2e-3", "--warmup-steps", "7", "--preset", "tiny-test"])
    assert (given.lr, given.warmup_steps, given.preset) == (0.002, 7, "tiny-test")


def test_train_vae_writes_checkpoints_previews_and_config(vae_run: Path) -> None:
    from kinema.cli.train_vae import reached_step

    checkpoints = vae_run / "checkpoints"
    assert (checkpoints / "latest").read_text().strip() == "step_0000003"  # named by steps done
    assert sorted(path.name for path in checkpoints.glob("step_*")) == ["step_0000002", "step_0000003"]
    assert reached_step(vae_run) == 3
    previews = sorted((vae_run / "previews").glob("*.png"))
    assert [path.name for path in previews] == ["step_0000003.png"]
    with Image.open(previews[0]) as image:
        assert image.size[0] >= 64 and image.size[1] >= 2 * 64  # originals over reconstructions
    saved = json.loads((vae_run / "train_config.json").read_text())
    assert (saved["preset"], saved["steps"], saved["buckets"]) == ("tiny-test", 3, "5x16x16:1")


def test_train_vae_reached_steps_only_exports(vae_run: Path, tmp_path: Path, capsys) -> None:
    from kinema.models.vae import load_vae

    run_dir, model = tmp_path / "run", tmp_path / "model"
    shutil.copytree(vae_run, run_dir)
    code, out, err = run_main(capsys, "train-vae", "--run-dir", str(run_dir), *TINY_VAE_ARGS, "--export", str(model))
    assert code == 0, err
    assert "already at step 3 of 3; nothing to train" in out and f"exported to {model}" in out
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    vae = load_vae(model)
    assert vae.config.latent_channels == 4 and len(vae.config.latent_std) == 4
    trained = checkpoint_weights(run_dir)
    for name, value in vae.state_dict().items():  # fp16 copies of the newest checkpoint's weights
        assert np.allclose(value.numpy(), trained[name].numpy(), rtol=1e-3, atol=1e-4), name


def test_train_vae_resumes_where_it_stopped(vae_run: Path, tmp_path: Path, capsys) -> None:
    from kinema.cli.train_vae import reached_step

    run_dir = tmp_path / "run"
    shutil.copytree(vae_run, run_dir)
    # As if killed after step 2's checkpoint: no step-3 checkpoint, pointer or logged scalars.
    shutil.rmtree(run_dir / "checkpoints" / "step_0000003")
    (run_dir / "checkpoints" / "latest").unlink()
    metrics = run_dir / "metrics.jsonl"
    kept = [line for line in metrics.read_text().splitlines() if json.loads(line)["step"] <= 2]
    metrics.write_text("\n".join(kept) + "\n")
    assert reached_step(run_dir) == 2
    code, out, err = run_main(capsys, "train-vae", "--run-dir", str(run_dir), *TINY_VAE_ARGS)
    assert code == 0, err
    assert f"trained {run_dir} from step 2 to 3 of 3" in out and "training PSNR" in out
    assert reached_step(run_dir) == 3
    if metrics.exists():
        assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [1, 2, 3]
    # Same data order and restored RNG: the resumed step lands on the uninterrupted run's weights.
    resumed, uninterrupted = checkpoint_weights(run_dir), checkpoint_weights(vae_run)
    for name, value in uninterrupted.items():
        assert np.allclose(resumed[name].numpy(), value.numpy(), rtol=0, atol=1e-6), name


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--buckets", "9x32:2"], "'9x32:2'"),
        (["--log-every", "0"], "--log-every must be at least 1; got 0"),
        (["--lr", "0.002"], "--lr 0.002 (the run has 0.001)"),
        (["--init", "{tmp}/nothing"], "not a model folder"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_train_vae_bad_input_exits_2(extra: list[str], expected: str, vae_run: Path, tmp_path: Path, capsys) -> None:
    from kinema.cli.train_vae import reached_step

    run_dir = tmp_path / "run"
    shutil.copytree(vae_run, run_dir)
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in extra]
    code, out, err = run_main(capsys, "train-vae", "--run-dir", str(run_dir), *TINY_VAE_ARGS, *argv)
    assert code == 2
    assert expected in err and "Traceback" not in err and out == ""
    assert reached_step(run_dir) == 3 and json.loads((run_dir / "train_config.json").read_text())["lr"] == 0.001
