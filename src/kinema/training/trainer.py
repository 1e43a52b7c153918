"""Training the diffusion transformer with rectified flow: one loop for every clip source, 1 or N processes.

Each step: a bucketed batch of clips and captions, frozen VAE latents and text states (or their
precomputed cache), random caption dropout (for guidance) and frame-conditioning masks, noise and
logit-normal timesteps, the flow loss on the frames that are not given. Every random draw of step
`s` comes from a generator seeded by (seed, s) over the global batch, so a resumed run and a
`torchrun` run (each rank takes its slice) see exactly what one uninterrupted process would.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from kinema.config import TRANSFORMER_PRESETS, config_from_dict
from kinema.data.world_stream import parse_buckets, to_model_range
from kinema.training.checkpoint import latest_checkpoint, load_checkpoint, prune_checkpoints, save_checkpoint
from kinema.training.masks import parse_mask_mix, sample_given_masks
from kinema.training.run import RunLogger, check_run_dir, check_schedule, learning_rate

PREVIEW_PROMPTS = (
    "a red ball moving right on a plain gray background",
    "a large blue square bouncing on grass",
    "a yellow star spinning at night",
    "a small green triangle moving up under a blue sky",
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a transformer training run."""

    transformer: str = "world-s"  # a preset name
    vae: str = "kinema-vae"  # a shipped VAE name or a model folder
    text_encoder: str = "all-MiniLM-L6-v2"
    data: str = "world"  # "world" or a folder of videos with captions.jsonl / captions.csv
    buckets: str = "17x64x64:16,17x48x80:16,17x80x48:16,1x64x64:32:0.3,33x64x64:8:0.3"
    steps: int = 20_000
    lr: float = 3e-4
    warmup_steps: int = 500
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    masks: str = "none:0.5,first:0.2,first_k:0.1,last_k:0.1,both:0.1"
    timestep_shift: float = 3.0  # towards noise: an x0 error at time t costs 1/t^2 as a velocity (benchmarks/overfit.py)
    motion_weight: float = 0.0  # weight of the error in frame-to-frame changes, next to the plain flow loss
    motion_focus: float = 0.0  # share of world steps from straight-line scenes (kinema.data.sources)
    event_focus: float = 0.0  # share of world steps from scenes rich in bounces and walls (kinema.data.sources)
    object_weight: float = 0.0  # extra loss weight of latent cells an object touches (world data only)
    seed: int = 0
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    log_every: int = 20
    preview_every: int = 1000
    preview_steps: int = 10
    cache: str = ""  # a folder written by `kinema data encode` (data, seed and buckets must match); "" = encode live

    def __post_init__(self) -> None:
        if self.transformer not in TRANSFORMER_PRESETS:
            raise ValueError(f"transformer must be one of {sorted(TRANSFORMER_PRESETS)}; got {self.transformer!r}")
        check_schedule(self, ("checkpoint_every", "keep_checkpoints", "log_every", "preview_every", "preview_steps"))
        if not 0.0 <= self.caption_dropout < 1.0 or not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("caption_dropout and ema_decay must be in [0, 1)")
        if not self.motion_weight >= 0.0:
            raise ValueError(f"motion_weight must be 0 or more; got {self.motion_weight}")
        for name in ("motion_focus", "event_focus"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} is a share of steps, in [0, 1]; got {share}")
            if share and (self.data != "world" or self.cache):
                raise ValueError(f"{name} draws fresh scenes of the procedural world: it needs --data world and no --cache")
        if self.motion_focus + self.event_focus > 1.0:
            raise ValueError(f"motion_focus and event_focus share the steps: together at most 1; got "
                             f"{self.motion_focus} + {self.event_focus}")
        if not self.object_weight >= 0.0:
            raise ValueError(f"object_weight must be 0 or more; got {self.object_weight}")
        if self.object_weight and (self.data != "world" or self.cache):
            raise ValueError("object_weight needs to know where the objects are: it needs --data world and no --cache")
        parse_buckets(self.buckets)
        parse_mask_mix(self.masks)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator for every random draw of one step (noise, timesteps, masks, dropout)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) % (2**63))


