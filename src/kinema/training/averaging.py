"""Weight averaging of two fine-tuned models ("model soups", Wortsman et al. 2022).

Two runs from the same checkpoint land in one basin, and the average of their weights is often
better than either; the shipped kinema-world is such an average (see docs/model-card.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch


def average_models(first: str | Path, second: str | Path, folder: str | Path, weight: float = 0.5) -> Path:
    """Write a model folder whose transformer is (1 - weight) * first's + weight * second's.

    Everything else (config.json with its sampling defaults, a VAE folder) is copied from `first`.
    The two transformers must have the same config; a ValueError names what differs.
    """
    from kinema.models.transformer import load_transformer, save_transformer

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1 (the share of the second model); got {weight}")
    first, second, folder = Path(first), Path(second), Path(folder)
    a, b = load_transformer(first / "transformer"), load_transformer(second / "transformer")
    if a.config != b.config:
        raise ValueError(f"{first} and {second} have different transformers ({a.config} against {b.config}); "
                         "only runs of one architecture can be averaged")
    second_weights = b.state_dict()
    with torch.no_grad():
        mixed = {name: torch.lerp(value, second_weights[name], weight) for name, value in a.state_dict().items()}
    if folder.resolve() != first.resolve():
        shutil.copytree(first, folder, dirs_exist_ok=True)
    a.load_state_dict(mixed)
    save_transformer(a, folder / "transformer")
    return folder
