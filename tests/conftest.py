"""Shared fixtures: the real default text encoder (loaded once per test session) and tiny model parts."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def text_encoder():
    from kinema.models.text import load_text_encoder

    return load_text_encoder()


@pytest.fixture(scope="session")
def tiny_vae_folder(tmp_path_factory):
    """A randomly initialised tiny VAE saved as a model folder (fp32, so round trips are exact)."""
    from kinema.config import VAE_PRESETS
    from kinema.models.vae import VideoVAE, save_vae

    torch.manual_seed(0)
    return save_vae(VideoVAE(VAE_PRESETS["tiny-test"]), tmp_path_factory.mktemp("vae") / "tiny-vae", torch.float32)
