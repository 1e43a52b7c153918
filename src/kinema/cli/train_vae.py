"""`kinema train-vae`: train the causal video VAE on the procedural world, resumably, and export it.

The training flags are built from `VAETrainConfig`'s fields by kinema.cli.flags, one
`--kebab-case` flag per field, typed by its annotation and defaulted by its default, so the command
and the library cannot drift apart; FIELD_HELP holds their one-line explanations. Building them
imports torch, so they are added only when `train-vae` is run or asked for --help (see
kinema.cli.LazyParser).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from kinema.cli import EXIT_OK, HelpFormatter
from kinema.cli.flags import (
    add_config_flags,
    all_cores,
    check_threads,
    checked_run_dir,
    config_from_args,
    last_logged,
    reached_step,
    settings_mismatch,
)

FIELD_HELP: dict[str, str] = {
    "preset": "model architecture",
    "steps": "train until this many optimiser steps in all; a resumed run continues up to it",
    "buckets": "training shapes FRAMESxHEIGHTxWIDTH:BATCH[:WEIGHT],...; each step draws one by weight "
    "(1 frame: images)",
    "lr": "peak learning rate (AdamW)",
    "warmup_steps": "steps of linear warm-up to --lr before the cosine decay",
    "min_lr_ratio": "the cosine decay ends at this fraction of --lr",
    "kl_weight": "weight of the KL term that keeps the latents close to a unit Gaussian",
    "edge_weight": "weight of the L1 loss on spatial gradients, which keeps edges sharp",
    "temporal_weight": "weight of the L1 loss on frame-to-frame differences, which keeps the decoder from "
    "flickering where one latent group hands over to the next",
    "object_weight": "extra weight of the loss on the pixels an object covers and the ring just outside it "
    "(0 = off; 8: such a pixel counts 9 times), so its outline is kept, not only the background",
    "gan_weight": "weight of an adversarial term: a small patch discriminator, trained alongside, penalises the "
    "blur that pixel losses settle for (0 = off; try 0.1)",
    "gan_start": "the decoder feels the discriminator from this step on (the discriminator learns from the start)",
    "grad_clip": "clip the gradient norm to this",
    "freeze_encoder": "train only the decoder (with --init): the latent space stays as it is, so a transformer "
    "trained on the initial VAE still works with the result",
    "decoder_blocks": "with --init: grow the decoder to N residual blocks per level (the new blocks start as the "
    "identity, so training starts from the initial VAE's quality); with --freeze-encoder the latent space stays as it is",
    "refine_channels": "with --init: add a full-resolution refiner of this width after the decoder (it starts "
    "as the identity; with --freeze-encoder the latent space stays as it is), which draws what is smaller than "
    "the decoder's pixel blocks: corners and star points",
    "seed": "seed of the initial weights and of the data stream (batch k is always the same clips)",
    "checkpoint_every": "write a resume-complete checkpoint every N steps (and after the last)",
    "keep_checkpoints": "keep only the newest N checkpoints",
    "preview_every": "write a reconstruction contact sheet every N steps (and after the last)",
    "log_every": "log averaged scalars every N steps",
}

DESCRIPTION = """\
Train the causal video VAE on the procedural world. Each step renders a fresh batch from the
world stream, so no dataset is needed on disk: clips of mixed sizes and lengths, and single
frames as images, drawn from --buckets by weight.

Everything a run writes goes to --run-dir:
  RUN_DIR/train_config.json   the run's settings (the training flags below)
  RUN_DIR/checkpoints/        resume-complete checkpoints step_*/; `latest` names the newest
  RUN_DIR/previews/           step_*.png: fixed held-out clips above their reconstructions
  RUN_DIR/tb/                 TensorBoard scalars: tensorboard --logdir RUN_DIR/tb
  RUN_DIR/metrics.jsonl       the same scalars, one JSON object per logged step

Killing the process and running the same command again resumes from the newest checkpoint with
the same data order. A run folder keeps its settings: different training flags on an existing
--run-dir are an error (start a new --run-dir instead). --export DIR writes the newest checkpoint
as a model folder (config.json + fp16 model.safetensors, with latent statistics)."""

EPILOG = """\
examples:
  kinema train-vae --run-dir runs/vae --steps 20000
  kinema train-vae --run-dir runs/vae-tiny --preset tiny-test --steps 50 --buckets 9x32x32:2 --export out/vae-tiny"""


# ----------------------------------------------------------------------------- parser


def add_train_vae_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema train-vae`; its options are added on first use, as building them imports torch."""
    commands.add_parser(
        "train-vae",
        help="train the causal video VAE on the procedural world (resumable)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
        add_options=add_options,
    )


