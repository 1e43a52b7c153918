"""`kinema train`: train the diffusion transformer with rectified flow, resumably, on 1 or N processes.

The training flags are built from `TrainConfig`'s fields by kinema.cli.flags (one `--kebab-case`
flag per field, typed and defaulted by the dataclass); FIELD_HELP holds their one-line
explanations. Building them imports torch, so they are added only when `train` is run or asked
for --help (see kinema.cli.LazyParser). Under torchrun every process runs this command; the
library joins the process group itself and only rank 0 prints.
"""

from __future__ import annotations

import argparse
import json
import os
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
    reached_step,
    settings_mismatch,
)

FIELD_HELP: dict[str, str] = {
    "transformer": "model architecture",
    "vae": "the frozen VAE: the name of a VAE shipped with Kinema, or a model folder (kinema train-vae --export DIR); "
    "its latent channels must match --transformer's",
    "text_encoder": "the frozen text encoder: all-MiniLM-L6-v2 (installed with Kinema) or a local Hugging Face "
    "encoder folder whose width matches --transformer's text width",
    "data": "'world' (fresh clips of the procedural world every step, no files needed) or a folder of videos "
    "listed with their captions in captions.jsonl or captions.csv (e.g. one written by kinema data render)",
    "buckets": "training shapes FRAMESxHEIGHTxWIDTH:BATCH[:WEIGHT],...; each step draws one by weight "
    "(1 frame: images); BATCH is the global batch, split evenly across torchrun processes",
    "steps": "train until this many optimiser steps in all; a resumed run continues up to it",
    "lr": "peak learning rate (AdamW)",
    "warmup_steps": "steps of linear warm-up to --lr before the cosine decay",
    "min_lr_ratio": "the cosine decay ends at this fraction of --lr",
    "weight_decay": "AdamW weight decay",
    "grad_clip": "clip the gradient norm to this",
    "ema_decay": "decay of the exponential moving average of the weights (kept in every checkpoint; "
    "previews sample it)",
    "caption_dropout": "fraction of captions replaced by the empty prompt, which teaches the unconditional "
    "prediction that classifier-free guidance needs",
    "masks": "frame-conditioning mix KIND:WEIGHT,... over none (text-to-video), first (image-to-video), "
    "first_k (extend forward), last_k (extend backward), both (joins, loops) and first_k_last (the first k "
    "and the last): which latent frames a sample is given clean",
    "timestep_shift": "shift the logit-normal training times towards pure noise (1 = none); the exported model "
    "samples with the same shift. 3 keeps a clean-latent (x0) model from spending its steps on nearly clean "
    "inputs, where the velocity loss weighs its error by 1/t^2. Which way a direction word means is decided near "
    "pure noise: on four memorised clips it was learnt at 8 and not at 2 (benchmarks/direction_sign.py)",
    "motion_weight": "add this weight times the error in frame-to-frame changes to the flow loss (0 = off): "
    "the plain loss is dominated by what every frame shares, this term counts only the motion",
    "motion_focus": "share of steps (0-1) drawn from scenes of one to three objects, each moving in a straight "
    "line or still, with no wall, pan or weather, where the direction words are what the caption decides "
    "(--data world only, no --cache)",
    "event_focus": "share of steps (0-1) drawn from the full world with four times the bounces and a wall tried in "
    "every scene (about a quarter of scenes get one): the events that are a few clips in a hundred of the world "
    "(--data world only, no --cache; motion_focus + event_focus at most 1)",
    "object_weight": "extra weight of the flow loss on latent cells an object covers (0 = off; 3: such a cell counts "
    "four times a background cell): objects are a few percent of each frame, so in the plain mean their colour, "
    "shape and place weigh little next to the background (--data world only, no --cache)",
    "seed": "seed of the initial weights and of every step's clips, noise, times, masks and dropout "
    "(step k is always the same batch)",
    "checkpoint_every": "write a resume-complete checkpoint every N steps (and after the last)",
    "keep_checkpoints": "keep only the newest N checkpoints",
    "log_every": "log averaged scalars every N steps",
    "preview_every": "every N steps, sample the preview prompts with the EMA weights, score them with the "
    "analytic checker and write a contact sheet",
    "preview_steps": "sampling steps per preview video",
    "cache": "a folder of pre-encoded batches from kinema data encode (same --data, --seed, --buckets, --vae, "
    "--text-encoder): steps read latents and text states from it instead of rendering and encoding, cycling "
    "through it past its last batch; by default none: every step is rendered and encoded live",
}

