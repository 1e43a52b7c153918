"""The causal video VAE: shapes, causality, streaming, tiling, checkpoints, input checks, training."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from kinema.config import VAE_PRESETS, VAEConfig
from kinema.models.vae import VideoVAE, add_refiner, grow_decoder, load_vae, save_vae
from kinema.training.vae_trainer import VAETrainConfig, export_vae, object_pixel_weights, reconstruction_loss, train_vae

TINY = VAE_PRESETS["tiny-test"]


@pytest.fixture(scope="module")
def vae() -> VideoVAE:
    torch.manual_seed(0)
    return VideoVAE(TINY).eval()


def video(frames: int, height: int = 32, width: int = 32, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, frames, height, width, generator=generator) * 2 - 1


@pytest.mark.parametrize("frames", [1, 5, 9, 17])
@pytest.mark.parametrize("height,width", [(32, 32), (16, 48), (48, 16)])
@torch.no_grad()
def test_shapes_for_every_allowed_input(vae: VideoVAE, frames: int, height: int, width: int) -> None:
    latents = vae.encode(video(frames, height, width))
    assert latents.shape == (1, *vae.latent_shape(frames, height, width))
    assert latents.shape[2] == 1 + (frames - 1) // 4
    assert vae.decode(latents).shape == (1, 3, frames, height, width)


def test_the_8x_and_16x_presets_compress_as_named() -> None:
    assert VAE_PRESETS["world-8x"].spatial_compression == 8
    assert VAE_PRESETS["world-16x"].spatial_compression == 16
    big = VideoVAE(VAE_PRESETS["world-16x"])
    assert big.latent_shape(17, 64, 64) == (64, 5, 4, 4)


@torch.no_grad()
def test_changing_frame_k_never_changes_earlier_latents(vae: VideoVAE) -> None:
    clip = video(17)
    latents = vae.encode(clip)
    for frame in (1, 5, 9, 16):
        changed = clip.clone()
        changed[:, :, frame] += 0.5
        other = vae.encode(changed)
        first_affected = 1 + (frame - 1) // 4  # latent 0 is frame 0, latent j covers frames 4j-3 .. 4j
        assert torch.equal(other[:, :, :first_affected], latents[:, :, :first_affected])
        assert not torch.allclose(other[:, :, first_affected], latents[:, :, first_affected])


@torch.no_grad()
def test_an_image_is_a_one_frame_video(vae: VideoVAE) -> None:
    clip = video(9)
    image_latent = vae.encode(clip[:, :, :1])
    assert torch.equal(image_latent, vae.encode(clip)[:, :, :1])
    assert vae.decode(image_latent).shape == (1, 3, 1, 32, 32)


@torch.no_grad()
def test_chunked_encode_and_streamed_decode_equal_the_whole(vae: VideoVAE) -> None:
    clip = video(17)
    latents = vae.encode(clip)
    for chunk in (1, 2):
        torch.testing.assert_close(vae.encode(clip, chunk_frames=chunk), latents, atol=1e-5, rtol=0)
    whole = vae.decode(latents)
    torch.testing.assert_close(vae.decode(latents, chunk_latents=1), whole, atol=1e-5, rtol=0)
    streamed = list(vae.decode_stream(latents, chunk_latents=1))
    assert [part.shape[2] for part in streamed] == [1, 4, 4, 4, 4]
    torch.testing.assert_close(torch.cat(streamed, dim=2), whole, atol=1e-5, rtol=0)


@torch.no_grad()
def test_tiled_equals_untiled_within_tolerance(vae: VideoVAE) -> None:
    """Tiles overlap by half, so seams fall outside most of the receptive field; an untrained net is the worst case."""
    clip = video(5, 32, 96)
    latents = vae.encode(clip)
    tiled = vae.encode(clip, tile=64)
    assert tiled.shape == latents.shape
    assert (tiled - latents).abs().mean() < 0.05 * latents.abs().mean()
    decoded, decoded_tiled = vae.decode(latents), vae.decode(latents, tile=16)
    assert decoded_tiled.shape == decoded.shape
    assert (decoded_tiled - decoded).abs().mean() < 0.05 * decoded.abs().mean()
    # A tile as large as the frame is exact.
    torch.testing.assert_close(vae.encode(clip[..., :32], tile=32), vae.encode(clip[..., :32]))


def test_wrong_frame_count_or_size_names_what_is_allowed(vae: VideoVAE) -> None:
    with pytest.raises(ValueError, match=r"1 \+ 4k"):
        vae.encode(video(8))
    with pytest.raises(ValueError, match="multiples of 4"):
        vae.encode(video(5, 30, 32))
    with pytest.raises(ValueError, match=r"\(batch, 3, frames"):
        vae.encode(torch.zeros(3, 5, 32, 32))
    with pytest.raises(ValueError, match="tile must be a multiple"):
        vae.encode(video(5), tile=6)


def test_save_load_round_trip_in_fp16(vae: VideoVAE, tmp_path) -> None:
    stats = dataclasses.replace(TINY, latent_mean=(0.1, 0.2, 0.3, 0.4), latent_std=(1.0, 2.0, 3.0, 4.0))
    original = VideoVAE(stats).eval()
    original.load_state_dict(vae.state_dict())
    save_vae(original, tmp_path / "model")
    loaded = load_vae(tmp_path / "model")
    assert loaded.config == stats
    clip = video(5)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode(clip), original.encode(clip), atol=2e-2, rtol=2e-2)
        assert loaded.encode(clip).std() < original.encode(clip).std() * 1.1  # normalised by the stored stds


def test_corrupt_or_mismatched_checkpoints_name_the_file(vae: VideoVAE, tmp_path) -> None:
    folder = save_vae(vae, tmp_path / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="model.safetensors"):
        load_vae(folder)
    save_vae(vae, folder)
    config = json.loads((folder / "config.json").read_text())
    config["channels"] = [8, 32]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not match"):
        load_vae(folder)
    config["colour_depth"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="unknown keys"):
        load_vae(folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_vae(tmp_path / "nowhere")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="temporal_compression"):
        VAEConfig(temporal_compression=3)
    with pytest.raises(ValueError, match="latent_mean"):
        VAEConfig(latent_channels=4, latent_mean=(0.0,))


TRAIN = VAETrainConfig(preset="tiny-test", steps=6, buckets="5x16x16:2,1x16x16:4", lr=3e-3, warmup_steps=1,
                       checkpoint_every=3, preview_every=6, log_every=1)


def test_training_lowers_the_loss_and_resumes_exactly(tmp_path) -> None:
    """Killing after step 3 and restarting gives the same weights as one uninterrupted run."""
    straight = train_vae(TRAIN, tmp_path / "straight", progress=False)
    # A run killed after its step-3 checkpoint: its later checkpoint never got written.
    resumed_dir = tmp_path / "resumed"
    train_vae(TRAIN, resumed_dir, progress=False)
    checkpoints = resumed_dir / "checkpoints"
    shutil.rmtree(checkpoints / "step_0000006")
    (checkpoints / "latest").write_text("step_0000003")
    resumed = train_vae(TRAIN, resumed_dir, progress=False)
    assert resumed["step"] == straight["step"] == 6
    assert resumed["loss"] == pytest.approx(straight["loss"], rel=1e-5)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    assert (tmp_path / "straight" / "previews" / "step_0000006.png").is_file()
    assert any((tmp_path / "straight" / "tb").iterdir())


def test_an_adversarial_run_resumes_exactly_and_ships_no_discriminator(tmp_path) -> None:
    adversarial = dataclasses.replace(TRAIN, gan_weight=0.5, gan_start=2)
    straight = train_vae(adversarial, tmp_path / "straight", progress=False)
    resumed_dir = tmp_path / "resumed"
    train_vae(adversarial, resumed_dir, progress=False)
    shutil.rmtree(resumed_dir / "checkpoints" / "step_0000006")
    (resumed_dir / "checkpoints" / "latest").write_text("step_0000003")
    resumed = train_vae(adversarial, resumed_dir, progress=False)
    assert resumed["loss"] == pytest.approx(straight["loss"], rel=1e-5)
    assert resumed["discriminator_loss"] == pytest.approx(straight["discriminator_loss"], rel=1e-5)
    assert 0.0 < straight["discriminator_loss"] < 4.0
    shipped = load_vae(export_vae(tmp_path / "straight", tmp_path / "model", stats_batches=2))
    assert not any("discriminator" in name for name in shipped.state_dict())
    with pytest.raises(ValueError, match="gan_weight and gan_start"):
        dataclasses.replace(TRAIN, gan_weight=-0.1)


def test_a_run_folder_refuses_other_settings(tmp_path) -> None:
    train_vae(dataclasses.replace(TRAIN, steps=1), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="different settings"):
        train_vae(dataclasses.replace(TRAIN, steps=1, lr=1e-2), tmp_path / "run", progress=False)


def test_export_measures_latent_statistics(tmp_path) -> None:
    train_vae(dataclasses.replace(TRAIN, steps=2), tmp_path / "run", progress=False)
    folder = export_vae(tmp_path / "run", tmp_path / "shipped", stats_batches=2)
    shipped = load_vae(folder)
    assert len(shipped.config.latent_mean) == shipped.config.latent_channels
    assert all(s > 0 for s in shipped.config.latent_std)


def test_decoder_only_training_keeps_the_latent_space(tmp_path) -> None:
    """--freeze-encoder changes only the decoder, and the export keeps the initial latent statistics."""
    train_vae(dataclasses.replace(TRAIN, steps=2), tmp_path / "base", progress=False)
    base = load_vae(export_vae(tmp_path / "base", tmp_path / "base-model", stats_batches=2))
    decoder_only = dataclasses.replace(TRAIN, steps=3, freeze_encoder=True)
    with pytest.raises(ValueError, match="--init"):
        train_vae(decoder_only, tmp_path / "no-init", progress=False)
    train_vae(decoder_only, tmp_path / "tuned", init=tmp_path / "base-model", progress=False)
    tuned = load_vae(export_vae(tmp_path / "tuned", tmp_path / "tuned-model", stats_batches=2))
    assert tuned.config.latent_mean == base.config.latent_mean and tuned.config.latent_std == base.config.latent_std
    for name, weight in base.encoder.state_dict().items():
        assert torch.equal(tuned.encoder.state_dict()[name], weight), name
    assert any(not torch.equal(tuned.decoder.state_dict()[name], weight) for name, weight in base.decoder.state_dict().items())


@torch.no_grad()
def test_a_grown_decoder_decodes_exactly_as_before(vae: VideoVAE) -> None:
    grown = grow_decoder(vae, 3).eval()
    assert grown.config.decoder_blocks == 3 and grown.config.blocks_per_level == TINY.blocks_per_level
    assert all(len(blocks) == len(old) + 2 for blocks, old in zip(grown.decoder.levels, vae.decoder.levels))
    latents = vae.encode(video(9))
    assert torch.equal(grown.encode(video(9)), latents)
    torch.testing.assert_close(grown.decode(latents), vae.decode(latents), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="only grow"):
        grow_decoder(grown, 2)


@torch.no_grad()
def test_a_refiner_starts_as_the_identity_and_keeps_the_decoder_causal_and_streamable(vae: VideoVAE) -> None:
    refined = add_refiner(vae, 8).eval()
    latents = vae.encode(video(17))
    torch.testing.assert_close(refined.decode(latents), vae.decode(latents), rtol=0, atol=1e-6)
    torch.nn.init.normal_(refined.decoder.refiner.conv_out.conv.weight, std=0.1)  # as if trained
    whole = refined.decode(latents)
    assert (whole - vae.decode(latents)).abs().mean() > 1e-3
    torch.testing.assert_close(torch.cat(list(refined.decode_stream(latents, chunk_latents=1)), dim=2), whole, atol=1e-5, rtol=0)
    later = latents.clone()
    later[:, :, 3:] += 1.0
    torch.testing.assert_close(refined.decode(later)[:, :, :9], whole[:, :, :9], atol=1e-6, rtol=0)
    assert add_refiner(refined, 8) is refined
    with pytest.raises(ValueError, match="already has a refiner of width 8"):
        add_refiner(refined, 4)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        VAEConfig(patch_size=4, channels=(24, 32), refine_channels=8)


def test_growing_the_decoder_in_training_ships_the_bigger_decoder(tmp_path) -> None:
    train_vae(dataclasses.replace(TRAIN, steps=2), tmp_path / "base", progress=False)
    base = export_vae(tmp_path / "base", tmp_path / "base-model", stats_batches=2)
    growing = dataclasses.replace(TRAIN, steps=3, freeze_encoder=True, decoder_blocks=2, refine_channels=4)
    with pytest.raises(ValueError, match="--init"):
        train_vae(growing, tmp_path / "no-init", progress=False)
    train_vae(growing, tmp_path / "grown", init=base, progress=False)
    train_vae(growing, tmp_path / "grown", progress=False)  # a resume needs no --init: the run holds the grown weights
    grown = load_vae(export_vae(tmp_path / "grown", tmp_path / "grown-model", stats_batches=2))
    assert grown.config.decoder_blocks == 2 and grown.config.refine_channels == 4
    assert grown.config.latent_mean == load_vae(base).config.latent_mean


def test_the_temporal_term_penalises_flicker_that_pixels_alone_barely_see() -> None:
    target = torch.zeros(1, 3, 9, 8, 8)
    steady = target + 0.1  # the same error in every frame
    flicker = target + 0.1 * torch.tensor([1.0, -1.0] * 4 + [1.0]).view(1, 1, 9, 1, 1)  # as large, alternating
    plain = [reconstruction_loss(x, target, edge_weight=0.5)[0] for x in (steady, flicker)]
    temporal = [reconstruction_loss(x, target, edge_weight=0.5, temporal_weight=1.0)[0] for x in (steady, flicker)]
    assert plain[0] == pytest.approx(plain[1])
    assert temporal[0] == pytest.approx(plain[0]) and temporal[1] > plain[1] + 0.15
    image = reconstruction_loss(steady[:, :, :1], target[:, :, :1], edge_weight=0.5, temporal_weight=1.0)[0]
    assert image == pytest.approx(reconstruction_loss(steady[:, :, :1], target[:, :, :1], edge_weight=0.5)[0])


def test_object_weights_mark_the_objects_and_the_ring_around_them() -> None:
    from kinema.world.spec import ObjectSpec, SceneSpec

    spec = SceneSpec(objects=(ObjectSpec(colour="red", shape="square", size="large", x=0.5, y=0.5, motion="still"),))
    weights = object_pixel_weights([spec], 5, 32, 32, weight=8.0)
    assert weights.shape == (1, 1, 5, 32, 32)
    assert weights[0, 0, :, 16, 16].eq(9.0).all()  # the object's centre
    assert weights[0, 0, :, 0, 0].eq(1.0).all()  # far from it
    inside = weights[0, 0, 0] == 9.0
    ring = (weights[0, 0, 0] > 1.0) & ~inside
    assert inside.sum() > 20 and ring.sum() >= 4 * inside.sum() ** 0.5  # about the outline's length


def test_object_weights_make_an_error_on_the_object_count_more() -> None:
    target = torch.zeros(1, 3, 5, 8, 8)
    weights = torch.ones(1, 1, 5, 8, 8)
    weights[..., 2:4, 2:4] = 9.0
    on_object, on_background = target.clone(), target.clone()
    on_object[..., 2, 2] = 0.5
    on_background[..., 6, 6] = 0.5
    plain = [reconstruction_loss(x, target, edge_weight=0.5, temporal_weight=1.0) for x in (on_object, on_background)]
    weighted = [reconstruction_loss(x, target, edge_weight=0.5, temporal_weight=1.0, weights=weights) for x in (on_object, on_background)]
    assert plain[0][0] == pytest.approx(plain[1][0])
    assert weighted[0][0] > 3 * weighted[1][0]
    assert weighted[0][1] == plain[0][1]  # the MSE (the logged PSNR) stays plain
    uniform = reconstruction_loss(on_object, target, edge_weight=0.5, temporal_weight=1.0, weights=torch.full_like(weights, 2.0))
    assert uniform[0] == pytest.approx(plain[0][0])
    with pytest.raises(ValueError, match="object_weight must be 0 or more"):
        dataclasses.replace(TRAIN, object_weight=-1.0)


def test_temporal_error_separates_steps_into_a_new_latent_group() -> None:
    from kinema.evaluation.vae_quality import temporal_error

    errors = np.tile(np.array([4.0, 1.0, 1.0, 1.0]), (3, 4))  # 16 steps of 17 frames; each group opens with a jump
    assert temporal_error(errors, 4) == {"temporal_error": 1.75, "temporal_error_group_boundary": 4.0,
                                         "temporal_error_within_group": 1.0}


@torch.no_grad()
def test_the_vae_eval_reports_agreement_by_attribute_and_shapes_by_object(vae: VideoVAE) -> None:
    from kinema.evaluation.vae_quality import evaluate_vae

    report = evaluate_vae(vae, clips=2, height=32, width=32, frames=5, batch=2)
    assert report["clips"] == 2 and report["size"] == "32x32x5"
    assert set(report["checker_agreement_by_attribute"]) >= {"colour", "shape"}
    assert report["shape_agreement_by_object"]
    for name, rate in report["shape_agreement_by_object"].items():
        size, shape = name.split()
        assert size in ("small", "medium", "large") and shape in ("circle", "square", "triangle", "star")
        assert 0.0 <= rate <= 1.0
