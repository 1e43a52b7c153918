"""Rectified-flow maths: paths, loss, timesteps, schedules, samplers and guidance wrappers."""

import math

import pytest
import torch

from kinema.flow import (
    SAMPLERS,
    apply_given,
    classifier_free_guidance,
    flow_loss,
    frame_conditioning,
    get_sampler,
    interpolate,
    linear_schedule,
    invert_euler,
    sample_euler,
    sample_from_velocity,
    sample_heun,
    sample_prediction_to_velocity,
    sample_timesteps,
    shift_for_tokens,
    shifted_schedule,
    velocity_from_sample,
    velocity_target,
)

SHAPE = (2, 3, 4, 5, 6)  # (B, C, F, H, W)
SCHEDULES = [linear_schedule(1), linear_schedule(7), shifted_schedule(5, 3.0), [0.6, 0.25, 0.0]]


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- paths and loss ---------------------------------------------------------------------------


def test_interpolation_ends_and_velocity_is_its_derivative():
    x0, noise = randn(*SHAPE, seed=1), randn(*SHAPE, seed=2)
    assert torch.equal(interpolate(x0, noise, 0.0), x0)
    assert torch.equal(interpolate(x0, noise, 1.0), noise)
    t = torch.tensor([0.25, 0.75])
    x_t = interpolate(x0, noise, t)
    assert torch.allclose(x_t[1], 0.25 * x0[1] + 0.75 * noise[1])
    # The path is a straight line, so its velocity is the finite difference over any interval.
    difference = (interpolate(x0, noise, 0.75) - interpolate(x0, noise, 0.25)) / 0.5
    assert torch.allclose(difference, velocity_target(x0, noise), atol=1e-6)


def test_velocity_and_sample_round_trip():
    x_t, v = randn(*SHAPE, seed=3, dtype=torch.float64), randn(*SHAPE, seed=4, dtype=torch.float64)
    t = torch.tensor([0.3, 0.9], dtype=torch.float64)
    x0_hat = sample_from_velocity(x_t, v, t)
    assert torch.allclose(velocity_from_sample(x_t, x0_hat, t), v, rtol=0, atol=1e-12)
    assert torch.allclose(sample_from_velocity(x_t, velocity_from_sample(x_t, x0_hat, 0.5), 0.5), x0_hat, atol=1e-12)
    # The true clean sample recovers the true velocity from a point on the path.
    x0, noise = randn(*SHAPE, seed=5, dtype=torch.float64), randn(*SHAPE, seed=6, dtype=torch.float64)
    point = interpolate(x0, noise, t)
    assert torch.allclose(velocity_from_sample(point, x0, t), velocity_target(x0, noise), atol=1e-12)


def test_velocity_from_sample_floors_small_times():
    x_t, x0_hat = torch.ones(1, 1, 1, 1, 1), torch.zeros(1, 1, 1, 1, 1)
    assert velocity_from_sample(x_t, x0_hat, 0.0, t_min=0.05).item() == pytest.approx(20.0)
    assert velocity_from_sample(x_t, x0_hat, torch.tensor([0.0]), t_min=0.05).item() == pytest.approx(20.0)
    assert torch.isfinite(velocity_from_sample(x_t, x0_hat, 0.0)).all()


def test_flow_loss_is_mse_without_mask():
    predicted, target = randn(*SHAPE, seed=7), randn(*SHAPE, seed=8)
    assert torch.allclose(flow_loss(predicted, target), ((predicted - target) ** 2).mean())
    weight = torch.tensor([1.0, 3.0])
    expected = (((predicted - target) ** 2) * weight[:, None, None, None, None]).mean()
    assert torch.allclose(flow_loss(predicted, target, weight=weight), expected)


def test_flow_loss_ignores_given_frames():
    predicted, target = randn(*SHAPE, seed=9), randn(*SHAPE, seed=10)
    given = torch.tensor([[True, False, False, True], [True, True, True, False]])
    loss = flow_loss(predicted, target, given)
    changed = predicted.clone()
    changed[given[:, None, :, None, None].expand_as(changed)] = float("nan")
    assert torch.equal(flow_loss(changed, target, given), loss)
    kept = ~given[:, None, :, None, None].expand_as(predicted)
    assert torch.allclose(loss, ((predicted - target) ** 2)[kept].mean())


