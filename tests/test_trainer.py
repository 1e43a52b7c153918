"""The transformer training loop: loss falls, resume is exact, two processes equal one, masks are sound."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from kinema.data.sources import DIRECTIONAL_SCENES, EVENT_SCENES, WorldSource
from kinema.data.world_stream import parse_buckets, world_batch
from kinema.training.masks import parse_mask_mix, sample_given_masks
from kinema.training.trainer import TrainConfig, train
from kinema.world.sampling import sample_scene
from kinema.world.spec import DIRECTIONS


@pytest.fixture
def config(tiny_vae_folder) -> TrainConfig:
    return TrainConfig(transformer="tiny-test", vae=str(tiny_vae_folder), buckets="5x16x16:2,1x16x16:4:0.5", steps=4,
                       lr=1e-3, warmup_steps=1, checkpoint_every=2, log_every=1, preview_every=1000)


def losses(run_dir) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines() if "loss" in line]


def test_killing_and_resuming_gives_the_same_next_loss(config, tmp_path) -> None:
    straight = train(config, tmp_path / "straight", progress=False)
    resumed_dir = tmp_path / "resumed"
    train(config, resumed_dir, progress=False)
    shutil.rmtree(resumed_dir / "checkpoints" / "step_0000004")  # as if killed after the step-2 checkpoint
    (resumed_dir / "checkpoints" / "latest").write_text("step_0000002")
    resumed = train(config, resumed_dir, progress=False)
    assert resumed["step"] == straight["step"] == 4
    assert losses(resumed_dir)[-2:] == pytest.approx(losses(tmp_path / "straight")[-2:], rel=1e-6)
    assert resumed["loss"] == pytest.approx(straight["loss"], rel=1e-6)


def test_a_run_folder_refuses_other_settings(config, tmp_path) -> None:
    train(dataclasses.replace(config, steps=1), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="different settings"):
        train(dataclasses.replace(config, steps=1, lr=5e-3), tmp_path / "run", progress=False)


def test_bad_settings_name_the_problem() -> None:
    with pytest.raises(ValueError, match="transformer must be one of"):
        TrainConfig(transformer="huge")
    with pytest.raises(ValueError, match="mask kind"):
        TrainConfig(masks="none:1,middle:1")
    with pytest.raises(ValueError, match="bucket"):
        TrainConfig(buckets="17x64:4")


def test_masks_follow_the_mix_and_always_leave_a_frame_to_generate() -> None:
    generator = torch.Generator().manual_seed(0)
    given = sample_given_masks(2000, 5, parse_mask_mix("none:1,first:1,first_k:1,last_k:1,both:1"), generator)
    assert not given.all(dim=1).any()
    assert 0.15 < (~given.any(dim=1)).float().mean() < 0.25  # "none"
    assert given[:, 0].float().mean() > 0.5 and given[:, -1].float().mean() > 0.3
    assert not sample_given_masks(10, 1, parse_mask_mix("first:1"), generator).any()  # images are never given


def test_first_k_last_gives_a_head_and_the_last_frame() -> None:
    given = sample_given_masks(500, 9, parse_mask_mix("first_k_last:1"), torch.Generator().manual_seed(0))
    assert given[:, 0].all() and given[:, -1].all() and not given.all(dim=1).any()
    heads = given.int().cumprod(dim=1).sum(dim=1)  # given latents before the first generated one
    assert set(heads.tolist()) == set(range(1, 8))  # every head from 1 latent to all but two
    assert (given.sum(dim=1) == heads + 1).all()  # nothing given between the head and the last


@pytest.mark.slow
def test_two_processes_agree_with_one_at_the_same_global_batch(config, tmp_path) -> None:
    """torchrun --nproc_per_node=2 (gloo on CPU): each rank takes half of each global batch.

    --standalone lets the rendezvous pick a free port, so a run beside it (or another test) never clashes.
    """
    two = dataclasses.replace(config, steps=2, checkpoint_every=2)
    train(two, tmp_path / "one", progress=False)
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in dataclasses.asdict(two).items()]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "kinema.cli", "train", "--run-dir", str(tmp_path / "two"), "--quiet", *flags],
        check=True, env=env, timeout=300,
    )
    from safetensors.torch import load_file

    one = load_file(tmp_path / "one" / "checkpoints" / "step_0000002" / "state.safetensors")
    both = load_file(tmp_path / "two" / "checkpoints" / "step_0000002" / "state.safetensors")
    for name, value in one.items():
        if name.startswith("model."):
            torch.testing.assert_close(both[name], value, atol=1e-5, rtol=1e-4)


def test_a_new_run_can_start_from_a_model_folder(config, tmp_path) -> None:
    """--init: train a shipped (exported) model further; its weights are the new run's starting point."""
    from kinema.models.transformer import load_transformer
    from kinema.training.trainer import export_pipeline

    train(dataclasses.replace(config, steps=2, lr=3e-2), tmp_path / "first", progress=False)  # far from a fresh start
    exported = export_pipeline(tmp_path / "first", tmp_path / "model")
    initial = load_transformer(exported / "transformer")
    further = dataclasses.replace(config, steps=1, lr=1e-9, warmup_steps=1)  # a step too small to move the weights
    train(further, tmp_path / "further", progress=False, init=exported)
    continued = load_transformer(export_pipeline(tmp_path / "further", tmp_path / "continued") / "transformer")
    for name, weight in initial.state_dict().items():
        assert torch.allclose(continued.state_dict()[name], weight, atol=1e-3), name
    fresh = train(dataclasses.replace(further, steps=1), tmp_path / "fresh", progress=False)
    assert fresh["loss"] != pytest.approx(losses(tmp_path / "further")[-1], rel=1e-3)  # a fresh start would differ
    with pytest.raises(ValueError, match="not the 'world-s' preset"):
        train(dataclasses.replace(further, transformer="world-s"), tmp_path / "mismatch", progress=False, init=exported)


