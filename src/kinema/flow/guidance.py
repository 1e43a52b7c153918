"""Wrappers that turn a model function into the velocity function a sampler integrates.

Each takes a callable and returns a callable; none knows the model class. A typical request:

    model_fn = sample_prediction_to_velocity(model_fn, kind)           # if the net predicts x0
    velocity_fn = classifier_free_guidance(model_fn, cond, uncond, scale)
    velocity_fn = frame_conditioning(velocity_fn, given_latents, given)
    x = sample_heun(velocity_fn, apply_given(noise, given_latents, given), timesteps)

`model_fn(x, t, conditioning) -> velocity` takes a dict of tensors whose first dimension is the
batch (e.g. text_states, text_mask, pooled_text, and the frame mask the model is told about).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F

from kinema.flow.paths import velocity_from_sample

Conditioning = Mapping[str, torch.Tensor]
ModelFn = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]
VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

PREDICTION_KINDS = ("velocity", "sample")


def _time_tensor(t: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """t as a (B,) tensor on x's device (a float or 0-d tensor is repeated over the batch)."""
    t = torch.as_tensor(t, device=x.device)
    if t.ndim == 0 or t.shape == (1,):
        return t.reshape(1).expand(x.shape[0])
    if t.shape != (x.shape[0],):
        raise ValueError(f"t must be a float or of shape (B,) = ({x.shape[0]},); got {tuple(t.shape)}")
    return t


