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


# ---------------------------------------------------------------------------- the HTTP server (kinema serve)

TINY_SIZES = ((16, 16), (16, 32), (32, 16))  # (height, width): served as "16x16", "32x16", "16x32"


def tiny_transformer():
    """A tiny-test transformer, seeded, whose zero-initialised weights are made random so outputs depend on inputs."""
    from kinema.config import TRANSFORMER_PRESETS
    from kinema.models.transformer import DiffusionTransformer

    torch.manual_seed(0)
    transformer = DiffusionTransformer(TRANSFORMER_PRESETS["tiny-test"])
    with torch.no_grad():  # a fresh model predicts zero
        for parameter in transformer.parameters():
            if parameter.abs().sum() == 0:
                parameter.normal_(0, 0.02)
    return transformer


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_vae_folder):
    """A tiny random pipeline saved as a model folder (fp32): `kinema serve` loads it in seconds.

    Frame counts 1, 17, 33 at 8 fps are served as seconds "2" and "4"; the default is 2 steps.
    """
    from kinema.models.vae import load_vae
    from kinema.pipeline import KinemaPipeline, PipelineConfig

    transformer = tiny_transformer()
    config = PipelineConfig(name="kinema-tiny", sizes=TINY_SIZES, frame_counts=(1, 17, 33), steps=2)
    pipe = KinemaPipeline(transformer, load_vae(tiny_vae_folder), None, config)  # the encoder is not saved
    return pipe.save_pretrained(tmp_path_factory.mktemp("model") / "kinema-tiny", dtype=torch.float32)


class KinemaServer:
    """`kinema serve` in a subprocess on a free local port; its output goes to DATA_DIR/server.log."""

    def __init__(self, model_dir, data_dir, *options: str) -> None:
        self.model_dir, self.data_dir, self.options = model_dir, data_dir, options
        self.port = 0
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 600.0) -> KinemaServer:
        """Start and wait until GET /health answers; fails with the server's log if it does not."""
        import socket
        import subprocess
        import sys
        import time

        import httpx

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "kinema.cli", "serve", "--model", str(self.model_dir), "--port",
                   str(self.port), "--data-dir", str(self.data_dir), "--log-level", "warning", *self.options]
        with open(self.data_dir / "server.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        pytest.fail(f"kinema serve did not start:\n{(self.data_dir / 'server.log').read_text()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM (a clean shutdown: a rendering job goes back to the queue) and wait."""
        import subprocess

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would end it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def kinema_server_factory(tiny_model_dir):
    """Start `kinema serve` processes over the tiny model: factory(data_dir, *options); stopped after the module."""
    servers = []

    def start(data_dir, *options: str) -> KinemaServer:
        server = KinemaServer(tiny_model_dir, data_dir, *options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
