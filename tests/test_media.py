"""Tests for kinema.media: every format round-trips real pixels, and bad input fails with a useful message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFont

from kinema.media import (
    as_frames,
    contact_sheet,
    export_to_video,
    read_video,
    read_video_metadata,
    spritesheet,
    thumbnail,
    write_image,
    write_video,
)
from kinema.media import mp4, sheets

FPS = 8


def smooth_clip(num_frames: int = 17, height: int = 64, width: int = 64) -> np.ndarray:
    """A drifting colour gradient with a soft-edged red disc moving right: smooth, like rendered scenes."""
    t = np.arange(num_frames, dtype=np.float64)[:, None, None]
    y = np.arange(height, dtype=np.float64)[None, :, None]
    x = np.arange(width, dtype=np.float64)[None, None, :]
    ones = np.ones((num_frames, height, width))
    red = 128 + 90 * np.sin(2 * np.pi * (x / width + t / num_frames)) * ones
    green = (60 + 140 * y / height) * ones
    blue = (200 - 120 * x / width) * ones
    background = np.stack([red, green, blue], axis=-1)  # (T, H, W, 3)
    radius = 0.15 * min(height, width)
    distance = np.hypot(x - (0.2 * width + t * 0.03 * width), y - height / 2)
    coverage = np.clip((radius - distance) / 2.0 + 0.5, 0, 1)[..., None]  # 2-pixel soft edge
    frames = background * (1 - coverage) + coverage * np.array([230.0, 60.0, 60.0])
    return frames.round().clip(0, 255).astype(np.uint8)


def few_colour_clip(num_frames: int = 9, height: int = 24, width: int = 32) -> np.ndarray:
    """A four-colour clip (a square stepping right on a flat background) that a GIF palette holds exactly."""
    frames = np.zeros((num_frames, height, width, 3), dtype=np.uint8)
    frames[:] = (128, 128, 128)
    frames[:, :4] = (0, 0, 255)
    for index in range(num_frames):
        frames[index, 8:16, 2 * index : 2 * index + 8] = (222, 38, 38)
        frames[index, -2:, : index + 1] = (40, 182, 62)
    return frames


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels."""
    error = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def top_level_boxes(data: bytes) -> list[bytes]:
    """The types of the top-level ISO-BMFF boxes of an MP4 file, in file order."""
    kinds, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kinds.append(data[offset + 4 : offset + 8])
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        offset += size
    return kinds


# --- MP4 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("height,width", [(64, 64), (48, 80), (80, 48)])
def test_mp4_round_trip_keeps_pixels_frame_count_and_fps(tmp_path: Path, height: int, width: int) -> None:
    frames = smooth_clip(17, height, width)
    path = write_video(frames, tmp_path / "clip.mp4", fps=FPS)
    decoded, fps = read_video(path)
    assert path == tmp_path / "clip.mp4"
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert fps == FPS
    assert psnr(frames, decoded) >= 35.0


def test_mp4_tiny_16x16_clip(tmp_path: Path) -> None:
    frames = smooth_clip(8, 16, 16)
    decoded, fps = read_video(write_video(frames, tmp_path / "tiny.mp4", fps=FPS))
    assert decoded.shape == (8, 16, 16, 3) and fps == FPS
    # The clip's colour cycle spans 16 pixels and 4:2:0 keeps 8 chroma samples per row: even
    # lossless H.264 (crf 0) measures ~29.7 dB here, so the bar is lower than for 64x64.
    assert psnr(frames, decoded) >= 27.0


def test_mp4_is_browser_playable_h264(tmp_path: Path) -> None:
    path = write_video(smooth_clip(), tmp_path / "clip.mp4", fps=FPS)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.colorspace == 1  # BT.709, tagged so players agree on colours
        assert stream.frames == 17
    boxes = top_level_boxes(path.read_bytes())
    assert boxes[0] == b"ftyp"
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # +faststart


def test_mp4_metadata_round_trip(tmp_path: Path) -> None:
    metadata = {"prompt": "a red ball rolls left — ünïcode", "seed": 42, "title": "sample", "comment": "cfg 5"}
    path = write_video(smooth_clip(5), tmp_path / "clip.mp4", metadata=metadata)
    assert read_video_metadata(path) == {key: str(value) for key, value in metadata.items()}


