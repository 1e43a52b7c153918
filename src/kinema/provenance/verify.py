"""Verifying a video's C2PA manifest: is there one, does it validate, is its signer trusted.

Three outcomes are kept apart because they mean different things to a reader: *invalid* (the
media or the manifest changed after signing, or the signature does not verify: do not believe
the manifest), *untrusted* (intact and correctly signed, but by a certificate that chains to no
anchor this verifier trusts, which is what a local `kinema keys init` root is to everyone else),
and *trusted*. A key folder's root can be passed as an extra anchor so one's own videos verify
as trusted.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from kinema.media.frames import require_file
from kinema.provenance.c2pa_support import import_c2pa, make_context
from kinema.provenance.keys import load_root
from kinema.provenance.manifest import (
    KINEMA_ASSERTION,
    active_manifest,
    assertion,
    created_action,
    generator_name,
    prompt_sha256,
)

UNTRUSTED_CODES = frozenset({"signingCredential.untrusted"})  # failures that leave the content intact
STATUS_TEXT = {
    "trusted": "signature valid, signer trusted",
    "untrusted": "signature valid, signer not in trust list",
    "invalid": "INVALID: the video or its manifest was changed after signing, or the signature does not verify",
    "unsigned": "no C2PA manifest",
}


@dataclass
class VerificationReport:
    """What `verify_video` found. `valid`: signature and content hashes check out (trusted or not)."""

    path: str
    has_manifest: bool
    valid: bool
    trusted: bool
    status: str  # one of STATUS_TEXT
    generator: str | None = None
    model: str | None = None
    prompt_sha256: str | None = None
    seed: int | None = None
    created: str | None = None
    digital_source_type: str | None = None
    signer: str | None = None
    issues: list[str] = field(default_factory=list)
    manifest_json: str | None = None  # the whole manifest store as c2pa reports it

    @property
    def status_text(self) -> str:
        """The status in words, e.g. "signature valid, signer not in trust list"."""
        return STATUS_TEXT[self.status]

    def matches_prompt(self, prompt: str) -> bool:
        """Whether `prompt` is the prompt whose hash the manifest records."""
        return self.prompt_sha256 is not None and self.prompt_sha256 == prompt_sha256(prompt)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields, the manifest store parsed rather than as a string."""
        data = asdict(self)
        data["status_text"] = self.status_text
        data["manifest"] = json.loads(data.pop("manifest_json")) if self.manifest_json else None
        return data


def verify_video(path: str | os.PathLike[str], *, key_dir: str | os.PathLike[str] | None = None,
                 trust_anchor_pem: str | None = None) -> VerificationReport:
    """Read and validate the C2PA manifest of the file at `path`, offline.

    `key_dir` (a `kinema keys init` folder) adds its root as a trust anchor, as does
    `trust_anchor_pem` (PEM text). Raises FileNotFoundError for a missing file and ValueError,
    naming the file, for one c2pa cannot parse.
    """
    video = require_file(path)
    anchors = "".join(part for part in (load_root(key_dir) if key_dir is not None else None, trust_anchor_pem)
                      if part)
    c2pa = import_c2pa()
    try:
        with make_context(anchors or None) as context:
            reader = c2pa.Reader.try_create(str(video), context=context)
            if reader is None:
                return VerificationReport(str(video), has_manifest=False, valid=False, trusted=False, status="unsigned")
            with reader:
                store_json = reader.json()
    except c2pa.C2paError as error:
        detail = "the file is empty" if video.stat().st_size == 0 else str(error)
        raise ValueError(f"cannot read {str(video)!r} as a media file: {detail}") from error
    return report_from_store(str(video), store_json)


def report_from_store(path: str, store_json: str) -> VerificationReport:
    """A report from a manifest store's JSON (Reader.json()): Kinema's fields and the verdict."""
    store = json.loads(store_json)
    manifest = active_manifest(store) or {}
    issues = [f"{item.get('code')}: {item.get('explanation', '')}".rstrip(": ") for item in _failures(store)]
    codes = {item.get("code") for item in _failures(store)}
    state = store.get("validation_state")
    if not manifest:
        issues.append("the manifest store has no active manifest")
    if codes - UNTRUSTED_CODES or state not in ("Valid", "Trusted", "Invalid") or not manifest:
        status = "invalid"
    else:
        status = "trusted" if state == "Trusted" else "untrusted"
    generation = assertion(manifest, KINEMA_ASSERTION) or {}
    created = created_action(manifest) or {}
    signature = manifest.get("signature_info") or {}
    return VerificationReport(
        path, has_manifest=True, valid=status in ("trusted", "untrusted"), trusted=status == "trusted",
        status=status, generator=generator_name(manifest), model=generation.get("model"),
        prompt_sha256=generation.get("prompt_sha256"), seed=generation.get("seed"),
        created=generation.get("created") or created.get("when"),
        digital_source_type=created.get("digitalSourceType"),
        signer=", ".join(part for part in (signature.get("common_name"), signature.get("issuer")) if part) or None,
        issues=issues, manifest_json=store_json,
    )


def _failures(store: dict[str, Any]) -> list[dict[str, Any]]:
    """Every failure c2pa recorded: the active manifest's and its ingredients' (older stores: a flat list)."""
    results = store.get("validation_results")
    if results is None:
        return [item for item in store.get("validation_status", []) if item.get("code")]
    failures = list((results.get("activeManifest") or {}).get("failure", []))
    for delta in results.get("ingredientDeltas") or []:
        failures.extend((delta.get("validationDeltas") or {}).get("failure", []))
    return failures