class ConstantPrediction(torch.nn.Module):
    """A stand-in network for the loss arithmetic: it predicts a fixed clean sample whatever it is fed."""

    def __init__(self, sample: torch.Tensor) -> None:
        super().__init__()
        self.sample = sample
        self.config = type("Config", (), {"prediction": "sample"})()

    def forward(self, x_t, t, states, mask, pooled, given):
        return self.sample


def test_the_motion_term_counts_only_errors_that_change_between_generated_frames() -> None:
    from kinema.training.trainer import flow_training_loss

    latents = torch.zeros(1, 2, 4, 3, 3)
    noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(0))
    t, text = torch.tensor([0.5]), type("Text", (), {"states": None, "mask": None, "pooled": None})()
    none_given = torch.zeros(1, 4, dtype=torch.bool)
    steady = ConstantPrediction(torch.ones(1, 2, 4, 3, 3))  # the same error in every frame: no motion error
    plain = flow_training_loss(steady, latents, noise, t, text, none_given)
    assert flow_training_loss(steady, latents, noise, t, text, none_given, motion_weight=5.0) == pytest.approx(float(plain))

    moving = torch.ones(1, 2, 4, 3, 3)
    moving[:, :, 3] = 3.0  # the last frame's prediction is off by a further 2 (a velocity error of 2 / t = 4)
    plain = flow_training_loss(ConstantPrediction(moving), latents, noise, t, text, none_given)
    with_motion = flow_training_loss(ConstantPrediction(moving), latents, noise, t, text, none_given, motion_weight=1.0)
    assert float(with_motion - plain) == pytest.approx(16.0 / 3)  # one of three neighbouring pairs changes by 4
    last_given = torch.tensor([[False, False, False, True]])  # a given frame's pairs are not counted
    assert flow_training_loss(ConstantPrediction(moving), latents, noise, t, text, last_given, motion_weight=1.0) == pytest.approx(
        float(flow_training_loss(ConstantPrediction(moving), latents, noise, t, text, last_given)))


