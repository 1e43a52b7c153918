"""Every Sora task through KinemaPipeline on tiny parts: layouts, given frames kept exactly, seams, inputs.

The tiny VAE and transformer are random, so nothing here measures quality: the tests check the
bookkeeping exactly (which latents are given, which decoded frames come out where) and leave
"does it look right" to the task evals on the shipped model (kinema.evaluation.task_eval).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import tiny_transformer

from kinema.config import TRANSFORMER_PRESETS
from kinema.models.transformer import DiffusionTransformer
from kinema.models.vae import load_vae
from kinema.pipeline import KinemaPipeline, PipelineConfig
from kinema.tasks import plan as plans
from kinema.tasks.anchors import anchor_weights, anchored, window_anchors
from kinema.tasks.conditioning import encode_frames, encode_tail
from kinema.tasks.requests import Limits

SIZES = ((16, 16), (16, 32), (32, 16))  # (height, width)
LIMITS = Limits(SIZES, (1, 17, 33), 481, 4)


@pytest.fixture(scope="module")
def pipe(text_encoder, tiny_vae_folder) -> KinemaPipeline:
    transformer = tiny_transformer()
    config = PipelineConfig(name="tiny", sizes=SIZES, frame_counts=(1, 17, 33), steps=2, max_frames=97)
    return KinemaPipeline(transformer, load_vae(tiny_vae_folder), text_encoder, config)


def clip(frames: int, height: int = 16, width: int = 16, seed: int = 0) -> np.ndarray:
    """A smooth moving gradient (T, H, W, 3) uint8: every frame differs from the others."""
    t, y, x = np.meshgrid(np.arange(frames), np.arange(height), np.arange(width), indexing="ij")
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 6, size=3)
    channels = [np.sin(0.4 * x + 0.3 * y + 0.25 * t + p) for p in phase]
    return ((np.stack(channels, axis=-1) + 1) * 127.5).round().astype(np.uint8)


def round_trip(pipe: KinemaPipeline, frames: np.ndarray) -> np.ndarray:
    """decode(encode(frames)) for (T, H, W, 3): what the VAE makes of a clip on its own."""
    return pipe.decode(encode_frames(pipe.vae, frames[None]))[0]


def request(**kwargs) -> dict:
    return dict(prompt="a red ball", height=16, width=16, seed=3, **kwargs)


class Recorder:
    """Wraps pipe.sample_window to record each window's given latents and mask."""

    def __init__(self, pipe: KinemaPipeline, monkeypatch) -> None:
        self.calls: list[tuple[torch.Tensor | None, torch.Tensor | None, int]] = []
        original = pipe.sample_window

        def record(start, times, conditional, unconditional, scale, sampler, given_latents, given, progress):
            self.calls.append((given_latents, given, start.shape[2]))
            return original(start, times, conditional, unconditional, scale, sampler, given_latents, given, progress)

        monkeypatch.setattr(pipe, "sample_window", record)


# ----------------------------------------------------------------------------- layouts (pure bookkeeping)


@pytest.mark.parametrize("clip_frames,frames", [(17, 17), (1, 17), (5, 33), (33, 97), (2, 9)])
def test_forward_extension_windows_start_on_the_clips_last_frame(clip_frames, frames) -> None:
    plan = plans.plan_extend(clip_frames, frames, longest=8, group=4)
    plan.check({"clip": clip_frames})
    first = plan.windows[0]
    head_start, head_end = first.head_span(4)
    # The head ends on the clip's last frame, or three before it when the window samples those frames again.
    assert head_end + first.head_overlap == clip_frames and first.head_overlap == (3 if clip_frames > 7 else 0)
    assert (head_end - head_start - 1) % 4 == 0  # a head is 1 + 4m frames, encoded from its own first frame
    assert first.start + first.keep[0] == clip_frames - 1  # output[0] is the seam frame
    assert window_anchors(first, 4)[0] == (first.keep[0], clip_frames - 1)  # anchored on it
    assert plan.output == (clip_frames - 1, clip_frames + frames - 1)
    assert all(window.frames <= 33 for window in plan.windows)


def test_extension_of_a_17_frame_clip_is_one_trained_33_frame_window_given_13_frames() -> None:
    (window,) = plans.plan_extend(17, 17, longest=8, group=4).windows
    assert (window.start, window.frames, window.head, window.keep, window.head_overlap) == (1, 33, 4, (15, 32), 3)
    assert (window.keep[0] + 1) % 4 == 0  # the seam frame is a group's third: the first new step is into its last


