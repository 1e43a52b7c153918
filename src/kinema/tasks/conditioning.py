"""Pixel frames -> the given latents and frame mask of one window (see kinema.tasks.plan for the layout).

A head (the window's opening pixels: an image, or a clip's last 1 + g m frames) is encoded as a
video of its own, which is exactly how the VAE encodes any clip's opening. A tail (the window's
last g t pixels) is encoded after a still of its own first frame, FILLER_GROUPS latent groups
long: the causal encoder needs *some* past, the true past is what the window is about to make,
and a still is the most neutral guess. Only the first tail latent's receptive field reaches into
the filler. For an end image (last_image=) the tail is the image held for g frames, so the whole
encoding is of a still picture, which the encoder sees in every static scene.
"""

from __future__ import annotations

import numpy as np
import torch

from kinema.tasks.plan import Window

FILLER_GROUPS = 2


def to_video(frames: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """uint8 (N, T, H, W, 3) -> float (N, 3, T, H, W) in [-1, 1] on `like`'s device and dtype."""
    video = torch.tensor(frames).to(device=like.device, dtype=like.dtype)  # a copy: inputs may be read-only views
    return (video / 127.5 - 1.0).permute(0, 4, 1, 2, 3)


def encode_frames(vae, frames: np.ndarray) -> torch.Tensor:
    """Normalised latents (N, C, 1 + (T - 1) / g, h, w) of uint8 clips (N, T, H, W, 3), encoded from their first frame."""
    return vae.encode(to_video(frames, vae.latent_mean))


def encode_tail(vae, frames: np.ndarray, group: int) -> torch.Tensor:
    """Latents (N, C, T / g, h, w) of frames (N, T, H, W, 3) that end a window, encoded after a still of their first frame."""
    filler = np.repeat(frames[:, :1], 1 + group * FILLER_GROUPS, axis=1)
    latents = encode_frames(vae, np.concatenate([filler, frames], axis=1))
    return latents[:, :, -(frames.shape[1] // group):]


def window_given(vae, window: Window, timeline: np.ndarray, latent_shape: tuple[int, ...], group: int,
                 carried: torch.Tensor | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(given_latents (N, C, F, h, w), given mask (N, F)) for a window over timeline (N, T, H, W, 3).

    (None, None) when nothing is given. carried: the latents an earlier window sampled for the
    head's frames (`Window.carry`).
    """
    if not window.head and not window.tail:
        return None, None
    batch = timeline.shape[0]
    given_latents = torch.zeros((batch, *latent_shape), dtype=vae.latent_mean.dtype, device=vae.latent_mean.device)
    given = torch.zeros(batch, latent_shape[1], dtype=torch.bool)
    if window.head:
        a, b = window.head_span(group)
        given_latents[:, :, : window.head] = carried_head(vae, timeline[:, a:b], carried)
        given[:, : window.head] = True
    if window.tail:
        a, b = window.tail_span(group)
        given_latents[:, :, -window.tail :] = encode_tail(vae, timeline[:, a:b], group)
        given[:, -window.tail :] = True
    return given_latents, given


def carried_head(vae, frames: np.ndarray, carried: torch.Tensor | None) -> torch.Tensor:
    """A head's latents: the encoding of its frames, or the encoding of its first frame then the carried latents.

    Only latent 0 of a head is a one-frame latent, which no earlier window's grid holds (there it
    is a group latent, 6-14% away on moving scenes), so it is encoded from the frame itself.
    """
    if carried is None:
        return encode_frames(vae, frames)
    return torch.cat([encode_frames(vae, frames[:, :1]), carried[:, :, 1:].to(vae.latent_mean)], dim=2)
