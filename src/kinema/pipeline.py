"""KinemaPipeline: the one module that knows every part (text encoder, transformer, sampler, VAE).

Every task is a request to the same call: text-to-video starts from noise; tasks that give
frames (an image to animate, a clip to extend) pass given latent frames and their mask, which the
frame-conditioning wrapper keeps clean; editing starts from a noised clip. A model folder is

    config.json                PipelineConfig (sizes, frame counts, defaults, component names)
    transformer/               config.json + model.safetensors
    vae/                       config.json + model.safetensors (or config.json names a shipped VAE)

and loads from any local path with no other file.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from kinema.config import read_config, write_config

SHIPPED_VAE = "kinema-vae"


@dataclass(frozen=True)
class PipelineConfig:
    """What a model folder supports and how it samples by default."""

    name: str = "kinema"
    vae: str = "vae"  # a subfolder of the model folder, or the name of a VAE shipped with Kinema
    text_encoder: str = "all-MiniLM-L6-v2"
    fps: float = 8.0
    sizes: tuple[tuple[int, int], ...] = ((64, 64), (48, 80), (80, 48))  # (height, width)
    frame_counts: tuple[int, ...] = (1, 17, 33)
    max_frames: int = 481  # longer requests go through chained extension (60 s at 8 fps)
    steps: int = 20
    guidance_scale: float = 3.0
    sampler: str = "euler"
    timestep_shift: float = 1.0
    max_text_tokens: int = 64

    def __post_init__(self) -> None:
        if not self.sizes or not self.frame_counts:
            raise ValueError("a pipeline config needs at least one size and one frame count")
        object.__setattr__(self, "sizes", tuple(tuple(size) for size in self.sizes))


@dataclass
class GenerationOutput:
    """Frames (N, T, H, W, 3) uint8 for N videos, their latents, and what made each one."""

    frames: np.ndarray
    latents: torch.Tensor
    metadata: list[dict] = field(default_factory=list)


class KinemaPipeline:
    """Text (plus optional given frames) to video with one sampler for every task."""

    def __init__(self, transformer, vae, text_encoder, config: PipelineConfig = PipelineConfig()) -> None:
        self.transformer = transformer.eval()
        self.vae = vae.eval()
        self.text_encoder = text_encoder
        self.config = config

    # ------------------------------------------------------------------ loading and saving

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, text_encoder=None) -> "KinemaPipeline":
        """Load a model folder (default: the model shipped with Kinema)."""
        from kinema.models.text import load_text_encoder
        from kinema.models.transformer import load_transformer
        from kinema.models.vae import load_vae
        from kinema.pretrained import DEFAULT_MODEL_DIR, PRETRAINED_DIR

        folder = Path(path) if path is not None else DEFAULT_MODEL_DIR
        if not folder.is_dir():
            raise FileNotFoundError(f"model folder {folder} does not exist (a folder with config.json, transformer/ and vae/)")
        config = read_config(PipelineConfig, folder / "config.json")
        vae_folder = folder / config.vae if (folder / config.vae).is_dir() else PRETRAINED_DIR / config.vae
        transformer = load_transformer(folder / "transformer")
        encoder = text_encoder if text_encoder is not None else load_text_encoder(config.text_encoder)
        return cls(transformer, load_vae(vae_folder), encoder, config)

    def save_pretrained(self, path: str | Path, *, dtype: torch.dtype = torch.float16, ship_vae: bool = True) -> Path:
        """Write the model folder; with ship_vae=False the config names the VAE instead of copying it."""
        from kinema.models.transformer import save_transformer
        from kinema.models.vae import save_vae

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        save_transformer(self.transformer, folder / "transformer", dtype)
        config = self.config
        if ship_vae:
            save_vae(self.vae, folder / "vae", dtype)
            config = PipelineConfig(**{**asdict(config), "vae": "vae"})
        write_config(config, folder / "config.json")
        return folder

    # ------------------------------------------------------------------ checks

    def check_request(self, num_frames: int, height: int, width: int, steps: int, guidance_scale: float, num_videos: int) -> None:
        """Raise a ValueError naming the bad value and what this model allows."""
        sizes = ", ".join(f"{w}x{h}" for h, w in self.config.sizes)
        if (height, width) not in self.config.sizes:
            raise ValueError(f"size {width}x{height} (width x height) is not one this model was trained for; choose one of {sizes}")
        frames = ", ".join(str(f) for f in self.config.frame_counts)
        if num_frames not in self.config.frame_counts:
            raise ValueError(f"num_frames must be one of {frames} for this model; got {num_frames}")
        if steps < 1:
            raise ValueError(f"num_inference_steps must be at least 1; got {steps}")
        if guidance_scale < 0:
            raise ValueError(f"guidance_scale must be 0 or more (1 = no guidance); got {guidance_scale}")
        if num_videos < 1:
            raise ValueError(f"num_videos must be at least 1; got {num_videos}")

    # ------------------------------------------------------------------ generation

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        negative_prompt: str | None = None,
        num_frames: int = 17,
        height: int = 64,
        width: int = 64,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        seed: int | None = None,
        num_videos: int = 1,
        sampler: str | None = None,
        callback: Callable[[int, int], None] | None = None,
        given_latents: torch.Tensor | None = None,
        given_mask: torch.Tensor | None = None,
    ) -> GenerationOutput:
        """Generate num_videos videos from consecutive seeds in one batched sampling run."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError("prompt must be a non-empty string")
        steps = num_inference_steps if num_inference_steps is not None else self.config.steps
        scale = guidance_scale if guidance_scale is not None else self.config.guidance_scale
        self.check_request(num_frames, height, width, steps, scale, num_videos)
        seed = seed if seed is not None else random.randrange(2**31)
        started = time.perf_counter()
        latents = self.sample_latents(prompt, negative_prompt, num_frames, height, width, steps, scale, seed, num_videos,
                                      sampler or self.config.sampler, callback, given_latents, given_mask)
        frames = self.decode(latents)
        seconds = time.perf_counter() - started
        metadata = [
            {"model": self.config.name, "prompt": prompt, "negative_prompt": negative_prompt or "", "seed": seed + i,
             "steps": steps, "guidance_scale": scale, "sampler": sampler or self.config.sampler, "num_frames": num_frames,
             "height": height, "width": width, "fps": self.config.fps, "seconds": round(seconds, 3)}
            for i in range(num_videos)
        ]
        return GenerationOutput(frames, latents, metadata)

    def sample_latents(self, prompt, negative_prompt, num_frames, height, width, steps, scale, seed, num_videos,
                       sampler_name, callback, given_latents, given_mask) -> torch.Tensor:
        """Noise for each seed, then the sampler over the guided, frame-conditioned velocity."""
        from kinema.flow.guidance import apply_given, classifier_free_guidance, frame_conditioning
        from kinema.flow.samplers import get_sampler
        from kinema.flow.schedules import shifted_schedule

        sample = get_sampler(sampler_name)
        shape = self.vae.latent_shape(num_frames, height, width)
        noise = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(seed + i)) for i in range(num_videos)])
        conditional = self.text_conditioning(prompt, num_videos)
        unconditional = self.text_conditioning(negative_prompt or "", num_videos)
        given = given_mask if given_mask is not None else torch.zeros(num_videos, shape[1], dtype=torch.bool)
        velocity = classifier_free_guidance(self.model_velocity(given), conditional, unconditional, scale)
        if given_latents is not None:
            velocity = frame_conditioning(velocity, given_latents, given)
            noise = apply_given(noise, given_latents, given)  # given frames start (and stay) clean
        progress = (lambda index, total, t, x: callback(index + 1, total)) if callback else None
        return sample(velocity, noise, shifted_schedule(steps, self.config.timestep_shift), callback=progress)

    def text_conditioning(self, text: str, repeat: int) -> dict[str, torch.Tensor]:
        """Text states of one prompt, encoded once and repeated for the batch."""
        states = self.text_encoder.encode([text], max_length=self.config.max_text_tokens)
        return {
            "text_states": states.states.expand(repeat, -1, -1),
            "text_mask": states.mask.expand(repeat, -1),
            "pooled_text": states.pooled.expand(repeat, -1),
        }

    def model_velocity(self, given: torch.Tensor) -> Callable:
        """model_fn(x, t, conditioning) -> velocity, converting a clean-sample prediction when the model makes one."""
        from kinema.flow.paths import velocity_from_sample

        prediction = self.transformer.config.prediction

        def model_fn(x: torch.Tensor, t: torch.Tensor, conditioning: dict[str, torch.Tensor]) -> torch.Tensor:
            t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])
            mask = given.repeat(x.shape[0] // given.shape[0], 1)
            out = self.transformer(x, t, conditioning["text_states"], conditioning["text_mask"], conditioning["pooled_text"], mask)
            return velocity_from_sample(x, out, t) if prediction == "sample" else out

        return model_fn

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """uint8 frames (N, T, H, W, 3); long clips stream through the VAE in chunks."""
        from kinema.data.world_stream import to_pixels

        chunk = 4 if latents.shape[2] > 9 else None
        return to_pixels(self.vae.decode(latents, chunk_latents=chunk))