METAVARS = {"cache": "DIR", "vae": "NAME_OR_DIR", "text_encoder": "NAME_OR_DIR", "data": "world|DIR",
            "buckets": "FxHxW:B[:WEIGHT],...", "masks": "KIND:WEIGHT,..."}

DESCRIPTION = """\
Train the diffusion transformer with rectified flow on frozen VAE latents and text states. With
--data world (the default) each step renders a fresh batch of the procedural world, so no dataset
is needed on disk; clips of mixed sizes and lengths, and single frames as images, are drawn from
--buckets by weight. Random frame-conditioning masks (--masks) teach the same weights
text-to-video, image-to-video, extension, joins and loops.

Everything a run writes goes to --run-dir:
  RUN_DIR/train_config.json   the run's settings (the training flags below)
  RUN_DIR/checkpoints/        resume-complete checkpoints step_*/ (model, EMA, optimiser); `latest`
                              names the newest
  RUN_DIR/previews/           step_*.png: contact sheets of EMA samples of fixed prompts, each
                              labelled with the analytic checker's score
  RUN_DIR/tb/                 TensorBoard scalars: tensorboard --logdir RUN_DIR/tb
  RUN_DIR/metrics.jsonl       the same scalars, one JSON object per logged step

Killing the process and running the same command again resumes from the newest checkpoint; every
random draw of step k depends only on (--seed, k), so a resumed run sees what an uninterrupted one
would. A run folder keeps its settings: different training flags on an existing --run-dir are an
error (start a new --run-dir instead).

Several processes (CPU with gloo, GPUs with NCCL) train one model with DDP when launched by
torchrun: each takes an even share of every global batch, so N processes follow the same
trajectory as one. Only rank 0 writes checkpoints, previews and logs, and prints."""

EPILOG = """\
examples:
  kinema train --run-dir runs/world-s --vae out/vae --steps 20000
  kinema train --run-dir runs/tiny --transformer tiny-test --vae out/vae-tiny --buckets 5x16x16:2 --steps 50
  kinema train --run-dir runs/mine --data out/world --vae out/vae --buckets 17x64x64:8
  kinema data encode --out out/cache --batches 2000 --vae out/vae
  kinema train --run-dir runs/cached --vae out/vae --cache out/cache --steps 20000
  torchrun --nproc_per_node=2 -m kinema.cli train --run-dir runs/ddp --vae out/vae --steps 20000"""


# ----------------------------------------------------------------------------- parser


def add_train_parser(commands: argparse._SubParsersAction) -> None:
    """`kinema train`; its options are added on first use, as building them imports torch."""
    commands.add_parser(
        "train",
        help="train the diffusion transformer (resumable; DDP under torchrun)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
        add_options=add_options,
    )


