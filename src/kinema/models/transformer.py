"""The diffusion transformer: spacetime patches of VAE latents in, a prediction of the same shape out.

Latents (B, C, F, H, W) are cut into (pt, ph, pw) patches, one token each, positioned by 3D RoPE
(so any duration, size and aspect ratio runs). Every block is adaLN-zero-modulated self-attention
with QK-norm, cross-attention to the text tokens, and a gated MLP. The conditioning vector is the
timestep embedding plus a projection of the pooled text (and, with `text_pool_heads`, learned
attention pools of the text tokens). With `text_refiner_depth`, the projected text tokens first
attend to each other in word order, so a word can carry which object it belongs to. Latent frames
that are given (image-to-video, extension, looping) enter clean and carry a learned flag embedding.

The output is the raw network prediction: the clean latent x0 when `config.prediction == "sample"`,
the velocity v = noise - x0 when it is "velocity". Converting between them is the flow code's job;
this module knows nothing about noise levels beyond the timestep it is given.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kinema.config import TransformerConfig
from kinema.models.layers import (
    CrossAttention,
    GatedMLP,
    RotaryEmbedding3D,
    SelfAttention,
    TextAttentionPool,
    TextRefiner,
    TimestepEmbedder,
    gated_residual,
    modulate,
)

MODULATIONS = 6  # shift, scale, gate for attention; shift, scale, gate for the MLP


class TransformerBlock(nn.Module):
    """adaLN-zero block: modulated self-attention (RoPE) -> cross-attention to text -> modulated gated MLP.

    Modulation is adaLN-single (PixArt-alpha, Wan): the model projects the conditioning to 6 vectors once
    and each block adds its own learned offset, instead of a 6 D x D projection per block. That saves
    a quarter of the parameters at Wan's size (1.43B instead of 1.86B); PixArt-alpha reports no quality loss.
    """

    def __init__(self, width: int, heads: int, mlp_hidden: int, qk_norm: bool = True) -> None:
        super().__init__()
        self.modulation = nn.Parameter(torch.zeros(MODULATIONS, width))  # per-block offset, zero: gates start shut
        self.self_attn = SelfAttention(width, heads, qk_norm)
        self.cross_norm = nn.LayerNorm(width, eps=1e-6)
        self.cross_attn = CrossAttention(width, heads, qk_norm)
        self.mlp = GatedMLP(width, mlp_hidden)
        self.width = width

    def forward(
        self,
        x: torch.Tensor,
        modulation: torch.Tensor,
        rotations: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """x (B, N, D), modulation (B, 6, D), rotations (N, hd/2), text (B, L, D), text_mask (B, 1, 1, L)."""
        shift_attn, scale_attn, gate_attn, shift_mlp, scale_mlp, gate_mlp = (self.modulation + modulation).unbind(1)
        normed = modulate(F.layer_norm(x, (self.width,), eps=1e-6), shift_attn, scale_attn)
        x = gated_residual(x, gate_attn, self.self_attn(normed, rotations))
        x = x + self.cross_attn(self.cross_norm(x), text, text_mask)
        normed = modulate(F.layer_norm(x, (self.width,), eps=1e-6), shift_mlp, scale_mlp)
        return gated_residual(x, gate_mlp, self.mlp(normed))


class FinalLayer(nn.Module):
    """adaLN-modulated norm and a linear head to patch values; both start at zero so a fresh model predicts 0 (DiT)."""

    def __init__(self, width: int, patch_values: int) -> None:
        super().__init__()
        self.modulation = nn.Linear(width, 2 * width)
        self.head = nn.Linear(width, patch_values)
        self.width = width

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(F.silu(condition)).chunk(2, dim=1)  # each (B, D)
        return self.head(modulate(F.layer_norm(x, (self.width,), eps=1e-6), shift, scale))  # (B, N, pt ph pw C)


class DiffusionTransformer(nn.Module):
    """Latents (B, C, F, H, W), timestep (B,) in [0, 1], text -> prediction (B, C, F, H, W): x0 or v per config."""

    # Declared for distributed training: FSDP shards (and activation checkpointing wraps) one block at a time.
    fsdp_wrap_class = TransformerBlock
    _no_split_modules = ["TransformerBlock"]

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = config
        width, patch_values = config.width, config.latent_channels * math.prod(config.patch_size)
        self.patch_embed = nn.Linear(patch_values, width)
        self.given_embedding = nn.Parameter(torch.zeros(width))
        self.time_embedder = TimestepEmbedder(width)
        self.pooled_projection = nn.Sequential(nn.Linear(config.text_dim, width), nn.SiLU(), nn.Linear(width, width))
        self.text_pool = TextAttentionPool(config.text_dim, config.text_pool_heads, width) if config.text_pool_heads else None
        self.modulation = nn.Linear(width, MODULATIONS * width)  # adaLN-single: shared by all blocks
        self.text_projection = nn.Sequential(nn.Linear(config.text_dim, width), nn.GELU(approximate="tanh"), nn.Linear(width, width))
        self.text_refiner = (
            TextRefiner(width, config.heads, config.mlp_hidden, config.text_refiner_depth, config.rope_theta)
            if config.text_refiner_depth else None
        )
        # A learned text token every sample can attend to: an all-padding caption (dropped for guidance)
        # still has one key, so attention never normalises over nothing (NaN).
        self.null_text = nn.Parameter(torch.zeros(1, 1, width))
        self.rope = RotaryEmbedding3D(config.head_dim, config.rope_dims, config.rope_theta)
        self.blocks = nn.ModuleList(
            TransformerBlock(width, config.heads, config.mlp_hidden, config.qk_norm) for _ in range(config.depth)
        )
        self.final = FinalLayer(width, patch_values)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """DiT's scheme: xavier linears, zero biases; adaLN modulation, cross-attention output and head at zero."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for layer in (self.time_embedder.mlp[0], self.time_embedder.mlp[2]):
            nn.init.normal_(layer.weight, std=0.02)
        # Comparable to token content (~0.6 RMS after the xavier patch embedding): small learned
        # embeddings were measured to stay 15-40x below content and be ignored (notes/cpu-training-feasibility).
        nn.init.normal_(self.given_embedding, std=0.5)
        nn.init.normal_(self.null_text, std=0.02)
        if self.text_pool is not None:
            nn.init.zeros_(self.text_pool.out.weight)  # starts closed: see TextAttentionPool
        if self.text_refiner is not None:
            self.text_refiner.zero_outputs()
        zero = [self.modulation, self.final.modulation, self.final.head] + [block.cross_attn.out for block in self.blocks]
        for layer in zero:  # every residual branch starts closed: each block is the identity, the output 0
            nn.init.zeros_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        for block in self.blocks:
            nn.init.zeros_(block.modulation)

    # ----------------------------------------------------------------- shapes
    def check_latent_shape(self, frames: int, height: int, width: int) -> None:
        """Raise a ValueError naming the allowed sizes: each latent size a multiple of its patch size."""
        pt, ph, pw = self.config.patch_size
        for name, size, patch in (("frames", frames, pt), ("height", height, ph), ("width", width, pw)):
            if size < patch or size % patch:
                examples = ", ".join(str(patch * k) for k in (1, 2, 4, 8))
                raise ValueError(f"latent {name} must be a positive multiple of the patch size {patch} (e.g. {examples}); got {size}")

    def num_tokens(self, frames: int, height: int, width: int) -> int:
        """Tokens for latents of this size (latent frames, latent height, latent width)."""
        self.check_latent_shape(frames, height, width)
        pt, ph, pw = self.config.patch_size
        return (frames // pt) * (height // ph) * (width // pw)

    def check_inputs(self, latents, timestep, text_states, text_mask, pooled_text, given_mask) -> None:
        """Raise a ValueError naming the argument and the shape it must have."""
        c = self.config
        if latents.ndim != 5 or latents.shape[1] != c.latent_channels:
            raise ValueError(f"latents must be (batch, {c.latent_channels}, frames, height, width); got {tuple(latents.shape)}")
        batch, _, frames, height, width = latents.shape
        self.check_latent_shape(frames, height, width)
        length = text_states.shape[1] if text_states.ndim == 3 else -1
        expected = {
            "timestep": (timestep, (batch,)),
            "text_states": (text_states, (batch, length, c.text_dim)),
            "pooled_text": (pooled_text, (batch, c.text_dim)),
            "text_mask": (text_mask, (batch, length)),
            "given_mask": (given_mask, (batch, frames)),
        }
        for name, (value, shape) in expected.items():
            if value is not None and tuple(value.shape) != shape:
                raise ValueError(f"{name} must have shape {shape} for latents {tuple(latents.shape)}; got {tuple(value.shape)}")
        if not timestep.is_floating_point():
            raise ValueError(f"timestep must be a float tensor of noise levels in [0, 1] (0 = clean); got {timestep.dtype}")
        for name, mask in (("text_mask", text_mask), ("given_mask", given_mask)):
            if mask is not None and mask.dtype != torch.bool:
                raise ValueError(f"{name} must be a bool tensor (True = real text token / given frame); got {mask.dtype}")

    # ---------------------------------------------------------------- patches
    def patchify(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, N, pt ph pw C), tokens in (frame, row, column) order."""
        pt, ph, pw = self.config.patch_size
        b, c, f, h, w = latents.shape
        x = latents.reshape(b, c, f // pt, pt, h // ph, ph, w // pw, pw)
        x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)  # (B, F', H', W', pt, ph, pw, C)
        return x.reshape(b, (f // pt) * (h // ph) * (w // pw), pt * ph * pw * c)  # (B, N, pt ph pw C)

    def unpatchify(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """(B, N, pt ph pw C) -> (B, C, F, H, W): the inverse of patchify."""
        pt, ph, pw = self.config.patch_size
        frames, rows, columns = grid
        b, c = x.shape[0], self.config.latent_channels
        x = x.reshape(b, frames, rows, columns, pt, ph, pw, c)
        x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)  # (B, C, F', pt, H', ph, W', pw)
        return x.reshape(b, c, frames * pt, rows * ph, columns * pw)  # (B, C, F, H, W)

    # ---------------------------------------------------------------- forward
    def forward(
        self,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        text_states: torch.Tensor,
        text_mask: torch.Tensor | None,
        pooled_text: torch.Tensor,
        given_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Raw prediction (B, C, F, H, W): x0 if config.prediction == "sample", else v = noise - x0.

        latents (B, C, F, H, W) at noise level timestep (B,) in [0, 1] (0 = clean); text_states (B, L, text_dim);
        text_mask (B, L) bool, True = real token (None = all real); pooled_text (B, text_dim);
        given_mask (B, F) bool, True = this latent frame is given clean (None = none given).
        With temporal patches (pt > 1) a patch's flag is the fraction of its frames that are given.
        """
        self.check_inputs(latents, timestep, text_states, text_mask, pooled_text, given_mask)
        batch, _, frames, height, width = latents.shape
        pt, ph, pw = self.config.patch_size
        grid = (frames // pt, height // ph, width // pw)

        x = self.patch_embed(self.patchify(latents))  # (B, N, D)
        if given_mask is not None:
            given = given_mask.to(x.dtype).reshape(batch, grid[0], pt).mean(2)  # (B, F')
            flags = given[:, :, None, None] * self.given_embedding  # (B, F', 1, D)
            x = (x.view(batch, grid[0], grid[1] * grid[2], -1) + flags).view_as(x)  # (B, N, D)

        condition = self.time_embedder(timestep) + self.pooled_projection(pooled_text)  # (B, D)
        if self.text_pool is not None:
            condition = condition + self.text_pool(text_states, text_mask)
        modulation = self.modulation(F.silu(condition)).view(batch, MODULATIONS, -1)  # (B, 6, D)

        text = self.text_projection(text_states)  # (B, L, D)
        if self.text_refiner is not None:
            text = self.text_refiner(text, text_mask)
        text = torch.cat([self.null_text.expand(batch, -1, -1).to(text.dtype), text], dim=1)  # (B, 1 + L, D)
        attention_mask = None
        if text_mask is not None:
            keep = torch.ones(batch, 1, dtype=torch.bool, device=text_mask.device)
            attention_mask = torch.cat([keep, text_mask], dim=1)[:, None, None, :]  # (B, 1, 1, 1 + L)

        rotations = self.rope(*grid, device=latents.device)  # (N, hd/2)
        for block in self.blocks:
            x = block(x, modulation, rotations, text, attention_mask)
        return self.unpatchify(self.final(x, condition), grid)  # (B, C, F, H, W)


def parameter_count(config: TransformerConfig) -> int:
    """Number of parameters, counted on the meta device (no memory, works for billion-parameter configs)."""
    with torch.device("meta"):
        model = DiffusionTransformer(config)
    return sum(p.numel() for p in model.parameters())


def save_transformer(model: DiffusionTransformer, folder: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """Write a DiffusionTransformer as a model folder (config.json + model.safetensors, fp16 by default as shipped)."""
    from kinema.models.io import save_model_folder

    return save_model_folder(model, model.config, folder, dtype)


def load_transformer(folder: str | Path) -> DiffusionTransformer:
    """A DiffusionTransformer (fp32, eval mode) from a model folder."""
    from kinema.models.io import load_model_folder

    return load_model_folder(TransformerConfig, DiffusionTransformer, folder)
