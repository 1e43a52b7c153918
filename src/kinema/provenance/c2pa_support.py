"""Importing c2pa-python and configuring it the way Kinema uses it: offline, explicit trust.

c2pa is an optional dependency (the `serve` and `test` extras) that loads a native library, so it
is imported here, on first use, with an error that says how to install it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

MP4_MIME = "video/mp4"
SIGNABLE_SUFFIXES = {".mp4": MP4_MIME, ".m4v": MP4_MIME}


def import_c2pa() -> ModuleType:
    """The `c2pa` module, or an ImportError that names the extra to install."""
    try:
        import c2pa
    except ImportError as error:  # the package is missing, or its native library failed to load
        raise ImportError(
            f"C2PA provenance needs c2pa-python ({error}); install it with `pip install 'kinema[serve]'`"
        ) from error
    return c2pa


def settings(trust_anchor_pem: str | None) -> dict[str, Any]:
    """c2pa settings: never fetch remote manifests or OCSP (verification must work offline), no
    manifest thumbnail (c2pa cannot render one from video, and it would only add bytes), and
    `trust_anchor_pem` added to c2pa's own trust list so a local root can make a signer trusted."""
    config: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
    }
    if trust_anchor_pem:
        config["trust"] = {"user_anchors": trust_anchor_pem}
    return config


def make_context(trust_anchor_pem: str | None = None) -> Any:
    """A c2pa Context with `settings(trust_anchor_pem)`."""
    return import_c2pa().Context.from_dict(settings(trust_anchor_pem))
