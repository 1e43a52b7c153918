"""Model folders: config.json + weights.safetensors, loadable from any local path with no other file."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from kinema.config import read_config, write_config

WEIGHTS = "model.safetensors"
Model = TypeVar("Model", bound=torch.nn.Module)


def save_model_folder(model: torch.nn.Module, config: object, folder: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """Write config.json and the weights (fp16 by default, as shipped) into folder, each file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().to(dtype).contiguous() for name, value in model.state_dict().items()}
    tmp = folder / (WEIGHTS + ".tmp")
    save_file(tensors, tmp)
    tmp.replace(folder / WEIGHTS)
    write_config(config, folder / "config.json")
    return folder


def load_model_folder(config_class: type, build: Callable[[object], Model], folder: str | Path) -> Model:
    """Read config.json, build the model, load the weights in fp32; errors name the file at fault."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    config = read_config(config_class, folder / "config.json")
    model = build(config)
    weights = folder / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"no weights at {weights}: a model folder holds config.json and {WEIGHTS}")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{weights} is not a readable safetensors file ({error}); re-download or re-export the model") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ValueError(
            f"{weights} does not match {folder / 'config.json'}: missing {missing[:3]}, unexpected {unexpected[:3]}, "
            f"wrong shapes {wrong[:3]}"
        )
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()
