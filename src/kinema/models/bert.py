"""A BERT encoder in plain torch, for BERT-type text encoder folders (the default, all-MiniLM-L6-v2).

Loading MiniLM through `transformers` costs seconds of imports (its model-loading code pulls in
torch.distributed and torch._dynamo) for a six-layer network: most of `kinema generate`'s load
time. This module reads the same folder (config.json, tokenizer.json, model.safetensors) with
`tokenizers` and `safetensors` alone, and computes the same token states as transformers'
BertModel (tested against it to 1e-5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BertConfig:
    """The fields of a Hugging Face BERT config.json that the forward pass uses."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_folder(cls, folder: Path) -> BertConfig:
        config = json.loads((folder / "config.json").read_text())
        return cls(**{name: config[name] for name in cls.__dataclass_fields__})


def is_native_bert(folder: Path) -> bool:
    """Whether this module can load the folder: a plain absolute-position BERT with a fast tokenizer and safetensors."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("hidden_act", "gelu") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and all(name in config for name in BertConfig.__dataclass_fields__)
        and (folder / "tokenizer.json").is_file()
        and (folder / "model.safetensors").is_file()
    )


class _Embeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # Single-segment input: every token type is 0.
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)


class _Layer(nn.Module):
    """Post-norm BERT layer; submodule names follow the checkpoint's keys (attention.self.query, ...)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        width, eps = config.hidden_size, config.layer_norm_eps
        self.heads = config.num_attention_heads
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(width, width))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(width, width)
        self.attention.output.LayerNorm = nn.LayerNorm(width, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(width, config.intermediate_size)
        self.output = nn.Module()
        self.output.dense = nn.Linear(config.intermediate_size, width)
        self.output.LayerNorm = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        projections = self.attention.self

        def split(linear: nn.Linear) -> torch.Tensor:  # (B, L, D) -> (B, heads, L, D / heads)
            return linear(x).view(batch, length, self.heads, width // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            split(projections.query), split(projections.key), split(projections.value), attn_mask=key_mask
        )
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        x = self.attention.output.LayerNorm(x + self.attention.output.dense(attended))
        hidden = F.gelu(self.intermediate.dense(x))  # exact (erf) GELU: config "gelu"
        return self.output.LayerNorm(x + self.output.dense(hidden))


class BertEncoder(nn.Module):
    """Token ids (B, L) and a real-token mask (B, L) -> last hidden states (B, L, D)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(_Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(f"{input_ids.shape[1]} tokens exceed this encoder's {self.config.max_position_embeddings} positions")
        key_mask = mask[:, None, None, :]  # (B, 1, 1, L): padded keys are never attended to
        x = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            x = layer(x, key_mask)
        return x


def load_bert(folder: Path) -> BertEncoder:
    """The encoder with its weights from folder/model.safetensors; every weight must be present and fit."""
    from safetensors.torch import load_file

    path = folder / "model.safetensors"
    model = BertEncoder(BertConfig.from_folder(folder))
    try:
        weights = load_file(path)
    except Exception as error:  # safetensors raises its own error types for a truncated or corrupt file
        raise ValueError(f"cannot read text encoder weights {str(path)!r}: {error}") from error
    # Some checkpoints prefix every key with "bert."; the pooler and position_ids are not used.
    weights = {key.removeprefix("bert."): value for key, value in weights.items()}
    expected = model.state_dict()
    missing = sorted(key for key in expected if key not in weights)
    misfit = sorted(key for key in expected if key in weights and weights[key].shape != expected[key].shape)
    if missing or misfit:
        raise ValueError(f"text encoder weights {str(path)!r} lack or mis-shape {(missing + misfit)[:5]}; is the folder complete?")
    model.load_state_dict({key: weights[key].float() for key in expected})
    return model


class BertTokenizer:
    """The folder's tokenizer.json through `tokenizers`: [CLS] ... [SEP], truncated, right-padded with its pad id."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._pad_id = (self._tokenizer.padding or {}).get("pad_id", 0)
        self._tokenizer.no_padding()  # the file may fix padding (to 128): batches are padded to their longest here

    def __call__(self, prompts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, L) and a bool real-token mask (B, L), L the longest prompt's length."""
        self._tokenizer.enable_truncation(max_length)
        encodings = self._tokenizer.encode_batch(prompts)
        length = max(len(encoding.ids) for encoding in encodings)
        ids = torch.full((len(prompts), length), self._pad_id, dtype=torch.long)
        mask = torch.zeros(len(prompts), length, dtype=torch.bool)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = torch.tensor(encoding.ids)
            mask[row, : len(encoding.ids)] = True
        return ids, mask
