"""Spatial tiling with blended seams: run a convolutional network over a large frame in overlapping tiles.

Each tile is processed alone, so memory is bounded by the tile size; overlapping outputs are
blended with linear ramps, so seams do not show. Far from tile edges the result is exact; near
them it differs from the untiled result by what the network's receptive field sees past the tile.
"""

from __future__ import annotations

from typing import Callable

import torch


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length `tile` covering [0, size) with at least `overlap` shared."""
    if tile >= size:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    return starts + [size - tile]


def blend_ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    """Weights along one axis: rising over the first `overlap` samples unless at the frame border, falling likewise."""
    ramp = torch.ones(length)
    if overlap > 0:
        rise = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap
        if not at_start:
            ramp[:overlap] = rise
        if not at_end:
            ramp[-overlap:] = torch.minimum(ramp[-overlap:], rise.flip(0))
    return ramp


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int, overlap: int, scale: float) -> torch.Tensor:
    """Apply fn to overlapping (tile x tile) spatial tiles of x (B, C, T, H, W); fn scales H and W by `scale`."""
    height, width = x.shape[-2:]
    rows, cols = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    output, total = None, None
    for top in rows:
        for left in cols:
            piece = fn(x[..., top : top + tile, left : left + tile])
            if output is None:
                shape = (*piece.shape[:-2], round(height * scale), round(width * scale))
                output, total = piece.new_zeros(shape), piece.new_zeros(shape[-2:])
            h, w = piece.shape[-2:]
            o = round(overlap * scale)
            weight = blend_ramp(h, o, top == 0, top + tile >= height)[:, None] * blend_ramp(w, o, left == 0, left + tile >= width)[None, :]
            y0, x0 = round(top * scale), round(left * scale)
            output[..., y0 : y0 + h, x0 : x0 + w] += piece * weight
            total[y0 : y0 + h, x0 : x0 + w] += weight
    return output / total
