"""Training the video VAE on the world stream: reconstruction + KL (+ an adversarial term), resumable, logged, previewed.

Run folder layout: checkpoints/step_*/ (resume-complete), previews/step_*.png (originals over
reconstructions), tb/ (TensorBoard scalars), train_config.json. Killing the process and starting
it again with the same folder continues from the last checkpoint with the same data order.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kinema.config import VAE_PRESETS, VAEConfig, config_from_dict
from kinema.data.world_stream import FPS, parse_buckets, to_model_range, to_pixels, world_batch
from kinema.evaluation.metrics import psnr
from kinema.models.vae import VideoVAE, add_refiner, grow_decoder, load_vae, save_vae
from kinema.training.adversarial import (
    PatchDiscriminator,
    discriminator_loss,
    discriminator_state,
    generator_loss,
    load_discriminator_state,
)
from kinema.training.checkpoint import latest_checkpoint, load_checkpoint, prune_checkpoints, save_checkpoint
from kinema.training.run import RunLogger, check_run_dir, check_schedule, learning_rate
from kinema.world.render import object_coverage

PREVIEW_SEED = 987_654_321  # a seed the training stream never draws from


@dataclass(frozen=True)
class VAETrainConfig:
    """Everything that decides a VAE training run."""

    preset: str = "world-8x"
    steps: int = 20_000
    buckets: str = "17x64x64:4,17x48x80:4,17x80x48:4,1x64x64:16:0.5,33x32x32:4:0.5"
    lr: float = 1e-3
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    kl_weight: float = 1e-4
    edge_weight: float = 0.5
    temporal_weight: float = 0.0
    object_weight: float = 0.0  # extra loss weight of the pixels at and around the objects
    gan_weight: float = 0.0  # weight of the adversarial term (kinema.training.adversarial); 0: none
    gan_start: int = 200  # the decoder feels the discriminator from this step (the discriminator learns from step 0)
    grad_clip: float = 1.0
    freeze_encoder: bool = False
    decoder_blocks: int = 0  # > 0: grow the --init model's decoder to this many blocks per level
    refine_channels: int = 0  # > 0: add a full-resolution refiner of this width to the --init model's decoder
    seed: int = 0
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    preview_every: int = 500
    log_every: int = 20

    def __post_init__(self) -> None:
        if self.preset not in VAE_PRESETS:
            raise ValueError(f"preset must be one of {sorted(VAE_PRESETS)}; got {self.preset!r}")
        check_schedule(self, ("checkpoint_every", "keep_checkpoints", "preview_every", "log_every"))
        if self.refine_channels < 0:
            raise ValueError(f"refine_channels must be 0 (keep the decoder) or the refiner's width; got {self.refine_channels}")
        if self.decoder_blocks < 0:
            raise ValueError(f"decoder_blocks must be 0 (keep the decoder) or the number of blocks per level; got {self.decoder_blocks}")
        if not self.gan_weight >= 0.0 or self.gan_start < 0:
            raise ValueError(f"gan_weight and gan_start must be 0 or more; got {self.gan_weight} and {self.gan_start}")
        if not self.object_weight >= 0.0:
            raise ValueError(f"object_weight must be 0 or more; got {self.object_weight}")
        parse_buckets(self.buckets)


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor, edge_weight: float,
                        temporal_weight: float = 0.0, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 + L2 on pixels, L1 on spatial gradients (sharp edges without a perceptual network) and on
    frame-to-frame differences (no flicker where one latent group hands over to the next); and the MSE.

    `weights` (B, 1, T, H, W), e.g. from `object_pixel_weights`, make every term a weighted mean
    (a difference between two pixels weighs as the heavier of them); the MSE returned stays plain.
    """
    mse = F.mse_loss(recon, target)
    error = recon - target
    loss = weighted_mean(error.abs() + error.pow(2), weights)
    for dim, weight in ((3, edge_weight), (4, edge_weight), (2, temporal_weight)):
        if weight and recon.shape[dim] > 1:
            pair = None if weights is None else torch.maximum(weights.narrow(dim, 1, weights.shape[dim] - 1),
                                                              weights.narrow(dim, 0, weights.shape[dim] - 1))
            loss = loss + weight * weighted_mean((torch.diff(recon, dim=dim) - torch.diff(target, dim=dim)).abs(), pair)
    return loss, mse


def weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """The mean of `values`, weighted by `weights` broadcast over them (the plain mean without)."""
    if weights is None:
        return values.mean()
    weights = weights.expand_as(values)
    return (values * weights).sum() / weights.sum()


def object_pixel_weights(specs: list, num_frames: int, height: int, width: int, weight: float) -> torch.Tensor:
    """Loss weights (B, 1, T, H, W): 1 + weight on pixels an object covers and the ring just outside it.

    An object is a few percent of a frame, so in a plain mean its outline (the corners and points
    that tell a star from a circle) weighs little next to the background; the ring counts because
    the background next to an edge says where the edge is as much as the object's own pixels do.
    """
    cover = np.stack([object_coverage(spec, num_frames, height, width, FPS) for spec in specs])
    near = F.max_pool3d(torch.from_numpy(cover)[:, None], (1, 3, 3), stride=1, padding=(0, 1, 1))
    return 1.0 + weight * near


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean KL of the diagonal Gaussian posterior from a standard normal, per latent element."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()


def train_vae(config: VAETrainConfig, run_dir: str | Path, init: str | Path | None = None, progress: bool = True) -> dict:
    """Train (or resume) in run_dir; returns the last logged metrics."""
    run_dir = Path(run_dir)
    check_run_dir(config, run_dir)
    torch.manual_seed(config.seed)
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    if init is None and checkpoint is None:
        for flag, value in (("freeze_encoder", config.freeze_encoder), ("decoder_blocks", config.decoder_blocks),
                            ("refine_channels", config.refine_channels)):
            if value:  # each changes a trained VAE: the latent space must already mean something
                raise ValueError(f"--{flag.replace('_', '-')} works on a trained VAE, so it needs one to start from: "
                                 "pass --init MODEL_DIR (init= in Python)")
    vae = load_vae(init).train() if init else VideoVAE(VAE_PRESETS[config.preset])
    if config.decoder_blocks:
        vae = grow_decoder(vae, config.decoder_blocks)
    if config.refine_channels:
        vae = add_refiner(vae, config.refine_channels)
    if config.freeze_encoder:  # decoder-only: the latent space, and any transformer trained in it, stay valid
        vae.encoder.requires_grad_(False)
    trained = [parameter for parameter in vae.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=config.lr, betas=(0.9, 0.99), weight_decay=0.0)
    discriminator = PatchDiscriminator() if config.gan_weight else None
    d_optimizer = torch.optim.AdamW(discriminator.parameters(), lr=config.lr, betas=(0.5, 0.9)) if discriminator else None
    start = 0
    if checkpoint is not None:
        meta, extra = load_checkpoint(checkpoint, vae, optimizer)
        start = meta["step"]  # steps done
        if discriminator is not None:
            load_discriminator_state(discriminator, d_optimizer, extra, meta["discriminator_optimizer"])
    buckets = parse_buckets(config.buckets)
    logger = RunLogger(run_dir, enabled=True, total=config.steps, start=start, progress=progress, prefix="vae")
    metrics: dict = {}
    window: list[tuple[float, float, float]] = []  # MSE, KL and discriminator loss of each step since the last log
    for step in range(start, config.steps):
        clips, specs = world_batch(config.seed, step, buckets)
        video = to_model_range(clips)
        weights = object_pixel_weights(specs, *clips.shape[1:4], config.object_weight) if config.object_weight else None
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        with torch.set_grad_enabled(not config.freeze_encoder):
            mean, logvar = vae.encode_distribution(video)
        latents = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        recon = vae.decoder(latents)
        rec_loss, mse = reconstruction_loss(recon, video, config.edge_weight, config.temporal_weight, weights)
        kl = kl_divergence(mean, logvar)
        loss = rec_loss + config.kl_weight * kl
        if discriminator is not None and step >= config.gan_start:
            loss = loss + config.gan_weight * generator_loss(discriminator(recon))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(trained, config.grad_clip)
        optimizer.step()
        d_loss = 0.0
        if discriminator is not None:
            for group in d_optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            d_step_loss = discriminator_loss(discriminator(video), discriminator(recon.detach()))
            d_optimizer.zero_grad(set_to_none=True)
            d_step_loss.backward()
            d_optimizer.step()
            d_loss = d_step_loss.item()
        window.append((mse.item(), kl.item(), d_loss))
        logger.bar.update(1)
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            mse_mean, kl_mean, d_loss_mean = (float(np.mean(values)) for values in zip(*window))
            metrics = {"loss": loss.item(), "psnr": psnr_from_mse(mse_mean), "kl": kl_mean, "grad_norm": float(grad_norm),
                       "lr": learning_rate(config, step)}
            if discriminator is not None:
                metrics["discriminator_loss"] = d_loss_mean  # 2 is chance; near 0, it wins every patch
            window.clear()
            logger.bar.set_postfix(psnr=f"{metrics['psnr']:.2f}", kl=f"{metrics['kl']:.3f}")
            logger.log(step + 1, metrics)
            metrics = {"step": step + 1, **metrics}
        if (step + 1) % config.preview_every == 0 or step + 1 == config.steps:
            write_preview(vae, run_dir / "previews" / f"step_{step + 1:07d}.png")
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            extra_meta, extra_tensors = {"train_config": asdict(config), "vae_config": asdict(vae.config)}, {}
            if discriminator is not None:
                extra_tensors, extra_meta["discriminator_optimizer"] = discriminator_state(discriminator, d_optimizer)
            save_checkpoint(run_dir / "checkpoints", vae, optimizer, step + 1, extra_meta, extra_tensors)
            prune_checkpoints(run_dir / "checkpoints", config.keep_checkpoints)
    logger.close()
    return metrics


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of a mean squared error measured on [-1, 1] pixels."""
    return 10.0 * math.log10(4.0 / max(mse, 1e-12))


@torch.no_grad()
def write_preview(vae: VideoVAE, path: Path) -> float:
    """Contact sheet of fixed held-out clips (each original above its reconstruction); returns their PSNR."""
    from kinema.media import contact_sheet, write_image

    was_training = vae.training
    vae.eval()
    clips, _ = world_batch(PREVIEW_SEED, 0, parse_buckets("17x64x64:4"))
    recon = to_pixels(vae.decode(vae.encode(to_model_range(clips))))
    vae.train(was_training)
    score = psnr(recon, clips)
    rows, labels = [], []
    for original, rebuilt in zip(clips, recon):
        rows += [original, rebuilt]
        labels += ["original", f"reconstruction {psnr(rebuilt, original):.1f} dB"]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(contact_sheet(rows, labels=labels, frames_per_clip=6, scale=2), path)
    return score


@torch.no_grad()
def measure_latent_statistics(vae: VideoVAE, batches: int = 32, seed: int = 123_456_789) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of the posterior means over world clips of mixed shapes."""
    vae.eval()
    buckets = parse_buckets("17x64x64:8,17x48x80:8,17x80x48:8,1x64x64:16")
    latents = []
    for step in range(batches):
        clips, _ = world_batch(seed, step, buckets)
        mean, _ = vae.encode_distribution(to_model_range(clips))
        latents.append(mean.transpose(0, 1).reshape(mean.shape[1], -1))
    stacked = torch.cat(latents, dim=1)
    return stacked.mean(dim=1).tolist(), stacked.std(dim=1).clamp_min(1e-4).tolist()


def export_vae(run_dir: str | Path, folder: str | Path, stats_batches: int = 32) -> Path:
    """Ship the newest checkpoint as a model folder (fp16), with latent statistics measured on data in its config."""
    run_dir = Path(run_dir)
    checkpoint = latest_checkpoint(run_dir / "checkpoints")
    if checkpoint is None:
        raise FileNotFoundError(f"no checkpoint in {run_dir / 'checkpoints'}; train first")
    meta = json.loads((checkpoint / "state.json").read_text())
    config = config_from_dict(VAEConfig, meta["vae_config"], str(checkpoint / "state.json"))
    vae = VideoVAE(config)
    load_checkpoint(checkpoint, vae, None)
    if meta["train_config"].get("freeze_encoder") and config.latent_mean:
        return save_vae(vae, folder)  # the encoder, hence the latent statistics, are those of the initial VAE
    mean, std = measure_latent_statistics(vae, stats_batches)
    shipped = VideoVAE(VAEConfig(**{**asdict(config), "latent_mean": tuple(mean), "latent_std": tuple(std)}))
    shipped.load_state_dict(vae.state_dict())
    return save_vae(shipped, folder)
