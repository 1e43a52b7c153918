"""Forward latency of Kinema's diffusion transformer against diffusers' WanTransformer3DModel of the same shape.

Both models have width 256, 8 layers, 4 heads x 64, FFN 1024, 16 latent channels, patch (1, 2, 2) and
text_dim 384, random weights (timing does not depend on them), fp32 on the CPU under
torch.inference_mode with the same thread count. Cases: batch 2 of latents (16, 5, 16, 16) = 320 tokens
and (16, 5, 32, 32) = 1280 tokens, 32 text tokens. The two models are timed alternately in every round
(A/B interleaved, order flipped each round) so both see the same background load; the reported ratio
is the median of the per-round ratios, and ms are each model's best and median round. A torch.profiler
table of our forward says where the time goes. Writes benchmarks/results/transformer_speed.json and .md.

    pip install -e '.[bench]'
    python benchmarks/transformer_speed.py [--threads 2 1] [--rounds 15] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from kinema.config import TRANSFORMER_PRESETS
from kinema.models.transformer import DiffusionTransformer

RESULTS = Path(__file__).parent / "results"
CONFIG = TRANSFORMER_PRESETS["world-s"]  # width 256, depth 8, heads 4, ffn 1024, 16 channels, patch (1, 2, 2), text 384
WAN_CONFIG = dict(
    patch_size=(1, 2, 2),
    num_attention_heads=CONFIG.heads,
    attention_head_dim=CONFIG.head_dim,
    in_channels=CONFIG.latent_channels,
    out_channels=CONFIG.latent_channels,
    text_dim=CONFIG.text_dim,
    ffn_dim=CONFIG.ffn_dim,
    num_layers=CONFIG.depth,
)
CASES = ((2, 5, 16, 16), (2, 5, 32, 32))  # (batch, latent frames, latent height, latent width)
TEXT_TOKENS = 32


def build_models() -> tuple[torch.nn.Module, torch.nn.Module]:
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    ours = DiffusionTransformer(CONFIG).eval()
    for parameter in ours.parameters():  # leave zero-init behind: a trained model's numbers flow everywhere
        parameter.data.normal_(0, 0.02)
    wan = WanTransformer3DModel(**WAN_CONFIG).eval()
    return ours, wan


def inputs(batch: int, frames: int, height: int, width: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return dict(
        latents=torch.randn(batch, CONFIG.latent_channels, frames, height, width, generator=generator),
        timestep=torch.rand(batch, generator=generator),
        text_states=torch.randn(batch, TEXT_TOKENS, CONFIG.text_dim, generator=generator),
        text_mask=torch.ones(batch, TEXT_TOKENS, dtype=torch.bool),
        pooled_text=torch.randn(batch, CONFIG.text_dim, generator=generator),
        given_mask=torch.zeros(batch, frames, dtype=torch.bool),
    )


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_case(ours, wan, case: tuple[int, int, int, int], rounds: int) -> dict:
    batch, frames, height, width = case
    data = inputs(*case)
    run_ours = lambda: ours(**data)  # noqa: E731
    wan_timestep = data["timestep"] * 1000  # Wan's timesteps run over [0, 1000]
    run_wan = lambda: wan(data["latents"], wan_timestep, data["text_states"], return_dict=False)  # noqa: E731
    assert run_ours().shape == run_wan()[0].shape == data["latents"].shape
    for _ in range(2):  # warm-up: allocator, oneDNN kernel selection, our RoPE cache
        run_ours(), run_wan()
    ours_s, wan_s = [], []
    for round_index in range(rounds):
        if round_index % 2:
            wan_s.append(seconds(run_wan))
            ours_s.append(seconds(run_ours))
        else:
            ours_s.append(seconds(run_ours))
            wan_s.append(seconds(run_wan))
    ratios = [o / w for o, w in zip(ours_s, wan_s)]
    return {
        "latents": f"{batch}x{CONFIG.latent_channels}x{frames}x{height}x{width}",
        "tokens": ours.num_tokens(frames, height, width),
        "text_tokens": TEXT_TOKENS,
        "ours_ms_best": round(1000 * min(ours_s), 1),
        "wan_ms_best": round(1000 * min(wan_s), 1),
        "ours_ms_median": round(1000 * statistics.median(ours_s), 1),
        "wan_ms_median": round(1000 * statistics.median(wan_s), 1),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_of_best": round(min(ours_s) / min(wan_s), 3),
    }


def profile_ours(ours, case: tuple[int, int, int, int], top: int = 12) -> list[dict]:
    """Top operators by self CPU time over a few forwards of our model."""
    from torch.profiler import ProfilerActivity, profile

    data = inputs(*case)
    ours(**data)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            ours(**data)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [
        {"op": e.key, "self_ms_per_forward": round(e.self_cpu_time_total / 3000, 2), "share": round(e.self_cpu_time_total / total, 3), "calls_per_forward": e.count // 3}
        for e in events[:top]
    ]


# Kernels that each make one pass (or one parallel region) over their data; views and wrappers are not counted.
KERNELS = {
    "aten::mm", "aten::addmm", "aten::bmm", "aten::copy_", "aten::fill_", "aten::cat", "aten::add", "aten::add_", "aten::sub",
    "aten::mul", "aten::mul_", "aten::div", "aten::div_", "aten::neg", "aten::addcmul", "aten::pow", "aten::sum", "aten::rsqrt",
    "aten::native_layer_norm", "aten::linalg_vector_norm", "aten::silu", "aten::gelu", "aten::softmax", "aten::_softmax",
    "aten::_scaled_dot_product_flash_attention_for_cpu",
}


def count_large_ops(fn) -> int:
    """Kernel calls per forward whose largest input has at least 32768 elements (PyTorch's grain size:
    smaller element-wise ops stay on one thread). Each is a parallel region; on a loaded machine each
    waits for a time slice, so their count, more than their FLOPs, sets a multi-threaded run's time."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    count = 0
    for event in prof.events():
        sizes = [torch.Size(s).numel() for s in event.input_shapes if isinstance(s, list) and s and all(isinstance(v, int) for v in s)]
        count += event.name in KERNELS and bool(sizes) and max(sizes) >= 32768
    return count


