"""Rectified-flow paths: interpolation, velocity targets, the masked loss and training timesteps.

Conventions (shared with the transformer and the trainer): latents are (B, C, F, H, W);
x_t = (1 - t) x0 + t noise with t in [0, 1], t = 1 pure noise; the velocity is v = noise - x0,
so sampling integrates dx/dt = v from t = 1 down to t = 0. A time `t` is a float or a tensor of
shape (B,) (one time per sample); it broadcasts over every other dimension.
"""

from __future__ import annotations

import math

import torch

Time = float | torch.Tensor


def _broadcast_time(t: Time, like: torch.Tensor) -> Time:
    """A float stays a float; a (B,) or 0-d tensor becomes (B, 1, ..., 1) to broadcast over `like`."""
    if not isinstance(t, torch.Tensor):
        return float(t)
    if t.ndim == 0:
        return t.to(device=like.device)
    if t.ndim != 1 or t.shape[0] not in (1, like.shape[0]):
        raise ValueError(
            f"t must be a float or a tensor of shape (B,) = ({like.shape[0]},); got shape {tuple(t.shape)}"
        )
    return t.to(device=like.device).reshape(-1, *([1] * (like.ndim - 1)))


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: Time) -> torch.Tensor:
    """The point x_t = (1 - t) x0 + t noise on the straight path from data to noise."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape; got {tuple(x0.shape)} and {tuple(noise.shape)}")
    t = _broadcast_time(t, x0)
    return (1 - t) * x0 + t * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The constant velocity d x_t / dt = noise - x0 that the network learns."""
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape; got {tuple(x0.shape)} and {tuple(noise.shape)}")
    return noise - x0


def velocity_from_sample(x_t: torch.Tensor, x0_hat: torch.Tensor, t: Time, t_min: float = 0.02) -> torch.Tensor:
    """Velocity implied by a clean-sample prediction: v = (x_t - x0_hat) / max(t, t_min).

    Exact inverse of `sample_from_velocity` for t >= t_min; the floor keeps the division finite
    near t = 0, where x_t is already (almost) the clean sample and the velocity barely matters.
    """
    if not t_min > 0:
        raise ValueError(f"t_min must be > 0 (it bounds the division by t); got {t_min}")
    if x_t.shape != x0_hat.shape:
        raise ValueError(f"x_t and x0_hat must have the same shape; got {tuple(x_t.shape)} and {tuple(x0_hat.shape)}")
    if isinstance(t, torch.Tensor):
        t = t.clamp(min=t_min)
    else:
        t = max(float(t), t_min)
    return (x_t - x0_hat) / _broadcast_time(t, x_t)


def sample_from_velocity(x_t: torch.Tensor, v: torch.Tensor, t: Time) -> torch.Tensor:
    """Clean sample implied by a velocity: x0 = x_t - t v (one Euler step straight to t = 0)."""
    if x_t.shape != v.shape:
        raise ValueError(f"x_t and v must have the same shape; got {tuple(x_t.shape)} and {tuple(v.shape)}")
    return x_t - _broadcast_time(t, x_t) * v


