"""Resume-complete training checkpoints: tensors in safetensors, everything else in JSON, written atomically.

Never pickle: a checkpoint is `state.safetensors` (model, optimiser moments, RNG state) plus
`state.json` (step, optimiser hyper-parameters, config), in a folder that appears only whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimiser state dict into named tensors and JSON-ready plain data."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict[str, Any]] = {}
    for param_id, values in state["state"].items():
        plain_state[str(param_id)] = {}
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{param_id}.{key}"] = value.contiguous()
            else:
                plain_state[str(param_id)][key] = value
    return tensors, {"param_groups": state["param_groups"], "plain_state": plain_state}


def load_optimizer(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], plain: dict[str, Any]) -> None:
    """Inverse of optimizer_tensors."""
    state: dict[int, dict[str, Any]] = {int(k): dict(v) for k, v in plain["plain_state"].items()}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, param_id, key = name.split(".", 2)
            state.setdefault(int(param_id), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": plain["param_groups"]})


def save_checkpoint(folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int, extra: dict[str, Any], extra_tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write folder/step_XXXXXXX (`step` = steps done) atomically, a temp folder renamed into place; point folder/latest at it."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:07d}"
    tmp = folder / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    opt_tensors, opt_plain = optimizer_tensors(optimizer)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    for name, value in (extra_tensors or {}).items():
        tensors[f"extra.{name}"] = value.detach().contiguous()
    save_file(tensors, tmp / "state.safetensors")
    (tmp / "state.json").write_text(json.dumps({"step": step, "optimizer": opt_plain, **extra}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    latest = folder / "latest.tmp"
    latest.write_text(final.name)
    latest.replace(folder / "latest")
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in folder, or None."""
    pointer = folder / "latest"
    if pointer.is_file():
        candidate = folder / pointer.read_text().strip()
        if (candidate / "state.json").is_file():
            return candidate
    steps = sorted(p for p in folder.glob("step_*") if (p / "state.json").is_file())
    return steps[-1] if steps else None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore model, optimiser and RNG from a checkpoint folder; returns its JSON data and extra tensors."""
    try:
        tensors = load_file(path / "state.safetensors")
        meta = json.loads((path / "state.json").read_text())
    except (OSError, SafetensorError, json.JSONDecodeError) as error:
        raise ValueError(f"checkpoint {path} is unreadable ({error}); delete it to resume from the one before") from None
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state)
    except RuntimeError as error:
        raise ValueError(f"checkpoint {path} does not fit this model: {str(error).splitlines()[0]}") from None
    if optimizer is not None:
        load_optimizer(optimizer, tensors, meta["optimizer"])
    torch.set_rng_state(tensors["rng.torch"])
    extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return meta, extra


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints."""
    steps = sorted(p for p in folder.glob("step_*") if p.is_dir())
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
