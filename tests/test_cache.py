"""Latent caches: cached batches equal the live encodings bit for bit, cycle past their end, refuse
incomplete folders and other settings, and train to the same losses as live encoding."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from kinema.data.cache import LatentCache, write_cache
from kinema.data.sources import WorldSource
from kinema.data.world_stream import parse_buckets, to_model_range
from kinema.training.trainer import TrainConfig, cached_batch, caption_drops, encode_batch, step_generator, train

BUCKETS = "5x16x16:2,1x16x16:4:0.5"


@pytest.fixture(scope="module")
def vae(tiny_vae_folder):
    from kinema.models.vae import load_vae

    return load_vae(tiny_vae_folder)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, vae, text_encoder, tiny_vae_folder) -> Path:
    """Steps 0..2 of WorldSource(0), encoded."""
    folder = tmp_path_factory.mktemp("cache") / "cache"
    return write_cache(folder, WorldSource(0), BUCKETS, vae, text_encoder, 3, progress=False, vae_name=str(tiny_vae_folder))


@pytest.fixture
def config(tiny_vae_folder) -> TrainConfig:
    # Half the captions dropped, so the cached empty-prompt rows are exercised; a large first step, so that
    # the second step's loss and gradients depend on the text (a fresh model's zero-initialised gates ignore it).
    return TrainConfig(transformer="tiny-test", vae=str(tiny_vae_folder), buckets=BUCKETS, steps=2, caption_dropout=0.5,
                       lr=1e-2, warmup_steps=1, checkpoint_every=2, log_every=1, preview_every=1000)


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_cached_batches_equal_the_live_encodings(cache_dir, vae, text_encoder) -> None:
    cache, source = LatentCache(cache_dir), WorldSource(0)
    assert len(cache) == 3
    shapes = set()
    for step in range(3):
        latents, text, captions = cache.batch(step)
        clips, live_captions = source.batch(step, parse_buckets(BUCKETS))
        live_text = text_encoder.encode(live_captions)
        assert captions == live_captions
        assert torch.equal(latents, vae.encode(to_model_range(clips)))
        assert torch.equal(text.states, live_text.states) and torch.equal(text.mask, live_text.mask)
        assert torch.equal(text.pooled, live_text.pooled)
        assert cache.index["latent_shapes"][step] == list(latents.shape)
        shapes.add(tuple(latents.shape))
    assert len(shapes) == 2  # both buckets occur, so batches differ in shape and padding
    empty = text_encoder.encode([""])
    assert torch.equal(cache.empty_text().states, empty.states) and torch.equal(cache.empty_text().mask, empty.mask)


def test_steps_past_the_end_cycle_through_the_cache(cache_dir) -> None:
    cache = LatentCache(cache_dir)
    for later, earlier in [(3, 0), (4, 1), (8, 2)]:
        assert torch.equal(cache.batch(later)[0], cache.batch(earlier)[0])
        assert cache.batch(later)[2] == cache.batch(earlier)[2]


def test_dropped_captions_read_from_the_cache_equal_live_ones(cache_dir, vae, text_encoder) -> None:
    cache, source, dropped_any = LatentCache(cache_dir), WorldSource(0), False
    for step in range(3):
        clips, captions = source.batch(step, parse_buckets(BUCKETS))
        latents, text = encode_batch(vae, text_encoder, clips, captions, step_generator(0, step), 0.5)
        cached_latents, cached_text = cached_batch(cache, step, step_generator(0, step), 0.5)
        dropped_any |= bool(caption_drops(len(captions), step_generator(0, step), 0.5).any())
        assert torch.equal(cached_latents, latents)
        assert cached_text.states.shape == text.states.shape and torch.equal(cached_text.mask, text.mask)
        torch.testing.assert_close(cached_text.states, text.states, rtol=0, atol=1e-6)
        torch.testing.assert_close(cached_text.pooled, text.pooled, rtol=0, atol=1e-6)
    assert dropped_any


def test_training_from_the_cache_gives_the_live_losses(cache_dir, config, tmp_path, monkeypatch) -> None:
    import kinema.training.trainer as trainer

    live = train(config, tmp_path / "live", progress=False)
    # With a cache neither the VAE nor the text encoder is loaded (there is no preview in 2 steps).
    monkeypatch.setattr(trainer, "load_frozen", lambda config: pytest.fail("loaded the frozen encoders"))
    cached = train(dataclasses.replace(config, cache=str(cache_dir)), tmp_path / "cached", progress=False)
    assert len(losses(tmp_path / "live")) == 2
    assert losses(tmp_path / "cached") == pytest.approx(losses(tmp_path / "live"), rel=1e-5)
    assert cached["loss"] == pytest.approx(live["loss"], rel=1e-5)
    from safetensors.torch import load_file

    weights = [load_file(tmp_path / run / "checkpoints" / "step_0000002" / "state.safetensors") for run in ("live", "cached")]
    for name, tensor in weights[0].items():
        if name.startswith("rng."):  # the live run's encoder loading draws from the global generator; training does not
            continue
        torch.testing.assert_close(weights[1][name], tensor, rtol=1e-5, atol=1e-6, msg=name)


def test_a_cache_of_other_batches_is_refused_naming_both(cache_dir, config, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"buckets '5x16x16:2' \(the cache holds '5x16x16:2,1x16x16:4:0.5'\)"):
        train(dataclasses.replace(config, cache=str(cache_dir), buckets="5x16x16:2"), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=r"seed 3 \(the cache holds seed 0\)"):
        train(dataclasses.replace(config, cache=str(cache_dir), seed=3), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before the run folder was made


def test_missing_corrupt_or_incomplete_folders_are_not_caches(cache_dir, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} is not a latent cache"):
        LatentCache(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(cache_dir, broken)
    (broken / "index.json").write_text('{"batches": 3')
    with pytest.raises(ValueError, match=f"{broken / 'index.json'} is corrupt"):
        LatentCache(broken)
    (broken / "index.json").write_text('{"batches": 3}')
    with pytest.raises(ValueError, match="lacks"):
        LatentCache(broken)
    shutil.copy(cache_dir / "index.json", broken / "index.json")
    (broken / "batch_0000001.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=f"cache {broken} is incomplete.*batch_0000001"):
        LatentCache(broken)


def test_data_encode_writes_a_cache(cache_dir, tiny_vae_folder, tmp_path, capsys) -> None:
    from kinema.cli import main

    out = tmp_path / "cache"
    argv = ["data", "encode", "--out", str(out), "--batches", "2", "--vae", str(tiny_vae_folder), "--buckets", BUCKETS,
            "--quiet"]
    assert main(argv) == 0
    assert "encoded 2 batches" in capsys.readouterr().out
    cache = LatentCache(out)
    assert len(cache) == 2 and cache.index["source"] == {"data": "world", "seed": 0}
    assert torch.equal(cache.batch(1)[0], LatentCache(cache_dir).batch(1)[0])
    assert main(argv) == 2 and "already holds a cache" in capsys.readouterr().err
