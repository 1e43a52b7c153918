"""Model folders shipped inside the package (config.json + fp16 safetensors each)."""

from pathlib import Path

PRETRAINED_DIR = Path(__file__).parent
VAE_DIR = PRETRAINED_DIR / "kinema-vae"
DEFAULT_MODEL_DIR = PRETRAINED_DIR / "kinema-world"