def write_markdown(result: dict, path: Path) -> None:
    lines = [
        "# Diffusion transformer forward latency: Kinema vs diffusers WanTransformer3DModel",
        "",
        f"CPU ({result['machine']}) fp32, torch.inference_mode, torch {result['torch']}, diffusers {result['diffusers']}; "
        f"{result['rounds']} A/B-interleaved rounds after warm-up. Same shape for both: width 256, 8 layers, 4 heads x 64, "
        f"FFN 1024 (ours: SwiGLU with hidden {result['mlp_hidden']}, same FLOPs), 16 latent channels, patch (1, 2, 2), "
        f"text 32 x 384, batch 2, random weights. Parameters: ours {result['params_ours']:,}, Wan {result['params_wan']:,}. "
        "Ratio < 1 means ours is faster. The median of per-round ratios pairs each of our forwards with the Wan forward "
        "next to it; best vs best compares each model's quietest round, which on a loaded machine need not be the same moment.",
        "",
        result["note"],
        "",
        f"Kernel calls over tensors of at least 32768 elements (PyTorch's grain size: each is a parallel region) per forward "
        f"on {result['large_ops_per_forward']['case']}: ours {result['large_ops_per_forward']['ours']}, "
        f"Wan {result['large_ops_per_forward']['wan']}. Ours has no biases inside blocks (on the CPU addmm first copies the bias "
        "into the output), folds the QK-norm gains into the RoPE rotation (one complex multiply for q and k together) and "
        "normalises q and k in one pass.",
        "",
        "| threads | latents | tokens | ours ms (best / median) | Wan ms (best / median) | ours / Wan (median of rounds) | ours / Wan (best vs best) |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for row in run["cases"]:
            lines.append(
                f"| {run['threads']} | {row['latents']} | {row['tokens']} | {row['ours_ms_best']} / {row['ours_ms_median']} | "
                f"{row['wan_ms_best']} / {row['wan_ms_median']} | {row['ratio_median']} | {row['ratio_of_best']} |"
            )
    for run in result["runs"]:
        lines += ["", f"## Where the time goes: ours, {run['threads']} thread(s), {run['profile_case']} (torch.profiler, self CPU time)", "",
                  "| op | ms per forward | share | calls per forward |", "|---|---|---|---|"]
        for row in run["profile"]:
            lines.append(f"| `{row['op']}` | {row['self_ms_per_forward']} | {100 * row['share']:.1f}% | {row['calls_per_forward']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="one run per thread count, e.g. --threads 2 1")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    import diffusers

    ours, wan = build_models()
    runs = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            cases = [time_case(ours, wan, case, args.rounds) for case in CASES]
            for row in cases:
                print(threads, "threads", row, flush=True)
            profile = profile_ours(ours, CASES[-1])
        runs.append({"threads": threads, "cases": cases, "profile_case": "latents " + cases[-1]["latents"], "profile": profile})
    with torch.inference_mode():
        data = inputs(*CASES[0])
        wan_timestep = data["timestep"] * 1000
        large_ops = {
            "case": "latents " + runs[0]["cases"][0]["latents"],
            "ours": count_large_ops(lambda: ours(**data)),
            "wan": count_large_ops(lambda: wan(data["latents"], wan_timestep, data["text_states"], return_dict=False)),
        }
    print("large ops per forward", large_ops, flush=True)
    result = {
        "rounds": args.rounds,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "mlp_hidden": CONFIG.mlp_hidden,
        "params_ours": sum(p.numel() for p in ours.parameters()),
        "params_wan": sum(p.numel() for p in wan.parameters()),
        "note": args.note,
        "large_ops_per_forward": large_ops,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transformer_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, RESULTS / "transformer_speed.md")
    print((RESULTS / "transformer_speed.md").read_text())


if __name__ == "__main__":
    main()
