"""`kinema train` on a tiny transformer: flags come from TrainConfig, a run writes checkpoints, a run
folder keeps its settings, and bad input is a clear exit 2. (Two processes under torchrun are tested
in tests/test_trainer.py.)"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import pytest

from kinema.cli import build_parser, main


def tiny_args(vae: Path) -> list[str]:
    """A 2-step tiny-test run: a checkpoint after each step, no preview, times shifted as for the shipped model."""
    return ["--transformer", "tiny-test", "--vae", str(vae), "--buckets", "5x16x16:2", "--steps", "2", "--timestep-shift", "3",
            "--checkpoint-every", "1", "--log-every", "1", "--preview-every", "1000", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, tiny_vae_folder: Path) -> tuple[Path, str]:
    """A run folder trained by `kinema train` with tiny_args, and what the command printed."""
    run_dir = tmp_path_factory.mktemp("train") / "run"
    capture = tmp_path_factory.mktemp("out") / "stdout.txt"
    with open(capture, "w") as handle, contextlib.redirect_stdout(handle):
        code = main(["train", "--run-dir", str(run_dir), *tiny_args(tiny_vae_folder)])
    assert code == 0
    return run_dir, capture.read_text()


def test_flags_come_from_the_config(capsys) -> None:
    from kinema.cli.train import FIELD_HELP
    from kinema.training.trainer import TrainConfig

    code = main(["train", "--help"])
    out = capsys.readouterr().out
    assert code == 0 and "examples:" in out and "torchrun" in out and "resumes" in out
    for part in ["RUN_DIR/checkpoints", "RUN_DIR/previews", "RUN_DIR/tb", "RUN_DIR/metrics.jsonl", "analytic checker"]:
        assert part in out, part
    fields = dataclasses.fields(TrainConfig)
    for field in fields:
        assert f"--{field.name.replace('_', '-')} " in out, field.name
    for option in ["--run-dir", "--threads", "--quiet", "tiny-test", "world-s"]:
        assert option in out
    assert set(FIELD_HELP) == {field.name for field in fields}  # every flag has a hand-written explanation
    parse = build_parser().parse_args
    defaults = parse(["train", "--run-dir", "runs/x"])
    assert TrainConfig(**{field.name: getattr(defaults, field.name) for field in fields}) == TrainConfig()
    given = parse(["train", "--run-dir", "runs/x", "--lr", "2e-3", "--warmup-steps", "7", "--transformer", "tiny-test",
                   "--masks", "none:1"])
    assert (given.lr, given.warmup_steps, given.transformer, given.masks) == (0.002, 7, "tiny-test", "none:1")


def test_a_tiny_run_writes_checkpoints_and_a_summary(run: tuple[Path, str]) -> None:
    from kinema.cli.flags import reached_step

    run_dir, stdout = run
    checkpoints = run_dir / "checkpoints"
    assert (checkpoints / "latest").read_text().strip() == "step_0000002"
    assert sorted(path.name for path in checkpoints.glob("step_*")) == ["step_0000001", "step_0000002"]
    assert reached_step(run_dir) == 2
    saved = json.loads((run_dir / "train_config.json").read_text())
    assert (saved["transformer"], saved["steps"], saved["buckets"]) == ("tiny-test", 2, "5x16x16:2")
    assert [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert stdout.count("\n") == 1  # one summary line
    assert f"trained {run_dir} from step 0 to 2 of 2 in" in stdout and "loss " in stdout
    assert f"checkpoints in {checkpoints}" in stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--lr", "0.002"], "--lr 0.002 (the run has 0.0003)"),
        (["--transformer", "huge"], "invalid choice: 'huge'"),
        (["--log-every", "0"], "--log-every must be at least 1; got 0"),
        (["--masks", "none:1,middle:1"], "mask kind must be one of"),
        (["--vae", "{tmp}/no-vae"], "is neither a VAE model folder nor a VAE shipped with Kinema"),
        (["--data", "{tmp}/no-data"], "is neither 'world' nor a folder"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_bad_input_exits_2_and_leaves_the_run_alone(extra: list[str], expected: str, run: tuple[Path, str],
                                                    tiny_vae_folder: Path, tmp_path: Path, capsys) -> None:
    run_dir = run[0]
    before = (run_dir / "train_config.json").read_text(), (run_dir / "checkpoints" / "latest").read_text()
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in extra]
    code = main(["train", "--run-dir", str(run_dir), *tiny_args(tiny_vae_folder), *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert ((run_dir / "train_config.json").read_text(), (run_dir / "checkpoints" / "latest").read_text()) == before


def test_a_vae_that_does_not_fit_the_transformer_is_refused(tiny_vae_folder: Path, tmp_path: Path, capsys) -> None:
    code = main(["train", "--run-dir", str(tmp_path / "run"), "--vae", str(tiny_vae_folder), "--transformer", "world-s"])
    err = capsys.readouterr().err
    assert code == 2 and "makes 4-channel latents but --transformer world-s takes 16" in err
    assert not (tmp_path / "run").exists()


def test_library_errors_name_flags_not_fields() -> None:
    from kinema.cli.flags import fields_as_flags

    names = ["steps", "warmup_steps", "lr", "min_lr_ratio"]
    assert fields_as_flags("steps must be >= 1 and lr > 0; got steps=0", names) == \
        "--steps must be >= 1 and --lr > 0; got --steps=0"
    assert fields_as_flags("warmup_steps exceeds steps; min_lr_ratio too", names) == \
        "--warmup-steps exceeds --steps; --min-lr-ratio too"
    assert fields_as_flags("the lrs and msteps stay", names) == "the lrs and msteps stay"


def test_export_writes_a_model_folder_that_generates(run: tuple[Path, str], tmp_path: Path, tiny_vae_folder: Path, capsys) -> None:
    """`--export DIR` on a finished run ships its EMA weights and training shift; `kinema generate --model DIR` uses them."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(run[0], run_dir)
    model = tmp_path / "model"
    code = main(["train", "--run-dir", str(run_dir), *tiny_args(tiny_vae_folder), "--export", str(model)])
    assert code == 0, capsys.readouterr().err
    assert (model / "transformer" / "model.safetensors").is_file() and (model / "vae" / "config.json").is_file()
    config = json.loads((model / "config.json").read_text())
    assert config["sizes"] == [[16, 16]] and config["frame_counts"] == [5]
    assert config["timestep_shift"] == 3.0  # it samples with the shift it was trained with
    code = main(["generate", "a red ball", "--model", str(model), "--size", "16x16", "--frames", "5",
                 "-o", str(tmp_path / "out.mp4"), "--steps", "2", "--seed", "1", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out.mp4").is_file()
