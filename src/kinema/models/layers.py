"""Building blocks of the diffusion transformer: 3D RoPE, attention with QK-norm, adaLN helpers, gated MLP.

Token layout everywhere is (B, N, D) with N = frames x rows x columns of patches in that order,
so a token's 3D position is recovered from its index; attention runs in SDPA's (B, heads, N, head_dim).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class RotaryEmbedding3D(nn.Module):
    """Rotary positions over (latent frame, row, column): each head's channel pairs are split between the three axes.

    Positions are integer patch indices, so any frame count, size and aspect ratio works and a token's
    attention depends only on its offset to another (RoFormer; Wan, HunyuanVideo and CogVideoX do the same
    in 3D). Rotations are unit complex numbers, one per channel pair (adjacent channels 2i, 2i+1), computed
    once per token grid and cached by shape: a training run sees a handful of bucket shapes.
    """

    max_cached_shapes = 32

    def __init__(self, head_dim: int, axis_dims: tuple[int, int, int], theta: float = 10000.0) -> None:
        super().__init__()
        if sum(axis_dims) != head_dim or any(d % 2 or d < 2 for d in axis_dims):
            raise ValueError(f"axis_dims {axis_dims} must be even, at least 2, and sum to head_dim {head_dim}")
        self.head_dim, self.axis_dims, self.theta = head_dim, tuple(axis_dims), theta
        self._cache: dict[tuple, torch.Tensor] = {}  # plain attribute: derived data, never saved or loaded

    def axis_frequencies(self, dim: int) -> torch.Tensor:
        """Angular frequency of each of an axis' dim/2 channel pairs: theta^(-2i/dim), in float64."""
        return self.theta ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (dim/2,)

    def angles(self, frames: int, rows: int, columns: int) -> torch.Tensor:
        """Rotation angle of every channel pair of every token: (frames x rows x columns, head_dim / 2), float64."""
        grid = torch.meshgrid(
            torch.arange(frames, dtype=torch.float64),
            torch.arange(rows, dtype=torch.float64),
            torch.arange(columns, dtype=torch.float64),
            indexing="ij",
        )
        parts = [
            position.reshape(-1, 1) * self.axis_frequencies(dim)  # (N, dim/2)
            for position, dim in zip(grid, self.axis_dims)
        ]
        return torch.cat(parts, dim=1)  # (N, head_dim/2)

    def forward(self, frames: int, rows: int, columns: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Unit complex rotations (N, head_dim / 2) for the tokens of a frames x rows x columns grid."""
        key = (frames, rows, columns, str(device))
        rotations = self._cache.get(key)
        if rotations is None:
            # A normal tensor even when first asked for under inference_mode: a cached inference tensor
            # would break the next training step of the same shape (it cannot be saved for backward).
            with torch.inference_mode(False):
                angles = self.angles(frames, rows, columns)
                rotations = torch.polar(torch.ones_like(angles), angles).to(device, torch.complex64)  # (N, head_dim/2)
            if len(self._cache) >= self.max_cached_shapes:
                self._cache.pop(next(iter(self._cache)))  # drop the oldest shape
            self._cache[key] = rotations
        return rotations


def apply_rotary(x: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (2i, 2i+1) of x (..., head_dim) by complex rotations broadcastable to (..., head_dim / 2).

    One complex multiply: measured several times faster on the CPU than the real-valued rotate-half form.
    """
    pairs = torch.view_as_complex(x.float().unflatten(-1, (-1, 2)))  # (..., head_dim/2)
    return torch.view_as_real(pairs * rotations).flatten(-2).type_as(x)  # (..., head_dim)


def rms_scale(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """1 / RMS of each vector along the last dim (..., 1), in fp32 or wider: multiply by it to RMS-normalise."""
    wide = torch.promote_types(x.dtype, torch.float32)
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True, dtype=wide)  # (..., 1)
    return torch.rsqrt(norm.square() / x.shape[-1] + eps).to(x.dtype)


class SelfAttention(nn.Module):
    """Multi-head self-attention over all spacetime tokens: fused QKV, RMS QK-norm, 3D RoPE, SDPA.

    QK-norm (Dehghani et al. 2023) normalises each head's query and key; the learned gains are shared
    by the two channels of a rotary pair, so they commute with the rotation and fold into it: norm and
    RoPE cost two passes over q and k together instead of ten. Linears inside blocks have no bias
    (PaLM, LLaMA): on the CPU a bias is one more pass over every output.
    """

    def __init__(self, width: int, heads: int, qk_norm: bool = True) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.qk_gain = nn.Parameter(torch.ones(2, self.head_dim // 2)) if qk_norm else None  # (q, k) x rotary pairs
        self.out = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
        """x (B, N, D), rotations (N, head_dim / 2) complex from RotaryEmbedding3D."""
        batch, tokens, width = x.shape
        qkv = self.qkv(x).view(batch, tokens, 3, self.heads, self.head_dim)  # (B, N, 3, heads, hd)
        qk, v = qkv[:, :, :2], qkv[:, :, 2]  # (B, N, 2, heads, hd), (B, N, heads, hd)
        rotations = rotations[:, None, None, :]  # (N, 1, 1, hd/2)
        if self.qk_gain is not None:
            qk = qk * rms_scale(qk)
            rotations = rotations * self.qk_gain.unsqueeze(1)  # (N, 2, 1, hd/2)
        q, k = apply_rotary(qk, rotations).unbind(2)  # each (B, N, heads, hd)
        x = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))  # (B, heads, N, hd)
        # SDPA's CPU and CUDA kernels lay the output out as (B, N, heads, hd): this reshape is a view.
        return self.out(x.transpose(1, 2).reshape(batch, tokens, width))  # (B, N, D)


class CrossAttention(nn.Module):
    """Attention from video tokens to text tokens with a key padding mask and RMS QK-norm (no RoPE: text has no grid).

    q . k only sees the product of the query and key gains, so both are applied to the (short) keys.
    """

    def __init__(self, width: int, heads: int, qk_norm: bool = True) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q = nn.Linear(width, width, bias=False)
        self.kv = nn.Linear(width, 2 * width, bias=False)
        self.qk_gain = nn.Parameter(torch.ones(2, self.head_dim)) if qk_norm else None
        self.out = nn.Linear(width, width, bias=False)

    def forward(self, x: torch.Tensor, text: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """x (B, N, D), text (B, L, D), attention_mask (B, 1, 1, L) bool with True = attend, or None for all."""
        batch, tokens, width = x.shape
        q = self.q(x).view(batch, tokens, self.heads, self.head_dim)  # (B, N, heads, hd)
        k, v = self.kv(text).view(batch, text.shape[1], 2, self.heads, self.head_dim).unbind(2)  # each (B, L, heads, hd)
        if self.qk_gain is not None:
            q = q * rms_scale(q)
            k = k * rms_scale(k) * (self.qk_gain[0] * self.qk_gain[1])
        x = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=attention_mask
        )  # (B, heads, N, hd)
        return self.out(x.transpose(1, 2).reshape(batch, tokens, width))  # (B, N, D)


class GatedMLP(nn.Module):
    """SwiGLU feed-forward (Shazeer 2020): W_out(silu(W_gate x) * W_up x), gate and up fused in one matmul."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.gate_up = nn.Linear(width, 2 * hidden, bias=False)
        self.out = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)  # each (B, N, hidden)
        return self.out(F.silu(gate) * up)  # (B, N, D)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x (B, N, D) * (1 + scale) + shift, with scale and shift (B, D) per sample (DiT)."""
    return torch.addcmul(shift.unsqueeze(1), x, 1 + scale.unsqueeze(1))


def gated_residual(x: torch.Tensor, gate: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
    """x + gate * update with gate (B, D): adaLN-zero's gate, zero at init so a fresh block is the identity."""
    return torch.addcmul(x, gate.unsqueeze(1), update)


def timestep_embedding(timestep: torch.Tensor, dim: int, scale: float = 1000.0, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features (B, dim) of t in [0, 1], scaled by `scale` so the fastest sinusoid resolves steps of 1/scale."""
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timestep.device) / half)
    angles = timestep.float().unsqueeze(1) * scale * frequencies  # (B, dim/2)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)  # (B, dim)


class TextAttentionPool(nn.Module):
    """Text token states (B, L, text_dim) -> (B, width) through `heads` learned attention queries.

    A mean-pooled sentence vector barely separates captions that differ in one word ("moving left"
    against "moving right": cosine 0.99; `benchmarks/text_separation.py`), so an attribute said in
    one word hardly reaches the adaLN conditioning. Learned queries can pick those words out. The
    queries start unit-normal (nearly uniform weights, but different per head: equal queries would
    get equal gradients and stay equal) and the output projection at zero, so a model given this
    pool starts exactly where it was without one.
    """

    def __init__(self, text_dim: int, heads: int, width: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(heads, text_dim))
        self.out = nn.Linear(heads * text_dim, width)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        logits = torch.einsum("bld,hd->bhl", states, self.queries.to(states.dtype)) / math.sqrt(states.shape[-1])
        if mask is not None:
            # An all-padding caption (the unconditional branch) pools to zeros rather than NaN.
            keep = mask[:, None, :].to(logits.dtype)
            weights = torch.softmax(logits.masked_fill(keep == 0, -1e4), dim=-1) * keep
            weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-6)
        else:
            weights = torch.softmax(logits, dim=-1)
        pooled = torch.einsum("bhl,bld->bhd", weights, states)  # (B, heads, text_dim)
        return self.out(pooled.flatten(1))  # (B, width)


class TextRefiner(nn.Module):
    """Self-attention blocks along the caption's projected tokens (B, L, D), in word order (1D RoPE).

    Cross-attention reads the caption as an unordered set of token states, and the frozen encoder's
    state of a direction word hardly depends on the object it follows (the same word after one object
    and after the other: cosine 0.96, `benchmarks/text_separation.py`), so nothing tells the video
    which object a direction word belongs to. Attending along the caption lets a word's state take in
    its neighbours (HunyuanVideo's token refiner does the same job). Both residual branches start at
    zero, so a model given these blocks starts exactly where it was without them.
    """

    def __init__(self, width: int, heads: int, hidden: int, depth: int, theta: float = 10000.0) -> None:
        super().__init__()
        self.heads, self.head_dim, self.theta = heads, width // heads, theta
        self.blocks = nn.ModuleList(
            nn.ModuleDict({
                "attn_norm": nn.LayerNorm(width, eps=1e-6),
                "qkv": nn.Linear(width, 3 * width, bias=False),
                "attn_out": nn.Linear(width, width, bias=False),
                "mlp_norm": nn.LayerNorm(width, eps=1e-6),
                "mlp": GatedMLP(width, hidden),
            })
            for _ in range(depth)
        )  # fmt: skip

    def zero_outputs(self) -> None:
        """Close every residual branch (call after any re-initialisation of the linears)."""
        for block in self.blocks:
            nn.init.zeros_(block["attn_out"].weight)
            nn.init.zeros_(block["mlp"].out.weight)

    def rotations(self, length: int, device: torch.device) -> torch.Tensor:
        """Unit complex rotations (L, head_dim / 2) for positions 0..L-1."""
        frequencies = self.theta ** (-torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim)
        angles = torch.arange(length, dtype=torch.float64)[:, None] * frequencies  # (L, hd/2)
        return torch.polar(torch.ones_like(angles), angles).to(device, torch.complex64)

    def forward(self, text: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """text (B, L, D), mask (B, L) bool with True = real token, or None for all real."""
        batch, length, width = text.shape
        rotations = self.rotations(length, text.device)[:, None, None, :]  # (L, 1, 1, hd/2)
        attention_mask = None
        if mask is not None:
            # Every token may attend to itself, so an all-padding caption (dropped for guidance) is no NaN.
            itself = torch.eye(length, dtype=torch.bool, device=text.device)
            attention_mask = mask[:, None, None, :] | itself  # (B, 1, L, L)
        for block in self.blocks:
            qkv = block["qkv"](block["attn_norm"](text)).view(batch, length, 3, self.heads, self.head_dim)
            qk, v = qkv[:, :, :2], qkv[:, :, 2]  # (B, L, 2, heads, hd), (B, L, heads, hd)
            q, k = apply_rotary(qk * rms_scale(qk), rotations).unbind(2)  # each (B, L, heads, hd)
            attended = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=attention_mask
            )  # (B, heads, L, hd)
            text = text + block["attn_out"](attended.transpose(1, 2).reshape(batch, length, width))
            text = text + block["mlp"](block["mlp_norm"](text))
        return text  # (B, L, D)


class TimestepEmbedder(nn.Module):
    """t in [0, 1] -> sinusoidal features -> two-layer SiLU MLP -> (B, D)."""

    def __init__(self, width: int, frequency_dim: int = 256) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, timestep: torch.Tensor) -> torch.Tensor:
        features = timestep_embedding(timestep, self.frequency_dim)  # fp32 whatever the model's dtype
        return self.mlp(features.to(self.mlp[0].weight.dtype))  # (B, D)
