"""The diffusion transformer: shapes at any size, zero init, masks, 3D RoPE, gradients, configs, checkpoints."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from kinema.config import TRANSFORMER_PRESETS, TransformerConfig, config_from_dict, config_to_dict
from kinema.models.layers import RotaryEmbedding3D, apply_rotary, timestep_embedding
from kinema.models.transformer import (
    DiffusionTransformer,
    TransformerBlock,
    load_transformer,
    parameter_count,
    save_transformer,
)

TINY = TRANSFORMER_PRESETS["tiny-test"]
TINY_PATCH2 = dataclasses.replace(TINY, patch_size=(1, 2, 2), depth=1, text_pool_heads=2)


def perturb_zero_init(model: DiffusionTransformer, seed: int = 0) -> DiffusionTransformer:
    """Give every zero-initialised tensor (gates, modulation, head) random values, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.copy_(0.1 * torch.randn(parameter.shape, generator=generator))
    return model


def make_inputs(config: TransformerConfig, batch: int = 2, frames: int = 5, height: int = 8, width: int = 8, text: int = 6, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    text_mask = torch.ones(batch, text, dtype=torch.bool)
    text_mask[0, text // 2 :] = False  # row 0 has padding
    given_mask = torch.zeros(batch, frames, dtype=torch.bool)
    return dict(
        latents=torch.randn(batch, config.latent_channels, frames, height, width, generator=generator),
        timestep=torch.rand(batch, generator=generator),
        text_states=torch.randn(batch, text, config.text_dim, generator=generator),
        text_mask=text_mask,
        pooled_text=torch.randn(batch, config.text_dim, generator=generator),
        given_mask=given_mask,
    )


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a loaded machine every parallel op waits for a time slice."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained_like() -> DiffusionTransformer:
    torch.manual_seed(0)
    return perturb_zero_init(DiffusionTransformer(TINY)).eval()


@pytest.mark.parametrize("frames", [1, 5, 9])
@pytest.mark.parametrize("height,width", [(8, 8), (4, 12), (12, 4)])
@pytest.mark.parametrize("config", [TINY, TINY_PATCH2], ids=["patch1", "patch122"])
@torch.no_grad()
def test_output_shape_equals_input_at_any_duration_and_aspect(config, frames: int, height: int, width: int) -> None:
    torch.manual_seed(0)
    model = perturb_zero_init(DiffusionTransformer(config))
    data = make_inputs(config, frames=frames, height=height, width=width)
    out = model(**data)
    assert out.shape == data["latents"].shape
    assert torch.isfinite(out).all() and out.abs().sum() > 0
    pt, ph, pw = config.patch_size
    assert model.num_tokens(frames, height, width) == frames * height * width // (pt * ph * pw)


def test_patchify_and_unpatchify_are_inverse() -> None:
    model = DiffusionTransformer(dataclasses.replace(TINY, patch_size=(2, 2, 2)))
    latents = torch.randn(2, 4, 4, 6, 8)
    tokens = model.patchify(latents)
    assert tokens.shape == (2, 2 * 3 * 4, 4 * 8)
    assert torch.equal(model.unpatchify(tokens, (2, 3, 4)), latents)
    # token 1 is frame-patch 0, row 0, column 1: latent voxels [0:2, 0:2, 2:4]
    assert torch.equal(tokens[0, 1].view(2, 2, 2, 4).permute(3, 0, 1, 2), latents[0, :, 0:2, 0:2, 2:4])


@torch.no_grad()
def test_fresh_model_predicts_exactly_zero_and_not_after_the_head_moves() -> None:
    torch.manual_seed(0)
    model = DiffusionTransformer(TINY)
    data = make_inputs(TINY)
    assert torch.equal(model(**data), torch.zeros_like(data["latents"]))
    torch.nn.init.normal_(model.final.head.weight, std=0.1)
    out = model(**data)
    assert out.abs().min() >= 0 and out.abs().mean() > 1e-3


@torch.no_grad()
def test_padded_text_tokens_are_ignored_and_real_ones_are_not(trained_like: DiffusionTransformer) -> None:
    data = make_inputs(TINY)
    out = trained_like(**data)
    padded = dict(data, text_states=data["text_states"].clone())
    padded["text_states"][0, 3:] = 100 * torch.randn(3, TINY.text_dim)  # row 0's tokens 3.. are masked out
    assert torch.allclose(trained_like(**padded), out, atol=1e-6)
    real = dict(data, text_states=data["text_states"].clone())
    real["text_states"][0, 1] += 1.0
    changed = trained_like(**real)
    assert (changed[0] - out[0]).abs().max() > 1e-3
    assert torch.allclose(changed[1], out[1], atol=1e-6)  # rows of a batch never mix


@torch.no_grad()
def test_all_padding_caption_gives_finite_text_independent_output(trained_like: DiffusionTransformer) -> None:
    data = make_inputs(TINY)
    data["text_mask"][0] = False  # a dropped caption (classifier-free guidance)
    out = trained_like(**data)
    assert torch.isfinite(out).all()
    other = dict(data, text_states=torch.randn_like(data["text_states"]))
    assert torch.allclose(trained_like(**other)[0], out[0], atol=1e-6)
    alone = {key: value[1:] for key, value in data.items()}
    assert torch.allclose(trained_like(**alone)[0], out[1], atol=1e-5)  # row 1 does not see row 0's empty mask


@torch.no_grad()
def test_given_frames_and_timestep_change_the_prediction() -> None:
    torch.manual_seed(0)
    model = DiffusionTransformer(TINY)
    torch.nn.init.normal_(model.final.head.weight, std=0.1)  # only the head: blocks are still the identity
    data = make_inputs(TINY)
    out = model(**data)
    given = dict(data, given_mask=data["given_mask"].clone())
    given["given_mask"][:, 0] = True  # first latent frame given (image-to-video)
    changed = model(**given)
    assert (changed[:, :, 0] - out[:, :, 0]).abs().max() > 1e-3
    assert torch.equal(changed[:, :, 1:], out[:, :, 1:])  # identity blocks: the flag stays on its own frame
    assert torch.equal(model(**dict(data, given_mask=None)), out)
    perturb_zero_init(model)
    assert not torch.allclose(model(**dict(data, timestep=data["timestep"] * 0.5)), model(**data))


def test_rope_scores_depend_only_on_the_3d_offset() -> None:
    rope = RotaryEmbedding3D(head_dim=16, axis_dims=(8, 4, 4))
    frames, rows, columns = 6, 5, 7
    rotations = rope(frames, rows, columns)  # (N, 8)
    assert rotations.shape == (frames * rows * columns, 8)
    assert torch.allclose(rotations.abs(), torch.ones(()))  # pure rotations: norms are kept
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 16, generator=generator, dtype=torch.float32)

    def score(query_position, key_position) -> float:
        index = lambda f, r, c: (f * rows + r) * columns + c  # noqa: E731
        q_rot = apply_rotary(q, rotations[index(*query_position)])
        k_rot = apply_rotary(k, rotations[index(*key_position)])
        return float(q_rot @ k_rot)

    base = score((1, 2, 0), (3, 1, 4))
    for shift in [(1, 0, 0), (2, 2, 1), (-1, -1, 2), (0, 2, 2)]:  # both positions stay inside the grid
        moved = score(tuple(a + s for a, s in zip((1, 2, 0), shift)), tuple(a + s for a, s in zip((3, 1, 4), shift)))
        assert moved == pytest.approx(base, abs=1e-4)
    assert abs(score((1, 2, 0), (3, 1, 5)) - base) > 1e-3  # a different offset scores differently
    assert abs(score((1, 2, 0), (4, 1, 4)) - base) > 1e-3
    assert rope(frames, rows, columns) is rotations  # cached by shape
    assert rope(1, 3, 9).shape == (27, 8) and rope(17, 2, 2).shape == (68, 8)


def test_rope_cached_during_inference_still_trains() -> None:
    torch.manual_seed(0)
    model = perturb_zero_init(DiffusionTransformer(TINY))
    data = make_inputs(TINY)
    with torch.inference_mode():  # e.g. a preview sample in the middle of training fills the cache
        model(**data)
    model(**data).square().mean().backward()
    assert model.blocks[0].self_attn.qk_gain.grad.abs().sum() > 0


def test_timestep_embedding_is_sinusoidal_in_scaled_t() -> None:
    features = timestep_embedding(torch.tensor([0.0, 0.5]), 8)
    assert torch.equal(features[0], torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0]))
    assert features[1, 0] == pytest.approx(torch.cos(torch.tensor(500.0)).item(), abs=1e-5)