def test_flow_loss_all_given_is_zero_with_zero_gradient():
    predicted = randn(*SHAPE, seed=11).requires_grad_()
    loss = flow_loss(predicted, randn(*SHAPE, seed=12), torch.ones(2, 4, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(predicted.grad, torch.zeros_like(predicted))


def test_flow_loss_rejects_bad_inputs():
    predicted = randn(*SHAPE)
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        flow_loss(predicted, predicted, torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        flow_loss(predicted, predicted, torch.ones(2, 4))
    with pytest.raises(ValueError, match="same shape"):
        flow_loss(predicted, predicted[:1])
    with pytest.raises(ValueError, match="weight"):
        flow_loss(predicted, predicted, weight=torch.ones(3))


# --- training timesteps and shifts -------------------------------------------------------------


def test_timesteps_in_open_interval_and_deterministic():
    t = sample_timesteps(4096, generator=torch.Generator().manual_seed(0), shift=3.0)
    assert t.shape == (4096,) and bool(((t > 0) & (t < 1)).all())
    again = sample_timesteps(4096, generator=torch.Generator().manual_seed(0), shift=3.0)
    assert torch.equal(t, again)
    extreme = sample_timesteps(4096, generator=torch.Generator().manual_seed(0), std=40.0)
    assert bool(((extreme > 0) & (extreme < 1)).all())


def test_shift_moves_timesteps_towards_noise():
    means = [sample_timesteps(8192, generator=torch.Generator().manual_seed(1), shift=s).mean().item() for s in (1.0, 2.0, 4.0)]
    assert means[0] == pytest.approx(0.5, abs=0.02)  # logit-normal(0, 1) is symmetric about 1/2
    assert means[0] < means[1] < means[2]


def test_shift_for_tokens_is_linear_between_anchors_and_clamped():
    assert shift_for_tokens(256) == 1.0 and shift_for_tokens(4096) == 3.0
    assert shift_for_tokens(2176) == pytest.approx(2.0)  # halfway
    assert shift_for_tokens(1) == 1.0 and shift_for_tokens(10**6) == 3.0
    values = [shift_for_tokens(n) for n in range(1, 6000, 97)]
    assert all(a <= b for a, b in zip(values, values[1:]))
    assert shift_for_tokens(1024) < shift_for_tokens(2048)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: sample_timesteps(0), "batch"),
        (lambda: sample_timesteps(4, std=0.0), "std"),
        (lambda: sample_timesteps(4, shift=-1.0), "shift"),
        (lambda: shift_for_tokens(0), "num_tokens"),
        (lambda: shift_for_tokens(300, base_tokens=500, max_tokens=400), "base_tokens"),
        (lambda: linear_schedule(0), "steps"),
        (lambda: shifted_schedule(2.5, 2.0), "steps"),
        (lambda: shifted_schedule(4, 0.0), "shift"),
        (lambda: velocity_from_sample(torch.ones(1), torch.ones(1), 0.5, t_min=0.0), "t_min"),
        (lambda: get_sampler("ddim"), "euler"),
        (lambda: sample_euler(lambda x, t: x, torch.ones(1), [0.0, 1.0]), "decreasing"),
        (lambda: sample_euler(lambda x, t: x, torch.ones(1), [1.5, 0.0]), r"\[0, 1\]"),
        (lambda: sample_euler(lambda x, t: x[:, :1], torch.ones(1, 2), [1.0, 0.0]), "shape"),
        (lambda: sample_prediction_to_velocity(lambda x, t: x, "epsilon"), "epsilon"),
        (lambda: classifier_free_guidance(lambda x, t, c: x, {}, {}, float("nan")), "nan"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_value(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --- schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 13])
@pytest.mark.parametrize("shift", [1.0, 3.1, 0.5])
def test_schedules_run_from_one_to_zero_monotonically(steps, shift):
    for times in (linear_schedule(steps), shifted_schedule(steps, shift)):
        assert times.shape == (steps + 1,)
        assert times[0].item() == 1.0 and times[-1].item() == 0.0
        assert bool((times[1:] < times[:-1]).all())
    assert torch.equal(shifted_schedule(steps, 1.0), linear_schedule(steps))
    if shift > 1 and steps > 1:
        assert bool((shifted_schedule(steps, shift)[1:-1] > linear_schedule(steps)[1:-1]).all())


# --- samplers ----------------------------------------------------------------------------------


def test_euler_step_equals_its_formula():
    x = randn(*SHAPE, seed=13)
    field = lambda x, t: torch.sin(x) * t[:, None, None, None, None]  # noqa: E731
    out = sample_euler(field, x, [0.8, 0.3])
    t = torch.full((2,), 0.8)
    assert torch.equal(out, x + (0.3 - 0.8) * field(x, t))


@pytest.mark.parametrize("sampler", [sample_euler, sample_heun])
@pytest.mark.parametrize("times", SCHEDULES, ids=["1step", "linear7", "shifted5", "partial"])
def test_constant_velocity_integrates_exactly(sampler, times):
    noise, velocity = randn(*SHAPE, seed=14, dtype=torch.float64), randn(*SHAPE, seed=15, dtype=torch.float64)
    out = sampler(lambda x, t: velocity, noise, times)
    start = float(torch.as_tensor(times, dtype=torch.float64)[0])
    assert torch.allclose(out, noise - start * velocity, rtol=0, atol=1e-12)


def test_heun_is_closer_than_euler_on_a_linear_field():
    a = 1.5
    x1 = randn(*SHAPE, seed=16, dtype=torch.float64)
    exact = x1 * math.exp(-a)  # dx/dt = a x from t = 1 to t = 0
    times = linear_schedule(10)
    euler_error = (sample_euler(lambda x, t: a * x, x1, times) - exact).abs().max()
    heun_error = (sample_heun(lambda x, t: a * x, x1, times) - exact).abs().max()
    assert heun_error < euler_error / 4


def test_heun_evaluations_and_callback():
    calls, progress = [], []
    times = linear_schedule(4)
    sample_heun(lambda x, t: calls.append(t[0].item()) or x, torch.ones(1, 1), times,
                callback=lambda i, n, t, x: progress.append((i, n, t)))
    assert calls == [1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25]  # the last step, to t = 0, is Euler
    assert progress == [(0, 4, 0.75), (1, 4, 0.5), (2, 4, 0.25), (3, 4, 0.0)]


def test_inversion_is_undone_by_sampling_down_the_same_schedule():
    """Inversion evaluates each step at its upper time, where the Euler sampler evaluates it: a field
    that depends on time only is undone exactly, and one that depends on x nearly."""
    times = shifted_schedule(10, 3.0)
    x0 = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    time_only = lambda x, t: torch.sin(3 * t)[:, None].expand_as(x)  # noqa: E731
    assert torch.allclose(sample_euler(time_only, invert_euler(time_only, x0, times), times), x0, atol=1e-6)
    linear = lambda x, t: 0.3 * x  # noqa: E731
    inverted = invert_euler(linear, x0, times)
    assert not torch.allclose(inverted, x0, rtol=0.1)  # carried 34% away, and brought back within 2%
    assert torch.allclose(sample_euler(linear, inverted, times), x0, rtol=0.02, atol=0.0)
    steps = []
    invert_euler(linear, x0, times, callback=lambda index, total, t, x: steps.append((index, total, round(t, 6))))
    assert steps[-1] == (9, 10, 1.0) and steps[0][2] == round(float(times[-2]), 6)


def test_sampler_registry():
    assert get_sampler("euler") is sample_euler and get_sampler("heun") is sample_heun
    assert set(SAMPLERS) == {"euler", "heun"}


# --- guidance and frame conditioning -------------------------------------------------------------


class CountingModel:
    """A toy conditional velocity model, elementwise per sample, that records its batch sizes."""

    def __init__(self):
        self.batches = []

    def __call__(self, x, t, conditioning):
        self.batches.append(x.shape[0])
        assert t.shape == (x.shape[0],) and all(v.shape[0] == x.shape[0] for v in conditioning.values())
        text = (conditioning["text_states"] * conditioning["text_mask"][..., None]).sum(dim=(1, 2))  # (B,)
        return torch.tanh(x) * t[:, None, None, None, None] + text[:, None, None, None, None]


def conditionings():
    conditional = {"text_states": randn(2, 5, 4, seed=20), "text_mask": torch.ones(2, 5, dtype=torch.bool)}
    unconditional = {"text_states": randn(1, 3, 4, seed=21), "text_mask": torch.tensor([[True, True, False]])}
    return conditional, unconditional


def test_guidance_scale_one_is_the_conditional_prediction_in_one_call():
    model, (conditional, unconditional) = CountingModel(), conditionings()
    x, t = randn(*SHAPE, seed=22), torch.tensor([0.4, 0.7])
    velocity = classifier_free_guidance(model, conditional, unconditional, 1.0)(x, t)
    assert model.batches == [2]
    assert torch.equal(velocity, CountingModel()(x, t, conditional))


def test_guidance_batches_both_passes_into_one_call():
    model, (conditional, unconditional) = CountingModel(), conditionings()
    x, t, scale = randn(*SHAPE, seed=23), torch.tensor([0.4, 0.7]), 4.5
    guided = classifier_free_guidance(model, conditional, unconditional, scale)(x, t)
    assert model.batches == [4]
    cond = CountingModel()(x, t, conditional)
    uncond = CountingModel()(x, t, {name: value.expand(2, *value.shape[1:]) for name, value in unconditional.items()})
    assert torch.allclose(guided, uncond + scale * (cond - uncond), rtol=0, atol=1e-6)
    assert not torch.allclose(guided, cond)


def test_guidance_accepts_a_float_time_and_composes_with_a_sampler():
    model, (conditional, unconditional) = CountingModel(), conditionings()
    velocity_fn = classifier_free_guidance(model, conditional, unconditional, 3.0)
    assert velocity_fn(randn(*SHAPE), 0.5).shape == SHAPE
    model.batches.clear()
    sample_heun(velocity_fn, randn(*SHAPE), linear_schedule(3))
    assert model.batches == [4] * 5


def test_sample_prediction_wrapper_converts_to_velocity():
    x0 = randn(*SHAPE, seed=24, dtype=torch.float64)
    noise = randn(*SHAPE, seed=25, dtype=torch.float64)
    t = torch.tensor([0.3, 0.8], dtype=torch.float64)
    predict_clean = lambda x, t, conditioning: x0  # noqa: E731  a perfect x0 predictor
    velocity_fn = sample_prediction_to_velocity(predict_clean, "sample")
    assert torch.allclose(velocity_fn(interpolate(x0, noise, t), t, {}), noise - x0, atol=1e-12)
    assert sample_prediction_to_velocity(predict_clean, "velocity") is predict_clean


@pytest.mark.parametrize("sampler", [sample_euler, sample_heun])
def test_frame_conditioning_keeps_given_frames_exactly(sampler):
    given = torch.tensor([[True, False, False, False], [True, False, False, True]])
    given_latents, noise = randn(*SHAPE, seed=26), randn(*SHAPE, seed=27)
    seen = []

    def velocity_fn(x, t):
        seen.append(x.clone())
        return torch.sin(3 * x) + 0.5  # a field that moves every frame it is allowed to

    conditioned = frame_conditioning(velocity_fn, given_latents, given)
    out = sampler(conditioned, apply_given(noise, given_latents, given), shifted_schedule(6, 2.0))
    frames = given[:, None, :, None, None].expand_as(out)
    assert torch.equal(out[frames], given_latents[frames])
    assert not torch.allclose(out[~frames], noise[~frames])
    assert all(torch.equal(x[frames], given_latents[frames]) for x in seen)  # the model saw them clean


def test_frame_conditioning_overwrites_given_frames_even_from_raw_noise():
    given = torch.tensor([[False, True, False, False]]).expand(2, 4)
    given_latents, noise = randn(*SHAPE, seed=28), randn(*SHAPE, seed=29)
    conditioned = frame_conditioning(lambda x, t: x.clone(), given_latents, given)
    velocity = conditioned(noise, torch.full((2,), 0.5))
    assert torch.equal(velocity[:, :, 1], torch.zeros_like(velocity[:, :, 1]))
    assert torch.equal(velocity[:, :, 0], noise[:, :, 0])
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        apply_given(noise, given_latents, torch.ones(2, 3, dtype=torch.bool))