@pytest.mark.parametrize("make", [
    lambda: plans.plan_extend(17, 17, 8, 4),
    lambda: plans.plan_extend_backward(17, 17, 8, 4),
    lambda: plans.plan_loop(33, 17, 4, 8),
    lambda: plans.plan_join(17, 9, 18, 4, 8),
])
def test_every_seam_is_a_step_into_a_latent_groups_last_frame(make) -> None:
    window = make().windows[-1]
    anchors = [position for position, _ in window_anchors(window, 4)]
    stepped_into = ([anchors.pop(0) + 1] if window.head else []) + anchors  # the frame each seam's step goes into
    assert stepped_into and all(frame % 4 == 0 for frame in stepped_into)  # 1 + 4k opens a group, 4k ends one


@pytest.mark.parametrize("clip_frames,frames", [(17, 17), (4, 17), (17, 65), (8, 9)])
def test_backward_extension_ends_on_the_clips_first_frame(clip_frames, frames) -> None:
    plan = plans.plan_extend_backward(clip_frames, frames, longest=8, group=4)
    plan.check({"clip": clip_frames})
    assert plan.output == (0, frames) and dict(plan.inputs)["clip"] == frames - 1  # output[-1] sits on the clip's first
    first = plan.windows[0]
    tail_start, _ = first.tail_span(4)
    assert tail_start - first.tail_overlap == frames - 1 and first.start + first.keep[1] == frames  # the seam is kept
    assert first.tail_overlap == (1 if clip_frames >= 5 else 0)
    last = plan.windows[-1]
    assert last.start + last.keep[0] == 0 and last.keep[0] >= 1  # the leftmost single frame is dropped


def test_long_video_plan_reaches_60_seconds_in_trained_windows() -> None:
    plan = plans.plan_long(481, 33, longest=8, group=4)
    plan.check({})
    assert plan.output == (0, 481) and all(window.frames == 33 for window in plan.windows)
    assert all(window.head >= 1 + plans.CHAIN_CONTEXT for window in plan.windows[1:])
    assert len(plan.windows) == 1 + 19  # 33 frames, then 24 new frames (3 s) per window


def test_chained_windows_carry_their_head_from_the_window_before() -> None:
    long = plans.plan_long(481, 33, longest=8, group=4)
    assert long.windows[0].carry is None and [w.carry for w in long.windows[1:]] == list(range(len(long.windows) - 1))
    assert long.windows[1].carried_latents(long.windows[0], 4) == (6, 9)  # frames 24..32 of a 33-frame opening
    extend = plans.plan_extend(9, 49, longest=8, group=4)
    assert [w.carry for w in extend.windows] == [None, 0]  # the first window's head is the given clip
    bad = replace(long, windows=(long.windows[0], replace(long.windows[1], carry=1), *long.windows[2:]))
    with pytest.raises(ValueError, match="window 1 of long carries its head from window 1"):
        bad.check({})
    shifted = replace(long, windows=(replace(long.windows[0], start=1, keep=(0, 32)), *long.windows[1:]))
    with pytest.raises(ValueError, match="does not hold those frames on its latent grid"):
        shifted.check({})


def test_loop_plan_closes_on_its_own_first_frames() -> None:
    plan = plans.plan_loop(33, 17, group=4, longest=8)
    plan.check({})
    opening, closing = plan.windows
    assert (opening.start, opening.frames) == (0, 17)
    # the opening's frame 13 -> (14, 15, 16 again, 16 anchored) -> new 17..32 -> (0 again, anchored) -> 1..4
    assert closing.head_span(4) == (13, 14) and closing.tail_span(4) == (1, 5)
    assert (closing.head_overlap, closing.tail_overlap) == (3, 1)
    assert closing.start + closing.keep[1] == 33 == plan.output[1]
    # the frame after the closing window's last kept one is the loop's frame 0, anchored
    assert window_anchors(closing, 4) == [(3, 16), (closing.keep[1], 0)]
    # without room for the extra group the seams stay on the group boundaries
    assert plans.plan_loop(61, 33, group=4, longest=8).windows[1].tail_span(4) == (0, 4)
    assert plans.loop_split(33, 8, 4, (1, 17, 33)) == 17 and plans.loop_split(17, 4, 4, (1, 17)) == 9
    assert plans.loop_split(5, 8, 4, (1, 17, 33)) is None


