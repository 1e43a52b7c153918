"""Sampling schedules: pure functions returning the times t_0 = 1 > t_1 > ... > t_steps = 0.

Schedules are float64 tensors of length steps + 1, so both ends are exact; samplers read them
as Python floats. For SDEdit-style editing, start from a suffix: `schedule[schedule <= t0]`.
"""

from __future__ import annotations

import torch

from kinema.flow.paths import shift_time


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1; got {steps!r}")


def linear_schedule(steps: int) -> torch.Tensor:
    """Evenly spaced times from 1 to 0: (steps + 1,) float64."""
    _check_steps(steps)
    return torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)


def shifted_schedule(steps: int, shift: float) -> torch.Tensor:
    """Evenly spaced times mapped through the SD3/Flux shift, so shift > 1 spends more steps near t = 1.

    Use the same shift the model was trained with at this size (see `shift_for_tokens`);
    shift = 1 is `linear_schedule`. The ends stay exactly 1 and 0.
    """
    _check_steps(steps)
    if not shift > 0:
        raise ValueError(f"shift must be > 0 (1 means no shift); got {shift}")
    times = shift_time(linear_schedule(steps), float(shift))
    times[0], times[-1] = 1.0, 0.0  # 1 + (shift - 1) need not round back to shift
    return times
