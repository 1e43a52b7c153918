"""ODE samplers for rectified flow: free functions over a velocity function, no state between calls.

A velocity function is `velocity_fn(x, t) -> v` with x (B, C, F, H, W) and t a (B,) tensor; it
is whatever the caller composed (model, guidance, frame conditioning), the sampler never knows.
Integration runs along `timesteps` (from `kinema.flow.schedules`) from high t to low t:
x_{t_next} = x_t + (t_next - t) v. The sampler's times are float32 (float64 when x is float64)
on x's device. Samplers run under `torch.no_grad`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# callback(step_index, total_steps, t, x): called after each step with x now at time t.
Callback = Callable[[int, int, float, torch.Tensor], None]


def _as_times(timesteps: Sequence[float] | torch.Tensor) -> list[float]:
    """Validate a schedule (1-D, >= 2 entries, strictly decreasing, within [0, 1]) and return floats."""
    times = torch.as_tensor(timesteps, dtype=torch.float64).cpu()
    if times.ndim != 1 or times.numel() < 2:
        raise ValueError(f"timesteps must be 1-D with at least 2 entries (start and end); got shape {tuple(times.shape)}")
    if not bool((times[1:] < times[:-1]).all()):
        raise ValueError(f"timesteps must be strictly decreasing (t = 1 is noise, t = 0 is data); got {times.tolist()}")
    if times[0] > 1 or times[-1] < 0:
        raise ValueError(f"timesteps must lie in [0, 1]; got start {times[0].item()} and end {times[-1].item()}")
    return times.tolist()


def _time_batch(t: float, x: torch.Tensor) -> torch.Tensor:
    """The time t as a (B,) tensor for the velocity function."""
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    return torch.full((x.shape[0],), t, dtype=dtype, device=x.device)


def _velocity(velocity_fn: VelocityFn, x: torch.Tensor, t: float) -> torch.Tensor:
    velocity = velocity_fn(x, _time_batch(t, x))
    if velocity.shape != x.shape:
        raise ValueError(f"velocity_fn must return the shape of x {tuple(x.shape)}; got {tuple(velocity.shape)}")
    return velocity


@torch.no_grad()
def sample_euler(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    timesteps: Sequence[float] | torch.Tensor,
    *,
    callback: Callback | None = None,
) -> torch.Tensor:
    """First-order Euler integration: one velocity evaluation per step."""
    times = _as_times(timesteps)
    total_steps = len(times) - 1
    for step_index, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
        x = x + (t_next - t) * _velocity(velocity_fn, x, t)
        if callback is not None:
            callback(step_index, total_steps, t_next, x)
    return x


@torch.no_grad()
def sample_heun(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    timesteps: Sequence[float] | torch.Tensor,
    *,
    callback: Callback | None = None,
) -> torch.Tensor:
    """Heun's second-order method (EDM, Karras et al. 2022): Euler predictor, trapezoidal corrector.

    Two evaluations per step, except a final step to t = 0, which is a plain Euler step (as in
    EDM): the velocity at t = 0 is the least informative one and costs a full model call.
    """
    times = _as_times(timesteps)
    total_steps = len(times) - 1
    for step_index, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
        dt = t_next - t
        velocity = _velocity(velocity_fn, x, t)
        x_euler = x + dt * velocity
        if t_next == 0:
            x = x_euler
        else:
            velocity_next = _velocity(velocity_fn, x_euler, t_next)
            x = x + dt * ((velocity + velocity_next) / 2)
        if callback is not None:
            callback(step_index, total_steps, t_next, x)
    return x


@torch.no_grad()
def invert_euler(
    velocity_fn: VelocityFn,
    x: torch.Tensor,
    timesteps: Sequence[float] | torch.Tensor,
    *,
    callback: Callback | None = None,
) -> torch.Tensor:
    """Run the flow backwards, from data at timesteps[-1] (usually 0) up to timesteps[0]: inversion.

    `timesteps` is a sampling schedule (decreasing), integrated in reverse. Each step uses the
    velocity at the step's *upper* time (the inversion of DDIM-style editing): at t = 0 a
    clean-sample model's velocity is undefined, and the upper time is where the sampler that
    follows will evaluate it, so sampling back down the same schedule nearly undoes the inversion.
    """
    times = _as_times(timesteps)[::-1]
    total_steps = len(times) - 1
    for step_index, (t, t_next) in enumerate(zip(times[:-1], times[1:])):
        x = x + (t_next - t) * _velocity(velocity_fn, x, t_next)
        if callback is not None:
            callback(step_index, total_steps, t_next, x)
    return x


Sampler = Callable[..., torch.Tensor]

SAMPLERS: dict[str, Sampler] = {"euler": sample_euler, "heun": sample_heun}


def get_sampler(name: str) -> Sampler:
    """The sampler registered under `name`."""
    try:
        return SAMPLERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}") from None