def test_join_plan_runs_from_as_last_frame_to_bs_first() -> None:
    plan = plans.plan_join(17, 9, 18, group=4, longest=8)
    plan.check({"a": 17, "b": 9})
    (window,) = plan.windows
    assert plan.output == (16, 34) and dict(plan.inputs)["b"] == 33
    # A's frame 13 -> (14, 15, 16 again, 16 anchored) -> 16 new -> (B's 0 again, anchored) -> B's 1..4
    assert window.head_span(4) == (13, 14) and window.tail_span(4) == (34, 38)
    assert window_anchors(window, 4) == [(3, 16), (20, 33)]
    short_b = plans.plan_join(17, 4, 18, group=4, longest=8).windows[0]  # no room for B's overlap
    assert short_b.head_span(4) == (16, 17) and short_b.tail_span(4) == (33, 37)


# ----------------------------------------------------------------------------- anchoring (pure)


def test_every_given_end_is_an_anchor_where_the_window_meets_known_frames() -> None:
    (extension,) = plans.plan_extend(17, 17, longest=8, group=4).windows
    assert window_anchors(extension, 4) == [(15, 16)]  # the clip's last frame
    (join,) = plans.plan_join(17, 9, 18, group=4, longest=8).windows
    assert window_anchors(join, 4) == [(3, 16), (20, 33)]  # A's last frame, B's first
    _, closing = plans.plan_loop(33, 17, group=4, longest=8).windows
    assert window_anchors(closing, 4) == [(3, 16), (20, 0)]  # the opening's last frame, the loop's first
    assert window_anchors(plans.plan_single("text-to-video", 17, 4).windows[0], 4) == []


def test_anchor_weights_fall_linearly_from_each_anchor() -> None:
    assert anchor_weights(5, [0]).tolist() == [[1.0, 0.75, 0.5, 0.25, 0.0]]
    assert anchor_weights(5, [4]).tolist() == [[0.0, 0.25, 0.5, 0.75, 1.0]]
    both = anchor_weights(6, [1, 5])
    assert both[:, 1].tolist() == [1.0, 0.0] and both[:, 5].tolist() == [0.0, 1.0] and both[:, 3].tolist() == [0.5, 0.5]
    assert np.allclose(both.sum(axis=0)[1:], 1.0)
    with pytest.raises(ValueError, match="at most two anchors"):
        anchor_weights(6, [0, 2, 4])


def test_anchoring_lands_exactly_on_the_known_frames_and_spreads_the_error() -> None:
    decoded = clip(9)[None]
    head, tail = clip(1, seed=1), clip(1, seed=2)
    out = anchored(decoded, [head, tail], [0, 8])
    assert np.array_equal(out[0, 0], head[0]) and np.array_equal(out[0, 8], tail[0])
    steps = np.abs(np.diff(out.astype(int), axis=1)).mean(axis=(2, 3, 4))
    assert steps.max() < np.abs(head[0].astype(int) - decoded[0, 0]).mean()  # no single jump carries the error
    assert anchored(decoded, [], []) is decoded


# ----------------------------------------------------------------------------- image to video


def test_image_to_video_keeps_the_image_latent_and_starts_on_the_image(pipe) -> None:
    image = clip(1)[0]
    out = pipe(**request(image=image, num_frames=17))
    assert out.frames.shape == (1, 17, 16, 16, 3) and out.metadata[0]["task"] == "image-to-video"
    assert torch.equal(out.latents[:, :, :1], encode_frames(pipe.vae, image[None, None]))
    assert np.array_equal(out.frames[0, 0], image)  # anchored: the round trip's error is spread over the new frames
    assert np.array_equal(out.frames, anchored(pipe.decode(out.latents), [image[None]], [0]))
    plain = pipe(**request(num_frames=17))
    assert not np.array_equal(plain.frames[0, 0], out.frames[0, 0])


def test_last_image_is_the_given_end_and_both_ends_can_be_given(pipe, monkeypatch) -> None:
    first, last = clip(1, seed=1)[0], clip(1, seed=2)[0]
    recorder = Recorder(pipe, monkeypatch)
    out = pipe(**request(image=first, last_image=last, num_frames=17, num_videos=2))
    (_given_latents, given, _), = recorder.calls
    assert given.tolist() == [[True, False, False, False, True]] * 2
    held = np.repeat(last[None, None], 4, axis=1)  # the end image held for one latent group
    assert torch.equal(out.latents[:, :, -1:], encode_tail(pipe.vae, np.repeat(held, 2, axis=0), 4))
    assert np.array_equal(out.frames[0, 0], out.frames[1, 0])  # the image opens every variation
    assert not np.array_equal(out.frames[0, 1:], out.frames[1, 1:])