def process_group() -> tuple[int, int]:
    """(rank, world size): joins the gloo/NCCL group when launched by torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if world > 1 else (0, 1)


def make_source(config: TrainConfig):
    """The clip source named by config.data."""
    from kinema.data.sources import VideoFolder, WorldSource

    if config.data == "world":
        return WorldSource(config.seed, motion_focus=config.motion_focus, event_focus=config.event_focus)
    return VideoFolder(config.data, config.seed)


def vae_folder(name: str) -> Path:
    """The model folder of --vae: a folder path, or the name of a VAE shipped with Kinema."""
    from kinema.pretrained import PRETRAINED_DIR

    return Path(name) if Path(name).is_dir() else PRETRAINED_DIR / name


def load_frozen(config: TrainConfig):
    """The frozen VAE and text encoder."""
    from kinema.models.text import load_text_encoder
    from kinema.models.vae import load_vae

    vae = load_vae(vae_folder(config.vae))
    for parameter in vae.parameters():
        parameter.requires_grad_(False)
    return vae, load_text_encoder(config.text_encoder)


def open_cache(config: TrainConfig):
    """The latent cache config.cache, refused unless it holds this run's batches for its VAE and text encoder."""
    from kinema.config import VAEConfig, read_config
    from kinema.data.cache import LatentCache

    cache = LatentCache(config.cache)
    cache.check_matches(config.data, config.seed, config.buckets)
    cached_vae = cache.index["vae"]["config"]
    vae_config = read_config(VAEConfig, vae_folder(config.vae) / "config.json")
    if cached_vae is None or config_from_dict(VAEConfig, cached_vae, str(cache.folder)) != vae_config:
        raise ValueError(f"cache {cache.folder} was encoded with another VAE ({cache.index['vae']['name'] or 'unnamed'}) than "
                         f"vae {config.vae!r}; pass the cache's VAE or encode a new cache with this one")
    if cache.index["text_encoder"]["name"] != text_encoder_name(config.text_encoder):
        raise ValueError(f"cache {cache.folder} was encoded with text encoder {cache.index['text_encoder']['name']!r}, "
                         f"not text_encoder {config.text_encoder!r}; pass that encoder or encode a new cache")
    return cache


def text_encoder_name(name_or_path: str) -> str:
    """The name a loaded TextEncoder reports: the default's name, else its folder's name."""
    from kinema.models.text import DEFAULT_TEXT_ENCODER, resolve_text_encoder

    folder = resolve_text_encoder(name_or_path)
    try:
        return DEFAULT_TEXT_ENCODER if folder == resolve_text_encoder(DEFAULT_TEXT_ENCODER) else folder.name
    except ImportError:  # the default encoder's package is absent, so this folder is not it
        return folder.name


def caption_drops(count: int, generator: torch.Generator, dropout: float) -> torch.Tensor:
    """Which captions of a batch become "" (for guidance): one draw per sample from the step generator."""
    return torch.rand(count, generator=generator) < dropout


@torch.no_grad()
def encode_batch(vae, text_encoder, clips, captions: list[str], generator: torch.Generator, dropout: float,
                 share: slice = slice(None)):
    """Latents and text states of this process's share of a batch, some captions dropped to "" for guidance.

    The dropout is drawn for the whole global batch, so every process makes the same draws; each
    encodes only its own rows (the VAE is most of a step's data cost).
    """
    dropped = caption_drops(len(captions), generator, dropout)[share].tolist()
    latents = vae.encode(to_model_range(clips[share]))
    return latents, text_encoder.encode(["" if drop else text for text, drop in zip(captions[share], dropped)])


def cached_batch(cache, step: int, generator: torch.Generator, dropout: float):
    """encode_batch's result read from a latent cache: dropped rows take the cached empty prompt's states."""
    latents, text, _ = cache.batch(step)
    dropped = caption_drops(len(text), generator, dropout)
    both = text.cat(cache.empty_text())  # rows 0..B-1 the captions, row B the empty prompt, padded alike
    rows = torch.where(dropped, len(text), torch.arange(len(text)))
    length = int(both.mask[rows].sum(dim=1).max())  # the longest kept row, as a live encode would pad to
    return latents, type(text)(both.states[rows, :length], both.mask[rows, :length], both.pooled[rows])