def _expand_batch(name: str, tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.shape[0] == batch:
        return tensor
    if tensor.shape[0] == 1:
        return tensor.expand(batch, *tensor.shape[1:])
    raise ValueError(f"conditioning[{name!r}] has batch {tensor.shape[0]}; expected {batch} or 1")


def _pad_sequence(tensor: torch.Tensor, length: int) -> torch.Tensor:
    """Right-pad dim 1 with zeros (False for masks): the padding a masked text encoder would add."""
    missing = length - tensor.shape[1]
    if missing == 0:
        return tensor
    padding = [0, 0] * (tensor.ndim - 2) + [0, missing]
    if tensor.dtype == torch.bool:
        return F.pad(tensor.to(torch.uint8), padding).bool()
    return F.pad(tensor, padding)


def _cat_conditioning(first: Conditioning, second: Conditioning, batch: int) -> dict[str, torch.Tensor]:
    """Concatenate two conditionings along the batch; token sequences of unequal length are padded."""
    if set(first) != set(second):
        raise ValueError(
            f"conditional and unconditional need the same keys; got {sorted(first)} and {sorted(second)}"
        )
    joined = {}
    for name in first:
        a, b = _expand_batch(name, first[name], batch), _expand_batch(name, second[name], batch)
        if a.shape[1:] != b.shape[1:]:
            if a.ndim < 2 or a.ndim != b.ndim or a.shape[2:] != b.shape[2:]:
                raise ValueError(
                    f"conditioning[{name!r}] shapes differ beyond the sequence length: "
                    f"{tuple(a.shape)} and {tuple(b.shape)}"
                )
            length = max(a.shape[1], b.shape[1])
            a, b = _pad_sequence(a, length), _pad_sequence(b, length)
        joined[name] = torch.cat([a, b])  # (2B, ...)
    return joined


def classifier_free_guidance(
    model_fn: ModelFn, conditional: Conditioning, unconditional: Conditioning, scale: float
) -> VelocityFn:
    """Velocity function uncond + scale (cond - uncond) (Ho & Salimans 2022), one model call per evaluation.

    The conditional and unconditional passes are one batch of 2B (x twice, t twice, conditionings
    concatenated; text of unequal length right-padded with zeros / False), the first B rows
    conditional. With scale == 1 the model runs once on the conditional batch alone. A negative
    prompt is simply the `unconditional` conditioning. Conditionings of batch 1 are broadcast.
    """
    scale = float(scale)
    if not math.isfinite(scale):
        raise ValueError(f"guidance scale must be finite; got {scale}")

    if scale == 1.0:
        def conditional_velocity(x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
            conditioning = {name: _expand_batch(name, value, x.shape[0]) for name, value in conditional.items()}
            return model_fn(x, _time_tensor(t, x), conditioning)

        return conditional_velocity

    def guided_velocity(x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        time = _time_tensor(t, x)
        both = model_fn(torch.cat([x, x]), torch.cat([time, time]), _cat_conditioning(conditional, unconditional, batch))
        if both.shape[0] != 2 * batch:
            raise ValueError(f"model_fn returned batch {both.shape[0]} for an input batch of {2 * batch}")
        cond, uncond = both[:batch], both[batch:]
        return uncond + scale * (cond - uncond)

    return guided_velocity


def _frame_mask(given: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, F) bool -> (B, 1, F, 1, 1) on x's device, validated against x (B, C, F, H, W)."""
    if x.ndim != 5:
        raise ValueError(f"frame conditioning needs latents (B, C, F, H, W); got shape {tuple(x.shape)}")
    batch, frames = x.shape[0], x.shape[2]
    if given.dtype != torch.bool or given.ndim != 2 or given.shape[0] not in (1, batch) or given.shape[1] != frames:
        raise ValueError(
            f"given must be a bool tensor of shape (B, F) = ({batch}, {frames}); "
            f"got {given.dtype} of shape {tuple(given.shape)}"
        )
    return given.to(x.device)[:, None, :, None, None]


def apply_given(x: torch.Tensor, given_latents: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
    """x with its given frames replaced by the clean given latents (others untouched); a new tensor."""
    mask = _frame_mask(given, x)
    if given_latents.shape[1:] != x.shape[1:] or given_latents.shape[0] not in (1, x.shape[0]):
        raise ValueError(
            f"given_latents must have the shape of x {tuple(x.shape)} (batch may be 1); got {tuple(given_latents.shape)}"
        )
    return torch.where(mask, given_latents.to(device=x.device, dtype=x.dtype), x)


def frame_conditioning(velocity_fn: VelocityFn, given_latents: torch.Tensor, given: torch.Tensor) -> VelocityFn:
    """Velocity function that holds the given frames at their clean latents.

    Before each call the given frames of x are overwritten with `given_latents` (the model was
    trained seeing them clean); their velocity is returned as exactly 0, so every sampler step
    leaves them bitwise unchanged. Start the sampler from `apply_given(noise, given_latents,
    given)` so they are right from the first step. Frames not given are sampled as usual.
    """

    def conditioned_velocity(x: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
        mask = _frame_mask(given, x)
        velocity = velocity_fn(apply_given(x, given_latents, given), t)
        return torch.where(mask, torch.zeros((), dtype=velocity.dtype, device=velocity.device), velocity)

    return conditioned_velocity


def sample_prediction_to_velocity(
    model_fn: Callable[..., torch.Tensor], kind: str, t_min: float = 0.02
) -> Callable[..., torch.Tensor]:
    """Wrap a network that predicts `kind` ("velocity" or "sample" = clean x0) so it returns velocity.

    "sample" predictions become v = (x_t - x0_hat) / max(t, t_min) (`velocity_from_sample`);
    "velocity" returns `model_fn` itself. Extra arguments (e.g. conditioning) pass through.
    Guidance may wrap either side: v is affine in x0_hat for fixed x_t and t, so guiding
    samples and guiding velocities give the same result.
    """
    if kind == "velocity":
        return model_fn
    if kind != "sample":
        raise ValueError(f"prediction kind must be one of {PREDICTION_KINDS}; got {kind!r}")

    def velocity_model_fn(x: torch.Tensor, t: float | torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return velocity_from_sample(x, model_fn(x, t, *args, **kwargs), t, t_min=t_min)

    return velocity_model_fn
