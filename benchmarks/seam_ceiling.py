"""What the extension eval's seam rule allows a perfect transformer under this VAE.

The extend eval (`kinema eval --task extend`) asks that the step from a clip's last frame to the
first new frame be at most 1.2x the clip's typical step. The new frames come through the VAE, so
even a transformer that predicted the true continuation's latents exactly would be judged on the
VAE's round trip. This script measures that ceiling: for the eval's own cases, the true 33-frame
clip is encoded, the first 17 frames as the head the pipeline gives the model, the rest as the
latents a perfect model would sample; the window is decoded and anchored as the pipeline does, and
the seam rule is applied. It also reports the mean decoded step at each position in a latent group
against the original's: a decoder that moves objects unevenly within a group (a stutter every g
frames) makes its largest step exactly at a seam that opens a group. Both layouts are measured:
the head ending on the seam frame (`boundary`, the pipeline's layout until session 26) and the
head ending --head-overlap frames before it, those frames sampled again (`overlap`; g - 1 frames as
`kinema.tasks.plan` lays it out, so the seam is a step into a group's last frame).

    python benchmarks/seam_ceiling.py [--vae DIR] [--head-overlap N] [--cases 50] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from kinema.data.world_stream import to_model_range, to_pixels
from kinema.evaluation.task_eval import make_cases, seam_continuity, step_sizes
from kinema.models.vae import load_vae
from kinema.pretrained import VAE_DIR
from kinema.tasks.anchors import anchored
from kinema.tasks.plan import head_overlap
from kinema.world.render import render

RESULTS = Path(__file__).parent / "results"
CLIP, TOTAL, FPS, SIZE = 17, 33, 8.0, 64  # the extend eval's clip, the true continuation's length, its fps and size


@torch.no_grad()
def ceiling(vae, cases: int, overlap: int) -> dict:
    """`overlap`: frames before the seam where the overlap layout's head ends (the seam is a step into group phase `overlap`)."""
    group = vae.config.temporal_compression
    shift = group - overlap  # the overlap layout's window starts here: its head is frames shift .. CLIP - 1 - overlap
    ratios: dict[str, list[float]] = {"boundary": [], "overlap": []}
    decoded_steps, original_steps = [], []
    for case in make_cases("extend", cases, SIZE, SIZE, FPS, seed=0):
        truth = render(case.spec, TOTAL + group, SIZE, SIZE, FPS)  # the overlap window reaches frame TOTAL + shift - 1
        video = to_model_range(truth[None])
        for layout, start, head_end in (("boundary", 0, CLIP), ("overlap", shift, CLIP - overlap)):
            window_video = video[:, :, start : start + TOTAL]
            head = vae.encode(video[:, :, start:head_end])
            latents = torch.cat([head, vae.encode(window_video)[:, :, head.shape[2]:]], dim=2)
            seam = CLIP - 1 - start  # the seam frame's place in the window, where the pipeline anchors
            window = anchored(to_pixels(vae.decode(latents)), [truth[None, CLIP - 1]], [seam])[0]
            ratios[layout].append(seam_continuity(truth[:CLIP], window[seam + 1 :])["ratio"])
        decoded_steps.append(step_sizes(to_pixels(vae.decode(vae.encode(video[:, :, :TOTAL])))[0]))
        original_steps.append(step_sizes(truth[:TOTAL]))
    # Step i goes into frame i + 1; frame 1 + g k opens a latent group, so phase 0 is the step into a group.
    phase = np.arange(TOTAL - 1) % group
    decoded_steps, original_steps = np.stack(decoded_steps), np.stack(original_steps)
    return {
        "cases": cases,
        "head_overlap": overlap,
        **{f"seam_rate_{layout}": round(float((np.array(r) <= 1.2).mean()), 3) for layout, r in ratios.items()},
        **{f"seam_ratio_median_{layout}": round(float(np.median(r)), 3) for layout, r in ratios.items()},
        "decoded_step_by_phase": [round(float(decoded_steps[:, phase == p].mean()), 3) for p in range(group)],
        "original_step_by_phase": [round(float(original_steps[:, phase == p].mean()), 3) for p in range(group)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vae", default=None, help="a VAE model folder (default: the shipped kinema-vae)")
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--head-overlap", type=int, default=None,
                        help="frames the overlap layout samples again before the seam, 1 to 3 (default: the "
                             "pipeline's, kinema.tasks.plan.head_overlap); the seam is then a step into that "
                             "phase of a latent group")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = Path(args.vae) if args.vae else VAE_DIR
    vae = load_vae(folder).eval()
    group = vae.config.temporal_compression
    overlap = head_overlap(group) if args.head_overlap is None else args.head_overlap
    if not 1 <= overlap < group:
        parser.error(f"--head-overlap must be 1 to {group - 1} (a seam inside a latent group of {group}); got {overlap}")
    result = {"vae": folder.name, **ceiling(vae, args.cases, overlap)}
    print(json.dumps(result, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "seam_ceiling.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
