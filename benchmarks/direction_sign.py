"""Why the shipped model ignores which way to go: the training times, not the text encoder.

Two pairs of world clips start from one shared first frame and differ only in the direction:
a red circle going left or right, a blue square going up or down. Their captions differ in that
one word. The shipped transformer is trained on the four clips (image-to-video: the first frame
given, as `kinema train` does with its "first" mask) for a few hundred steps, once with the
training times shifted by 2 (as the shipped model was trained) and once by 8, and then:

- `swapped_caption_loss_ratio`: the flow loss at t = 0.95 with each clip's caption swapped for its
  pair's, over the loss with its own; 1 = the caption's direction word changes nothing;
- `follows`: each caption sampled from the shared first frame over --seeds seeds; the share whose
  displacement along the pair's axis has the caption's sign.

Where the direction word matters is close to pure noise: from the first frame, the object's way is
visible in the noisy latents by t = 0.8 (the loss there is as low with the wrong caption), so the
sampler commits to a way in its first steps. Shifted by 2, about 1% of training times fall above
t = 0.95; shifted by 8, about 19% (`shifted_share_above`). Measured (results/direction_sign.json,
on the model shipped before the direction runs, step 24,200):
shifted by 2, "left" and "right" both went left from all three seeds and the wrong caption's loss
was 1.55x the right one's (the 67% that went as told is the noise's doing); shifted by 8, every
sample went as told and the wrong caption's loss was 98x.

    python benchmarks/direction_sign.py [--steps 200] [--seeds 3] [--shifts 2,8]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from kinema.evaluation.observe import observe
from kinema.flow.paths import sample_timesteps
from kinema.pipeline import KinemaPipeline
from kinema.training.trainer import encode_batch, flow_training_loss, step_noise
from kinema.world.render import render
from kinema.world.spec import ObjectSpec, SceneSpec

RESULTS = Path(__file__).parent / "results"
PAIRS = (("red", "circle", ("left", "right"), 0), ("blue", "square", ("up", "down"), 1))  # (colour, shape, ways, axis)
SIGN = {"left": -1, "right": 1, "up": -1, "down": 1}  # image y grows downwards


def clips_and_captions() -> tuple[np.ndarray, list[str], list[tuple[str, str, int]]]:
    """Four 17-frame 64x64 clips, each pair from one centred first frame, and their canonical captions."""
    clips, captions, labels = [], [], []
    for colour, shape, ways, axis in PAIRS:
        for way in ways:
            scene = SceneSpec((ObjectSpec(shape, colour, "large", way, "fast", 0.5, 0.5),), background="white")
            clips.append(render(scene, 17, 64, 64))
            captions.append(f"A large {colour} {shape} moving {way} quickly, on a plain white background.")
            labels.append((colour, way, axis))
    return np.stack(clips), captions, labels


def displacement(frames: np.ndarray, colour: str, axis: int) -> float | None:
    """First-to-last displacement (frame widths or heights) of the object of this colour along `axis`, None if unseen."""
    track = next((t for t in observe(frames).objects if t.colour == colour), None)
    move = None if track is None else track.displacement
    return None if move is None else move[axis]


def trial(shift: float, steps: int, seeds: int, lr: float) -> dict:
    """Train the shipped transformer on the four clips with times shifted by `shift`, then measure."""
    torch.manual_seed(0)
    pipe = KinemaPipeline.from_pretrained()
    pipe.transformer = copy.deepcopy(pipe.transformer).train()
    clips, captions, labels = clips_and_captions()
    latents, text = encode_batch(pipe.vae, pipe.text_encoder, clips, captions, torch.Generator().manual_seed(0), 0.0)
    repeat = 2
    latents = latents.repeat(repeat, 1, 1, 1, 1)
    text = type(text)(text.states.repeat(repeat, 1, 1), text.mask.repeat(repeat, 1), text.pooled.repeat(repeat, 1))
    given = torch.zeros(latents.shape[0], latents.shape[2], dtype=torch.bool)
    given[:, 0] = True
    optimizer = torch.optim.AdamW(pipe.transformer.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(1)
    started = time.perf_counter()
    for _ in range(steps):
        noise, t = step_noise(latents.shape, generator, shift)
        loss = flow_training_loss(pipe.transformer, latents, noise, t, text, given)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    pipe.transformer.eval()

    swap = [1, 0, 3, 2] * repeat  # each clip's pair
    swapped = type(text)(text.states[swap], text.mask[swap], text.pooled[swap])
    with torch.no_grad():
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(9))
        at = torch.full((latents.shape[0],), 0.95)
        own = flow_training_loss(pipe.transformer, latents, noise, at, text, given).item()
        other = flow_training_loss(pipe.transformer, latents, noise, at, swapped, given).item()
    moves = {}
    for clip, caption, (colour, way, axis) in zip(clips, captions, labels):
        frames = pipe(caption, num_frames=17, height=64, width=64, image=clip[0], seed=0, num_videos=seeds).frames
        moves[way] = [displacement(video, colour, axis) for video in frames]
    followed = [m is not None and np.sign(m) == SIGN[way] for way, found in moves.items() for m in found]
    share = float((sample_timesteps(100_000, generator=torch.Generator().manual_seed(0), shift=shift) > 0.95).float().mean())
    return {"shift": shift, "steps": steps, "train_seconds": round(seconds, 1), "final_loss": round(loss.item(), 4),
            "shifted_share_above": {"t": 0.95, "share": round(share, 4)},
            "loss_at_0.95": round(own, 4), "swapped_caption_loss_ratio": round(other / own, 2),
            "displacements": {way: [None if m is None else round(m, 3) for m in found] for way, found in moves.items()},
            "follows": round(float(np.mean(followed)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="training steps per shift (default: 200)")
    parser.add_argument("--seeds", type=int, default=3, help="samples per caption (default: 3)")
    parser.add_argument("--shifts", default="2,8", help="training-time shifts to compare (default: 2,8)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where direction_sign.json and .md go")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trials = [trial(float(shift), args.steps, args.seeds, args.lr) for shift in args.shifts.split(",")]
    result = {"model": "kinema-world (shipped)", "clips": 4, "lr": args.lr, "trials": trials}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "direction_sign.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [f"| {t['shift']:g} | {t['shifted_share_above']['share']:.1%} | {t['loss_at_0.95']} | "
            f"{t['swapped_caption_loss_ratio']} | {t['follows']:.0%} |" for t in trials]
    (args.out / "direction_sign.md").write_text(
        "# Direction sign: training times\n\n"
        f"The shipped transformer trained {args.steps} steps (lr {args.lr}) on four clips whose pairs share a first "
        "frame and differ only in the direction word, then sampled from that frame "
        f"({args.seeds} seeds per caption).\n\n"
        "| training shift | times above 0.95 | loss at t = 0.95 | with the pair's caption (ratio) | samples going as told |\n"
        "| --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n\n"
        "Reproduce: `python benchmarks/direction_sign.py`\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