@pytest.mark.parametrize("fps", [12.5, 24, 30000 / 1001])
def test_mp4_fractional_frame_rates_read_back(tmp_path: Path, fps: float) -> None:
    path = write_video(smooth_clip(5), tmp_path / "clip.mp4", fps=fps)
    assert read_video(path)[1] == pytest.approx(fps, rel=1e-9)


def test_mp4_odd_size_is_edge_padded_to_even(tmp_path: Path) -> None:
    frames = smooth_clip(9, height=47, width=63)
    decoded, _ = read_video(write_video(frames, tmp_path / "odd.mp4"))
    assert decoded.shape == (9, 48, 64, 3)
    assert psnr(frames, decoded[:, :47, :63]) >= 35.0
    # The padding repeats the last row and column, so it looks like its neighbours, not black.
    assert np.abs(decoded[:, 47, :63].astype(int) - frames[:, 46].astype(int)).mean() < 6
    assert np.abs(decoded[:, :47, 63].astype(int) - frames[:, :, 62].astype(int)).mean() < 6


def test_mp4_lower_crf_is_more_faithful(tmp_path: Path) -> None:
    frames = smooth_clip()
    coarse, _ = read_video(write_video(frames, tmp_path / "coarse.mp4", crf=40))
    fine, _ = read_video(write_video(frames, tmp_path / "fine.mp4", crf=10))
    assert psnr(frames, fine) > psnr(frames, coarse) + 3


def test_max_frames_stops_early_with_the_same_frames(tmp_path: Path) -> None:
    for name in ("clip.mp4", "clip.gif", "clip.webp"):
        path = write_video(smooth_clip(), tmp_path / name)
        full, _ = read_video(path)
        first, fps = read_video(path, max_frames=5)
        assert first.shape[0] == 5 and fps == pytest.approx(FPS)
        np.testing.assert_array_equal(first, full[:5])


# --- GIF, WebP, PNG, JPEG ------------------------------------------------------------------------


def test_gif_round_trip(tmp_path: Path) -> None:
    frames = smooth_clip()
    path = write_video(frames, tmp_path / "clip.gif", fps=FPS)
    decoded, fps = read_video(path)
    assert decoded.shape == frames.shape and fps == FPS
    assert psnr(frames, decoded) > 25.0  # 256-colour palette per frame
    exact = few_colour_clip()
    np.testing.assert_array_equal(read_video(write_video(exact, tmp_path / "few.gif"))[0], exact)


def test_gif_plays_forever_at_the_requested_rate(tmp_path: Path) -> None:
    path = write_video(smooth_clip(), tmp_path / "clip.gif", fps=FPS)
    with Image.open(path) as image:
        assert image.info["loop"] == 0
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    # 125 ms cannot be stored in 10 ms ticks: frames alternate 120/130 ms so the clip never drifts.
    assert set(durations) == {120, 130}
    assert abs(sum(durations) - 17 * 125) <= 5


@pytest.mark.parametrize("name", ["still.gif", "still.webp"])
def test_identical_frames_keep_their_count(tmp_path: Path, name: str) -> None:
    # Pillow's GIF writer and libwebp merge repeated frames into one long frame; reading expands them.
    frames = np.repeat(few_colour_clip(3), [4, 1, 6], axis=0)
    decoded, fps = read_video(write_video(frames, tmp_path / name, fps=FPS))
    assert fps == FPS
    np.testing.assert_array_equal(decoded, frames)


def test_webp_is_lossless_and_keeps_metadata(tmp_path: Path) -> None:
    frames = smooth_clip()
    path = write_video(frames, tmp_path / "clip.webp", fps=12, metadata={"prompt": "ünï <&> \"q\""})
    decoded, fps = read_video(path)
    np.testing.assert_array_equal(decoded, frames)
    assert fps == 12
    assert read_video_metadata(path) == {"prompt": "ünï <&> \"q\""}


def test_gif_metadata_round_trip(tmp_path: Path) -> None:
    path = write_video(few_colour_clip(), tmp_path / "clip.gif", metadata={"prompt": "a cat", "seed": 7})
    assert read_video_metadata(path) == {"prompt": "a cat", "seed": "7"}


def test_png_still_is_exact_with_metadata(tmp_path: Path) -> None:
    image = smooth_clip(1)[0]
    path = write_video(image, tmp_path / "still.png", metadata={"prompt": "ünï"})
    decoded, fps = read_video(path)
    assert path == tmp_path / "still.png"
    np.testing.assert_array_equal(decoded, image[None])
    assert fps == FPS
    assert read_video_metadata(path) == {"prompt": "ünï"}