def test_a_negative_motion_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="motion_weight must be 0 or more"):
        TrainConfig(motion_weight=-1.0)


def test_motion_focus_draws_its_share_of_steps_from_straight_line_scenes() -> None:
    counts, walls = set(), 0
    for seed in range(60):
        scene = sample_scene(seed, dist=DIRECTIONAL_SCENES)
        counts.add(len(scene.objects))
        walls += scene.occluder is not None
        assert all(o.motion in DIRECTIONS or o.motion in ("still", "bounce") for o in scene.objects)
        assert (scene.camera_pan, scene.weather) == ("none", "none")
    assert counts == {1, 2, 3}
    assert 0 < walls < 30
    buckets = parse_buckets("5x16x16:2")
    focused_steps = []
    for step in range(40):
        clips, _ = WorldSource(3, motion_focus=0.5).batch(step, buckets)
        focus, _ = world_batch(3, step, buckets, DIRECTIONAL_SCENES)
        plain, _ = world_batch(3, step, buckets)
        assert np.array_equal(clips, focus) != np.array_equal(clips, plain)  # one or the other, never a mix
        focused_steps.append(np.array_equal(clips, focus))
    assert 10 <= sum(focused_steps) <= 30
    assert np.array_equal(WorldSource(3).batch(0, buckets)[0], world_batch(3, 0, buckets)[0])  # off by default


def test_event_focus_draws_bounces_and_walls_without_moving_the_motion_focus_steps() -> None:
    def events(dist) -> tuple[int, int]:
        scenes = [sample_scene(seed, dist=dist) for seed in range(200)]
        return (sum(any(o.motion == "bounce" for o in s.objects) for s in scenes), sum(s.occluder is not None for s in scenes))

    (world_bounces, world_walls), (event_bounces, event_walls) = events(WorldSource().distribution), events(EVENT_SCENES)
    assert event_bounces > 2 * world_bounces and event_walls > 2 * world_walls
    motion_only, both = WorldSource(3, motion_focus=0.4), WorldSource(3, motion_focus=0.4, event_focus=0.3)
    kinds = [(motion_only.scenes(step), both.scenes(step)) for step in range(200)]
    assert all(b is DIRECTIONAL_SCENES for a, b in kinds if a is DIRECTIONAL_SCENES)  # the same motion steps
    assert 30 <= sum(b is EVENT_SCENES for _, b in kinds) <= 90
    assert not any(a is EVENT_SCENES for a, _ in kinds)


@pytest.mark.parametrize("settings, message", [({"motion_focus": 1.5}, "share of steps"),
                                               ({"event_focus": -0.1}, "event_focus is a share of steps"),
                                               ({"event_focus": 0.2, "cache": "out/cache"}, "event_focus draws fresh"),
                                               ({"motion_focus": 0.7, "event_focus": 0.4}, "together at most 1"),
                                               ({"motion_focus": 0.5, "data": "clips/"}, "needs --data world"),
                                               ({"object_weight": -1.0}, "object_weight must be 0 or more"),
                                               ({"object_weight": 3.0, "cache": "out/cache"}, "needs --data world")])
