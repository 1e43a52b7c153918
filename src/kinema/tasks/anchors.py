"""Anchoring a decoded window to the known frames at its seams, so a seam is no bigger than a step.

A window's given frames come back through the VAE, which is lossy (a few grey levels at this
size). Written next to the true frames, the new frames would jump by that error at every seam: the
first frame after an extended clip, the frames around a join, the wrap of a loop. So each window
is anchored: at its *head anchor* (the last given frame before its new ones: the head's last pixel,
or the last frame it samples again, `Window.head_overlap`) and its *tail anchor* (the first given
frame after them) the residual `known - decoded` is measured, and the new frames get that
residual, weighted 1 at the anchor and falling linearly to 0 across the window (with both
anchors, the two residuals are interpolated between them). The anchor frames then equal the
known frames exactly, the frame after a seam differs from it by the model's own step, and the
correction spreads the VAE's error over many small steps instead of one jump.
"""

from __future__ import annotations

import numpy as np

from kinema.tasks.plan import Window


def window_anchors(window: Window, group: int) -> list[tuple[int, int]]:
    """(position in the window, timeline index) of the window's head and tail anchors; [] without given frames."""
    anchors = []
    if window.head:
        seam = window.head_span(group)[1] - 1 + window.head_overlap
        anchors.append((seam - window.start, seam))
    if window.tail:
        position = window.frames - group * window.tail - window.tail_overlap
        anchors.append((position, window.tail_span(group)[0] - window.tail_overlap))
    return anchors


def anchor_weights(frames: int, positions: list[int]) -> np.ndarray:
    """(len(positions), frames) weights: 1 at each anchor, falling linearly to 0 at the other anchor or the far end."""
    weights = np.zeros((len(positions), frames), dtype=np.float32)
    index = np.arange(frames, dtype=np.float32)
    if len(positions) == 1:
        (anchor,) = positions
        far = frames - 1 if anchor < frames - 1 - anchor else 0  # the window's other end
        weights[0] = np.clip(1.0 - np.abs(index - anchor) / max(abs(far - anchor), 1), 0.0, 1.0)
    elif len(positions) == 2:
        head, tail = positions
        ramp = np.clip((index - head) / max(tail - head, 1), 0.0, 1.0)
        weights[0], weights[1] = 1.0 - ramp, ramp
    elif positions:
        raise ValueError(f"a window has at most two anchors (head and tail); got {positions}")
    return weights


def anchored(decoded: np.ndarray, known: list[np.ndarray], positions: list[int]) -> np.ndarray:
    """Decoded window frames (N, T, H, W, 3) uint8 with each anchor's residual (known (N, H, W, 3) - decoded) spread over them."""
    if not positions:
        return decoded
    weights = anchor_weights(decoded.shape[1], positions)
    corrected = decoded.astype(np.float32)
    for weight, frame, position in zip(weights, known, positions):
        residual = frame.astype(np.float32) - decoded[:, position].astype(np.float32)
        corrected += weight[None, :, None, None, None] * residual[:, None]
    return np.clip(np.rint(corrected), 0, 255).astype(np.uint8)