def add_options(parser: argparse.ArgumentParser) -> None:
    """The run's flags, then one flag per TrainConfig field."""
    from kinema.config import TRANSFORMER_PRESETS
    from kinema.training.trainer import TrainConfig

    parser.add_argument("--run-dir", required=True, metavar="DIR",
                        help="the run folder (created if missing; reused to resume)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help=f"torch CPU threads per process (default: $OMP_NUM_THREADS when set, else all "
                        f"{all_cores()} cores shared among this machine's processes)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary line is still printed)")
    parser.add_argument("--init", metavar="MODEL_DIR",
                        help="start a new run from a model folder's transformer weights (e.g. the shipped "
                        "src/kinema/pretrained/kinema-world, to train it further); ignored on resume")
    parser.add_argument("--export", metavar="DIR",
                        help="after training, write the newest checkpoint's EMA weights as a model folder for "
                        "`kinema generate --model DIR`")
    settings = parser.add_argument_group("training settings (TrainConfig; fixed for the life of a run folder)")
    field_help = {**FIELD_HELP, "transformer": f"{FIELD_HELP['transformer']}: {_describe_presets(TRANSFORMER_PRESETS)}"}
    add_config_flags(settings, TrainConfig, field_help, choices={"transformer": list(TRANSFORMER_PRESETS)},
                     metavars=METAVARS)
    parser.set_defaults(command=run_train)


def _describe_presets(presets: dict[str, Any]) -> str:
    """E.g. "world-s (width 256, 8 blocks, 16 latent channels)", from the presets themselves."""
    return ", ".join(
        f"{name} (width {config.width}, {config.depth} blocks, {config.latent_channels} latent channels)"
        for name, config in presets.items()
    )


# ----------------------------------------------------------------------------- run


def run_train(args: argparse.Namespace) -> int:
    """`kinema train`: train (or resume) in --run-dir; rank 0 prints one summary line."""
    import torch

    from kinema.training.trainer import TrainConfig, train

    config = config_from_args(TrainConfig, args)
    check_threads(args.threads)
    run_dir = checked_run_dir(args.run_dir)
    _check_inputs(config)
    if args.init is not None and not (Path(args.init) / "config.json").is_file():
        raise FileNotFoundError(f"--init {args.init!r} is not a model folder (no config.json); pass a folder written "
                                "by --export or KinemaPipeline.save_pretrained")
    mismatch = settings_mismatch(run_dir, config)
    if mismatch:
        raise ValueError(mismatch)
    threads = _threads(args.threads)
    if threads is not None:
        torch.set_num_threads(threads)
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    first_step = reached_step(run_dir)
    start = time.perf_counter()
    try:
        metrics = train(config, run_dir, progress=not args.quiet, init=args.init)
    except KeyboardInterrupt:
        if rank == 0:
            print(f"kinema: the newest checkpoint in {run_dir / 'checkpoints'} holds step {reached_step(run_dir)}; "
                  "run the same command again to resume from it", file=sys.stderr)
        raise
    finally:
        _leave_process_group()
    if rank == 0:
        seconds = time.perf_counter() - start
        print(_summary(run_dir, config, first_step, reached_step(run_dir), seconds, metrics, world))
        if args.export:
            from kinema.training.trainer import export_pipeline

            print(f"exported the model to {export_pipeline(run_dir, args.export)}")
    return EXIT_OK


def _check_inputs(config: Any) -> None:
    """Validate what TrainConfig does not: that --vae and --data exist and the VAE fits the transformer."""
    from kinema.config import TRANSFORMER_PRESETS, VAEConfig, read_config
    from kinema.pretrained import PRETRAINED_DIR

    vae_folder = Path(config.vae) if Path(config.vae).is_dir() else PRETRAINED_DIR / config.vae
    if not (vae_folder / "config.json").is_file():
        shipped = [p.name for p in sorted(PRETRAINED_DIR.iterdir())
                   if (p / "config.json").is_file() and not (p / "transformer").is_dir()]
        raise FileNotFoundError(
            f"--vae {config.vae!r} is neither a VAE model folder nor a VAE shipped with Kinema "
            f"(shipped: {', '.join(shipped) or 'none yet'}); pass a folder written by `kinema train-vae --export DIR`"
        )
    channels = read_config(VAEConfig, vae_folder / "config.json").latent_channels
    expected = TRANSFORMER_PRESETS[config.transformer].latent_channels
    if channels != expected:
        raise ValueError(f"--vae {config.vae} makes {channels}-channel latents but --transformer {config.transformer} "
                         f"takes {expected}; pick a VAE and a transformer preset that match")
    if config.data != "world" and not Path(config.data).is_dir():
        raise FileNotFoundError(f"--data {config.data!r} is neither 'world' nor a folder; pass a folder of videos "
                                "with captions.jsonl or captions.csv (e.g. from kinema data render)")


def _threads(requested: int | None) -> int | None:
    """Threads per process: --threads, else torch's own choice under $OMP_NUM_THREADS, else the cores shared out."""
    if requested is not None:
        return requested
    if "OMP_NUM_THREADS" in os.environ:
        return None
    return max(1, all_cores() // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def _leave_process_group() -> None:
    """Destroy the process group the library joined under torchrun, so the processes exit cleanly."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _summary(run_dir: Path, config: Any, first: int, last: int, seconds: float, metrics: dict, world: int) -> str:
    """One line: what was trained, the latest loss and preview score, where the checkpoints and previews are."""
    if last == first:
        parts = [f"{run_dir} is already at step {last} of {config.steps}; nothing to train"]
    else:
        processes = f" on {world} processes" if world > 1 else ""
        parts = [f"trained {run_dir} from step {first} to {last} of {config.steps} in {seconds:.1f} s{processes}"]
    loss = metrics.get("loss", _last_value(run_dir, "loss"))
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    accuracy = _last_value(run_dir, "preview_checker_accuracy")
    if accuracy is not None:
        parts.append(f"preview checker accuracy {accuracy:.0%}")
    parts.append(f"checkpoints in {run_dir / 'checkpoints'}")
    return "; ".join(parts)


def _last_value(run_dir: Path, key: str) -> float | None:
    """The last logged value of `key` in run_dir/metrics.jsonl, or None."""
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if key in record:
            return record[key]
    return None