def test_focus_and_weights_outside_the_world_or_their_range_are_refused(settings, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


def test_object_weights_mark_the_latent_cells_an_object_touches_in_their_frame_group() -> None:
    from kinema.training.trainer import object_weights

    coverage = np.zeros((2, 9, 32, 32), np.float32)
    coverage[0, 0, 3, 3] = 1.0  # frame 0: latent frame 0, cell (0, 0)
    coverage[0, 6, 20, 9] = 0.5  # frames 5-8 make latent frame 2: cell (2, 1)
    weights = object_weights(coverage, temporal=4, spatial=8, weight=3.0)
    assert weights.shape == (2, 1, 3, 4, 4)
    expected = torch.ones(2, 1, 3, 4, 4)
    expected[0, 0, 0, 0, 0], expected[0, 0, 2, 2, 1] = 4.0, 2.5
    assert torch.equal(weights, expected)


def test_weighted_loss_counts_object_cells_more_and_equals_the_plain_loss_with_even_weights() -> None:
    from kinema.training.trainer import flow_training_loss

    latents = torch.zeros(1, 2, 2, 2, 2)
    noise = torch.zeros(latents.shape)
    t, given = torch.tensor([0.5]), torch.zeros(1, 2, dtype=torch.bool)
    text = type("Text", (), {"states": None, "mask": None, "pooled": None})()
    sample = torch.zeros(latents.shape)
    sample[:, :, :, 0, 0] = 1.0  # wrong in one cell of four: a velocity error of 2 there
    model = ConstantPrediction(sample)
    plain = flow_training_loss(model, latents, noise, t, text, given)
    assert float(plain) == pytest.approx(4.0 / 4)
    even = flow_training_loss(model, latents, noise, t, text, given, weights=torch.full((1, 1, 2, 2, 2), 2.0))
    assert float(even) == pytest.approx(float(plain))
    weights = torch.ones(1, 1, 2, 2, 2)
    weights[:, :, :, 0, 0] = 4.0  # the wrong cell is the object's
    assert float(flow_training_loss(model, latents, noise, t, text, given, weights=weights)) == pytest.approx(16.0 / 7)


def test_a_run_with_object_weights_trains_on_the_world(config, tmp_path) -> None:
    train(dataclasses.replace(config, object_weight=3.0), tmp_path / "run", progress=False)
    assert all(np.isfinite(losses(tmp_path / "run")))
    coverage = WorldSource(config.seed).object_coverage(0, parse_buckets(config.buckets))
    clips, _ = WorldSource(config.seed).batch(0, parse_buckets(config.buckets))
    assert coverage.shape == clips.shape[:4] and coverage.max() == pytest.approx(1.0)


def test_averaging_two_models_mixes_their_transformers_and_keeps_the_first_folder(tiny_model_dir, tmp_path) -> None:
    from kinema.models.transformer import load_transformer, save_transformer
    from kinema.training.averaging import average_models

    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    moved = load_transformer(other / "transformer")
    with torch.no_grad():
        for parameter in moved.parameters():
            parameter.add_(1.0)
    save_transformer(moved, other / "transformer", torch.float32)
    soup = average_models(tiny_model_dir, other, tmp_path / "soup", weight=0.25)
    first = load_transformer(tiny_model_dir / "transformer").state_dict()
    mixed = load_transformer(soup / "transformer").state_dict()
    for name, value in first.items():
        torch.testing.assert_close(mixed[name], (value + 0.25).half().float(), atol=2e-3, rtol=2e-3)
    assert (soup / "config.json").read_text() == (tiny_model_dir / "config.json").read_text()


def test_averaging_refuses_other_architectures_and_weights_outside_0_1(tiny_model_dir, tmp_path) -> None:
    from kinema.config import TRANSFORMER_PRESETS
    from kinema.models.transformer import DiffusionTransformer, save_transformer
    from kinema.training.averaging import average_models

    with pytest.raises(ValueError, match="between 0 and 1"):
        average_models(tiny_model_dir, tiny_model_dir, tmp_path / "soup", weight=1.5)
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    wider = dataclasses.replace(TRANSFORMER_PRESETS["tiny-test"], depth=TRANSFORMER_PRESETS["tiny-test"].depth + 1)
    save_transformer(DiffusionTransformer(wider), other / "transformer")
    with pytest.raises(ValueError, match="different transformers"):
        average_models(tiny_model_dir, other, tmp_path / "soup")
