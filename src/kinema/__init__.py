"""Kinema: a self-hostable Sora-style text-to-video system.

`from kinema import KinemaPipeline, export_to_video` works as diffusers' imports do; both load
lazily, so `import kinema` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {"KinemaPipeline": "kinema.pipeline", "export_to_video": "kinema.media.export"}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from kinema.media.export import export_to_video
    from kinema.pipeline import KinemaPipeline


def __getattr__(name: str) -> object:
    """Import the module that defines `name` on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kinema' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