# ----------------------------------------------------------------------------- extension


def test_extension_continues_from_the_clips_last_frame(pipe, monkeypatch) -> None:
    source = clip(17)
    recorder = Recorder(pipe, monkeypatch)
    out = pipe(**request(extend=source, num_frames=17))
    (_given_latents, given, latent_frames), = recorder.calls
    assert latent_frames == 9 and given.tolist() == [[True] * 4 + [False] * 5]  # frames 1..13 given, 14..16 again
    assert torch.equal(out.latents[:, :, :4], encode_frames(pipe.vae, source[None, 1:14]))
    window = anchored(pipe.decode(out.latents)[:, :32], [source[None, -1]], [15])[0]  # decoded up to the last kept
    assert out.frames.shape == (1, 17, 16, 16, 3) and np.array_equal(out.frames[0], window[15:32])
    assert np.array_equal(out.frames[0, 0], source[-1])  # the seam frame is the clip's last, anchored
    assert out.stitched.shape == (1, 33, 16, 16, 3)
    assert np.array_equal(out.stitched[0, :17], source) and np.array_equal(out.stitched[0, 17:], out.frames[0, 1:])


def test_backward_extension_leads_into_the_clips_first_frame(pipe, monkeypatch) -> None:
    source = clip(17, seed=4)
    recorder = Recorder(pipe, monkeypatch)
    out = pipe(**request(extend=source, backward=True, num_frames=17))
    (_given_latents, given, _latent_frames), = recorder.calls
    tail = given.sum().item()
    assert given[0, -tail:].all() and not given[0, :-tail].any()
    assert torch.equal(out.latents[:, :, -tail:], encode_tail(pipe.vae, source[None, 1 : 1 + 4 * tail], 4))
    seam = 1 + 4 * (out.latents.shape[2] - 1) - 4 * tail - 1  # the window pixel where the clip's first frame sits
    window = anchored(pipe.decode(out.latents), [source[None, 0]], [seam])[0]
    assert np.array_equal(out.frames[0], window[seam - 16 : seam + 1]) and np.array_equal(out.frames[0, -1], source[0])
    assert np.array_equal(out.stitched[0, 16:], source) and out.stitched.shape[1] == 33


def test_a_long_extension_chains_windows(pipe, monkeypatch) -> None:
    recorder = Recorder(pipe, monkeypatch)
    out = pipe(**request(extend=clip(9), num_frames=49))
    assert out.frames.shape[1] == 49 and out.metadata[0]["windows"] == len(recorder.calls) == 2
    assert all(frames <= 9 for _, _, frames in recorder.calls)


# ----------------------------------------------------------------------------- loop and join


def test_loop_closing_window_is_given_the_loops_last_frame_and_first_frames(pipe, monkeypatch) -> None:
    recorder = Recorder(pipe, monkeypatch)
    encoded = []
    original_tail = encode_tail
    monkeypatch.setattr("kinema.tasks.conditioning.encode_tail",
                        lambda vae, frames, group: encoded.append(frames.copy()) or original_tail(vae, frames, group))
    out = pipe(**request(loop=True, num_frames=33))
    assert out.frames.shape == (1, 33, 16, 16, 3) and out.metadata[0]["task"] == "loop"
    (_, opening_given, opening_frames), (_, given, _closing_frames) = recorder.calls
    assert opening_given is None and opening_frames == 5  # a 17-frame opening clip
    assert given.tolist() == [[True] + [False] * 5 + [True]]  # both ends: the mask the model trains on
    assert np.array_equal(encoded[0][0], out.frames[0, 1:5])  # the tail is the loop's own opening, after frame 0
    closing = out.latents[:, :, 5:]
    assert torch.equal(closing[:, :, :1], encode_frames(pipe.vae, out.frames[:, 13:14]))  # its head: frame 13


def test_join_starts_on_as_last_frame_and_ends_on_bs_first(pipe) -> None:
    a, b = clip(17, seed=5), clip(9, seed=6)
    out = pipe(**request(join=(a, b), num_frames=18))
    assert out.frames.shape == (1, 18, 16, 16, 3)
    assert np.array_equal(out.frames[0, 0], a[-1]) and np.array_equal(out.frames[0, -1], b[0])  # both ends anchored
    assert torch.equal(out.latents[:, :, -1:], encode_tail(pipe.vae, b[None, 1:5], 4))  # after B's 0, sampled again
    window = anchored(pipe.decode(out.latents)[:, :21], [a[None, -1], b[None, 0]], [3, 20])[0]
    assert np.array_equal(out.frames[0], window[3:21])  # window frame 3 = A's last, 20 = B's first
    assert np.array_equal(out.stitched[0], np.concatenate([a, out.frames[0, 1:-1], b]))
    with pytest.raises(ValueError, match=r"2 \+ 4k frames"):
        pipe(**request(join=(a, b), num_frames=17))


