"""An adversarial term for the VAE decoder: a small patch discriminator and hinge losses.

Pixel losses (L1, L2, gradients) reward the mean of everything a latent could stand for, and that
mean is a blur: a star whose points the latent only half pins down comes out as a round blob, a
square with rounded corners. A discriminator that judges small patches of single frames penalises
the blur itself, so the decoder commits to sharp edges, as the VAEs of Stable Diffusion, Wan and
CogVideoX are trained to. It learns from scratch alongside the decoder (no pretrained network is
available offline), and it is only used in training: a shipped VAE does not contain it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kinema.training.checkpoint import load_optimizer, optimizer_tensors


class PatchDiscriminator(nn.Module):
    """Frames (B, 3, T, H, W) -> a real/fake logit per patch of about 26 x 26 pixels, (B * T, 1, H / 4, W / 4)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = [3, width, 2 * width, 4 * width]
        for index, (inputs, outputs) in enumerate(zip(channels, channels[1:])):
            layers.append(nn.Conv2d(inputs, outputs, 4 if index < 2 else 3, stride=2 if index < 2 else 1, padding=1))
            if index:
                layers.append(nn.GroupNorm(8, outputs))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(channels[-1], 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        frames = video.transpose(1, 2).flatten(0, 1)  # every frame on its own: motion is the pixel losses' job
        return self.net(frames)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss: real patches above +1, reconstructed ones below -1."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The decoder's side of the hinge game: make its patches look real."""
    return -fake_logits.mean()


def discriminator_state(discriminator: PatchDiscriminator, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """The discriminator and its optimiser as checkpoint tensors (names under `discriminator.`) and JSON data."""
    tensors = {f"discriminator.model.{k}": v for k, v in discriminator.state_dict().items()}
    opt_tensors, opt_plain = optimizer_tensors(optimizer)
    tensors.update({f"discriminator.{k}": v for k, v in opt_tensors.items()})
    return tensors, opt_plain


def load_discriminator_state(discriminator: PatchDiscriminator, optimizer: torch.optim.Optimizer,
                             tensors: dict[str, torch.Tensor], plain: dict) -> None:
    """Inverse of discriminator_state, from a checkpoint's extra tensors and JSON data."""
    ours = {k[len("discriminator."):]: v for k, v in tensors.items() if k.startswith("discriminator.")}
    discriminator.load_state_dict({k[len("model."):]: v for k, v in ours.items() if k.startswith("model.")})
    load_optimizer(optimizer, ours, plain)
