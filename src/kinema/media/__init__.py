"""Reading, writing and previewing clips: uint8 (T, H, W, 3) RGB frames <-> MP4, GIF, WebP, PNG, JPEG.

Public functions are re-exported lazily, so `import kinema.media` loads neither PyAV nor Pillow
until one of them is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "as_frames": "kinema.media.frames",
    "export_to_video": "kinema.media.export",
    "write_video": "kinema.media.video",
    "read_video": "kinema.media.video",
    "read_video_metadata": "kinema.media.video",
    "write_image": "kinema.media.video",
    "thumbnail": "kinema.media.sheets",
    "spritesheet": "kinema.media.sheets",
    "contact_sheet": "kinema.media.sheets",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from kinema.media.export import export_to_video
    from kinema.media.frames import as_frames
    from kinema.media.sheets import contact_sheet, spritesheet, thumbnail
    from kinema.media.video import read_video, read_video_metadata, write_image, write_video


def __getattr__(name: str) -> object:
    """Import the submodule that defines `name` on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kinema.media' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    """List the lazily exported names alongside the module's own."""
    return sorted(set(globals()) | set(__all__))
