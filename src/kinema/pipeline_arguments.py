"""What a pipeline call takes and gives back: diffusers-style arguments checked at the boundary, and its output.

`KinemaPipeline.__call__` accepts what diffusers' video pipelines do (`prompt: str | list[str]`,
`generator`, `num_videos_per_prompt`, `output_type`) beside its own names; these helpers turn
either into one meaning, or a ValueError that says what disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# Frames as one uint8 (N, T, H, W, 3) array, per video a list of PIL images, or (as diffusers' video
# pipelines give "pt") one float tensor (N, T, 3, H, W) in [0, 1].
OUTPUT_TYPES = ("np", "pil", "pt")


def is_number(value: Any) -> bool:
    """A real int or float (not a bool, a string or None), for config checks."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seed_from(seed: int | None, generator: torch.Generator | None) -> int | None:
    """The seed to use: seed=, or a diffusers-style generator's initial seed (the two must agree if both are given)."""
    if generator is None:
        return seed
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)); got "
                        f"{type(generator).__name__}")
    if seed is not None and seed != generator.initial_seed():
        raise ValueError(f"seed={seed} and generator (seed {generator.initial_seed()}) disagree; pass one of them")
    return int(generator.initial_seed())


def as_output(videos: np.ndarray, output_type: str) -> np.ndarray | list[list[Any]] | torch.Tensor:
    """uint8 (N, T, H, W, 3) videos in an OUTPUT_TYPES form."""
    if output_type == "pil":
        from PIL import Image

        return [[Image.fromarray(frame) for frame in video] for video in videos]
    if output_type == "pt":
        return torch.from_numpy(videos).permute(0, 1, 4, 2, 3).float() / 255
    return videos


def prompt_list(prompt: str | list[str]) -> list[str]:
    """One prompt or a batch of them (diffusers' `prompt: str | list[str]`) as a list."""
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, (list, tuple)) or not prompts:
        raise ValueError(f"prompt must be a non-empty string or a non-empty list of them; got {prompt!r:.80}")
    for text in prompts:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"every prompt must be a non-empty string; got {text!r:.80}")
    return list(prompts)


def videos_per_prompt(num_videos: int, num_videos_per_prompt: int | None) -> int:
    """num_videos, or diffusers' num_videos_per_prompt in its place; both given must agree."""
    if num_videos_per_prompt is None:
        return num_videos
    if num_videos != 1 and num_videos != num_videos_per_prompt:
        raise ValueError(f"num_videos={num_videos} and num_videos_per_prompt={num_videos_per_prompt} disagree; "
                         "pass one of them")
    return num_videos_per_prompt


def resolve_device(name: str) -> torch.device:
    """A device name ("cpu", "cuda", "cuda:1", "mps") -> torch.device, or a ValueError saying what is wrong."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be cpu, cuda, cuda:N or mps; got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: this PyTorch sees no CUDA GPU (torch.cuda.is_available() is False); "
                         "use --device cpu, or install a CUDA build of torch on a machine with a GPU")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: there are {torch.cuda.device_count()} CUDA GPUs (cuda:0 ...)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r}: this PyTorch has no MPS (Apple GPU) backend here; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be cpu, cuda, cuda:N or mps; got {name!r}")
    return device


@dataclass
class GenerationOutput:
    """Frames (N, T, H, W, 3) uint8 for N videos, their latents, and what made each one.

    `latents` are the sampled windows' latents (given frames included) concatenated along time:
    one window for most tasks, several for long videos, loops and long extensions (metadata
    "windows"). `stitched` is, for extend and join, the input clips with the new frames between
    or around them (the inputs' own frames at the seams); for other tasks it is `frames`.
    """

    frames: np.ndarray | list[list[Any]] | torch.Tensor  # output_type="pil": per video, a list of PIL images
    latents: torch.Tensor
    metadata: list[dict] = field(default_factory=list)
    stitched: np.ndarray | list[list[Any]] | torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.stitched is None:
            self.stitched = self.frames
