"""What every training run shares: the learning-rate schedule, the run folder's settings, logging.

Both trainers (`vae_trainer` and `trainer`) use these, so a run folder, its metrics.jsonl and its
TensorBoard scalars look the same whichever model is trained.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch.distributed as dist

from kinema.config import config_from_dict


def learning_rate(config: Any, step: int) -> float:
    """Linear warmup to config.lr, then cosine decay to config.min_lr_ratio of it at config.steps."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def check_schedule(config: Any, counts: tuple[str, ...]) -> None:
    """Checks every run config shares: a positive step count and learning rate, and counts of at least 1."""
    if config.steps < 1 or config.lr <= 0:
        raise ValueError(f"steps must be >= 1 and lr > 0; got steps={config.steps}, lr={config.lr}")
    for name in counts:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1; got {getattr(config, name)}")


def check_run_dir(config: Any, run_dir: Path, rank: int = 0) -> None:
    """A run folder holds one run: save its settings on first use, refuse to continue it with others."""
    saved = run_dir / "train_config.json"
    if saved.exists():
        previous = config_from_dict(type(config), json.loads(saved.read_text()), str(saved))
        if previous != config:
            raise ValueError(f"{run_dir} holds a run with different settings ({saved}); use a new folder or the same settings")
    elif rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = saved.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(config), indent=2) + "\n")
        tmp.replace(saved)
    if dist.is_initialized():
        dist.barrier()  # no rank starts before the run folder is settled


class RunLogger:
    """Progress bar, metrics.jsonl and TensorBoard scalars, on rank 0 only."""

    def __init__(self, run_dir: Path, enabled: bool, total: int, start: int, progress: bool, prefix: str = "train") -> None:
        from tqdm import tqdm

        self.run_dir, self.enabled, self.prefix = run_dir, enabled, prefix
        self.bar = tqdm(total=total, initial=start, disable=not (enabled and progress), unit="step", dynamic_ncols=True)
        self.writer = None
        self.window: list[float] = []
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tb"))
            except ImportError:
                print("note: tensorboard is not installed (pip install 'kinema[train]'); scalars go to metrics.jsonl only")

    def step(self, step: int, loss: float, grad_norm: float, lr: float, every: int) -> dict:
        self.window.append(loss)
        self.bar.update(1)
        if step % every:
            return {}
        metrics = {"loss": sum(self.window) / len(self.window), "grad_norm": grad_norm, "lr": lr}
        self.window.clear()
        self.bar.set_postfix(loss=f"{metrics['loss']:.4f}")
        self.log(step, metrics)
        return {"step": step, **metrics}

    def log(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        if self.writer is not None:
            for name, value in metrics.items():
                self.writer.add_scalar(f"{self.prefix}/{name}", value, step)
        with open(self.run_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps({"step": step, **metrics, "time": time.time()}) + "\n")

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