def test_png_sequence_writes_numbered_frames(tmp_path: Path) -> None:
    frames = smooth_clip(12)
    write_video(smooth_clip(15), tmp_path / "clip.png")  # an earlier, longer clip under the same name
    paths = write_video(frames, tmp_path / "clip.png", fps=6, metadata={"seed": "3"})
    assert paths == [tmp_path / f"clip_{index:04d}.png" for index in range(12)]
    assert sorted(tmp_path.iterdir()) == paths  # nothing at clip.png, no stale frames 12-14
    np.testing.assert_array_equal(np.asarray(Image.open(paths[5])), frames[5])
    decoded, fps = read_video(tmp_path / "clip.png")
    np.testing.assert_array_equal(decoded, frames)
    assert fps == 6
    assert read_video_metadata(tmp_path / "clip.png") == {"seed": "3"}


def test_png_still_replaces_an_earlier_sequence_and_back(tmp_path: Path) -> None:
    clip, still = smooth_clip(4), smooth_clip(1, 16, 16)
    write_video(clip, tmp_path / "x.png")
    assert write_video(still, tmp_path / "x.png") == tmp_path / "x.png"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]
    np.testing.assert_array_equal(read_video(tmp_path / "x.png")[0], still)
    write_video(clip, tmp_path / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"x_{index:04d}.png" for index in range(4)]
    np.testing.assert_array_equal(read_video(tmp_path / "x.png")[0], clip)


@pytest.mark.parametrize("name,tolerance_db", [("still.png", None), ("still.webp", None), ("still.jpg", 35.0)])
def test_write_image_round_trip(tmp_path: Path, name: str, tolerance_db: float | None) -> None:
    image = smooth_clip(1, 48, 80)[0]
    path = write_image(image, tmp_path / name)
    decoded, _ = read_video(path)
    assert decoded.shape == (1, 48, 80, 3)
    if tolerance_db is None:
        np.testing.assert_array_equal(decoded[0], image)
    else:
        assert psnr(image, decoded[0]) >= tolerance_db


def test_write_image_rejects_a_clip(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="single image; got 17 frames"):
        write_image(smooth_clip(), tmp_path / "x.png")