def test_gradient_reaches_every_parameter() -> None:
    torch.manual_seed(0)
    model = perturb_zero_init(DiffusionTransformer(TINY_PATCH2))
    data = make_inputs(TINY_PATCH2)
    data["given_mask"][:, 0] = True
    loss = (model(**data) - data["latents"]).pow(2).mean()
    loss.backward()
    silent = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert silent == []


def test_a_fresh_model_learns_out_of_its_zero_init() -> None:
    torch.manual_seed(0)
    model = DiffusionTransformer(TINY)
    data = make_inputs(TINY, frames=2, height=4, width=4)
    target = torch.randn_like(data["latents"])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = (model(**data) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(target.pow(2).mean().item())  # zero prediction at the start
    assert losses[-1] < 0.3 * losses[0]
    assert model.blocks[0].self_attn.qkv.weight.grad.abs().sum() > 0  # the blocks opened, not only the head


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(width=30, heads=4), "divisible by heads"),
        (dict(width=36, heads=4), "at least 6"),
        (dict(width=20, heads=4), "even"),
        (dict(prediction="noise"), "'sample'"),
        (dict(patch_size=(1, 2)), "three positive integers"),
        (dict(patch_size=(1, 0, 2)), "three positive integers"),
        (dict(depth=0), "depth must be a positive integer"),
        (dict(text_pool_heads=-1), "text_pool_heads must be 0"),
        (dict(text_refiner_depth=-1), "text_refiner_depth must be 0"),
    ],
)
def test_config_validation_names_the_problem(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY, **changes)