def add_options(parser: argparse.ArgumentParser) -> None:
    """The run's flags, then one flag per VAETrainConfig field."""
    from kinema.config import VAE_PRESETS
    from kinema.training.vae_trainer import VAETrainConfig

    parser.add_argument("--run-dir", required=True, metavar="DIR",
                        help="the run folder (created if missing; reused to resume)")
    parser.add_argument("--init", metavar="MODEL_DIR",
                        help="start from a model folder's weights and architecture (e.g. an --export); ignored on resume")
    parser.add_argument("--export", metavar="DIR",
                        help="after training, write the newest checkpoint to DIR as a model folder")
    parser.add_argument("--threads", type=int, metavar="N",
                        help=f"torch CPU threads (default: all {all_cores()} cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary line is still printed)")
    settings = parser.add_argument_group("training settings (VAETrainConfig; fixed for the life of a run folder)")
    field_help = {**FIELD_HELP, "preset": f"{FIELD_HELP['preset']}: {_describe_presets(VAE_PRESETS)}"}
    add_config_flags(settings, VAETrainConfig, field_help, choices={"preset": list(VAE_PRESETS)})
    parser.set_defaults(command=run_train_vae)


def _describe_presets(presets: dict[str, Any]) -> str:
    """E.g. "world-8x (8x space, 4x time, 16 latent channels), ..." from the presets themselves."""
    return ", ".join(
        f"{name} ({config.spatial_compression}x space, {config.temporal_compression}x time, "
        f"{config.latent_channels} latent channels)"
        for name, config in presets.items()
    )


# ----------------------------------------------------------------------------- run


def run_train_vae(args: argparse.Namespace) -> int:
    """`kinema train-vae`: train (or resume) in --run-dir, optionally export, print one summary line."""
    import torch

    from kinema.training.vae_trainer import VAETrainConfig, export_vae, train_vae

    config = config_from_args(VAETrainConfig, args)
    run_dir = _checked_inputs(args, config)
    torch.set_num_threads(args.threads or all_cores())
    first_step = reached_step(run_dir)
    start = time.perf_counter()
    try:
        metrics = train_vae(config, run_dir, init=args.init, progress=not args.quiet)
    except ValueError as error:
        raise ValueError(settings_mismatch(run_dir, config) or str(error)) from error
    except KeyboardInterrupt:
        print(f"kinema: the newest checkpoint in {run_dir / 'checkpoints'} holds step {reached_step(run_dir)}; "
              "run the same command again to resume from it", file=sys.stderr)
        raise
    seconds = time.perf_counter() - start
    exported = export_vae(run_dir, args.export) if args.export else None
    print(_summary(run_dir, config, first_step, reached_step(run_dir), seconds, metrics, exported))
    return EXIT_OK


def _checked_inputs(args: argparse.Namespace, config: Any) -> Path:
    """Validate what VAETrainConfig does not: --threads, --run-dir and --init; return the run folder."""
    check_threads(args.threads)
    run_dir = checked_run_dir(args.run_dir)
    if args.init is not None and not (Path(args.init) / "config.json").is_file():
        raise FileNotFoundError(
            f"--init {args.init!r} is not a model folder (no config.json); pass a folder written by --export"
        )
    return run_dir


def _summary(
    run_dir: Path, config: Any, first: int, last: int, seconds: float, metrics: dict, exported: Path | None
) -> str:
    """One line: what was trained, the latest training PSNR, where the checkpoints and the export are."""
    if last == first:
        parts = [f"{run_dir} is already at step {last} of {config.steps}; nothing to train"]
    else:
        parts = [f"trained {run_dir} from step {first} to {last} of {config.steps} in {seconds:.1f} s"]
    psnr = metrics.get("psnr", last_logged(run_dir).get("psnr"))
    if psnr is not None:
        parts.append(f"training PSNR {psnr:.2f} dB")
    parts.append(f"checkpoints in {run_dir / 'checkpoints'}")
    if exported is not None:
        parts.append(f"exported to {exported}")
    return "; ".join(parts)