# --- atomic writes and errors --------------------------------------------------------------------


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_video(smooth_clip(5), tmp_path / "clip.mp4")
    original = path.read_bytes()

    def broken_encoder(image: np.ndarray) -> av.VideoFrame:
        raise RuntimeError("encoder died")

    monkeypatch.setattr(mp4, "_to_video_frame", broken_encoder)
    with pytest.raises(RuntimeError, match="encoder died"):
        write_video(smooth_clip(9), path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


@pytest.mark.parametrize("name", ["broken.mp4", "broken.gif", "broken.webp", "broken.png", "broken.jpg"])
def test_corrupt_file_raises_value_error_naming_it(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=r"could not decode .*" + name.replace(".", r"\.")):
        read_video(path)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        read_video_metadata(path)


def test_truncated_mp4_raises_value_error(tmp_path: Path) -> None:
    path = write_video(smooth_clip(), tmp_path / "clip.mp4")
    path.write_bytes(path.read_bytes()[:200])  # keeps ftyp, cuts the moov index
    with pytest.raises(ValueError, match="clip.mp4"):
        read_video(path)


def test_missing_file_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    for name in ("nothing.mp4", "nothing.png", "nothing.gif"):
        with pytest.raises(FileNotFoundError, match=name):
            read_video(tmp_path / name)
        with pytest.raises(FileNotFoundError, match=name):
            read_video_metadata(tmp_path / name)


def test_unknown_extension_lists_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'\.avi'.*\.mp4, \.gif, \.webp, \.png"):
        write_video(smooth_clip(2), tmp_path / "clip.avi")
    with pytest.raises(ValueError, match=r"'\.txt'.*\.mp4.*\.jpeg"):
        read_video(tmp_path / "notes.txt")


@pytest.mark.parametrize(
    "frames,message",
    [
        (smooth_clip(2).astype(np.float32) / 255, r"\(x \* 255\)\.round\(\)\.astype\(np\.uint8\)"),
        (smooth_clip(2).astype(np.int64), r"np\.clip\(x, 0, 255\)"),
        (smooth_clip(2).transpose(0, 3, 1, 2), r"channels-first.*transpose\(0, 2, 3, 1\)"),
        (np.zeros((2, 8, 8, 4), np.uint8), r"frames\[\.\.\., :3\]"),
        (np.zeros((8, 8), np.uint8), r"np\.repeat"),
        (np.zeros((0, 8, 8, 3), np.uint8), r"at least one frame"),
    ],
)
def test_bad_frames_are_rejected_with_a_fix(frames: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_frames(frames)


def test_bad_arguments_are_rejected_with_a_fix(tmp_path: Path) -> None:
    clip = smooth_clip(2)
    with pytest.raises(ValueError, match="fps must be a finite number > 0.*got 0"):
        write_video(clip, tmp_path / "a.mp4", fps=0)
    with pytest.raises(ValueError, match="got nan"):
        write_video(clip, tmp_path / "a.mp4", fps=float("nan"))
    with pytest.raises(ValueError, match="crf must be an integer from 0.*got 60"):
        write_video(clip, tmp_path / "a.mp4", crf=60)
    with pytest.raises(ValueError, match="too fast for .gif.*fps <= 50"):
        write_video(clip, tmp_path / "a.gif", fps=60)
    with pytest.raises(ValueError, match="metadata key 'my prompt'"):
        write_video(clip, tmp_path / "a.mp4", metadata={"my prompt": "x"})
    with pytest.raises(ValueError, match=r"metadata\['seed'\] must be a str"):
        write_video(clip, tmp_path / "a.mp4", metadata={"seed": [1]})
    with pytest.raises(ValueError, match="max_frames must be None .* got 0"):
        read_video(tmp_path / "a.mp4", max_frames=0)
    assert list(tmp_path.iterdir()) == []  # validation happens before anything is written


def test_single_image_is_accepted_as_one_frame() -> None:
    image = smooth_clip(1)[0]
    np.testing.assert_array_equal(as_frames(image), image[None])


def test_export_to_video_takes_what_diffusers_pipelines_return(tmp_path: Path) -> None:
    """Kinema's uint8 frames, a list of PIL images and diffusers' float [0, 1] frames write the same video."""
    from kinema.media.export import frames_as_uint8

    clip = smooth_clip(9)
    forms = [clip, [Image.fromarray(frame) for frame in clip], clip.astype(np.float32) / 255]
    assert all(np.array_equal(frames_as_uint8(form), clip) for form in forms)
    written = [export_to_video(form, tmp_path / f"{index}.mp4", fps=8) for index, form in enumerate(forms)]
    assert written[1] == str(tmp_path / "1.mp4")
    for path in written:  # x264's encodes of the same frames may differ a little from one to the next
        video, fps = read_video(path)
        assert video.shape == clip.shape and fps == 8 and np.abs(video.astype(int) - clip).mean() < 3
    temporary = Path(export_to_video(clip))  # no path: a temporary MP4, as in diffusers
    assert temporary.suffix == ".mp4" and read_video(temporary)[0].shape == clip.shape
    temporary.unlink()


@pytest.mark.parametrize(
    "frames,message",
    [
        (np.zeros((1, 9, 16, 16, 3), np.uint8), r"holds 1 videos .* out.frames\[0\]"),
        (np.full((9, 16, 16, 3), 2.0, np.float32), r"values in \[0, 1\]"),
        ([], "empty"),
    ],
)
def test_export_to_video_says_what_was_wrong(tmp_path: Path, frames, message) -> None:
    with pytest.raises(ValueError, match=message):
        export_to_video(frames, tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.mp4").exists()


def test_importing_the_package_loads_neither_pyav_nor_pillow() -> None:
    code = "import sys, kinema.media; print('av' in sys.modules, 'PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# --- previews ------------------------------------------------------------------------------------


def test_thumbnail_is_the_middle_frame() -> None:
    frames = smooth_clip(17)
    np.testing.assert_array_equal(thumbnail(frames), frames[8])
    np.testing.assert_array_equal(thumbnail(frames[:16]), frames[8])
    np.testing.assert_array_equal(thumbnail(frames, size=128), frames[8].repeat(2, 0).repeat(2, 1))
    small = thumbnail(smooth_clip(17, 80, 48), size=40)
    assert small.shape == (40, 24, 3)
    expected = np.asarray(Image.fromarray(smooth_clip(17, 80, 48)[8]).resize((24, 40), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(small, expected)


def test_spritesheet_tiles_are_evenly_sampled_frames() -> None:
    frames = smooth_clip(17)
    sheet = spritesheet(frames)
    assert sheet.shape == (4 * 64, 4 * 64, 3)
    indices = np.linspace(0, 16, 16).round().astype(int)
    assert indices[0] == 0 and indices[-1] == 16
    for tile_index, frame_index in enumerate(indices):
        row, column = divmod(tile_index, 4)
        tile = sheet[row * 64 : (row + 1) * 64, column * 64 : (column + 1) * 64]
        np.testing.assert_array_equal(tile, frames[frame_index])


def test_spritesheet_with_columns_leaves_unused_cells_black() -> None:
    frames = smooth_clip(5, 48, 80)
    sheet = spritesheet(frames, columns=3)
    assert sheet.shape == (2 * 48, 3 * 80, 3)
    np.testing.assert_array_equal(sheet[48:, 80:160], frames[4])
    assert not sheet[48:, 160:].any()
    assert spritesheet(frames, columns=9).shape == (48, 5 * 80, 3)  # columns capped at the tile count


def test_contact_sheet_rows_hold_upscaled_sampled_frames() -> None:
    clips = [smooth_clip(17), smooth_clip(9, 48, 80), smooth_clip(1, 80, 48)]
    sheet = contact_sheet(clips, frames_per_clip=5, scale=2)
    gutter = sheets.GUTTER
    cell_height, cell_width = 160, 160  # the largest clip, 80 pixels, times 2
    assert sheet.shape == (3 * cell_height + 2 * gutter, 5 * cell_width + 4 * gutter, 3)
    second_row = cell_height + gutter
    for column, frame_index in enumerate([0, 2, 4, 6, 8]):
        left = column * (cell_width + gutter)
        tile = sheet[second_row : second_row + 96, left : left + 160]
        np.testing.assert_array_equal(tile, clips[1][frame_index].repeat(2, 0).repeat(2, 1))
    third_row = 2 * (cell_height + gutter)
    np.testing.assert_array_equal(sheet[third_row : third_row + 160, :96], clips[2][0].repeat(2, 0).repeat(2, 1))
    assert (sheet[third_row:, 96 + gutter :] == sheets.BACKGROUND).all()  # a still fills one cell


def test_contact_sheet_labels_sit_above_their_row() -> None:
    clips = [smooth_clip(17), smooth_clip(17)]
    plain = contact_sheet(clips, frames_per_clip=3)
    labelled = contact_sheet(clips, labels=["a red ball", "a blue cube"], frames_per_clip=3)
    band = (labelled.shape[0] - plain.shape[0]) // 2
    assert labelled.shape[1] == plain.shape[1] and band > 8
    for row in range(2):
        top = row * (band + 128 + sheets.GUTTER)
        text = labelled[top : top + band]
        assert (np.abs(text.astype(int) - sheets.BACKGROUND).sum(-1) > 200).sum() > 20  # bright text pixels
        first_tile = labelled[top + band : top + band + 128, :128]
        np.testing.assert_array_equal(first_tile, clips[row][0].repeat(2, 0).repeat(2, 1))


def test_long_labels_wrap_and_are_cut_with_an_ellipsis() -> None:
    font = ImageFont.load_default()
    label = "a small green circle moves slowly up-left over a striped background while the camera pans " * 3
    lines = sheets._wrap_label(label, font, 200)
    assert len(lines) == sheets.MAX_LABEL_LINES
    assert lines[-1].endswith("...")
    assert all(font.getlength(line) <= 200 for line in lines)
    broken = sheets._wrap_label("x" * 16, font, 60)  # one word wider than the sheet is split
    assert "".join(broken) == "x" * 16 and len(broken) == 2
    assert all(font.getlength(line) <= 60 for line in broken)
    clips = [smooth_clip(3, 16, 16)]
    short = contact_sheet(clips, labels=["ok"], frames_per_clip=3, scale=1)
    long = contact_sheet(clips, labels=[label], frames_per_clip=3, scale=1)
    assert long.shape[0] - short.shape[0] == sheets._line_height(font)  # two lines, never more


def test_contact_sheet_rejects_mismatched_labels() -> None:
    with pytest.raises(ValueError, match=r"one string per clip \(2\); got 1"):
        contact_sheet([smooth_clip(2), smooth_clip(2)], labels=["only one"])
    with pytest.raises(ValueError, match="wrap a single clip as"):
        contact_sheet(smooth_clip(2))