def test_input_checks_name_the_allowed_sizes() -> None:
    model = DiffusionTransformer(TINY_PATCH2)
    data = make_inputs(TINY_PATCH2, height=7)
    with pytest.raises(ValueError, match=r"latent height must be a positive multiple of the patch size 2 \(e.g. 2, 4, 8"):
        model(**data)
    with pytest.raises(ValueError, match="latents must be"):
        model(**dict(make_inputs(TINY_PATCH2), latents=torch.randn(2, 3, 5, 8, 8)))
    with pytest.raises(ValueError, match="given_mask must have shape"):
        model(**dict(make_inputs(TINY_PATCH2), given_mask=torch.zeros(2, 4, dtype=torch.bool)))
    with pytest.raises(ValueError, match="text_mask must be a bool"):
        model(**dict(make_inputs(TINY_PATCH2), text_mask=torch.ones(2, 6)))
    temporal = DiffusionTransformer(dataclasses.replace(TINY, patch_size=(2, 1, 1)))
    with pytest.raises(ValueError, match="latent frames must be a positive multiple of the patch size 2"):
        temporal.num_tokens(5, 4, 4)
    assert temporal.num_tokens(4, 4, 4) == 32


def test_velocity_prediction_is_a_config_flag_and_round_trips() -> None:
    config = dataclasses.replace(TINY, prediction="velocity")
    restored = config_from_dict(TransformerConfig, config_to_dict(config))
    assert restored == config and restored.patch_size == (1, 1, 1)
    assert DiffusionTransformer(config).config.prediction == "velocity"


@torch.no_grad()
def test_save_and_load_round_trip(tmp_path, trained_like: DiffusionTransformer) -> None:
    data = make_inputs(TINY)
    save_transformer(trained_like, tmp_path / "fp32", dtype=torch.float32)
    loaded = load_transformer(tmp_path / "fp32")
    assert loaded.config == TINY and not loaded.training
    assert torch.equal(loaded(**data), trained_like(**data))
    save_transformer(trained_like, tmp_path / "fp16")  # shipped precision
    assert torch.allclose(load_transformer(tmp_path / "fp16")(**data), trained_like(**data), atol=2e-2)
    (tmp_path / "fp32" / "config.json").write_text((tmp_path / "fp32" / "config.json").read_text().replace('"width": 32', '"width": 64'))
    with pytest.raises(ValueError, match="does not match"):
        load_transformer(tmp_path / "fp32")


