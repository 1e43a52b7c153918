"""Encode and decode throughput of Kinema's VAE against diffusers' AutoencoderKLWan of similar size.

Both run side by side in one process on the CPU in fp32 with the same threads, on the same
17-frame clips, best of several repeats; the peer has random weights (timing does not depend on
them). Writes benchmarks/results/vae_speed.json and .md.

    pip install -e '.[bench]'
    python benchmarks/vae_speed.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from kinema.config import VAE_PRESETS
from kinema.models.vae import VideoVAE, load_vae
from kinema.pretrained import VAE_DIR

RESULTS = Path(__file__).parent / "results"
# Wan configs with the same compression as ours (4x time, 16 latent channels; 4x or 8x space: one
# spatial halving per dim_mult entry after the first) and a similar parameter count (2.5M / 4.1M).
WAN_CONFIGS = {
    4: dict(base_dim=32, z_dim=16, dim_mult=[1, 2, 2], num_res_blocks=1, temperal_downsample=[True, True]),
    8: dict(base_dim=32, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1),
}
CASES = ((4, 17, 64, 64), (1, 17, 128, 128), (1, 33, 64, 64))  # (batch, frames, height, width)


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: allocator and oneDNN kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_pair(ours, wan, batch: int, frames: int, height: int, width: int, repeats: int) -> dict:
    video = torch.rand(batch, 3, frames, height, width) * 2 - 1
    our_latents = ours.encode(video)
    wan_latents = wan.encode(video).latent_dist.mode()
    our_encode = best_time(lambda: ours.encode(video), repeats)
    wan_encode = best_time(lambda: wan.encode(video).latent_dist.mode(), repeats)
    our_decode = best_time(lambda: ours.decode(our_latents), repeats)
    wan_decode = best_time(lambda: wan.decode(wan_latents).sample, repeats)
    total = batch * frames
    return {
        "clip": f"{batch}x{frames}x{height}x{width}",
        "ours_encode_fps": round(total / our_encode, 1),
        "wan_encode_fps": round(total / wan_encode, 1),
        "encode_speedup": round(wan_encode / our_encode, 2),
        "ours_decode_fps": round(total / our_decode, 1),
        "wan_decode_fps": round(total / wan_decode, 1),
        "decode_speedup": round(wan_decode / our_decode, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from diffusers import AutoencoderKLWan

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = load_vae(VAE_DIR) if (VAE_DIR / "config.json").is_file() else VideoVAE(VAE_PRESETS["world-4x"]).eval()
    wan_config = WAN_CONFIGS[ours.config.spatial_compression]
    wan = AutoencoderKLWan(**wan_config).eval()
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    with torch.inference_mode():
        rows = [time_pair(ours, wan, *case, args.repeats) for case in CASES]
    result = {"threads": args.threads, "dtype": "float32", "ours_params": count(ours), "wan_params": count(wan),
              "wan_config": wan_config, "results": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vae_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"# VAE speed on {args.threads} CPU threads (frames/s, higher is better)", "",
             f"Kinema VAE ({ours.config.spatial_compression}x space, 4x time) {count(ours) / 1e6:.1f}M parameters; diffusers AutoencoderKLWan {wan_config} {count(wan) / 1e6:.1f}M.", "",
             "| clip (BxTxHxW) | ours encode | Wan encode | ratio | ours decode | Wan decode | ratio |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['clip']} | {r['ours_encode_fps']} | {r['wan_encode_fps']} | {r['encode_speedup']}x | "
              f"{r['ours_decode_fps']} | {r['wan_decode_fps']} | {r['decode_speedup']}x |" for r in rows]
    (RESULTS / "vae_speed.md").write_text("\n".join(lines) + "\n\nReproduce: `python benchmarks/vae_speed.py`\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
