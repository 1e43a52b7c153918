"""Rectified flow: paths and loss, timestep schedules, samplers (pure functions), guidance wrappers."""

from kinema.flow.guidance import (
    apply_given,
    classifier_free_guidance,
    frame_conditioning,
    sample_prediction_to_velocity,
)
from kinema.flow.paths import (
    flow_loss,
    interpolate,
    sample_from_velocity,
    sample_timesteps,
    shift_for_tokens,
    shift_time,
    velocity_from_sample,
    velocity_target,
)
from kinema.flow.samplers import SAMPLERS, get_sampler, invert_euler, sample_euler, sample_heun
from kinema.flow.schedules import linear_schedule, shifted_schedule

__all__ = [
    "SAMPLERS",
    "apply_given",
    "classifier_free_guidance",
    "flow_loss",
    "frame_conditioning",
    "get_sampler",
    "interpolate",
    "invert_euler",
    "linear_schedule",
    "sample_euler",
    "sample_from_velocity",
    "sample_heun",
    "sample_prediction_to_velocity",
    "sample_timesteps",
    "shift_for_tokens",
    "shift_time",
    "shifted_schedule",
    "velocity_from_sample",
    "velocity_target",
]