# ----------------------------------------------------------------------------- edit, images, long videos


@pytest.mark.parametrize("edit_noise", ["inverted", "random"])
def test_edit_at_small_strength_stays_close(pipe, edit_noise) -> None:
    source = clip(17, seed=7)
    # A random x0-predicting model's last step lands on its own (random) x0 guess whatever the
    # start; a velocity-predicting one moves x by t v, so it shows where the edit starts from.
    torch.manual_seed(1)
    transformer = DiffusionTransformer(replace(TRANSFORMER_PRESETS["tiny-test"], prediction="velocity"))
    with torch.no_grad():
        for parameter in transformer.parameters():
            if parameter.abs().sum() == 0:
                parameter.normal_(0, 0.02)
    velocity_pipe = KinemaPipeline(transformer, pipe.vae, pipe.text_encoder, pipe.config)
    clean = encode_frames(pipe.vae, source[None])
    light = velocity_pipe(**request(video=source, strength=0.05, edit_noise=edit_noise))
    far = velocity_pipe(**request(num_frames=17))
    assert light.metadata[0]["strength"] == 0.05 and light.metadata[0]["task"] == "edit"
    assert light.metadata[0]["edit_noise"] == edit_noise
    assert (light.latents - clean).abs().mean() < 0.2 * (far.latents - clean).abs().mean()
    reference = round_trip(pipe, source).astype(int)
    assert np.abs(light.frames[0] - reference).mean() < 0.5 * np.abs(far.frames[0] - reference).mean()
    with pytest.raises(ValueError, match=r"strength must be in \(0, 1\]"):
        pipe(**request(video=source, strength=0.0, edit_noise=edit_noise))


def test_random_edit_at_strength_one_is_text_to_video(pipe) -> None:
    plain = pipe(**request(num_frames=17))
    full = pipe(**request(video=clip(17, seed=7), strength=1.0, edit_noise="random"))
    assert np.array_equal(full.frames, plain.frames) and torch.equal(full.latents, plain.latents)


def test_inverted_edit_starts_from_the_clips_inversion_and_counts_its_steps(pipe, monkeypatch) -> None:
    source = clip(17, seed=7)
    recorder = Recorder(pipe, monkeypatch)
    counts = []
    out = pipe(**request(video=source, strength=0.6, num_videos=2, num_inference_steps=4,
                         callback=lambda done, total: counts.append((done, total))))
    times = pipe.schedule(4, 0.6)
    assert counts == [(k, 2 * (len(times) - 1)) for k in range(1, 2 * (len(times) - 1) + 1)]  # inversion, then sampling
    assert len(recorder.calls) == 1 and out.metadata[0]["edit_noise"] == "inverted"
    assert not np.array_equal(out.frames[0], out.frames[1])  # the seed's share of fresh noise tells variations apart
    again = pipe(**request(video=source, strength=0.6, num_videos=2, num_inference_steps=4))
    assert np.array_equal(out.frames, again.frames)  # and the same seed gives the same edit
    with pytest.raises(ValueError, match="edit_noise must be one of inverted, random; got 'fresh'"):
        pipe(**request(video=source, edit_noise="fresh"))


