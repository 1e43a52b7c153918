"""Quality of the shipped VAE on held-out world clips: PSNR and checker agreement at three sizes.

Writes benchmarks/results/vae.json and a before/after contact sheet (vae_contact_sheet.png).

    python benchmarks/vae_eval.py [--model DIR] [--clips 256]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kinema.data.world_stream import to_model_range, to_pixels
from kinema.evaluation.vae_quality import EVAL_SEED, evaluate_vae, tiling_error
from kinema.media import contact_sheet, write_image
from kinema.models.vae import load_vae
from kinema.pretrained import VAE_DIR
from kinema.world.render import render
from kinema.world.sampling import sample_scene

RESULTS = Path(__file__).parent / "results"
SIZES = ((64, 64), (48, 80), (80, 48))  # (height, width): square, landscape, portrait


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(VAE_DIR), help="VAE model folder (default: the shipped one)")
    parser.add_argument("--clips", type=int, default=256, help="held-out clips per size (default 256)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    vae = load_vae(args.model)
    results = {"model": args.model, "config": json.loads((Path(args.model) / "config.json").read_text()),
               "sizes": [evaluate_vae(vae, args.clips, h, w) for h, w in SIZES], "tiling": tiling_error(vae)}
    results["config"].pop("latent_mean", None)
    results["config"].pop("latent_std", None)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vae.json").write_text(json.dumps(results, indent=2) + "\n")
    clips = np.stack([render(sample_scene(EVAL_SEED + i, duration=2.0), 17, 64, 64) for i in range(6)])
    with torch.no_grad():
        rebuilt = to_pixels(vae.decode(vae.encode(to_model_range(clips))))
    rows = [row for pair in zip(clips, rebuilt) for row in pair]
    labels = [label for i in range(len(clips)) for label in (f"original {i}", f"VAE reconstruction {i}")]
    write_image(contact_sheet(rows, labels=labels, frames_per_clip=6, scale=2), RESULTS / "vae_contact_sheet.png")
    print(json.dumps(results["sizes"], indent=1), json.dumps(results["tiling"]))


if __name__ == "__main__":
    main()
