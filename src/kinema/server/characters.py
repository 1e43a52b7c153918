"""Characters (OpenAI's `videos.create_character`): a named look, read from an uploaded clip, reused in prompts.

Sora's characters keep one subject's appearance across videos. In Kinema's world a subject's
appearance is its size, colour and shape, so a character is exactly that: the analytic checker
reads the most visible object of the uploaded clip ("a large red square") and stores it under the
given name. A prompt then names the character (by name when the request lists it in `characters`,
or as `@name` / `@id` at any time) and the name is replaced by the look before the model sees the
prompt: "Luna moves left" renders as "a large red square moves left".

Each character is one small JSON file, `<data>/characters/<id>.json`, written atomically; ids are
`char_` + 32 hex digits and are checked before any path is built.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kinema.server.files import decode_clip

CHARACTER_ID = re.compile(r"char_[0-9a-f]{32}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,63}")
READ_SECONDS = 4.0  # the world's longest clip; enough to see an object in many frames
SHORT_SIDE = 64  # the world's size, where the checker's thresholds were set


@dataclass(frozen=True)
class Character:
    """A named look: `look` is the world's words for it, e.g. "large red square"."""

    id: str
    name: str
    created_at: int
    look: str


class CharacterStore:
    """Characters as JSON files under one folder; safe across threads (each write is a rename)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir).resolve() / "characters"

    def add(self, name: str, look: str, now: int) -> Character:
        character = Character(id=f"char_{uuid.uuid4().hex}", name=name, created_at=now, look=look)
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.root, suffix=".tmp", delete=False) as handle:
            json.dump(asdict(character), handle)
        os.replace(handle.name, self.root / f"{character.id}.json")
        return character

    def get(self, character_id: str) -> Character | None:
        if CHARACTER_ID.fullmatch(character_id) is None:
            return None
        path = self.root / f"{character_id}.json"
        return Character(**json.loads(path.read_text())) if path.is_file() else None

    def all(self) -> list[Character]:
        """Every character, newest first (so a reused name means the latest)."""
        paths = self.root.glob("char_*.json") if self.root.is_dir() else []
        found = [Character(**json.loads(path.read_text())) for path in paths]
        return sorted(found, key=lambda c: c.created_at, reverse=True)


def check_name(name: str) -> str:
    """The stripped name; ValueError unless 1-64 letters, digits, spaces, '-', '_', starting with a letter or digit."""
    name = name.strip()
    if NAME.fullmatch(name) is None:
        raise ValueError(f"name must be 1 to 64 letters, digits, spaces, '-' or '_', starting with a letter or digit; "
                         f"got {name!r}")
    return name


def read_look(clip: bytes) -> str:
    """The look of the most visible object in an uploaded clip (MP4, WebM, GIF, PNG, ...), as the world names it.

    ValueError when the clip cannot be decoded or shows no object of the world (a saturated shape).
    """
    from kinema.evaluation.checker import describe
    from kinema.evaluation.observe import observe

    frames, fps = decode_clip(clip, param="video", max_seconds=READ_SECONDS)
    observation = observe(_to_world_size(frames), fps)
    if not observation.objects:
        raise ValueError("the video shows no object this model's world can draw (a coloured circle, square, "
                         "triangle or star); upload a clip in which one is clearly visible")
    seen = describe(observation)
    visible = [(int(track.visible.sum()), float(track.area.sum())) for track in observation.objects]
    main = seen[max(range(len(seen)), key=visible.__getitem__)]
    return f"{main.size} {main.colour} {main.shape}"


def _to_world_size(frames: np.ndarray) -> np.ndarray:
    """Frames scaled so the shorter side is the world's 64 pixels (the checker's thresholds are set there)."""
    from PIL import Image

    height, width = frames.shape[1:3]
    scale = SHORT_SIDE / min(height, width)
    if abs(scale - 1) < 1e-6:
        return frames
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.stack([np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)) for frame in frames])


def cast(prompt: str, listed: list[Character], known: list[Character]) -> str:
    """The prompt with each character's mention replaced by its look ("Luna spins" -> "a large red square spins").

    Listed characters may be named plainly; any known character may be named as @name or @id.
    ValueError names a listed character the prompt never mentions, and an @mention that names none.
    """
    for character in listed:
        pattern = _mention(character, plain=True)
        if pattern.search(prompt) is None:
            raise ValueError(f"the prompt never names character {character.name!r} ({character.id}); say where it "
                             f"appears, e.g. \"{character.name} moves left\"")
        prompt = pattern.sub(lambda m: f"{m.group(1) or 'a'} {character.look}", prompt)
    for character in sorted(known, key=lambda c: len(c.name), reverse=True):  # "@Luna Two" before "@Luna"
        prompt = _mention(character, plain=False).sub(lambda m: f"{m.group(1) or 'a'} {character.look}", prompt)
    unresolved = re.search(r"@[\w-]+", prompt)
    if unresolved:
        raise ValueError(f"{unresolved.group(0)} names no character on this server; create one with "
                         "POST /v1/videos/characters or list yours in `characters`")
    return prompt


def _mention(character: Character, *, plain: bool) -> re.Pattern[str]:
    """A mention of the character, with the article before it (kept, so "the Luna" reads "the large red square")."""
    names = "|".join([re.escape(character.name), re.escape(character.id)])
    at = "@?" if plain else "@"
    return re.compile(rf"(?:\b(a|an|the)\s+)?(?<![\w@]){at}(?:{names})(?![\w-])", re.IGNORECASE)