def test_long_video_is_chained_with_bounded_memory_and_one_progress_count(pipe, monkeypatch) -> None:
    recorder = Recorder(pipe, monkeypatch)
    streamed = []
    original_stream = pipe.vae.decode_stream
    monkeypatch.setattr(pipe.vae, "decode", lambda *a, **k: pytest.fail("a long video must stream its decode"))
    monkeypatch.setattr(pipe.vae, "decode_stream",
                        lambda latents, chunk_latents=1: streamed.append((latents.shape[2], chunk_latents))
                        or original_stream(latents, chunk_latents))
    steps = []
    out = pipe(**request(num_frames=81, callback=lambda step, total: steps.append((step, total))))
    assert out.frames.shape == (1, 81, 16, 16, 3) and out.metadata[0]["task"] == "long"
    assert [frames for _, _, frames in recorder.calls] == [9, 9, 9]  # 33 frames, then +24, +24
    assert all(frames <= 9 and chunk == 4 for frames, chunk in streamed)  # never more than one window in the VAE
    assert steps == [(step, 6) for step in range(1, 7)]  # one count over the whole job
    windows = out.latents.split(9, dim=2)
    for number, (given_latents, given, _) in enumerate(recorder.calls[1:], start=1):
        assert given[0].tolist() == [True] * 3 + [False] * 6  # 9 frames of context carried into each window
        start = 24 * number  # the head: timeline frames start .. start + 8, the last 9 of the window before
        assert torch.equal(given_latents[:, :, :1], encode_frames(pipe.vae, out.frames[:, start : start + 1]))
        # then the latents the window before sampled for those frames, not their re-encoding
        assert torch.equal(given_latents[:, :, 1:3], windows[number - 1][:, :, 7:9])
    with pytest.raises(ValueError, match="up to 97"):
        pipe(**request(num_frames=101))


@pytest.mark.parametrize("height,width", SIZES)
def test_images_at_every_size(pipe, height, width) -> None:
    out = pipe("a blue star", num_frames=1, height=height, width=width, seed=0)
    assert out.frames.shape == (1, 1, height, width, 3) and out.latents.shape[2] == 1


# ----------------------------------------------------------------------------- inputs


def test_a_wrong_size_image_is_scaled_to_cover_and_centre_cropped(pipe) -> None:
    from PIL import Image

    image = clip(1, height=24, width=40)[0]
    out = pipe(**{**request(image=image, num_frames=17), "height": 16, "width": 32})
    (rule,) = out.metadata[0]["input_rules"]
    assert "40x24" in rule and "centre-cropped to 32x16" in rule
    expected = np.asarray(Image.fromarray(image).resize((32, 19), Image.Resampling.LANCZOS).crop((0, 1, 32, 17)))
    assert np.array_equal(out.frames[0, 0], expected)
    open_size = pipe("a red ball", image=clip(1, height=20, width=40)[0], num_frames=17, seed=0)
    assert open_size.frames.shape[2:4] == (16, 32)  # height and width left open: the image's aspect picks


def test_unreadable_and_missing_files_are_named(pipe, tmp_path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="image: cannot read .*broken.png"):
        pipe(**request(image=broken))
    with pytest.raises(FileNotFoundError, match="extend: no such file: .*missing.mp4"):
        pipe(**request(extend=tmp_path / "missing.mp4"))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"extend": np.zeros((17, 16, 16, 3), np.uint8), "join": (np.zeros((5, 16, 16, 3), np.uint8),) * 2},
         "one task per call"),
        ({"backward": True}, "pass the clip as extend="),
        ({"strength": 0.5}, "pass the clip to edit as video="),
        ({"extend": np.zeros((2, 16, 16, 3), np.uint8), "backward": True}, "at least 4 frames"),
        ({"image": np.zeros((16, 16, 3), np.float32)}, "dtype uint8"),
        ({"extend": np.zeros((16, 16, 3), np.uint8)}, "must be a clip"),
        ({"loop": True, "num_frames": 5}, "1 \\+ 4k from 9 to 61"),
        ({"extend": np.zeros((5, 16, 16, 3), np.uint8), "num_frames": 20}, "1 \\+ 4k frames from 5 to 97"),
        ({"video": np.zeros((9, 16, 16, 3), np.uint8), "num_frames": 17}, "needs at least that many"),
        ({"image": np.zeros((16, 16, 3), np.uint8), "num_frames": 1}, "num_frames must be one of"),
    ],
)
def test_bad_task_arguments_say_what_is_allowed(pipe, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        pipe(**request(**kwargs))


def test_expand_conditions_on_the_rewritten_caption(pipe) -> None:
    out = pipe(**request(num_frames=1, expand=lambda prompt: prompt + ", on grass"))
    assert out.metadata[0]["caption"] == "a red ball, on grass" and out.metadata[0]["prompt"] == "a red ball"
    same = pipe("a red ball, on grass", num_frames=1, height=16, width=16, seed=3)
    assert np.array_equal(out.frames, same.frames)
    try:
        from kinema.world.expansion import expand_prompt
    except ImportError:
        pytest.skip("kinema.world.expansion is not in this checkout yet")
    world = pipe(**request(num_frames=1, expand=True))
    assert world.metadata[0]["caption"] == expand_prompt("a red ball").caption
