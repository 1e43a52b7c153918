"""The video compression network: a causal 3D-convolutional VAE (Sora's first component).

Pixels are first cut into p x p blocks stacked as channels (LTX-Video and Wan 2.2 do the same),
so every convolution runs at 1/p of the resolution: this is what makes the VAE cheap enough to
train and run on a CPU. Time is causal: convolutions only look back, the first frame is encoded
on its own (an image is a one-frame video), and later frames are merged in pairs per temporal
level, so 1 + 4k frames become 1 + k latent frames. Normalisation is per voxel (RMS over
channels), so no statistic mixes frames or tiles. A `CausalCache` carries the last frames of
every convolution between chunks, which makes chunked encoding and decoding equal to the whole.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from kinema.config import VAEConfig
from kinema.models.tiling import tiled_apply


@dataclass
class CausalCache:
    """What each causal layer remembers from earlier chunks of the same video (explicit, not module state)."""

    frames: dict[nn.Module, torch.Tensor] = field(default_factory=dict)
    started: set[nn.Module] = field(default_factory=set)


class ChannelRMSNorm(nn.Module):
    """RMS normalisation over channels at each voxel: causal and tile-exact (no spatial or temporal statistics)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(channels, 1, 1, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps) * self.gain


class CausalConv3d(nn.Module):
    """3D convolution padded only towards the past in time (first frame replicated, or the cache)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, time_kernel: int = 3) -> None:
        super().__init__()
        self.time_pad = time_kernel - 1
        self.conv = nn.Conv3d(in_channels, out_channels, (time_kernel, kernel, kernel), padding=(0, kernel // 2, kernel // 2))

    def forward(self, x: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        if self.time_pad:
            past = cache.frames.get(self) if cache is not None else None
            if past is None:
                past = x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1)
            x = torch.cat([past, x], dim=2)  # (B, C, pad + T, H, W)
            if cache is not None:
                cache.frames[self] = x[:, :, -self.time_pad :].detach()
        return self.conv(x)


class ResBlock(nn.Module):
    """Two causal convolutions (3x3 in space, time_kernel in time) with pre-norm and SiLU, plus a skip."""

    def __init__(self, in_channels: int, out_channels: int, time_kernel: int = 3) -> None:
        super().__init__()
        self.norm1 = ChannelRMSNorm(in_channels)
        self.conv1 = CausalConv3d(in_channels, out_channels, time_kernel=time_kernel)
        self.norm2 = ChannelRMSNorm(out_channels)
        self.conv2 = CausalConv3d(out_channels, out_channels, time_kernel=time_kernel)
        self.skip = nn.Conv3d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)), cache)
        h = self.conv2(F.silu(self.norm2(h)), cache)
        return self.skip(x) + h


class Downsample(nn.Module):
    """Halve H and W (space-to-depth) and/or T (merge frame pairs, the first frame alone), then a 1x1 mix."""

    def __init__(self, in_channels: int, out_channels: int, space: bool, time: bool) -> None:
        super().__init__()
        self.space, self.time = space, time
        factor = (4 if space else 1) * (2 if time else 1)
        self.mix = nn.Conv3d(in_channels * factor, out_channels, 1)

    def forward(self, x: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        if self.space:
            x = space_to_depth(x, 2)  # (B, 4C, T, H/2, W/2)
        if self.time:
            first_chunk = cache is None or self not in cache.started
            if cache is not None:
                cache.started.add(self)
            if first_chunk:  # the first frame stands alone: pair it with itself
                x = torch.cat([x[:, :, :1], x], dim=2)
            if x.shape[2] % 2:
                raise ValueError(f"temporal chunk of {x.shape[2]} frames cannot be paired; chunks after the first need a multiple of the compression")
            b, c, t, h, w = x.shape
            x = x.reshape(b, c, t // 2, 2, h, w).transpose(2, 3).reshape(b, c * 2, t // 2, h, w)  # (B, 2C, T/2, H, W)
        return self.mix(x)


class Upsample(nn.Module):
    """Inverse of Downsample: a 1x1 mix, then depth-to-space and/or split each frame in two (the first kept single)."""

    def __init__(self, in_channels: int, out_channels: int, space: bool, time: bool) -> None:
        super().__init__()
        self.space, self.time = space, time
        self.out_channels = out_channels
        factor = (4 if space else 1) * (2 if time else 1)
        self.mix = nn.Conv3d(in_channels, out_channels * factor, 1)

    def forward(self, x: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        x = self.mix(x)
        if self.time:
            b, c, t, h, w = x.shape
            x = x.reshape(b, c // 2, 2, t, h, w).transpose(2, 3).reshape(b, c // 2, t * 2, h, w)  # (B, C, 2T, H, W)
            first_chunk = cache is None or self not in cache.started
            if cache is not None:
                cache.started.add(self)
            if first_chunk:
                x = x[:, :, 1:]  # the first latent frame decodes to one frame
        if self.space:
            x = depth_to_space(x, 2)
        return x


def space_to_depth(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, C f^2, T, H/f, W/f)."""
    b, c, t, h, w = x.shape
    x = x.reshape(b, c, t, h // factor, factor, w // factor, factor)
    return x.permute(0, 1, 4, 6, 2, 3, 5).reshape(b, c * factor * factor, t, h // factor, w // factor)


def depth_to_space(x: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, C f^2, T, H, W) -> (B, C, T, H f, W f)."""
    b, c, t, h, w = x.shape
    x = x.reshape(b, c // (factor * factor), factor, factor, t, h, w)
    return x.permute(0, 1, 4, 5, 2, 6, 3).reshape(b, c // (factor * factor), t, h * factor, w * factor)


def level_plan(config: VAEConfig) -> list[tuple[bool, bool]]:
    """(halve space, halve time) after each encoder level."""
    time_levels = int(math.log2(config.temporal_compression))
    space_levels = config.spatial_downsample_levels
    return [(level < space_levels, level < time_levels) for level in range(len(config.channels))]


def time_kernel(config: VAEConfig, level: int) -> int:
    """Temporal kernel of a level's convolutions: 1 (space only) at the finest levels, where they cost most."""
    return 1 if level < config.spatial_only_levels else 3


class Encoder(nn.Module):
    """Video (B, 3, 1 + 4k, H, W) in [-1, 1] -> Gaussian parameters (B, 2 latent, 1 + k, H / s, W / s)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.patch = config.patch_size
        widths = config.channels
        self.conv_in = CausalConv3d(3 * self.patch**2, widths[0], time_kernel=time_kernel(config, 0))
        self.levels = nn.ModuleList()
        for level, (space, time) in enumerate(level_plan(config)):
            blocks = [ResBlock(widths[level], widths[level], time_kernel(config, level)) for _ in range(config.blocks_per_level)]
            nxt = widths[min(level + 1, len(widths) - 1)]
            if space or time:
                blocks.append(Downsample(widths[level], nxt, space, time))
            self.levels.append(nn.ModuleList(blocks))
        self.mid = ResBlock(widths[-1], widths[-1])
        self.norm_out = ChannelRMSNorm(widths[-1])
        self.conv_out = CausalConv3d(widths[-1], 2 * config.latent_channels)

    def forward(self, video: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        x = self.conv_in(space_to_depth(video, self.patch), cache)
        for blocks in self.levels:
            for block in blocks:
                x = block(x, cache)
        x = self.mid(x, cache)
        return self.conv_out(F.silu(self.norm_out(x)), cache)


class PixelRefiner(nn.Module):
    """A residual correction of the decoded frames at full resolution, one frame at a time.

    The decoder's last layer draws each p x p pixel block as a linear mix of its features, which
    blurs what is smaller than a block: the points of a star, the corners of a square, the marks
    that tell shapes apart. A few convolutions over the pixels (and the last features, unstacked
    to pixels) can draw them sharp again. The last convolution starts at zero, so a refiner added
    to a trained decoder changes nothing until it is trained; spatial only, so causal and streamable.
    """

    def __init__(self, feature_channels: int, width: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList([CausalConv3d(3 + feature_channels, width, time_kernel=1),
                                    *(CausalConv3d(width, width, time_kernel=1) for _ in range(2))])
        self.conv_out = CausalConv3d(width, 3, time_kernel=1)  # 4 convolutions: each pixel sees 9 x 9
        nn.init.zeros_(self.conv_out.conv.weight)
        nn.init.zeros_(self.conv_out.conv.bias)

    def forward(self, frames: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        x = torch.cat([frames, features], dim=1)
        for conv in self.convs:
            x = F.silu(conv(x))
        return frames + self.conv_out(x)


class Decoder(nn.Module):
    """Latents (B, latent, 1 + k, h, w) -> video (B, 3, 1 + 4k, h s, w s), roughly in [-1, 1]."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.patch = config.patch_size
        widths = config.channels
        self.conv_in = CausalConv3d(config.latent_channels, widths[-1])
        self.mid = ResBlock(widths[-1], widths[-1])
        self.levels = nn.ModuleList()
        for level, (space, time) in reversed(list(enumerate(level_plan(config)))):
            wider = widths[min(level + 1, len(widths) - 1)]
            blocks: list[nn.Module] = []
            if space or time:
                blocks.append(Upsample(wider, widths[level], space, time))
            blocks += [ResBlock(widths[level], widths[level], time_kernel(config, level)) for _ in range(config.decoder_blocks)]
            self.levels.append(nn.ModuleList(blocks))
        self.norm_out = ChannelRMSNorm(widths[0])
        self.conv_out = CausalConv3d(widths[0], 3 * self.patch**2, time_kernel=time_kernel(config, 0))
        self.refiner = PixelRefiner(widths[0] // self.patch**2, config.refine_channels) if config.refine_channels else None

    def forward(self, latents: torch.Tensor, cache: CausalCache | None = None) -> torch.Tensor:
        x = self.mid(self.conv_in(latents, cache), cache)
        for blocks in self.levels:
            for block in blocks:
                x = block(x, cache)
        features = F.silu(self.norm_out(x))
        frames = depth_to_space(self.conv_out(features, cache), self.patch)
        if self.refiner is None:
            return frames
        return self.refiner(frames, depth_to_space(features, self.patch))


class VideoVAE(nn.Module):
    """Encoder + decoder with input checks, latent normalisation, chunked (streaming) and tiled paths."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        mean = torch.tensor(config.latent_mean or [0.0] * config.latent_channels)
        std = torch.tensor(config.latent_std or [1.0] * config.latent_channels)
        self.register_buffer("latent_mean", mean.view(1, -1, 1, 1, 1), persistent=False)
        self.register_buffer("latent_std", std.view(1, -1, 1, 1, 1), persistent=False)

    def check_video(self, video: torch.Tensor) -> None:
        """Raise a ValueError naming the allowed frame counts and sizes."""
        if video.ndim != 5 or video.shape[1] != 3:
            raise ValueError(f"video must be (batch, 3, frames, height, width); got {tuple(video.shape)}")
        frames, height, width = video.shape[2:]
        tc, sc = self.config.temporal_compression, self.config.spatial_compression
        if (frames - 1) % tc:
            raise ValueError(f"frame count must be 1 + {tc}k (e.g. 1, {1 + tc}, {1 + 4 * tc}); got {frames}")
        if height % sc or width % sc:
            raise ValueError(f"height and width must be multiples of {sc} (e.g. 64x64, 80x48); got {height}x{width}")

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(channels, latent frames, latent height, latent width) for a video of this size."""
        tc, sc = self.config.temporal_compression, self.config.spatial_compression
        return self.config.latent_channels, 1 + (frames - 1) // tc, height // sc, width // sc

    def encode_distribution(self, video: torch.Tensor, chunk_frames: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Gaussian mean and log-variance of the (unnormalised) latents; chunk_frames streams through time."""
        self.check_video(video)
        if chunk_frames is None:
            moments = self.encoder(video)
        else:
            moments = torch.cat(list(self.stream(self.encoder, video, chunk_frames, self.config.temporal_compression)), dim=2)
        mean, logvar = moments.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def encode(
        self,
        video: torch.Tensor,
        *,
        sample: bool = False,
        generator: torch.Generator | None = None,
        chunk_frames: int | None = None,
        tile: int | None = None,
    ) -> torch.Tensor:
        """Normalised latents (unit variance per channel, as the transformer expects) of a video in [-1, 1].

        chunk_frames streams through time (exact); tile (pixels) processes overlapping spatial tiles.
        """
        if tile is not None:
            self.check_video(video)
            sc = self.config.spatial_compression
            tile, overlap = self.tile_sizes(tile, sc)
            return tiled_apply(lambda part: self.encode(part, sample=sample, generator=generator, chunk_frames=chunk_frames), video, tile, overlap, 1.0 / sc)
        mean, logvar = self.encode_distribution(video, chunk_frames)
        if sample:
            mean = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return (mean - self.latent_mean) / self.latent_std

    def decode(self, latents: torch.Tensor, *, chunk_latents: int | None = None, tile: int | None = None) -> torch.Tensor:
        """Video in about [-1, 1] from normalised latents.

        chunk_latents streams through time with bounded memory (exact); tile (latent pixels) decodes
        overlapping spatial tiles and blends their seams.
        """
        if latents.ndim != 5 or latents.shape[1] != self.config.latent_channels:
            raise ValueError(f"latents must be (batch, {self.config.latent_channels}, frames, h, w); got {tuple(latents.shape)}")
        if tile is not None:
            tile, overlap = self.tile_sizes(tile, 1)
            decode_part = lambda part: self.decode(part, chunk_latents=chunk_latents)  # noqa: E731
            return tiled_apply(decode_part, latents, tile, overlap, float(self.config.spatial_compression))
        latents = latents * self.latent_std + self.latent_mean
        if chunk_latents is None:
            return self.decoder(latents)
        return torch.cat(list(self.stream(self.decoder, latents, chunk_latents, 1)), dim=2)

    def decode_stream(self, latents: torch.Tensor, chunk_latents: int = 1):
        """Yield decoded frames chunk by chunk: a minute-long clip never holds all its activations at once."""
        latents = latents * self.latent_std + self.latent_mean
        yield from self.stream(self.decoder, latents, chunk_latents, 1)

    @staticmethod
    def tile_sizes(tile: int, multiple: int) -> tuple[int, int]:
        """Tile and overlap (half the tile: seams blend outside the receptive-field fringe), multiples of `multiple`."""
        if tile < 2 * multiple or tile % multiple:
            raise ValueError(f"tile must be a multiple of {multiple} and at least {2 * multiple}; got {tile}")
        return tile, max(multiple, (tile // 2) // multiple * multiple)

    @staticmethod
    def stream(module: nn.Module, x: torch.Tensor, chunk: int, step: int):
        """Run `module` over time chunks with one CausalCache: the first chunk is 1 + chunk*step frames, later ones chunk*step."""
        cache = CausalCache()
        first = 1 + chunk * step if step > 1 else chunk
        yield module(x[:, :, :first], cache)
        for start in range(first, x.shape[2], chunk * step):
            yield module(x[:, :, start : start + chunk * step], cache)


def grow_decoder(vae: VideoVAE, blocks_per_level: int) -> VideoVAE:
    """A copy of `vae` whose decoder has `blocks_per_level` residual blocks per level, decoding exactly as before.

    The new blocks go after the old ones in each level with their last convolution zeroed, so each
    starts as the identity; training then sharpens the decoder while the encoder, the latent space
    and any transformer trained in it stay valid.
    """
    current = vae.config.decoder_blocks
    if blocks_per_level < current:
        raise ValueError(f"the decoder already has {current} blocks per level; it can only grow (asked for {blocks_per_level})")
    grown = VideoVAE(dataclasses.replace(vae.config, decoder_blocks_per_level=blocks_per_level))
    missing, unexpected = grown.load_state_dict(vae.state_dict(), strict=False)
    if unexpected or any(not key.startswith("decoder.levels.") for key in missing):
        raise ValueError(f"cannot grow this decoder: weights {(unexpected or missing)[:3]} do not match the grown one")
    for blocks in grown.decoder.levels:
        for block in blocks[len(blocks) - (blocks_per_level - current):]:
            nn.init.zeros_(block.conv2.conv.weight)
            nn.init.zeros_(block.conv2.conv.bias)
    return grown.train(vae.training)


def add_refiner(vae: VideoVAE, width: int) -> VideoVAE:
    """A copy of `vae` with a full-resolution refiner of `width` channels after its decoder, decoding exactly as before.

    The refiner's last convolution starts at zero (see PixelRefiner); one of the same width already
    there is kept as it is.
    """
    current = vae.config.refine_channels
    if current == width:
        return vae
    if current:
        raise ValueError(f"the decoder already has a refiner of width {current}; it cannot become {width}")
    refined = VideoVAE(dataclasses.replace(vae.config, refine_channels=width))
    missing, unexpected = refined.load_state_dict(vae.state_dict(), strict=False)
    if unexpected or any(not key.startswith("decoder.refiner.") for key in missing):
        raise ValueError(f"cannot add a refiner to this decoder: weights {(unexpected or missing)[:3]} do not match")
    return refined.train(vae.training)


def load_vae(folder) -> VideoVAE:
    """A VideoVAE from a model folder (config.json + model.safetensors)."""
    from kinema.models.io import load_model_folder

    return load_model_folder(VAEConfig, VideoVAE, folder)


def save_vae(vae: VideoVAE, folder, dtype: torch.dtype = torch.float16):
    """Write a VideoVAE as a model folder."""
    from kinema.models.io import save_model_folder

    return save_model_folder(vae, vae.config, folder, dtype)
