"""KinemaPipeline: the one module that knows every part (text encoder, transformer, sampler, VAE).

Every task is a request to the same call and runs through the same sampling loop
(`sample_window`): text-to-video starts from noise; tasks that give frames (an image to animate,
a clip to extend, two clips to join, a loop's own ends) give latent frames and their mask, which
the frame-conditioning wrapper keeps clean; editing starts from a noised clip. Long videos, loops
and extensions longer than a trained clip are several windows over one timeline of pixel frames,
each window given the frames around it (`kinema.tasks.plan` lays them out and documents how pixel
frames map to latent frames). A model folder is

    config.json                PipelineConfig (sizes, frame counts, defaults, component names)
    transformer/               config.json + model.safetensors
    vae/                       config.json + model.safetensors (or config.json names a shipped VAE)

and loads from any local path with no other file.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinema.config import read_config, write_config
from kinema.pipeline_arguments import (
    OUTPUT_TYPES,
    GenerationOutput,
    as_output,
    is_number,
    prompt_list,
    resolve_device,
    seed_from,
    videos_per_prompt,
)
from kinema.tasks.plan import Window
from kinema.tasks.requests import (
    Limits,
    TaskRequest,
    describe_task,
    prepare_task,
    stitch,
)

SHIPPED_VAE = "kinema-vae"
DECODE_CHUNK = 4  # latent frames per streamed VAE decode chunk (16 pixel frames)
EDIT_NOISES = ("inverted", "random")  # how an edit reaches t = strength: see `KinemaPipeline.edit_start`
EDIT_FRESH_NOISE = 0.3  # share (in standard deviation) of the seed's noise in an inverted edit's start


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
    # Guidance for a sampled still (a one-frame request, factorised text to video's first frame);
    # None: guidance_scale. Stills keep more of the prompt's colours and counts at lower guidance.
    still_guidance_scale: float | None = None
    # Guidance for an edit (video=, SDEdit); None: guidance_scale. An edit pulls a whole clip to a new
    # prompt, and a model may need a firmer pull for that than for text to video.
    edit_guidance_scale: float | None = None
    sampler: str = "euler"
    timestep_shift: float = 1.0
    max_text_tokens: int = 64
    factorised: bool = False  # text to video samples its first frame as an image first (KinemaPipeline.first_frame)

    def __post_init__(self) -> None:
        if not self.sizes or not self.frame_counts:
            raise ValueError("a pipeline config needs at least one size and one frame count")
        object.__setattr__(self, "sizes", tuple(tuple(size) for size in self.sizes))
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a whole number, 1 or more; got {self.steps!r}")
        for name in ("guidance_scale", "still_guidance_scale", "edit_guidance_scale"):
            value = getattr(self, name)
            optional = name != "guidance_scale"
            if not (optional and value is None) and not (is_number(value) and value >= 0):
                raise ValueError(f"{name} must be a number, 0 or more (1 = no guidance); got {value!r}")
        for name in ("fps", "timestep_shift"):
            value = getattr(self, name)
            if not (is_number(value) and value > 0):
                raise ValueError(f"{name} must be a number above 0; got {value!r}")


class KinemaPipeline:
    """Text (plus optional given frames) to video with one sampler for every task."""

    def __init__(self, transformer, vae, text_encoder, config: PipelineConfig = PipelineConfig()) -> None:
        self.transformer = transformer.eval()
        self.vae = vae.eval()
        self.text_encoder = text_encoder
        self.config = config

    # ------------------------------------------------------------------ loading and saving

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, text_encoder=None) -> KinemaPipeline:
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

    # ------------------------------------------------------------------ placement

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> KinemaPipeline:
        """Move the transformer and the VAE to `device` and/or cast them to `dtype` (diffusers' `pipe.to()`); returns self.

        `pipe.to("cuda", torch.bfloat16)` runs the sampler there; `pipe.to(torch.float16)` casts
        only. The text encoder stays where it was loaded (it is shared between pipelines and runs
        once per prompt); its states follow the transformer. Frames come back as numpy on the CPU.
        """
        if isinstance(device, torch.dtype):  # pipe.to(torch.float16), as in diffusers
            device, dtype = None, device
        if isinstance(device, str):
            device = resolve_device(device)  # "cuda" without a GPU: a ValueError that says so
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point torch dtype (torch.float32, torch.bfloat16, ...); "
                             f"got {dtype}")
        self.transformer.to(device=device, dtype=dtype)
        self.vae.to(device=device, dtype=dtype)
        return self

    @property
    def device(self) -> torch.device:
        """Where the transformer (and the sampling) runs."""
        return next(self.transformer.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The transformer's floating-point type; sampling runs in it."""
        return next(self.transformer.parameters()).dtype

    # ------------------------------------------------------------------ checks

    @property
    def limits(self) -> Limits:
        """Sizes, trained clip lengths, the longest job and the VAE's frames per latent, for request checks."""
        return Limits(self.config.sizes, self.config.frame_counts, self.config.max_frames,
                      self.vae.config.temporal_compression)

    def check_settings(self, steps: int, guidance_scale: float, num_videos: int) -> None:
        """Raise a ValueError naming the bad sampling setting and what is allowed."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"num_inference_steps must be at least 1; got {steps}")
        if not guidance_scale >= 0:
            raise ValueError(f"guidance_scale must be 0 or more (1 = no guidance); got {guidance_scale}")
        if isinstance(num_videos, bool) or not isinstance(num_videos, int) or num_videos < 1:
            raise ValueError(f"num_videos must be at least 1; got {num_videos}")

    def still_guidance(self, still_guidance_scale: float | None, guidance_scale: float | None) -> float:
        """The guidance of a sampled still: the argument, else the config's, else the video's guidance."""
        if still_guidance_scale is not None:
            scale = still_guidance_scale
        elif self.config.still_guidance_scale is not None:
            scale = self.config.still_guidance_scale
        else:
            scale = guidance_scale if guidance_scale is not None else self.config.guidance_scale
        if not scale >= 0:
            raise ValueError(f"still_guidance_scale must be 0 or more (1 = no guidance); got {scale}")
        return scale

    def guidance_for(self, request: TaskRequest, guidance_scale: float | None,
                     still_guidance_scale: float | None) -> tuple[float, float]:
        """(guidance of the job, guidance of a sampled still): the arguments, else the config's for the task.

        An edit takes the config's edit guidance and a one-frame text-to-video job the still guidance,
        unless guidance_scale is given.
        """
        still_scale = self.still_guidance(still_guidance_scale, guidance_scale)
        if guidance_scale is not None:
            return guidance_scale, still_scale
        if request.strength is not None and self.config.edit_guidance_scale is not None:
            return self.config.edit_guidance_scale, still_scale
        if request.plan.task == "text-to-video" and request.plan.timeline == 1:
            return still_scale, still_scale  # the request is a still
        return self.config.guidance_scale, still_scale

    def caption_for(self, prompt: str, expand: bool | Callable[[str], str]) -> str:
        """The text the model is conditioned on: the prompt, or its expansion (the world's, or a callable's)."""
        if expand is False or expand is None:
            return prompt
        if expand is True:
            try:
                from kinema.world.expansion import expand_prompt
            except ImportError as error:
                raise ImportError("expand=True needs kinema.world.expansion (the world's prompt expansion), which this "
                                  "installation lacks; pass expand=False or a callable prompt -> caption") from error
            return expand_prompt(prompt).caption
        if callable(expand):
            caption = expand(prompt)
            if not isinstance(caption, str) or not caption.strip():
                raise ValueError(f"the expand= rewriter must return a non-empty caption; got {caption!r} for {prompt!r}")
            return caption
        raise ValueError(f"expand must be False, True (the world's prompt expansion) or a callable prompt -> caption; "
                         f"got {expand!r}")

    # ------------------------------------------------------------------ generation

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        negative_prompt: str | list[str] | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        seed: int | None = None,
        num_videos: int = 1,
        sampler: str | None = None,
        callback: Callable[[int, int], None] | None = None,
        given_latents: torch.Tensor | None = None,
        given_mask: torch.Tensor | None = None,
        *,
        image: Any = None,
        last_image: Any = None,
        extend: Any = None,
        backward: bool = False,
        loop: bool = False,
        join: tuple[Any, Any] | None = None,
        video: Any = None,
        strength: float | None = None,
        edit_noise: str = "inverted",
        expand: bool | Callable[[str], str] = False,
        factorised: bool | None = None,
        still_guidance_scale: float | None = None,
        generator: torch.Generator | None = None,
        num_videos_per_prompt: int | None = None,
        output_type: str = "np",
    ) -> GenerationOutput:
        """Generate num_videos videos from consecutive seeds in one batched run; the task arguments pick the task.

        A list of prompts (with negative_prompt one string or a list as long) makes num_videos
        videos of each, prompt by prompt, in the same batch; seeds run on across the batch.

        - nothing: text to video; num_frames=1 is an image; num_frames beyond the trained clip
          lengths (up to config.max_frames) is a long video made by chained extension.
        - image= (path, PIL image or (H, W, 3) uint8) opens the video; last_image= ends it (the image
          held for one latent group, ~0.5 s); both may be given.
        - extend= (a clip or a path): num_frames frames after it, the first being the clip's last
          frame (its VAE round trip); backward=True: before it, the last being the clip's first.
        - loop=True (with or without image=): a clip whose last frame flows into its first.
        - join=(clip_a, clip_b): 2 + 4k frames from A's last frame to B's first.
        - video= and strength= in (0, 1]: SDEdit, the clip's latents carried to t = `strength` and
          sampled from there with this prompt; edit_noise="inverted" (default) gets there by running
          the model's flow backwards from the clip, which keeps where things are and how they move,
          "random" by mixing in fresh noise (plain SDEdit; strength 1 is then text to video).
        Inputs of another size are scaled to cover and centre-cropped (metadata "input_rules"); an
        open height/width follows the first input's aspect. expand=True applies the world's prompt
        expansion, a callable is an external rewriter (an LLM); the text used is metadata "caption".
        factorised (default: the model's config) makes text to video sample its first frame as an
        image and then animate it (`first_frame`). still_guidance_scale (default: the model's config)
        guides a sampled still: that first frame, and a one-frame request unless guidance_scale is
        given. callback(step, total) counts steps over the whole job.
        As in diffusers, generator= (its initial seed) may stand for seed= and num_videos_per_prompt= for num_videos=,
        and output_type="pil" gives each video as a list of PIL images, "pt" one float tensor (N, T, 3, H, W)
        in [0, 1] ("np", the default: uint8 arrays (N, T, H, W, 3))."""
        seed = seed_from(seed, generator)
        num_videos = videos_per_prompt(num_videos, num_videos_per_prompt)
        prompts = prompt_list(prompt)
        negatives = self.negatives_for(negative_prompt, len(prompts))
        captions = [self.caption_for(text, expand) for text in prompts]
        steps = num_inference_steps if num_inference_steps is not None else self.config.steps
        self.check_settings(steps, guidance_scale if guidance_scale is not None else self.config.guidance_scale,
                            num_videos)
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}; got {output_type!r}")
        if edit_noise not in EDIT_NOISES:
            raise ValueError(f"edit_noise must be one of {', '.join(EDIT_NOISES)}; got {edit_noise!r}")
        request = prepare_task(self.limits, num_frames=num_frames, height=height, width=width, image=image,
                               last_image=last_image, extend=extend, backward=backward, loop=loop, join=join,
                               video=video, strength=strength)
        scale, still_scale = self.guidance_for(request, guidance_scale, still_guidance_scale)
        low_level = self.low_level_given(request, given_latents, given_mask)
        seed = seed if seed is not None else random.randrange(2**31)
        sampler_name = sampler or self.config.sampler
        factorised = (self.config.factorised if factorised is None else factorised) and self.factorises(request, low_level)
        started = time.perf_counter()
        frames, latents = self.render(request, captions, negatives, steps, scale, seed, num_videos, sampler_name,
                                      callback, low_level, edit_noise, factorised, still_scale)
        shared = {"steps": steps, "guidance_scale": scale, "sampler": sampler_name, "fps": self.config.fps,
                  "seconds": round(time.perf_counter() - started, 3), **describe_task(request, frames)}
        if request.strength is not None:
            shared["edit_noise"] = edit_noise
        if factorised:
            shared["factorised"] = True
            shared["still_guidance_scale"] = still_scale
        which = [i // num_videos for i in range(len(prompts) * num_videos)]  # each video's prompt
        metadata = [{"model": self.config.name, "prompt": prompts[k], "caption": captions[k], "negative_prompt": negatives[k],
                     **shared, "seed": seed + i} for i, k in enumerate(which)]
        stitched = stitch(request, frames)
        return GenerationOutput(as_output(frames, output_type), latents, metadata, as_output(stitched, output_type))

    @staticmethod
    def negatives_for(negative_prompt: str | list[str] | None, count: int) -> list[str]:
        """One negative prompt per prompt: none (""), one for all, or a list as long as the prompts."""
        if negative_prompt is None:
            return [""] * count
        if isinstance(negative_prompt, str):
            return [negative_prompt] * count
        if not isinstance(negative_prompt, (list, tuple)) or len(negative_prompt) != count:
            raise ValueError(f"negative_prompt must be a string or a list of {count} (one per prompt); "
                             f"got {negative_prompt!r:.80}")
        if not all(isinstance(text, str) for text in negative_prompt):
            raise ValueError(f"every negative_prompt must be a string; got {negative_prompt!r:.80}")
        return list(negative_prompt)

    @staticmethod
    def low_level_given(request: TaskRequest, given_latents: torch.Tensor | None,
                        given_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor] | None:
        """given_latents/given_mask: the raw frame mask of one text-to-video window (the task arguments build their own)."""
        if given_latents is None and given_mask is None:
            return None
        if given_latents is None or given_mask is None:
            raise ValueError("given_latents and given_mask go together: latents (B, C, F, h, w) and a bool mask (B, F)")
        if request.plan.task != "text-to-video" or len(request.plan.windows) != 1:
            raise ValueError("given_latents/given_mask condition one text-to-video window; for the tasks use image=, "
                             "last_image=, extend=, loop=, join= or video= instead")
        return given_latents, given_mask

    @staticmethod
    def factorises(request: TaskRequest, low_level: tuple[torch.Tensor, torch.Tensor] | None) -> bool:
        """Whether a request's first window starts from nothing, so that its first frame can be sampled as an image."""
        plan = request.plan
        first = plan.windows[0]
        return plan.task == "text-to-video" and low_level is None and first.frames > 1 and not (first.head or first.tail)

    def render(self, request: TaskRequest, captions: list[str], negatives: list[str], steps: int, scale: float,
               seed: int, num_videos: int, sampler_name: str, callback: Callable[[int, int], None] | None,
               low_level: tuple[torch.Tensor, torch.Tensor] | None,
               edit_noise: str, factorised: bool, still_scale: float) -> tuple[np.ndarray, torch.Tensor]:
        """Run the plan's windows in order over one timeline; the output frames and every window's latents along time.

        The batch is num_videos videos per caption, caption by caption (negatives: one per caption);
        `scale` guides the windows, `still_scale` a factorised first frame."""
        from kinema.flow.paths import interpolate
        from kinema.tasks.conditioning import encode_frames, window_given

        plan, height, width = request.plan, request.height, request.width
        batch = len(captions) * num_videos
        timeline = np.zeros((batch, plan.timeline, height, width, 3), dtype=np.uint8)
        for name, start in plan.inputs:
            timeline[:, start : start + len(request.inputs[name])] = request.inputs[name]
        conditional = self.text_conditioning(captions, num_videos)
        unconditional = self.text_conditioning(negatives, num_videos)
        generators = [torch.Generator().manual_seed(seed + i) for i in range(batch)]  # one noise stream per video
        schedules = [self.schedule(steps, request.strength if window.edit else 1.0) for window in plan.windows]
        inverting = [window.edit and edit_noise == "inverted" for window in plan.windows]
        total = sum((1 + invert) * (len(times) - 1) for times, invert in zip(schedules, inverting))
        total += factorised * (len(schedules[0]) - 1)
        done, sampled = 0, []

        def progress_after(done: int) -> Callable | None:  # sampler callback -> callback(steps done in the job, total)
            return None if callback is None else lambda index, count, t, x: callback(done + index + 1, total)

        for window, times, invert in zip(plan.windows, schedules, inverting):
            shape = self.vae.latent_shape(window.frames, height, width)
            noise = torch.stack([torch.randn(shape, generator=generator) for generator in generators])
            carried = None
            if window.carry is not None:
                a, b = window.carried_latents(plan.windows[window.carry], plan.group)
                carried = sampled[window.carry][:, :, a:b]
            given_latents, given = low_level or window_given(self.vae, window, timeline, shape, plan.group, carried)
            if factorised and not sampled:
                given_latents, given = self.first_frame(shape, seed, batch, times, conditional, unconditional,
                                                        still_scale, sampler_name, progress_after(done))
                done += len(times) - 1
            if window.edit:  # SDEdit: start from the clip's latents at t = strength
                clean = encode_frames(self.vae, timeline[:, window.start : window.start + window.frames])
                if invert:
                    noise = self.edit_start(clean, times, noise, progress_after(done))
                    done += len(times) - 1
                else:
                    noise = interpolate(clean, noise.to(clean), float(times[0]))
            latents = self.sample_window(noise, times, conditional, unconditional, scale, sampler_name, given_latents,
                                         given, progress_after(done))
            done += len(times) - 1
            self.decode_into(latents, timeline, window)
            sampled.append(latents)
        return timeline[:, plan.output[0] : plan.output[1]], torch.cat(sampled, dim=2)

    def first_frame(self, shape: tuple[int, ...], seed: int, num_videos: int, times: torch.Tensor, conditional: dict,
                    unconditional: dict, scale: float, sampler_name: str,
                    progress: Callable | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Factorised text to video: (given latents, mask) holding a first latent frame sampled alone, as an image.

        Which way an object goes is decided in the first sampling steps, where text to video must
        also decide where the object is; image to video, given where it is, reads the direction
        word better (docs/model-card.md). So the first frame is sampled as a one-frame video (the
        model is trained on images too) with the noise that num_frames=1 draws for the same seed,
        so it is the image that request makes, and the window is then sampled as image to video
        from it. The causal VAE encodes a first frame on its own, so this latent is what image to
        video would be given for that image.
        """
        image_shape = (shape[0], 1, *shape[2:])
        noise = torch.stack([torch.randn(image_shape, generator=torch.Generator().manual_seed(seed + i))
                             for i in range(num_videos)])
        image = self.sample_window(noise, times, conditional, unconditional, scale, sampler_name, None, None, progress)
        given_latents = image.new_zeros((num_videos, *shape))
        given_latents[:, :, :1] = image
        given = torch.zeros(num_videos, shape[1], dtype=torch.bool)
        given[:, 0] = True
        return given_latents, given

    def edit_start(self, clean: torch.Tensor, times: torch.Tensor, noise: torch.Tensor,
                   progress: Callable | None) -> torch.Tensor:
        """An inverted edit's start: the clip's latents carried up to t = times[0] along the model's own flow.

        Plain SDEdit mixes the clip with fresh noise; at a strength that lets the prompt change a
        colour, that noise also scrambles where the object is and which way it goes. Running the
        unconditional flow backwards from the clip (`invert_euler`) finds instead the noise that
        leads back to it, so sampling down with the new prompt keeps the layout and motion and
        changes what the prompt changes. EDIT_FRESH_NOISE of the seed's noise is mixed into the
        implied noise so that variations differ. On the edit eval (50 cases, shipped model) edits
        kept the direction in 72% of cases against 56% for plain SDEdit (docs/model-card.md).
        """
        from kinema.flow.guidance import classifier_free_guidance
        from kinema.flow.paths import interpolate
        from kinema.flow.samplers import invert_euler

        clean, noise = clean.to(self.device, self.dtype), noise.to(self.device, self.dtype)
        strength = float(times[0])
        unconditional = self.text_conditioning("", clean.shape[0])
        nothing_given = torch.zeros(clean.shape[0], clean.shape[2], dtype=torch.bool, device=self.device)
        velocity = classifier_free_guidance(self.model_velocity(nothing_given), unconditional, unconditional, 1.0)
        inverted = invert_euler(velocity, clean, times, callback=progress)
        implied = (inverted - (1 - strength) * clean) / strength  # the noise whose path passes through the clip
        mixed = (1 - EDIT_FRESH_NOISE**2) ** 0.5 * implied + EDIT_FRESH_NOISE * noise
        return interpolate(clean, mixed, strength)

    def schedule(self, steps: int, strength: float = 1.0) -> torch.Tensor:
        """The model's sampling times from 1 to 0, or for an edit the part below `strength`, started at it."""
        from kinema.flow.schedules import shifted_schedule

        times = shifted_schedule(steps, self.config.timestep_shift)
        if strength >= 1.0:
            return times
        return torch.cat([times.new_tensor([strength]), times[times < strength]])

    def sample_window(self, start: torch.Tensor, times: torch.Tensor, conditional: dict, unconditional: dict,
                      scale: float, sampler_name: str, given_latents: torch.Tensor | None, given: torch.Tensor | None,
                      progress: Callable | None) -> torch.Tensor:
        """The one sampling loop of every task: guided, frame-conditioned velocity integrated from `start` along `times`."""
        from kinema.flow.guidance import (
            apply_given,
            classifier_free_guidance,
            frame_conditioning,
        )
        from kinema.flow.samplers import get_sampler

        sample = get_sampler(sampler_name)
        start = start.to(self.device, self.dtype)
        mask = given if given is not None else torch.zeros(start.shape[0], start.shape[2], dtype=torch.bool)
        mask = mask.to(self.device)
        velocity = classifier_free_guidance(self.model_velocity(mask), conditional, unconditional, scale)
        if given_latents is not None:
            velocity = frame_conditioning(velocity, given_latents, mask)
            start = apply_given(start, given_latents, mask)  # given frames start (and stay) clean
        return sample(velocity, start, times, callback=progress)

    def text_conditioning(self, texts: str | list[str], repeat: int) -> dict[str, torch.Tensor]:
        """Text states of each prompt, encoded once per request and repeated `repeat` times in a row."""
        texts = [texts] if isinstance(texts, str) else texts
        states = self.text_encoder.encode(texts, max_length=self.config.max_text_tokens).to(self.device, self.dtype)
        return {
            "text_states": states.states.repeat_interleave(repeat, dim=0),
            "text_mask": states.mask.repeat_interleave(repeat, dim=0),
            "pooled_text": states.pooled.repeat_interleave(repeat, dim=0),
        }

    def model_velocity(self, given: torch.Tensor) -> Callable:
        """model_fn(x, t, conditioning) -> velocity, converting a clean-sample prediction when the model makes one."""
        from kinema.flow.paths import velocity_from_sample

        prediction = self.transformer.config.prediction

        def model_fn(x: torch.Tensor, t: torch.Tensor, conditioning: dict[str, torch.Tensor]) -> torch.Tensor:
            t = torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(x.shape[0])
            mask = given.repeat(x.shape[0] // given.shape[0], 1)
            out = self.transformer(x, t, conditioning["text_states"], conditioning["text_mask"], conditioning["pooled_text"], mask)
            return velocity_from_sample(x, out, t) if prediction == "sample" else out

        return model_fn

    # ------------------------------------------------------------------ decoding

    def decode_into(self, latents: torch.Tensor, timeline: np.ndarray, window: Window) -> None:
        """Decode a window's latents, anchor them to the known frames at its seams, and write the frames it keeps.

        Anchoring (`kinema.tasks.anchors`) spreads the VAE's error at the window's head and tail
        over its new frames, so the kept frames meet the timeline's known ones without a jump.
        """
        from kinema.tasks.anchors import anchored, window_anchors

        anchors = window_anchors(window, self.vae.config.temporal_compression)
        known = [timeline[:, index].copy() for _, index in anchors]
        positions = [position for position, _ in anchors]
        pixels = anchored(self.decode_frames(latents, max([window.keep[1], *(p + 1 for p in positions)])), known, positions)
        first, last = window.keep
        timeline[:, window.start + first : window.start + last] = pixels[:, first:last]

    def decode_frames(self, latents: torch.Tensor, frames: int) -> np.ndarray:
        """The first `frames` uint8 frames (N, frames, H, W, 3) of latents (N, C, F, h, w).

        Chunks of DECODE_CHUNK latents go through `VideoVAE.decode_stream` (one CausalCache, equal
        to decoding the whole), so memory is bounded by a chunk, not the window; decoding stops
        once the last frame asked for is out (the decoder is causal: later latents cannot change it).
        """
        from kinema.data.world_stream import to_pixels

        chunks, made = [], 0
        for chunk in self.vae.decode_stream(latents, chunk_latents=DECODE_CHUNK):
            chunks.append(to_pixels(chunk))  # (N, t, H, W, 3)
            made += chunks[-1].shape[1]
            if made >= frames:
                break
        return np.concatenate(chunks, axis=1)[:, :frames]

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """uint8 frames (N, T, H, W, 3) of latents (N, C, F, h, w), streamed through the VAE in chunks."""
        return self.decode_frames(latents, 1 + (latents.shape[2] - 1) * self.vae.config.temporal_compression)