def flow_training_loss(model, latents, noise, t, text, given, motion_weight: float = 0.0,
                       weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over samples of each sample's velocity MSE on its frames that are not given.

    `weights` (B, 1, F, h, w), e.g. from `object_weights`, make it a weighted mean over latent cells.
    With `motion_weight`, plus that weight times the MSE of the error's change from one generated
    latent frame to the next. The plain MSE is dominated by what stays the same in every frame
    (background, the object's look); this term counts only what changes, i.e. the motion.
    """
    from kinema.flow.paths import interpolate, velocity_from_sample, velocity_target

    keep = given[:, None, :, None, None]  # (B, 1, F, 1, 1)
    x_t = torch.where(keep, latents, interpolate(latents, noise, t))  # given frames enter clean
    prediction = model(x_t, t, text.states, text.mask, text.pooled, given)
    core = model.module if hasattr(model, "module") else model
    velocity = velocity_from_sample(x_t, prediction, t) if core.config.prediction == "sample" else prediction
    error = (velocity - velocity_target(latents, noise)) * (~keep)
    loss = masked_mean(error.pow(2), ~keep, weights)
    if motion_weight > 0 and latents.shape[2] > 1:
        both = ~keep[:, :, 1:] & ~keep[:, :, :-1]  # pairs of neighbouring generated frames
        change = (error[:, :, 1:] - error[:, :, :-1]) * both
        loss = loss + motion_weight * masked_mean(change.pow(2), both)
    return loss


def masked_mean(values: torch.Tensor, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over samples of each sample's mean of `values` (B, C, F, H, W) on the frames marked in `frames`
    (B, 1, F, 1, 1); with `weights` (B, 1, F, H, W), a weighted mean (values outside `frames` must be 0).
    """
    if weights is None:
        weights = values.new_ones(1, 1, 1, *values.shape[3:])
    count = (weights * frames).sum(dim=(1, 2, 3, 4)) * values.shape[1]
    return ((values * weights).sum(dim=(1, 2, 3, 4)) / count.clamp_min(1)).mean()


def object_weights(coverage, temporal: int, spatial: int, weight: float) -> torch.Tensor:
    """Loss weights (B, 1, F, h, w) of latent cells: 1 + weight times the most any of its pixels is covered by an object.

    `coverage` is float (B, T, H, W) from WorldSource.object_coverage; latent frame 0 holds frame 0
    and latent frame k the `temporal` frames before and at frame k * temporal, as the causal VAE
    groups them. An object is a few percent of a frame, so in the plain mean its colour, shape and
    place weigh little next to the background the model already gets right.
    """
    cover = torch.as_tensor(coverage)[:, None]  # (B, 1, T, H, W)
    b, _, frames, height, width = cover.shape
    rest = cover[:, :, 1:].reshape(b, 1, (frames - 1) // temporal, temporal, height, width).amax(dim=3)
    cells = torch.nn.functional.max_pool3d(torch.cat([cover[:, :, :1], rest], dim=2), (1, spatial, spatial))
    return 1.0 + weight * cells


def step_noise(shape: tuple[int, ...], generator: torch.Generator, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise and timesteps for the whole global batch of latents of `shape` (each process then takes its slice)."""
    from kinema.flow.paths import sample_timesteps

    noise = torch.randn(shape, generator=generator)
    return noise, sample_timesteps(shape[0], generator=generator, shift=shift)


def text_slice(text, share: slice):
    """This process's rows of a batch of text states."""
    return type(text)(states=text.states[share], mask=text.mask[share], pooled=text.pooled[share])


def process_share(batch: int, rank: int, world: int) -> slice:
    """This process's rows of a global batch (an even split; buckets are checked to divide)."""
    return slice(rank * batch // world, (rank + 1) * batch // world)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for ema_param, param in zip(ema.parameters(), model.parameters()):
        ema_param.lerp_(param.detach(), 1.0 - decay)


def train(config: TrainConfig, run_dir: str | Path, progress: bool = True, init: str | Path | None = None) -> dict:
    """Train (or resume) in run_dir with this process's share of every global batch; returns the last metrics.

    `init`: a model folder (`export_pipeline`, or its transformer/) whose weights a new run starts
    from, model and EMA alike (e.g. to train the shipped model further); ignored on resume.
    """
    from kinema.models.transformer import DiffusionTransformer

    run_dir = Path(run_dir)
    rank, world = process_group()
    cache = open_cache(config) if config.cache else None  # before the run folder exists: a bad cache leaves none
    check_run_dir(config, run_dir, rank)
    buckets = parse_buckets(config.buckets)
    for bucket in buckets:
        if bucket.batch_size % world:
            raise ValueError(f"bucket batch {bucket.batch_size} ({bucket.frames}x{bucket.height}x{bucket.width}) must divide by {world} processes")
    torch.manual_seed(config.seed)
    model = DiffusionTransformer(TRANSFORMER_PRESETS[config.transformer])
    if init is not None and latest_checkpoint(run_dir / "checkpoints") is None:
        load_initial_weights(model, init, config.transformer)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=config.weight_decay)
    start = resume(run_dir, model, ema, optimizer)
    trained = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    vae, text_encoder = load_frozen(config) if cache is None else (None, None)  # with a cache, loaded for previews only
    source = make_source(config) if cache is None else None
    mask_mix = parse_mask_mix(config.masks)
    logger = RunLogger(run_dir, enabled=rank == 0, total=config.steps, start=start, progress=progress)
    metrics: dict = {}
    for step in range(start, config.steps):
        generator = step_generator(config.seed, step)
        if cache is None:
            clips, captions = source.batch(step, buckets)
            batch, share = len(captions), process_share(len(captions), rank, world)
            latents, text = encode_batch(vae, text_encoder, clips, captions, generator, config.caption_dropout, share)
        else:
            latents, text = cached_batch(cache, step, generator, config.caption_dropout)
            batch, share = latents.shape[0], process_share(latents.shape[0], rank, world)
            latents, text = latents[share], text_slice(text, share)
        global_shape = (batch, *latents.shape[1:])
        given = sample_given_masks(batch, latents.shape[2], mask_mix, generator)[share]
        weights = None
        if config.object_weight:
            weights = object_weights(source.object_coverage(step, buckets)[share], vae.config.temporal_compression,
                                     vae.config.spatial_compression, config.object_weight)
        noise, t = step_noise(global_shape, generator, config.timestep_shift)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        loss = flow_training_loss(trained, latents, noise[share], t[share], text, given, config.motion_weight, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        update_ema(ema, model, min(config.ema_decay, (1 + step) / (10 + step)))
        metrics = logger.step(step + 1, loss.item(), float(grad_norm), learning_rate(config, step), config.log_every)
        if rank == 0 and (step + 1) % config.preview_every == 0:
            path = run_dir / "previews" / f"step_{step + 1:07d}.png"
            vae, text_encoder = (vae, text_encoder) if vae is not None else load_frozen(config)
            logger.log(step + 1, preview(ema, vae, text_encoder, path, config.preview_steps, buckets))
        if rank == 0 and ((step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps):
            save_checkpoint(run_dir / "checkpoints", model, optimizer, step + 1, {"train_config": asdict(config), "transformer_config": asdict(model.config)},
                            {f"ema.{k}": v for k, v in ema.state_dict().items()})
            prune_checkpoints(run_dir / "checkpoints", config.keep_checkpoints)
    logger.close()
    return metrics


# Parts a model folder may lack and still initialise the preset: each starts closed (zero output),
# so the model starts exactly as the folder's. Config field -> parameter name prefix.
ADDABLE_PARTS = {"text_pool_heads": "text_pool.", "text_refiner_depth": "text_refiner."}


def load_initial_weights(model, init: str | Path, preset: str) -> None:
    """Copy a model folder's transformer weights into `model`; its architecture must be the preset's.

    A folder saved without some of the preset's `ADDABLE_PARTS` (text-pooling queries, text refiner)
    is accepted: those parts start closed, so the model starts exactly as the folder's.
    """
    from dataclasses import replace

    from kinema.models.transformer import load_transformer

    folder = Path(init) / "transformer" if (Path(init) / "transformer").is_dir() else Path(init)
    initial = load_transformer(folder)
    added = {field: prefix for field, prefix in ADDABLE_PARTS.items() if getattr(initial.config, field) == 0}
    if replace(initial.config, **{field: getattr(model.config, field) for field in added}) != model.config:
        raise ValueError(f"--init {init}: its transformer is not the {preset!r} preset; pass --transformer to match "
                         f"its architecture, or another model folder")
    missing, unexpected = model.load_state_dict(initial.state_dict(), strict=False)
    if unexpected or any(not name.startswith(tuple(added.values())) for name in missing):
        raise ValueError(f"--init {init}: weights do not fit the {preset!r} preset (missing {missing}, unexpected {unexpected})")


def resume(run_dir: Path, model, ema, optimizer) -> int:
    """Restore the newest checkpoint (model, EMA, optimiser); return the number of steps done."""
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    if checkpoint is None:
        return 0
    meta, extra = load_checkpoint(checkpoint, model, optimizer)
    ema.load_state_dict({k[len("ema."):]: v for k, v in extra.items() if k.startswith("ema.")})
    return meta["step"]


@torch.no_grad()
def preview(ema, vae, text_encoder, path: Path, steps: int, buckets) -> dict:
    """Sample the preview prompts with the EMA weights at the first video bucket's shape, score them with the checker."""
    from kinema.evaluation.checker import check
    from kinema.media import contact_sheet, write_image
    from kinema.pipeline import KinemaPipeline, PipelineConfig

    shape = next((b for b in buckets if b.frames > 1), buckets[0])
    config = PipelineConfig(sizes=((shape.height, shape.width),), frame_counts=(shape.frames,), steps=steps)
    pipe = KinemaPipeline(ema, vae, text_encoder, config)
    clips, labels, right, judged = [], [], 0, 0
    for index, prompt in enumerate(PREVIEW_PROMPTS):
        frames = pipe(prompt, num_frames=shape.frames, height=shape.height, width=shape.width, seed=index).frames[0]
        report = check(frames, prompt)
        right += sum(v.ok for v in report.verdicts)
        judged += len(report.verdicts)
        clips.append(frames)
        labels.append(f"{prompt} [{sum(v.ok for v in report.verdicts)}/{len(report.verdicts)}]")
    ema.train()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(contact_sheet(clips, labels=labels, frames_per_clip=6, scale=2), path)
    return {"preview_checker_accuracy": right / max(1, judged)}


def export_pipeline(run_dir: str | Path, folder: str | Path) -> Path:
    """Ship the newest checkpoint's EMA weights as a model folder for KinemaPipeline.from_pretrained.

    The sizes and frame counts the model supports are those it was trained on (its buckets), and it
    samples with the timestep shift it was trained with. A shipped VAE is referenced by name; any
    other VAE folder is copied into the model folder.
    """
    from kinema.config import TransformerConfig
    from kinema.models.transformer import DiffusionTransformer
    from kinema.pipeline import KinemaPipeline, PipelineConfig
    from kinema.pretrained import PRETRAINED_DIR

    run_dir = Path(run_dir)
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    if checkpoint is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir / 'checkpoints'}; train first")
    meta = json.loads((checkpoint / "state.json").read_text())
    config = config_from_dict(TrainConfig, meta["train_config"], str(checkpoint / "state.json"))
    model = DiffusionTransformer(config_from_dict(TransformerConfig, meta["transformer_config"], str(checkpoint / "state.json")))
    _, extra = load_checkpoint(checkpoint, model, None)
    model.load_state_dict({k[len("ema."):]: v for k, v in extra.items() if k.startswith("ema.")})
    vae, encoder = load_frozen(config)
    buckets = parse_buckets(config.buckets)
    shipped_vae = not Path(config.vae).is_dir() and (PRETRAINED_DIR / config.vae).is_dir()
    pipeline_config = PipelineConfig(
        name=Path(folder).name,
        vae=config.vae if shipped_vae else "vae",
        text_encoder=config.text_encoder,
        sizes=tuple(sorted({(b.height, b.width) for b in buckets})),
        frame_counts=tuple(sorted({b.frames for b in buckets})),
        timestep_shift=config.timestep_shift,
    )
    return KinemaPipeline(model, vae, encoder, pipeline_config).save_pretrained(folder, ship_vae=not shipped_vae)