def test_fsdp_wraps_one_block_at_a_time() -> None:
    model = DiffusionTransformer(TINY)
    assert DiffusionTransformer.fsdp_wrap_class is TransformerBlock
    assert DiffusionTransformer._no_split_modules == ["TransformerBlock"]
    assert sum(isinstance(m, TransformerBlock) for m in model.modules()) == TINY.depth


def test_parameter_counts_of_the_presets() -> None:
    world = sum(p.numel() for p in DiffusionTransformer(TRANSFORMER_PRESETS["world-s"]).parameters())
    assert world == parameter_count(TRANSFORMER_PRESETS["world-s"])
    assert 8e6 < world < 12e6, f"world-s has {world:,} parameters"
    wan_shaped = parameter_count(TRANSFORMER_PRESETS["wan-1.3b"])  # on the meta device: no memory
    assert 1.2e9 < wan_shaped < 1.6e9, f"wan-1.3b has {wan_shaped:,} parameters"


def grown_from(trained_like: DiffusionTransformer, tmp_path, **part) -> tuple[DiffusionTransformer, dict]:
    """`trained_like` given a new part (e.g. text_pool_heads=2) through --init from a folder saved without it.

    Checks the part starts closed (the same outputs), then opens it as training would; returns the
    grown model and the inputs it was checked on.
    """
    from kinema.training.trainer import load_initial_weights

    save_transformer(trained_like, tmp_path / "without", dtype=torch.float32)
    grown = DiffusionTransformer(dataclasses.replace(TINY, **part)).eval()
    load_initial_weights(grown, tmp_path / "without", "tiny-test")
    data = make_inputs(TINY)
    assert torch.equal(grown(**data), trained_like(**data))  # closed at the start: the same model
    perturb_zero_init(grown, seed=1)
    assert (grown(**data) - trained_like(**data)).abs().max() > 1e-3
    return grown, data


@torch.no_grad()
def test_text_pool_starts_closed_then_reads_only_real_tokens(trained_like: DiffusionTransformer, tmp_path) -> None:
    pooled, data = grown_from(trained_like, tmp_path, text_pool_heads=2)
    out = pooled(**data)
    padded = dict(data, text_states=data["text_states"].clone())
    padded["text_states"][0, 3:] = 100 * torch.randn(3, TINY.text_dim)  # masked tokens stay unseen
    assert torch.allclose(pooled(**padded), out, atol=1e-6)
    data["text_mask"][0] = False
    assert torch.isfinite(pooled(**data)).all()  # an all-padding caption pools to zeros, not NaN
    queries = pooled.text_pool.queries
    assert not torch.allclose(queries[0], queries[1])  # equal heads would stay equal under training


@torch.no_grad()
def test_text_refiner_starts_closed_then_reads_word_order_and_only_real_tokens(trained_like: DiffusionTransformer, tmp_path) -> None:
    refined, data = grown_from(trained_like, tmp_path, text_refiner_depth=2)
    out = refined(**data)
    reordered = dict(data, text_states=data["text_states"][:, [1, 0, 2, 3, 4, 5]])  # two real words swapped
    assert (refined(**reordered) - out).abs().max() > 1e-4  # the refiner reads word order...
    assert torch.allclose(trained_like(**reordered), trained_like(**data), atol=1e-6)  # ...cross-attention alone cannot
    padded = dict(data, text_states=data["text_states"].clone())
    padded["text_states"][0, 3:] = 100 * torch.randn(3, TINY.text_dim)  # masked tokens stay unseen
    assert torch.allclose(refined(**padded), out, atol=1e-6)
    data["text_mask"][0] = False
    assert torch.isfinite(refined(**data)).all()  # an all-padding caption is no NaN


def test_init_refuses_a_folder_of_another_architecture(trained_like: DiffusionTransformer, tmp_path) -> None:
    from kinema.training.trainer import load_initial_weights

    save_transformer(trained_like, tmp_path / "tiny")
    wider = DiffusionTransformer(dataclasses.replace(TINY, width=48, text_pool_heads=2))
    with pytest.raises(ValueError, match="not the 'tiny-test' preset"):
        load_initial_weights(wider, tmp_path / "tiny", "tiny-test")
