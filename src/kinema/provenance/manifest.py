"""The C2PA manifest Kinema writes, as a plain dict, and the reading of Kinema's fields back from one.

What a generated video says about itself, as Sora's outputs do: the generator (claim generator
Kinema and its version), a `c2pa.created` action whose digitalSourceType is IPTC's
trainedAlgorithmicMedia (the C2PA vocabulary for "made by a generative model"), when it was made,
and a Kinema assertion naming the model and the SHA-256 of the prompt. The prompt itself is never
stored: a hash lets whoever knows a prompt confirm it without the file disclosing it.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

GENERATOR = "Kinema"
KINEMA_ASSERTION = "org.kinema.generation"
CREATED_ACTION = "c2pa.created"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def prompt_sha256(prompt: str) -> str:
    """Hex SHA-256 of the prompt's UTF-8 bytes: what the manifest stores instead of the prompt."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def build_manifest(*, title: str, model: str, prompt: str, seed: int | None = None,
                   created: datetime.datetime | None = None) -> dict[str, Any]:
    """The manifest definition for c2pa's Builder: generator, created action, Kinema's assertion."""
    from kinema import __version__

    if not model.strip():
        raise ValueError("model must name the model that generated the video, e.g. 'kinema-world-s'; got ''")
    when = (created or datetime.datetime.now(datetime.timezone.utc)).isoformat(timespec="seconds")
    agent = {"name": GENERATOR, "version": __version__}
    generation: dict[str, Any] = {"model": model, "prompt_sha256": prompt_sha256(prompt), "created": when}
    if seed is not None:
        generation["seed"] = int(seed)
    created_action = {"action": CREATED_ACTION, "when": when, "softwareAgent": agent,
                      "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [created_action]}},
            {"label": KINEMA_ASSERTION, "data": generation},
        ],
    }


def active_manifest(store: dict[str, Any]) -> dict[str, Any] | None:
    """The active manifest of a manifest store (Reader.json() parsed), or None when it has none."""
    label = store.get("active_manifest")
    return store.get("manifests", {}).get(label) if label else None


def assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    """The data of the first assertion whose label is `label` or a version of it (`label.v2`)."""
    for item in manifest.get("assertions", []):
        name = item.get("label", "")
        if name == label or name.startswith(label + ".v"):
            return item.get("data")
    return None


def generator_name(manifest: dict[str, Any]) -> str | None:
    """"Name version" of the manifest's first claim generator (e.g. "Kinema 0.1.0")."""
    info = manifest.get("claim_generator_info") or []
    if not info:
        return manifest.get("claim_generator")
    first = info[0]
    return " ".join(part for part in (first.get("name"), first.get("version")) if part) or None


def created_action(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's `c2pa.created` action, or None."""
    actions = assertion(manifest, "c2pa.actions") or {}
    return next((action for action in actions.get("actions", []) if action.get("action") == CREATED_ACTION), None)
