"""Random frame-conditioning masks for training: which latent frames are given (clean) in each sample.

The mix decides which tasks the model learns with one set of weights: `none` (text-to-video),
`first` (image-to-video), `first_k` (extend forward), `last_k` (extend backward), `both`
(first and last: joins and loops), `first_k_last` (the first k and the last: a window that ends on
given frames and also sees the motion before it; tried for loops' closing windows, where it did
worse than one frame at each end, docs/model-card.md). At least one frame always stays to be
generated.
"""

from __future__ import annotations

import torch

MASK_KINDS = ("none", "first", "first_k", "last_k", "both", "first_k_last")


def parse_mask_mix(text: str) -> tuple[tuple[str, float], ...]:
    """Mask kinds and weights from "none:0.5,first:0.2,..."; errors name the bad part."""
    mix = []
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        if name not in MASK_KINDS:
            raise ValueError(f"mask kind must be one of {', '.join(MASK_KINDS)}; got {name!r} in {text!r}")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"mask weight must be a number; got {weight!r} in {text!r}") from None
        if value < 0:
            raise ValueError(f"mask weights must be >= 0; got {value} for {name}")
        mix.append((name, value))
    if sum(w for _, w in mix) <= 0:
        raise ValueError(f"mask weights must not all be zero: {text!r}")
    return tuple(mix)


def sample_given_masks(batch: int, frames: int, mix: tuple[tuple[str, float], ...], generator: torch.Generator) -> torch.Tensor:
    """Bool (batch, frames): True where a latent frame is given. Clips of one latent frame are never given."""
    weights = torch.tensor([w for _, w in mix])
    kinds = torch.multinomial(weights, batch, replacement=True, generator=generator)
    counts = torch.randint(1, max(2, frames), (batch,), generator=generator)  # k for first_k, last_k and first_k_last
    given = torch.zeros(batch, frames, dtype=torch.bool)
    if frames < 2:
        return given
    for row, (kind_index, k) in enumerate(zip(kinds.tolist(), counts.tolist())):
        kind = mix[kind_index][0]
        k = min(k, frames - 1)
        if kind == "first":
            given[row, 0] = True
        elif kind == "first_k":
            given[row, :k] = True
        elif kind == "last_k":
            given[row, frames - k :] = True
        elif kind == "both" and frames >= 3:
            given[row, 0] = given[row, -1] = True
        elif kind == "first_k_last" and frames >= 3:
            given[row, : min(k, frames - 2)] = given[row, -1] = True
    return given
