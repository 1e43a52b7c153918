"""Signing a generated MP4: embed a C2PA manifest, signed with a local key folder, in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kinema.media.frames import atomic_output, require_file
from kinema.provenance.c2pa_support import SIGNABLE_SUFFIXES, import_c2pa, make_context
from kinema.provenance.keys import default_key_dir, keys_exist, load_keys
from kinema.provenance.manifest import build_manifest


def sign_video(path: str | os.PathLike[str], *, model: str, prompt: str,
               key_dir: str | os.PathLike[str] | None = None, seed: int | None = None) -> None:
    """Embed a signed C2PA manifest (generator, model, prompt hash, seed, time) in the MP4 at `path`.

    The signed file is written beside `path` and renamed over it, so a crash never leaves a
    half-signed video. `key_dir` defaults to `default_key_dir()`; make one with `init_keys`.
    """
    video = require_file(path)
    mime = SIGNABLE_SUFFIXES.get(video.suffix.lower())
    if mime is None:
        raise ValueError(f"cannot sign {str(video)!r}: C2PA signing supports {', '.join(SIGNABLE_SUFFIXES)} "
                         f"files; got {video.suffix or '(no extension)'!r}")
    keys = load_keys(key_dir)
    manifest = build_manifest(title=video.name, model=model, prompt=prompt, seed=seed)
    c2pa = import_c2pa()
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, keys.chain_pem.encode(), keys.private_key_pem.encode(), None))
    except c2pa.C2paError as error:
        raise ValueError(f"the signing keys in {str(keys.folder)!r} are unusable ({error}); "
                         f"recreate them with `kinema keys init --dir {keys.folder} --force`") from error
    try:
        _sign_into_place(c2pa, video, mime, manifest, signer, keys.root_pem)
    finally:
        signer.close()


def sign_if_keys_exist(path: str | os.PathLike[str] | list[Path], *, model: str, prompt: str,
                       seed: int | None = None, key_dir: str | os.PathLike[str] | None = None) -> bool:
    """Sign `path` when it is an MP4 and the key folder exists; whether it was signed.

    What `kinema generate` calls on each output, so that `kinema keys init` once is all it takes
    to sign every video from then on. GIF, WebP and PNG outputs (a list for a PNG sequence) are left
    as they are. The key folder defaults to `default_key_dir()`.
    """
    if isinstance(path, list) or Path(path).suffix.lower() not in SIGNABLE_SUFFIXES:
        return False
    folder = Path(key_dir) if key_dir is not None else default_key_dir()
    if not keys_exist(folder):
        return False
    sign_video(path, model=model, prompt=prompt, key_dir=folder, seed=seed)
    return True


def _sign_into_place(c2pa: Any, video: Path, mime: str, manifest: dict[str, Any], signer: Any, root_pem: str) -> None:
    """Sign `video` into a temporary file with its permissions, then rename it over `video`."""
    mode = video.stat().st_mode & 0o777
    try:
        # The root is trusted here so c2pa's check of its own output (verify_after_sign) passes.
        with make_context(root_pem) as context, c2pa.Builder(manifest, context=context) as builder, \
                atomic_output(video) as temporary:
            with open(video, "rb") as source, open(temporary, "w+b") as destination:
                builder.sign(signer, mime, source, destination)
            os.chmod(temporary, mode)
    except c2pa.C2paError as error:
        raise ValueError(f"cannot sign {str(video)!r}: not a well-formed MP4 or signing failed ({error})") from error
