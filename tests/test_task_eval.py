"""The task evals' measures on clips the world renders (where the right answer is known), and one run end to end."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np
import pytest

from kinema.evaluation import task_eval
from kinema.world.render import render, render_frames
from kinema.world.spec import ObjectSpec, SceneSpec

FPS = 8.0


def scene(motion: str = "right", colour: str = "red", speed: str | None = "fast", x: float = 0.25) -> SceneSpec:
    obj = ObjectSpec(shape="circle", colour=colour, size="medium", motion=motion, speed=speed, x=x, y=0.5)
    return SceneSpec((obj,), background="gray", duration=4.2)


def test_seam_rule_passes_a_true_continuation_and_fails_a_jump() -> None:
    frames = render(scene(), 33, 64, 64, FPS)
    clip = frames[:17]
    continued = task_eval.seam_continuity(clip, frames[17:])
    assert continued["ok"] and continued["ratio"] == pytest.approx(1.0, abs=0.2)
    jumped = task_eval.seam_continuity(clip, frames[22:])  # five frames skipped at the seam
    assert not jumped["ok"] and jumped["ratio"] > 2
    frozen = task_eval.seam_continuity(clip, frames[16:])  # a repeated frame is a zero step: smooth enough
    assert frozen["ok"] and frozen["seam_step"] == 0


def test_a_still_clip_is_judged_against_the_motion_floor() -> None:
    still = render(scene(motion="still", speed=None), 17, 64, 64, FPS)
    noisy = np.clip(still[-1].astype(int) + 1, 0, 255).astype(np.uint8)[None]
    result = task_eval.seam_continuity(still, noisy)
    assert result["typical_step"] == task_eval.MOTION_FLOOR and result["ok"]


def test_loop_rule_passes_one_whole_period_and_fails_a_cut_one() -> None:
    spec = scene(motion="circle", speed=None, x=0.5)
    period = round(FPS * 2 * np.pi / 2.5132741228718345)  # one revolution: 20 frames at 8 fps
    whole = render_frames(spec, np.arange(period) / FPS, 64, 64)
    assert task_eval.loop_continuity(whole)["ok"]
    cut = render_frames(spec, np.arange(period - 6) / FPS, 64, 64)
    assert not task_eval.loop_continuity(cut)["ok"]


def test_join_and_first_frame_psnr() -> None:
    frames = render(scene(), 49, 64, 64, FPS)
    a, b = frames[:17], frames[33:]
    exact = task_eval.join_psnr(frames[16:34], a, b)
    assert exact == {"start_psnr": None, "end_psnr": None, "ok": True}  # identical frames: infinite PSNR
    noise = np.random.default_rng(0).integers(-40, 41, size=frames[16:34].shape)
    noisy = np.clip(frames[16:34].astype(int) + noise, 0, 255).astype(np.uint8)
    assert not task_eval.join_psnr(noisy, a, b)["ok"]
    assert task_eval.first_frame_psnr(frames, frames[0]) == float("inf")
    assert task_eval.first_frame_psnr(frames[8:], frames[0]) < task_eval.PSNR_TARGET


def test_edit_outcome_sees_the_new_colour_and_the_kept_direction() -> None:
    source = scene()
    edited = replace(source, objects=(replace(source.objects[0], colour="blue"),))
    good = task_eval.edit_outcome(render(edited, 17, 64, 64, FPS), edited, "colour", FPS)
    assert good["changed"] and good["direction_kept"]
    unchanged = task_eval.edit_outcome(render(source, 17, 64, 64, FPS), edited, "colour", FPS)
    assert not unchanged["changed"]
    reversed_motion = replace(edited, objects=(replace(edited.objects[0], motion="left", x=0.75),))
    turned = task_eval.edit_outcome(render(reversed_motion, 17, 64, 64, FPS), edited, "colour", FPS)
    assert turned["changed"] and not turned["direction_kept"]


def test_long_video_colour_in_the_last_ten_seconds_and_per_segment() -> None:
    red = scene(motion="bounce", speed=None, x=0.5)
    blue = replace(red, objects=(replace(red.objects[0], colour="blue"),))
    times = np.arange(161) / FPS  # 20 s
    frames = render_frames(red, times, 32, 32)
    assert task_eval.colour_in_tail(frames, "red", FPS)
    assert task_eval.colour_by_segment(frames, "red", FPS) == [True, True, True]
    drifted = np.concatenate([frames[:80], render_frames(blue, times[80:], 32, 32)])
    assert not task_eval.colour_in_tail(drifted, "red", FPS)
    assert task_eval.colour_by_segment(drifted, "red", FPS) == [True, False, False]


def test_cases_are_reproducible_and_fit_their_task() -> None:
    first = task_eval.make_cases("extend", 3, 32, 32, FPS, seed=4)
    again = task_eval.make_cases("extend", 3, 32, 32, FPS, seed=4)
    assert [c.prompt for c in first] == [c.prompt for c in again]
    assert all(np.array_equal(a.inputs["clip"], b.inputs["clip"]) for a, b in zip(first, again))
    assert first[0].inputs["clip"].shape == (17, 32, 32, 3) and first[0].spec.objects[0].motion in task_eval.DIRECTIONS
    edits = task_eval.make_cases("edit", 6, 32, 32, FPS)
    assert {case.edited for case in edits} <= {"colour", "background"}
    join = task_eval.make_cases("join", 1, 32, 32, FPS)[0]
    assert join.inputs["a"].shape[0] == 17 and join.inputs["b"].shape[0] == 16
    with pytest.raises(ValueError, match="task must be one of image-to-video, extend"):
        task_eval.make_cases("dance", 1, 32, 32, FPS)


def test_backward_extension_is_scored_on_the_step_into_the_clips_first_frame() -> None:
    case = task_eval.make_cases("extend-backward", 1, 32, 32, FPS, seed=4)[0]
    truth = render(case.spec, 33, 32, 32, FPS)
    assert np.array_equal(case.inputs["clip"], truth[16:])  # the true lead-in is truth[:17]
    assert task_eval.score(case, truth[:17], truth, FPS)["ok"]
    jumped = np.concatenate([np.repeat(truth[:1], 16, axis=0), truth[16:]])  # holds, then jumps onto the clip
    assert not task_eval.score(case, jumped[:17], jumped, FPS)["ok"]


def test_cli_task_list_matches_the_library() -> None:
    from kinema.cli.eval_tasks import TASKS

    assert TASKS == task_eval.TASKS


def test_cli_edit_strength_default_matches_the_pipeline() -> None:
    from kinema.cli.eval_tasks import DEFAULT_STRENGTH as CLI_DEFAULT
    from kinema.tasks.requests import DEFAULT_STRENGTH

    assert CLI_DEFAULT == DEFAULT_STRENGTH


def test_run_task_eval_writes_its_report(tiny_model_dir, tmp_path, capsys) -> None:
    from kinema.cli.eval_tasks import add_task_options, run_task_eval

    parser = argparse.ArgumentParser()
    add_task_options(parser)
    args = parser.parse_args(["--task", "join", "--model", str(tiny_model_dir), "--cases", "2", "--seeds", "0",
                              "--steps", "1", "--size", "16x16", "--out", str(tmp_path), "--quiet"])
    assert run_task_eval(args) == 0
    report = json.loads((tmp_path / "task_eval_join.json").read_text())
    assert report["summary"]["outputs"] == 2 and len(report["records"]) == 2
    assert {"start_psnr", "end_psnr", "ok"} <= set(report["records"][0])
    assert "| psnr_rate |" in (tmp_path / "task_eval_join.md").read_text() and "| psnr_rate |" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--task must be one of"):
        run_task_eval(parser.parse_args(["--task", "dance"]))


def test_psnr_summary_counts_identical_frames_apart_from_the_mean() -> None:
    records = [{"psnr": None, "ok": True}, {"psnr": 31.0, "ok": True}, {"psnr": 25.0, "ok": False}]
    summary = task_eval.summarize("image-to-video", [{**r, "motion_ok": False} for r in records])
    assert summary["psnr_rate"] == 0.6667 and summary["identical_rate"] == 0.3333
    assert summary["mean_psnr_when_not_identical"] == 28.0
    exact = task_eval.summarize("join", [{"start_psnr": None, "end_psnr": None, "ok": True}])
    assert exact["identical_rate"] == 1.0 and exact["mean_psnr_when_not_identical"] is None
    one_end = task_eval.summarize("join", [{"start_psnr": None, "end_psnr": 33.0, "ok": True}])
    assert one_end["identical_rate"] == 0.0 and one_end["mean_psnr_when_not_identical"] == 33.0


def test_run_task_eval_edit_records_its_noise(tiny_model_dir, tmp_path) -> None:
    from kinema.cli.eval_tasks import add_task_options, run_task_eval

    parser = argparse.ArgumentParser()
    add_task_options(parser)
    args = parser.parse_args(["--task", "edit", "--model", str(tiny_model_dir), "--cases", "1", "--seeds", "0",
                              "--steps", "2", "--size", "16x16", "--edit-noise", "random", "--strength", "0.5",
                              "--out", str(tmp_path), "--quiet"])
    assert run_task_eval(args) == 0
    report = json.loads((tmp_path / "task_eval_edit.json").read_text())
    assert report["edit_noise"] == "random" and report["strength"] == 0.5
    assert "strength 0.5 (random noise)" in (tmp_path / "task_eval_edit.md").read_text()
