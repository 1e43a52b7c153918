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
    channels: tuple[int, ...] = (64, 128)  # width per level
    # How many levels halve H and W (the first ones, never the last); None: every level but the last.
    spatial_downsamples: int | None = None
    blocks_per_level: int = 1
    # Residual blocks per decoder level; None: blocks_per_level. A decoder can grow after training
    # (kinema.models.vae.grow_decoder) while the encoder, so the latent space, stays as it is.
    decoder_blocks_per_level: int | None = None
    # Width of a full-resolution refiner after the decoder (kinema.models.vae.PixelRefiner); 0: none.
    refine_channels: int = 0
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
        if self.spatial_downsamples is not None and not 0 <= self.spatial_downsamples < len(self.channels):
            raise ValueError(f"spatial_downsamples must be in [0, {len(self.channels) - 1}] (levels minus one); got {self.spatial_downsamples}")
        if self.decoder_blocks_per_level is not None and self.decoder_blocks_per_level < 1:
            raise ValueError(f"decoder_blocks_per_level must be 1 or more (or None); got {self.decoder_blocks_per_level}")
        if self.refine_channels < 0:
            raise ValueError(f"refine_channels must be 0 (no refiner) or its width; got {self.refine_channels}")
        if self.refine_channels and self.channels[0] % self.patch_size**2:
            raise ValueError(f"a refiner unstacks the first level's {self.channels[0]} channels into pixels, so they must "
                             f"be a multiple of patch_size**2 = {self.patch_size**2}")
        for name in ("latent_mean", "latent_std"):
            values = getattr(self, name)
            if values and len(values) != self.latent_channels:
                raise ValueError(f"{name} must have latent_channels={self.latent_channels} entries; got {len(values)}")

    @property
    def spatial_downsample_levels(self) -> int:
        return len(self.channels) - 1 if self.spatial_downsamples is None else self.spatial_downsamples

    @property
    def decoder_blocks(self) -> int:
        return self.blocks_per_level if self.decoder_blocks_per_level is None else self.decoder_blocks_per_level

    @property
    def spatial_compression(self) -> int:
        return self.patch_size * 2**self.spatial_downsample_levels


VAE_PRESETS: dict[str, VAEConfig] = {
    "tiny-test": VAEConfig(latent_channels=4, patch_size=2, channels=(8, 16), temporal_compression=4),
    "world-8x": VAEConfig(latent_channels=16, patch_size=4, channels=(64, 128)),
    # 4x space: a 64x64 frame is a 16x16 latent, so a small object spans several latent pixels
    # (world-8x keeps a small object's shape in only 39% of clips at 26 dB). Not shipped yet: after
    # 1,400 CPU steps it was still blurry and off in hue (training-batch PSNR 22.8 dB).
    "world-4x": VAEConfig(latent_channels=16, patch_size=4, channels=(64, 128), spatial_downsamples=0),
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
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:  # a value its __post_init__ rejects
        raise ValueError(f"{source}: {error}") from None


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


@dataclass(frozen=True)
class TransformerConfig:
    """The diffusion transformer over spacetime patches of VAE latents (Sora's third component)."""

    latent_channels: int = 16
    patch_size: tuple[int, int, int] = (1, 2, 2)  # (time, height, width) in latent voxels
    width: int = 256
    depth: int = 8
    heads: int = 4
    # Width of the plain (GELU) FFN this replaces; the gated SiLU MLP gets 2/3 of it as hidden size
    # (rounded up to a multiple of 16), so parameters and FLOPs match that FFN (LLaMA's convention).
    ffn_dim: int = 1024
    text_dim: int = 384  # per-token text states and the pooled vector (all-MiniLM-L6-v2: 384)
    # What the head outputs: "sample" = the clean latent x0 (measured far better with wide patches),
    # "velocity" = v = noise - x0. The model only reports it; the flow code converts.
    prediction: str = "sample"
    rope_theta: float = 10000.0
    qk_norm: bool = True
    # Learned attention-pooling queries over the text tokens, added to the adaLN conditioning next to
    # the pooled sentence vector (0 = none: models saved before this option load unchanged).
    text_pool_heads: int = 0
    # Self-attention blocks along the projected caption tokens before cross-attention, so a word's
    # state can say which object it belongs to (`TextRefiner`; 0 = none, as in models saved before it).
    text_refiner_depth: int = 0

    def __post_init__(self) -> None:
        if self.prediction not in ("sample", "velocity"):
            raise ValueError(f"prediction must be 'sample' (clean latent x0) or 'velocity' (noise - x0); got {self.prediction!r}")
        if len(self.patch_size) != 3 or any(int(p) != p or p < 1 for p in self.patch_size):
            raise ValueError(f"patch_size must be three positive integers (time, height, width); got {self.patch_size}")
        for name in ("latent_channels", "width", "depth", "heads", "ffn_dim", "text_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads} (e.g. heads={self._head_options()})")
        head_dim = self.width // self.heads
        # 3D RoPE rotates pairs of channels: each of the time, height and width axes needs at least one pair.
        if head_dim % 2 or head_dim < 6:
            raise ValueError(
                f"head_dim = width / heads = {head_dim} must be even and at least 6 so 3D RoPE can give time, "
                f"height and width at least one channel pair each; choose heads in {self._head_options()}"
            )
        if self.text_refiner_depth < 0:
            raise ValueError(f"text_refiner_depth must be 0 (off) or a positive number of blocks; got {self.text_refiner_depth}")
        if self.text_pool_heads < 0:
            raise ValueError(f"text_pool_heads must be 0 (off) or a positive number of queries; got {self.text_pool_heads}")
        if self.rope_theta <= 1.0:
            raise ValueError(f"rope_theta must be > 1; got {self.rope_theta}")

    def _head_options(self) -> list[int]:
        return [h for h in range(1, self.width + 1) if self.width % h == 0 and (self.width // h) % 2 == 0 and self.width // h >= 6][-6:]

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def mlp_hidden(self) -> int:
        """Hidden size of the gated MLP: 2/3 of ffn_dim rounded up to 16, so it costs what an ffn_dim FFN costs."""
        return 16 * math.ceil(2 * self.ffn_dim / 3 / 16)

    @property
    def rope_dims(self) -> tuple[int, int, int]:
        """Channels of each head rotated by (time, height, width) position: height and width equal, time the rest (Wan's split)."""
        space = 2 * (self.head_dim // 6)
        return self.head_dim - 2 * space, space, space


TRANSFORMER_PRESETS: dict[str, TransformerConfig] = {
    "tiny-test": TransformerConfig(latent_channels=4, patch_size=(1, 1, 1), width=32, depth=2, heads=2, ffn_dim=64, text_dim=384),
    # The default model, over the world-8x VAE's 16-channel latents: a 2x2 latent patch is 16x16 pixels,
    # so a 64x64x17 clip is 5 x 4 x 4 = 80 tokens (tokens dominate CPU training cost). ~11M parameters.
    # Four text-pooling queries (since step 18,700: direction words were not reaching the conditioning);
    # two text-refiner blocks (since step 36,700: direction words were not tied to their objects).
    "world-s": TransformerConfig(latent_channels=16, patch_size=(1, 2, 2), width=256, depth=8, heads=4, ffn_dim=1024,
                                 text_dim=384, text_pool_heads=4, text_refiner_depth=2),
    # Shaped like Wan2.1-T2V-1.3B (UMT5-XXL text states of 4096): for scale tests and FSDP, never trained here.
    "wan-1.3b": TransformerConfig(latent_channels=16, patch_size=(1, 2, 2), width=1536, depth=30, heads=12, ffn_dim=8960, text_dim=4096),
}