def flow_loss(
    predicted_velocity: torch.Tensor,
    target_velocity: torch.Tensor,
    given: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared velocity error over the frames that are not given; a scalar.

    `given` (B, F) bool marks latent frames fed clean as conditioning: they are excluded from the
    sum and from the count, so a batch whose frames are all given gives exactly 0 (not NaN) and
    still carries a (zero) gradient to every prediction. `weight` (B,) scales each sample's
    squared errors (e.g. a timestep weighting); the mean is still over the non-given elements.
    """
    if predicted_velocity.shape != target_velocity.shape:
        raise ValueError(
            "predicted and target velocity must have the same shape; got "
            f"{tuple(predicted_velocity.shape)} and {tuple(target_velocity.shape)}"
        )
    batch = predicted_velocity.shape[0]
    squared_error = (predicted_velocity - target_velocity.to(predicted_velocity.dtype)).pow(2)
    if weight is not None:
        if weight.shape != (batch,):
            raise ValueError(f"weight must have shape (B,) = ({batch},); got {tuple(weight.shape)}")
        squared_error = squared_error * _broadcast_time(weight.to(squared_error.dtype), squared_error)
    if given is None:
        return squared_error.mean()
    if predicted_velocity.ndim != 5:
        raise ValueError(f"a frame mask needs latents of shape (B, C, F, H, W); got {tuple(predicted_velocity.shape)}")
    frames = predicted_velocity.shape[2]
    if given.dtype != torch.bool or given.shape != (batch, frames):
        raise ValueError(
            f"given must be a bool tensor of shape (B, F) = ({batch}, {frames}); "
            f"got {given.dtype} of shape {tuple(given.shape)}"
        )
    kept = (~given).to(device=squared_error.device)[:, None, :, None, None]  # (B, 1, F, 1, 1)
    # where(), not multiplication: a NaN/inf prediction on a given frame must not leak into the loss.
    total = torch.where(kept, squared_error, torch.zeros_like(squared_error)).sum()
    elements_per_frame = squared_error[:, :, 0].numel() // batch  # C * H * W
    count = kept.sum() * elements_per_frame
    return total / count.clamp(min=1)


def shift_time(t: Time, shift: float) -> Time:
    """The SD3/Flux resolution shift t' = shift t / (1 + (shift - 1) t): shift > 1 moves t towards 1 (noisier)."""
    if not shift > 0:
        raise ValueError(f"shift must be > 0 (1 means no shift); got {shift}")
    return shift * t / (1 + (shift - 1) * t)


def sample_timesteps(
    batch: int,
    *,
    generator: torch.Generator | None = None,
    mean: float = 0.0,
    std: float = 1.0,
    shift: float = 1.0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Training times (batch,) in (0, 1): logit-normal (SD3, Esser et al. 2024), then `shift_time`.

    The logit-normal spends most samples at middle times, where the velocity is hardest to
    predict; the shift moves mass towards t = 1 for larger inputs, which need more noise to
    destroy their (more redundant) signal. Values are clamped 1e-6 away from 0 and 1.
    """
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int; got {batch!r}")
    if not std > 0:
        raise ValueError(f"std of the logit-normal must be > 0; got {std}")
    if device is None and generator is not None:
        device = generator.device
    logits = mean + std * torch.randn(batch, generator=generator, device=device)
    t = shift_time(torch.sigmoid(logits), shift)
    return t.clamp(1e-6, 1 - 1e-6)


def shift_for_tokens(
    num_tokens: int,
    base_tokens: int = 256,
    max_tokens: int = 4096,
    base_shift: float = 1.0,
    max_shift: float = 3.0,
) -> float:
    """Timestep shift for an input of `num_tokens` spacetime tokens, for training and sampling alike.

    Linear in the token count between (base_tokens, base_shift) and (max_tokens, max_shift), as
    Flux's "time shift" interpolates between two anchor resolutions (Flux interpolates log-shift
    and extrapolates; SD3 derives shift ~ sqrt(tokens / base_tokens)). Outside the anchors the
    shift is held at the nearest anchor, so an unusually long video never gets a shift the model
    never saw in training. Non-decreasing in num_tokens.
    """
    if not isinstance(num_tokens, int) or num_tokens < 1:
        raise ValueError(f"num_tokens must be a positive int; got {num_tokens!r}")
    if not 0 < base_tokens < max_tokens:
        raise ValueError(f"need 0 < base_tokens < max_tokens; got base_tokens={base_tokens}, max_tokens={max_tokens}")
    if not 0 < base_shift <= max_shift or not math.isfinite(max_shift):
        raise ValueError(f"need 0 < base_shift <= max_shift; got base_shift={base_shift}, max_shift={max_shift}")
    fraction = (min(max(num_tokens, base_tokens), max_tokens) - base_tokens) / (max_tokens - base_tokens)
    return base_shift + fraction * (max_shift - base_shift)
