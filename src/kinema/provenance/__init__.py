"""C2PA provenance for generated videos: local signing keys, signing an MP4, verifying one.

`init_keys` makes a local certificate chain, `sign_video` embeds a signed manifest naming the
generator, model and prompt hash, `verify_video` reports whether a file's manifest is intact and
whether its signer is trusted. Names are re-exported lazily: importing this package loads neither
c2pa nor cryptography, and creates no folder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "init_keys": "kinema.provenance.keys",
    "load_keys": "kinema.provenance.keys",
    "keys_exist": "kinema.provenance.keys",
    "default_key_dir": "kinema.provenance.keys",
    "SigningKeys": "kinema.provenance.keys",
    "sign_video": "kinema.provenance.sign",
    "sign_if_keys_exist": "kinema.provenance.sign",
    "verify_video": "kinema.provenance.verify",
    "VerificationReport": "kinema.provenance.verify",
    "prompt_sha256": "kinema.provenance.manifest",
}

__all__ = [
    "SigningKeys", "VerificationReport", "default_key_dir", "init_keys", "keys_exist", "load_keys",
    "prompt_sha256", "sign_if_keys_exist", "sign_video", "verify_video",
]

if TYPE_CHECKING:
    from kinema.provenance.keys import (
        SigningKeys,
        default_key_dir,
        init_keys,
        keys_exist,
        load_keys,
    )
    from kinema.provenance.manifest import prompt_sha256
    from kinema.provenance.sign import sign_if_keys_exist, sign_video
    from kinema.provenance.verify import VerificationReport, verify_video


def __getattr__(name: str) -> object:
    """Import the submodule that defines `name` on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kinema.provenance' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    """List the lazily exported names alongside the module's own."""
    return sorted(set(globals()) | set(__all__))
