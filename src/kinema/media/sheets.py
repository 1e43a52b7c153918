"""Still previews of clips: a thumbnail, a spritesheet of one clip, a labelled contact sheet of many.

These are for looking at data and samples (dataset previews, the API's `thumbnail` and
`spritesheet` variants), so tiles are exact copies of frames, upscaled by whole pixels only,
and a 64x64 clip stays readable instead of being blurred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kinema.media.frames import as_frames, sample_indices

GUTTER = 2  # pixels of background between the tiles and rows of a contact sheet
LABEL_PADDING = 2  # pixels around the label text block of each contact-sheet row
MAX_LABEL_LINES = 2
BACKGROUND = (24, 24, 24)
LABEL_COLOUR = (236, 236, 236)
_ELLIPSIS = "..."  # ASCII: Pillow's bitmap fallback font has no "…"


def thumbnail(frames: np.ndarray, *, size: int | None = None) -> np.ndarray:
    """Return the middle frame as (H, W, 3) uint8, optionally resized so its longer side is `size`.

    Shrinking uses Lanczos; enlarging uses nearest neighbour so small clips stay crisp.
    """
    frames = as_frames(frames)
    image = frames[len(frames) // 2]
    if size is None:
        return image.copy()
    _check_positive_int(size, "size", "e.g. 256")
    return _resize_longer_side(image, size)


def _resize_longer_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize keeping the aspect ratio so that max(H, W) == size."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    if scale == 1:
        return image.copy()
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(image).resize(new_size, resample))


def spritesheet(frames: np.ndarray, *, columns: int | None = None, max_tiles: int = 16) -> np.ndarray:
    """Tile up to `max_tiles` evenly sampled frames (first and last included) row-major in one image.

    Tiles touch (no gutter) and are exact frames, so tile (r, c) is
    `sheet[r*H:(r+1)*H, c*W:(c+1)*W]`; unused cells of the last row are black. `columns`
    defaults to ceil(sqrt(tiles)) and is capped at the number of tiles.
    """
    frames = as_frames(frames)
    _check_positive_int(max_tiles, "max_tiles", "e.g. 16")
    if columns is not None:
        _check_positive_int(columns, "columns", "or None for a near-square grid")
    tiles = frames[sample_indices(len(frames), max_tiles)]
    columns = min(columns or math.ceil(math.sqrt(len(tiles))), len(tiles))
    rows = math.ceil(len(tiles) / columns)
    _, height, width, _ = tiles.shape
    sheet = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        sheet[row * height : (row + 1) * height, column * width : (column + 1) * width] = tile
    return sheet


def contact_sheet(
    clips: Sequence[np.ndarray],
    *,
    labels: Sequence[str] | None = None,
    frames_per_clip: int = 5,
    scale: int = 2,
) -> np.ndarray:
    """One row per clip of evenly sampled frames, upscaled `scale`x by nearest neighbour, each under its label.

    Cells are sized for the largest clip; a smaller clip sits at the top-left of its cells. Rows
    and tiles are separated by `GUTTER` pixels of background. Labels are wrapped to the sheet's
    width and cut with "..." after `MAX_LABEL_LINES` lines; every row gets the same label band.
    """
    checked = _check_clips(clips, labels)
    _check_positive_int(frames_per_clip, "frames_per_clip", "e.g. 5")
    _check_positive_int(scale, "scale", "e.g. 2 to show 64x64 clips at 128x128")
    cell_height = max(clip.shape[1] for clip in checked) * scale
    cell_width = max(clip.shape[2] for clip in checked) * scale
    columns = min(frames_per_clip, max(len(clip) for clip in checked))
    width = columns * cell_width + (columns - 1) * GUTTER
    font = ImageFont.load_default()
    label_lines = [_wrap_label(label, font, width - 2 * LABEL_PADDING) for label in labels] if labels else None
    label_height = _label_band_height(label_lines, font)
    row_height = label_height + cell_height
    sheet = np.full((len(checked) * (row_height + GUTTER) - GUTTER, width, 3), BACKGROUND, dtype=np.uint8)
    for row, clip in enumerate(checked):
        top = row * (row_height + GUTTER) + label_height
        for column, index in enumerate(sample_indices(len(clip), frames_per_clip)):
            tile = clip[index].repeat(scale, axis=0).repeat(scale, axis=1)  # (H*scale, W*scale, 3)
            left = column * (cell_width + GUTTER)
            sheet[top : top + tile.shape[0], left : left + tile.shape[1]] = tile
    if label_lines is None:
        return sheet
    return _draw_labels(sheet, label_lines, font, row_height)


def _check_clips(clips: Sequence[np.ndarray], labels: Sequence[str] | None) -> list[np.ndarray]:
    """Validate every clip and that labels, when given, are one string per clip."""
    if isinstance(clips, np.ndarray) or len(clips) == 0:
        raise ValueError("clips must be a non-empty list of (T, H, W, 3) uint8 arrays; wrap a single clip as [clip]")
    checked = [as_frames(clip, name=f"clips[{index}]") for index, clip in enumerate(clips)]
    if labels is not None:
        if isinstance(labels, str) or len(labels) != len(checked):
            count = "a str" if isinstance(labels, str) else len(labels)
            raise ValueError(f"labels must be a list with one string per clip ({len(checked)}); got {count}")
        for label in labels:
            if not isinstance(label, str):
                raise ValueError(f"each label must be a str; got {label!r}")
    return checked


def _check_positive_int(value: object, name: str, example: str) -> None:
    """Raise a ValueError unless `value` is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1 ({example}); got {value!r}")


