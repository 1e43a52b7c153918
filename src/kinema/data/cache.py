"""Precomputed latent and text caches: encode a source's batches once, train from them many times.

`write_cache` runs a frozen VAE and text encoder over batches `start .. start + batches - 1` of a
clip source and writes, per batch, `batch_{step:07d}.safetensors` (latents (B, C, F, h, w), the
full captions' text states, mask and pooled vectors, each batch padded to its own longest caption;
the captions in the metadata), the empty prompt's states once (`empty_text.safetensors`, what a
dropped caption becomes), and last `index.json`, which says what the cache was made from. A folder
without a readable, complete index is not a cache. `LatentCache` reads it back: batch `step` is
exactly what the trainer would compute live at that step (same source, VAE and text encoder), and
steps past the cached range cycle through it, so a run longer than the cache repeats its batches.

The encoders are passed in (anything with `encode`), so this module builds no model.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

INDEX_FILE = "index.json"
EMPTY_TEXT_FILE = "empty_text.safetensors"
CACHE_FORMAT = 1
_INDEX_KEYS = ("format", "start", "batches", "source", "buckets", "vae", "text_encoder", "latent_shapes")


def batch_file(step: int) -> str:
    """The file name of source batch `step`."""
    return f"batch_{step:07d}.safetensors"


def describe_source(source: Any) -> dict:
    """What a clip source reads, as index.json records it: {"data": "world" or a folder, "seed": S}."""
    root = getattr(source, "root", None)
    return {"data": "world" if root is None else str(Path(root).resolve()), "seed": int(getattr(source, "seed", 0))}


def write_cache(
    folder: str | Path,
    source: Any,
    buckets: str,
    vae: Any,
    text_encoder: Any,
    batches: int,
    start: int = 0,
    progress: bool = True,
    *,
    vae_name: str = "",
) -> Path:
    """Encode source batches start .. start + batches - 1 into `folder` (index.json last); return the folder."""
    from tqdm import tqdm

    from kinema.data.world_stream import parse_buckets, to_model_range

    if batches < 1 or start < 0:
        raise ValueError(f"batches must be >= 1 and start >= 0; got batches={batches}, start={start}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"cache folder {str(folder)!r} is a file; choose a folder path")
    parsed = parse_buckets(buckets)
    (folder / INDEX_FILE).unlink(missing_ok=True)  # until the new index is written, this is no cache
    with torch.no_grad():
        empty = text_encoder.encode([""])
        _save(folder / EMPTY_TEXT_FILE, _text_tensors(empty), {})
        shapes = []
        for step in tqdm(range(start, start + batches), desc="encoding", unit="batch", disable=not progress, leave=False):
            clips, captions = source.batch(step, parsed)
            latents = vae.encode(to_model_range(clips))  # (B, C, F, h, w), as the trainer computes it live
            tensors = {"latents": latents, **_text_tensors(text_encoder.encode(list(captions)))}
            _save(folder / batch_file(step), tensors, {"captions": json.dumps(list(captions), ensure_ascii=False)})
            shapes.append(list(latents.shape))
    config = getattr(vae, "config", None)
    index = {
        "format": CACHE_FORMAT,
        "start": start,
        "batches": batches,
        "source": describe_source(source),
        "buckets": buckets,
        "vae": {"name": vae_name, "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else None},
        "text_encoder": {"name": getattr(text_encoder, "name", ""), "dim": int(empty.dim)},
        "latent_shapes": shapes,
    }
    _write_json(folder / INDEX_FILE, index)
    return folder


class LatentCache:
    """A cache folder written by `write_cache`; batch(step) gives (latents, TextStates, captions)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.index = read_index(self.folder)
        self.start, self.batches = self.index["start"], self.index["batches"]
        self._empty = None

    def __len__(self) -> int:
        return self.batches

    def __repr__(self) -> str:
        return f"LatentCache({str(self.folder)!r}, batches={self.batches}, buckets={self.index['buckets']!r})"

    def batch(self, step: int):
        """Source batch `step` when cached, else the cached batch `step` cycles onto (start + (step - start) mod len)."""
        from safetensors import safe_open

        path = self.folder / batch_file(self.start + (step - self.start) % self.batches)
        with safe_open(str(path), framework="pt") as handle:
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
            captions = json.loads((handle.metadata() or {})["captions"])
        return tensors["latents"], _text_states(tensors), captions

    def empty_text(self):
        """TextStates (1, L, D) of the empty prompt, which replace a dropped caption's."""
        if self._empty is None:
            from safetensors.torch import load_file

            self._empty = _text_states(load_file(self.folder / EMPTY_TEXT_FILE))
        return self._empty

    def check_matches(self, data: str, seed: int, buckets: str) -> None:
        """Refuse training settings that describe other batches than the cached ones, naming each difference."""
        from kinema.data.world_stream import parse_buckets

        source = self.index["source"]
        wanted = "world" if data == "world" else str(Path(data).resolve())
        problems = []
        if source["data"] != wanted:
            problems.append(f"data {data!r} (the cache holds {source['data']!r})")
        if source["seed"] != seed:
            problems.append(f"seed {seed} (the cache holds seed {source['seed']})")
        if parse_buckets(buckets) != parse_buckets(self.index["buckets"]):
            problems.append(f"buckets {buckets!r} (the cache holds {self.index['buckets']!r})")
        if problems:
            raise ValueError(f"cache {self.folder} was encoded from other batches: {'; '.join(problems)}; "
                             "train with the cache's settings or encode a new cache (kinema data encode)")


def read_index(folder: Path) -> dict:
    """The checked index.json of a cache folder; errors name the folder and what is wrong."""
    path = folder / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a latent cache (no {INDEX_FILE}; an interrupted encode writes "
                                "none): write one with kinema data encode --out DIR")
    try:
        index = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is corrupt ({error}); encode the cache again") from None
    missing = [key for key in _INDEX_KEYS if not isinstance(index, dict) or key not in index]
    if missing:
        raise ValueError(f"{path} lacks {missing}; encode the cache again")
    if index["format"] != CACHE_FORMAT or not isinstance(index["batches"], int) or index["batches"] < 1:
        raise ValueError(f"{path}: expected format {CACHE_FORMAT} with batches >= 1; got format {index['format']!r}, "
                         f"batches {index['batches']!r}; encode the cache again")
    files = [EMPTY_TEXT_FILE] + [batch_file(index["start"] + i) for i in range(index["batches"])]
    absent = [name for name in files if not (folder / name).is_file()]
    if absent:
        raise FileNotFoundError(f"cache {folder} is incomplete: {len(absent)} of its files are missing, "
                                f"e.g. {folder / absent[0]}; encode the cache again")
    return index


def _text_tensors(text) -> dict[str, torch.Tensor]:
    return {"text_states": text.states, "text_mask": text.mask, "text_pooled": text.pooled}


def _text_states(tensors: dict[str, torch.Tensor]):
    from kinema.models.text import TextStates

    return TextStates(tensors["text_states"], tensors["text_mask"].bool(), tensors["text_pooled"])


def _save(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """One safetensors file, atomically (a killed encode never leaves a half-written batch)."""
    from safetensors.torch import save_file

    from kinema.media.frames import atomic_output

    with atomic_output(path) as temporary:
        save_file({name: t.detach().contiguous().cpu() for name, t in tensors.items()}, str(temporary), metadata=metadata)


def _write_json(path: Path, data: dict) -> None:
    from kinema.media.frames import atomic_output

    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n")


__all__ = ["LatentCache", "write_cache", "read_index", "describe_source"]
