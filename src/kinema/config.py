"""Typed, frozen configs and the registry of named presets.

A model folder's config.json is one of these dataclasses as JSON; loading checks the keys, so a
typo or a config from another model is an error, not a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

Config = TypeVar("Config")


@dataclass(frozen=True)
class VAEConfig:
    """The causal video VAE: patchify, convolutional levels, a diagonal Gaussian latent."""

    latent_channels: int = 16
    patch_size: int = 4  # space-to-depth at the input: a p x p pixel block becomes 3 p^2 channels
    channels: tuple[int, ...] = (64, 128)  # width per level; each level after the first halves H and W
    blocks_per_level: int = 1
    # The finest levels convolve in space only (time is mixed where frames merge and at coarser
    # levels): measured 1.8x cheaper, and most of the cost sits there.
    spatial_only_levels: int = 1
    temporal_compression: int = 4  # 1 + 4k frames become 1 + k latent frames
    # Per-channel latent statistics measured on data, so the transformer sees unit-variance latents.
    latent_mean: tuple[float, ...] = ()
    latent_std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.temporal_compression not in (1, 2, 4, 8):
            raise ValueError(f"temporal_compression must be 1, 2, 4 or 8; got {self.temporal_compression}")
        if int(math.log2(self.temporal_compression)) > len(self.channels):
            raise ValueError("temporal_compression needs at least log2(it) levels in channels")
        for name in ("latent_mean", "latent_std"):
            values = getattr(self, name)
            if values and len(values) != self.latent_channels:
                raise ValueError(f"{name} must have latent_channels={self.latent_channels} entries; got {len(values)}")

    @property
    def spatial_compression(self) -> int:
        return self.patch_size * 2 ** (len(self.channels) - 1)


VAE_PRESETS: dict[str, VAEConfig] = {
    "tiny-test": VAEConfig(latent_channels=4, patch_size=2, channels=(8, 16), temporal_compression=4),
    "world-8x": VAEConfig(latent_channels=16, patch_size=4, channels=(64, 128)),
    "world-16x": VAEConfig(latent_channels=64, patch_size=4, channels=(64, 128, 192)),
}


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as JSON-ready plain data, with its class name for checking on load."""
    return {"_class": type(config).__name__, **dataclasses.asdict(config)}


def config_from_dict(cls: type[Config], data: dict[str, Any], source: str = "config") -> Config:
    """Build `cls` from plain data; unknown or missing keys and a wrong class name are errors naming `source`."""
    data = dict(data)
    name = data.pop("_class", cls.__name__)
    if name != cls.__name__:
        raise ValueError(f"{source} describes a {name}, not a {cls.__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{source} has unknown keys {unknown}; a {cls.__name__} has {sorted(fields)}")
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return cls(**values)


def write_config(config: Any, path: Path) -> None:
    """Write config.json atomically."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config_to_dict(config), indent=2) + "\n")
    tmp.replace(path)


def read_config(cls: type[Config], path: Path) -> Config:
    """Read and check a config.json; errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no config.json at {path}: a model folder holds config.json and *.safetensors")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    return config_from_dict(cls, data, source=str(path))