def _line_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    """Height of one text line in pixels, with a pixel of leading."""
    bottom = font.getbbox("Ag")[3]
    return int(bottom) + 1


def _label_band_height(label_lines: list[list[str]] | None, font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    """Height of the label band above each row, sized for the label that wraps to the most lines."""
    if label_lines is None:
        return 0
    lines = max([1, *(len(lines) for lines in label_lines)])
    return lines * _line_height(font) + 2 * LABEL_PADDING


def _wrap_label(label: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedily wrap words to `max_width` pixels, breaking over-long words, and cut with "..." after MAX_LABEL_LINES."""
    lines: list[str] = []
    current = ""
    for word in label.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > max_width and len(word) > 1:
            split = _longest_fitting_prefix(word, font, max_width)
            lines.append(word[:split])
            word = word[split:]
        current = word
    if current:
        lines.append(current)
    if len(lines) <= MAX_LABEL_LINES:
        return lines
    kept = lines[:MAX_LABEL_LINES]
    kept[-1] = _truncate(kept[-1], font, max_width)
    return kept


def _longest_fitting_prefix(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, max_width: int) -> int:
    """Length of the longest prefix of `text` (at least one character) that fits `max_width`."""
    length = 1
    while length < len(text) and font.getlength(text[: length + 1]) <= max_width:
        length += 1
    return length


def _truncate(line: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, max_width: int) -> str:
    """Shorten `line` until it fits with an ellipsis appended, to show the label goes on."""
    while line and font.getlength(line.rstrip() + _ELLIPSIS) > max_width:
        line = line[:-1]
    return line.rstrip() + _ELLIPSIS


def _draw_labels(
    sheet: np.ndarray,
    label_lines: list[list[str]],
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    row_height: int,
) -> np.ndarray:
    """Draw each row's wrapped label in the band above its tiles."""
    image = Image.fromarray(sheet)
    draw = ImageDraw.Draw(image)
    line_height = _line_height(font)
    for row, lines in enumerate(label_lines):
        top = row * (row_height + GUTTER) + LABEL_PADDING
        for number, line in enumerate(lines):
            draw.text((LABEL_PADDING, top + number * line_height), line, font=font, fill=LABEL_COLOUR)
    return np.asarray(image).copy()
