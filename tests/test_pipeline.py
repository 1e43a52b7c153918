"""KinemaPipeline on tiny parts: shapes, seeds, variations, given frames, checks, save/load."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import tiny_transformer

from kinema.models.vae import load_vae
from kinema.pipeline import KinemaPipeline, PipelineConfig

SIZES = ((16, 16), (16, 32), (32, 16))  # (height, width): square, landscape, portrait


@pytest.fixture(scope="module")
def pipe(text_encoder, tiny_vae_folder) -> KinemaPipeline:
    transformer = tiny_transformer()
    config = PipelineConfig(name="tiny", sizes=SIZES, frame_counts=(1, 17, 33), steps=2)
    return KinemaPipeline(transformer, load_vae(tiny_vae_folder), text_encoder, config)


@pytest.mark.parametrize("frames,latent_frames", [(1, 1), (17, 5), (33, 9)])
@pytest.mark.parametrize("height,width", SIZES)
def test_shapes_for_one_five_and_nine_latent_frames_at_three_aspects(pipe, frames, latent_frames, height, width) -> None:
    out = pipe("a red ball moving left", num_frames=frames, height=height, width=width, seed=1)
    assert out.frames.shape == (1, frames, height, width, 3) and out.frames.dtype == np.uint8
    assert out.latents.shape[2] == latent_frames
    assert out.metadata[0]["seed"] == 1 and out.metadata[0]["num_frames"] == frames


def test_a_seed_reproduces_and_variations_differ(pipe) -> None:
    first = pipe("a blue star spinning", num_frames=17, height=16, width=16, seed=7, num_videos=3)
    again = pipe("a blue star spinning", num_frames=17, height=16, width=16, seed=7, num_videos=3)
    assert np.array_equal(first.frames, again.frames)
    assert [m["seed"] for m in first.metadata] == [7, 8, 9]
    assert not np.array_equal(first.frames[0], first.frames[1])
    single = pipe("a blue star spinning", num_frames=17, height=16, width=16, seed=8)
    torch.testing.assert_close(first.latents[1], single.latents[0], atol=1e-4, rtol=0)  # batched = one by one
    assert np.abs(first.frames[1].astype(int) - single.frames[0]).max() <= 1  # up to float rounding across batch sizes


def test_diffusers_style_generator_and_num_videos_per_prompt_mean_seed_and_num_videos(pipe) -> None:
    ours = pipe("a blue star spinning", num_frames=1, height=16, width=16, seed=7, num_videos=2)
    theirs = pipe("a blue star spinning", num_frames=1, height=16, width=16,
                  generator=torch.Generator().manual_seed(7), num_videos_per_prompt=2)
    assert np.array_equal(ours.frames, theirs.frames) and [m["seed"] for m in theirs.metadata] == [7, 8]


def test_the_package_exports_the_pipeline_and_export_to_video_lazily() -> None:
    code = ("import sys, kinema; loaded = 'torch' in sys.modules; "
            "from kinema import KinemaPipeline, export_to_video; print(loaded, KinemaPipeline.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "KinemaPipeline"]


def test_output_type_pil_gives_each_video_as_pil_images(pipe, tmp_path) -> None:
    from kinema.media import export_to_video, read_video

    arrays = pipe("a blue star spinning", num_frames=17, height=16, width=32, seed=3, num_videos=2)
    images = pipe("a blue star spinning", num_frames=17, height=16, width=32, seed=3, num_videos=2, output_type="pil")
    assert len(images.frames) == 2 and len(images.frames[1]) == 17 and images.frames[1][0].size == (32, 16)
    assert all(np.array_equal(np.asarray(image), frame) for image, frame in zip(images.frames[1], arrays.frames[1]))
    path = export_to_video(images.frames[0], tmp_path / "star.mp4", fps=pipe.config.fps)  # the diffusers idiom
    assert read_video(path)[0].shape == (17, 16, 32, 3)


def test_output_type_pt_is_diffusers_float_layout(pipe) -> None:
    arrays = pipe("a blue star spinning", num_frames=17, height=16, width=32, seed=3)
    tensors = pipe("a blue star spinning", num_frames=17, height=16, width=32, seed=3, output_type="pt")
    assert tensors.frames.shape == (1, 17, 3, 16, 32) and tensors.frames.dtype == torch.float32
    assert torch.equal(tensors.frames, torch.from_numpy(arrays.frames).permute(0, 1, 4, 2, 3) / 255)


def test_a_list_of_prompts_is_one_batch_of_videos_per_prompt(pipe) -> None:
    prompts = ["a red ball moving left", "a green square at night"]
    batch = pipe(prompts, negative_prompt=["", "a star"], num_frames=17, height=16, width=16, seed=4, num_videos=2)
    assert batch.frames.shape[0] == 4
    assert [(m["prompt"], m["negative_prompt"], m["seed"]) for m in batch.metadata] == [
        (prompts[0], "", 4), (prompts[0], "", 5), (prompts[1], "a star", 6), (prompts[1], "a star", 7)]
    # Each video is the one its prompt and seed make alone (text padded to the batch: a rounding apart).
    alone = pipe(prompts[1], negative_prompt="a star", num_frames=17, height=16, width=16, seed=6, num_videos=2)
    assert torch.allclose(batch.latents[2:], alone.latents, atol=1e-4)
    assert not torch.allclose(batch.latents[:2], alone.latents, atol=1e-2)


def test_guidance_and_prompt_change_the_result(pipe) -> None:
    base = pipe("a red ball", num_frames=17, height=16, width=16, seed=3, guidance_scale=1.0).latents
    guided = pipe("a red ball", num_frames=17, height=16, width=16, seed=3, guidance_scale=4.0).latents
    other = pipe("a green square at night", num_frames=17, height=16, width=16, seed=3, guidance_scale=1.0).latents
    assert not torch.allclose(base, guided) and not torch.allclose(base, other)


def test_given_frames_come_back_exactly(pipe) -> None:
    shape = (1, *pipe.vae.latent_shape(17, 16, 16))
    given_latents = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    given = torch.tensor([[True, False, False, False, True]])
    out = pipe("a ball", num_frames=17, height=16, width=16, seed=2, given_latents=given_latents, given_mask=given)
    assert torch.equal(out.latents[:, :, 0], given_latents[:, :, 0])
    assert torch.equal(out.latents[:, :, 4], given_latents[:, :, 4])
    assert not torch.equal(out.latents[:, :, 2], given_latents[:, :, 2])


def test_progress_callback_counts_every_step(pipe) -> None:
    seen = []
    pipe("a ball", num_frames=17, height=16, width=16, seed=0, num_inference_steps=3, callback=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_factorised_text_to_video_samples_its_first_frame_as_the_image_it_would_make(pipe) -> None:
    seen = []
    video = pipe("a red ball moving left", num_frames=17, height=16, width=16, seed=5, num_inference_steps=3,
                 factorised=True, callback=lambda i, n: seen.append((i, n)))
    image = pipe("a red ball moving left", num_frames=1, height=16, width=16, seed=5, num_inference_steps=3)
    torch.testing.assert_close(video.latents[:, :, :1], image.latents, atol=1e-5, rtol=0)  # the same noise, alone
    assert seen == [(i, 6) for i in range(1, 7)]  # the image's steps, then the video's
    assert video.metadata[0]["factorised"] is True
    plain = pipe("a red ball moving left", num_frames=17, height=16, width=16, seed=5, num_inference_steps=3)
    assert "factorised" not in plain.metadata[0] and not torch.allclose(plain.latents[:, :, :1], image.latents)
    still = pipe("a red ball", num_frames=1, height=16, width=16, seed=5, num_inference_steps=3, factorised=True)
    assert "factorised" not in still.metadata[0]  # an image is not factorised further
    animated = pipe("a red ball", num_frames=17, height=16, width=16, seed=5, num_inference_steps=3, factorised=True,
                    image=image.frames[0, 0])
    assert "factorised" not in animated.metadata[0]  # a task that gives frames keeps them


def test_still_guidance_guides_the_first_frame_and_one_frame_requests(text_encoder, tiny_vae_folder) -> None:
    config = PipelineConfig(name="tiny", sizes=SIZES, frame_counts=(1, 17), steps=3, still_guidance_scale=2.0)
    pipe = KinemaPipeline(tiny_transformer(), load_vae(tiny_vae_folder), text_encoder, config)
    request = {"num_frames": 17, "height": 16, "width": 16, "seed": 5, "factorised": True}
    weak, strong = (pipe("a red ball moving left", guidance_scale=scale, **request) for scale in (1.0, 6.0))
    torch.testing.assert_close(weak.latents[:, :, :1], strong.latents[:, :, :1])  # the still ignores the video's scale
    assert not torch.allclose(weak.latents[:, :, 1:], strong.latents[:, :, 1:])
    assert weak.metadata[0]["still_guidance_scale"] == 2.0
    image = pipe("a red ball moving left", num_frames=1, height=16, width=16, seed=5)
    assert image.metadata[0]["guidance_scale"] == 2.0  # a one-frame request is a still
    torch.testing.assert_close(weak.latents[:, :, :1], image.latents, atol=1e-5, rtol=0)
    other = pipe("a red ball moving left", guidance_scale=1.0, still_guidance_scale=6.0, **request)
    assert not torch.allclose(other.latents[:, :, :1], weak.latents[:, :, :1])
    guided = pipe("a red ball", num_frames=1, height=16, width=16, guidance_scale=4.0)
    assert guided.metadata[0]["guidance_scale"] == 4.0
    with pytest.raises(ValueError, match="still_guidance_scale must be 0 or more"):
        pipe("a red ball", still_guidance_scale=-1.0, **request)


def test_edit_guidance_guides_edits_only(text_encoder, tiny_vae_folder) -> None:
    config = PipelineConfig(name="tiny", sizes=SIZES, frame_counts=(1, 17), steps=2, edit_guidance_scale=5.0)
    pipe = KinemaPipeline(tiny_transformer(), load_vae(tiny_vae_folder), text_encoder, config)
    clip = pipe("a red ball", num_frames=17, height=16, width=16, seed=1)
    assert clip.metadata[0]["guidance_scale"] == config.guidance_scale  # text to video keeps its own
    edit = pipe("a blue ball", video=clip.frames[0], strength=0.5, seed=1)
    assert edit.metadata[0]["guidance_scale"] == 5.0
    assert pipe("a blue ball", video=clip.frames[0], strength=0.5, seed=1, guidance_scale=2.0).metadata[0][
        "guidance_scale"] == 2.0  # an explicit scale wins


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"height": 20, "width": 16}, "16x16, 32x16, 16x32"),
        ({"num_frames": 9}, "one of 1, 17, 33"),
        ({"num_inference_steps": 0}, "at least 1"),
        ({"guidance_scale": -1.0}, "guidance_scale"),
        ({"num_videos": 0}, "num_videos"),
        ({"prompt": ""}, "non-empty"),
        ({"prompt": []}, "non-empty list"),
        ({"prompt": ["a ball", ""]}, "every prompt must be a non-empty string"),
        ({"prompt": ["a ball", "a star"], "negative_prompt": ["blur"]}, "a list of 2 \\(one per prompt\\)"),
        ({"seed": 1, "generator": torch.Generator().manual_seed(2)}, "disagree"),
        ({"num_videos": 2, "num_videos_per_prompt": 3}, "disagree"),
        ({"output_type": "latent"}, "np, pil, pt"),
    ],
)
def test_bad_arguments_name_what_is_allowed(pipe, kwargs, message) -> None:
    arguments = {"prompt": "a ball", "num_frames": 17, "height": 16, "width": 16}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        pipe(**arguments)


def test_save_and_load_round_trip(pipe, text_encoder, tmp_path) -> None:
    folder = pipe.save_pretrained(tmp_path / "model", dtype=torch.float32)
    assert (folder / "config.json").is_file() and (folder / "transformer" / "model.safetensors").is_file()
    loaded = KinemaPipeline.from_pretrained(folder, text_encoder=text_encoder)
    assert loaded.config == pipe.config
    a = pipe("a red ball", num_frames=17, height=16, width=16, seed=5).frames
    b = loaded("a red ball", num_frames=17, height=16, width=16, seed=5).frames
    assert np.array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        KinemaPipeline.from_pretrained(tmp_path / "missing")


@pytest.mark.parametrize("key,value", [("edit_guidance_scale", -1), ("still_guidance_scale", "high"),
                                       ("guidance_scale", None), ("steps", 0), ("fps", 0), ("timestep_shift", -2)])
def test_a_bad_setting_in_config_json_names_the_file_and_the_setting(pipe, text_encoder, tmp_path, key, value) -> None:
    folder = pipe.save_pretrained(tmp_path / "model", dtype=torch.float32)
    data = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**data, key: value}))
    with pytest.raises(ValueError, match=rf"config\.json: {key} must be"):
        KinemaPipeline.from_pretrained(folder, text_encoder=text_encoder)


def test_to_casts_the_model_and_every_task_samples_in_that_dtype(text_encoder, tiny_vae_folder) -> None:
    """pipe.to() as in diffusers: float64 stands in for a GPU here, as a wrong device and a wrong dtype fail alike."""
    config = PipelineConfig(name="tiny", sizes=SIZES, frame_counts=(1, 17, 33), steps=2)
    pipe = KinemaPipeline(tiny_transformer(), load_vae(tiny_vae_folder), text_encoder, config)
    single = pipe("a red ball", num_frames=17, height=16, width=16, seed=5)
    assert pipe.to("cpu") is pipe and pipe.device == torch.device("cpu")
    pipe.to(torch.float64)
    assert pipe.dtype == torch.float64 and pipe.vae.latent_mean.dtype == torch.float64
    double = pipe("a red ball", num_frames=17, height=16, width=16, seed=5)
    assert double.latents.dtype == torch.float64
    assert np.abs(double.frames.astype(int) - single.frames).max() <= 1  # the same video, up to rounding
    source = single.frames[0]
    for task in ({"extend": source, "num_frames": 41}, {"join": (source, source), "num_frames": 18},
                 {"video": source, "strength": 0.5}, {"loop": True, "num_frames": 33}, {"image": source[0]}):
        out = pipe("a red ball", height=16, width=16, seed=1, **task)
        assert out.latents.dtype == torch.float64 and out.frames.dtype == np.uint8
    half = pipe.to(torch.bfloat16)("a red ball", height=16, width=16, seed=1, extend=source, num_frames=17)
    assert half.latents.dtype == torch.bfloat16 and half.frames.shape == (1, 17, 16, 16, 3)
    with pytest.raises(ValueError, match="floating-point"):
        pipe.to(torch.int8)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="this PyTorch sees no CUDA GPU"):
            pipe.to("cuda")
