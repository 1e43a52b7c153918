"""The Videos API's operations over the job store, the files, the model catalog and the prompt policy.

No HTTP here: routes hand in parsed bodies and get jobs back or an APIError. Every check that can
refuse a request (model, size, seconds, steps, policy, the source of a remix, the queue bound)
runs before anything is stored, so a refused request leaves no trace.
"""

from __future__ import annotations

import base64
import binascii
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from kinema.server.catalog import ModelCatalog
from kinema.server.characters import Character, CharacterStore, cast, check_name, read_look
from kinema.server.errors import APIError, invalid_value, not_ready, video_not_found
from kinema.server.files import (
    VARIANTS,
    JobFiles,
    decode_clip,
    decode_image,
    fit_clip,
    is_video_id,
    new_video_id,
)
from kinema.server.jobs import (
    COMPLETED,
    IN_PROGRESS,
    Job,
    JobStore,
    Page,
    QueueFull,
    Task,
)
from kinema.server.policy import AllowAll, PromptPolicy
from kinema.server.schemas import (
    CharacterBody,
    CreateVideoBody,
    ExtendBody,
    GenerationOptions,
    ImageReference,
    RemixBody,
)
from kinema.server.settings import ServerSettings

Rendering = TypeVar("Rendering", CreateVideoBody, RemixBody, ExtendBody)  # a body that renders a prompt


class VideoService:
    """Create, read, list, delete, remix and extend videos; hand out their files; keep characters."""

    def __init__(self, store: JobStore, files: JobFiles, catalog: ModelCatalog, settings: ServerSettings,
                 policy: PromptPolicy | None = None, clock: Callable[[], float] = time.time,
                 characters: CharacterStore | None = None) -> None:
        self.store = store
        self.files = files
        self.characters = characters or CharacterStore(files.root.parent)  # beside videos/ in the data folder
        self.catalog = catalog
        self.settings = settings
        self.policy = policy or AllowAll()
        self.clock = clock

    # ------------------------------------------------------------------ creating

    def create(self, body: CreateVideoBody, upload: bytes | None = None) -> Job:
        """Queue text-to-video, or image-to-video when an image is uploaded or given as a data URL."""
        model = self.catalog.check_model(body.model)
        height, width = self.catalog.parse_size(body.size)
        seconds, num_frames = self.catalog.parse_seconds(body.seconds)
        self._check_options(body)
        self._check_prompt(body.prompt)
        body = self._cast(body)
        image = self._reference_image(body.input_reference, upload, width=width, height=height)
        task: Task = "image" if image is not None else "generate"
        job = self._new_job(body, task=task, model=model, width=width, height=height, seconds=seconds,
                            num_frames=num_frames)
        return self._enqueue(job, image)

    def remix(self, source_id: str, body: RemixBody) -> Job:
        """Queue a video-to-video edit of a completed video with a new prompt (same size and length)."""
        source = self._completed_source(source_id, "remixing it")
        if source.seconds not in self.catalog.trained_durations():
            raise invalid_value("video_id", f"a remix edits videos of {' or '.join(self.catalog.trained_durations())} s "
                                            f"(one window of the model); video {source.id} lasts {source.seconds} s",
                                code="invalid_seconds")
        self._check_options(body)
        self._check_prompt(body.prompt)
        body = self._cast(body)
        job = self._new_job(body, task="remix", model=source.model, width=source.width, height=source.height,
                            seconds=source.seconds, num_frames=self.catalog.frames_for(source.seconds),
                            source_id=source.id, strength=body.strength)
        return self._enqueue(job)

    def extend(self, source_id: str, body: ExtendBody) -> Job:
        """Queue a continuation of a completed video; the result is the source plus the new segment."""
        source = self._completed_source(source_id, "extending it")
        added, num_frames = self.catalog.parse_seconds(body.seconds)
        total = self.catalog.extended_seconds(source.seconds, added)
        self._check_options(body)
        self._check_prompt(body.prompt)
        body = self._cast(body)
        job = self._new_job(body, task="extend", model=source.model, width=source.width, height=source.height,
                            seconds=total, num_frames=num_frames, source_id=source.id)
        return self._enqueue(job)

    def remix_clip(self, clip: bytes, body: RemixBody) -> Job:
        """Queue a video-to-video edit of an uploaded clip (the SDK's videos.edit with a file)."""
        frames, (height, width), seconds = self._uploaded_source(clip, self.catalog.trained_durations())
        self._check_options(body)
        self._check_prompt(body.prompt)
        body = self._cast(body)
        job = self._new_job(body, task="remix", model=self.catalog.model, width=width, height=height,
                            seconds=seconds, num_frames=len(frames), strength=body.strength)
        return self._enqueue(job, source=frames)

    def extend_clip(self, clip: bytes, body: ExtendBody) -> Job:
        """Queue a continuation of an uploaded clip (the SDK's videos.extend with a file)."""
        frames, (height, width), source_seconds = self._uploaded_source(clip, self.catalog.durations())
        added, num_frames = self.catalog.parse_seconds(body.seconds)
        total = self.catalog.extended_seconds(source_seconds, added)
        self._check_options(body)
        self._check_prompt(body.prompt)
        body = self._cast(body)
        job = self._new_job(body, task="extend", model=self.catalog.model, width=width, height=height,
                            seconds=total, num_frames=num_frames)
        return self._enqueue(job, source=frames)

    def _uploaded_source(self, clip: bytes, durations: dict[str, int]) -> tuple[np.ndarray, tuple[int, int], str]:
        """An uploaded clip fitted to the model: the size nearest its aspect ratio (scaled, centre-cropped), the
        model's frame rate, and the longest supported duration it covers; 400 when it is unreadable or too short."""
        try:
            frames, fps = decode_clip(clip, param="video", max_seconds=max(float(seconds) for seconds in durations))
        except ValueError as error:
            raise invalid_value("video", str(error), code="invalid_video") from None
        height, width = self.catalog.nearest_size(width=frames.shape[2], height=frames.shape[1])
        covered = (len(frames) - 1) / fps  # seconds the clip spans
        covering = [(seconds, count) for seconds, count in durations.items() if float(seconds) <= covered + 1e-6]
        if not covering:
            shortest = min(durations, key=float)
            raise invalid_value("video", f"the video lasts {covered:.2f} s; upload at least {shortest} s",
                                code="invalid_video")
        seconds, count = max(covering, key=lambda item: float(item[0]))
        return fit_clip(frames, fps, width=width, height=height, target_fps=self.catalog.fps, num_frames=count), \
            (height, width), seconds

    def _new_job(self, options: CreateVideoBody | RemixBody | ExtendBody, *, task: Task, model: str, width: int,
                 height: int, seconds: str, num_frames: int, source_id: str | None = None,
                 strength: float | None = None) -> Job:
        """A queued job; the seed is fixed now, so a retried job renders the same video."""
        seed = options.seed if options.seed is not None else random.randrange(2**31)
        return Job(id=new_video_id(), model=model, prompt=options.prompt, task=task, width=width, height=height,
                   seconds=seconds, num_frames=num_frames, seed=seed, created_at=int(self.clock()),
                   steps=options.steps, guidance_scale=options.guidance_scale,
                   negative_prompt=options.negative_prompt or None, strength=strength, source_id=source_id)

    def _enqueue(self, job: Job, image: np.ndarray | None = None, source: np.ndarray | None = None) -> Job:
        """Store the job (and its first frame or uploaded source); 429 when the queue is full, leaving nothing behind."""
        if image is not None:
            self.files.save_reference_image(job.id, image)
        if source is not None:
            self.files.save_source_video(job.id, source, self.catalog.fps)
        try:
            return self.store.enqueue(job, max_queued=self.settings.max_queue)
        except QueueFull as full:
            self.files.remove(job.id)
            raise APIError(429, f"the render queue is full ({full.queued} videos waiting, limit {full.limit}); "
                                "retry after a while", code="queue_full", type="rate_limit_error",
                           headers={"Retry-After": "10"}) from None

    # ------------------------------------------------------------------ characters

    def create_character(self, body: CharacterBody, upload: bytes | None) -> Character:
        """A character from a name and a clip: the clip's most visible object becomes its look."""
        try:
            name = check_name(body.name)
        except ValueError as error:
            raise invalid_value("name", str(error)) from None
        if upload is None:
            raise invalid_value("video", "upload the character's clip as the multipart file field `video`",
                                code="missing_required_parameter")
        try:
            look = read_look(upload)
        except ValueError as error:
            raise invalid_value("video", str(error), code="invalid_video") from None
        return self.characters.add(name, look, int(self.clock()))

    def get_character(self, character_id: str) -> Character:
        character = self.characters.get(character_id)
        if character is None:
            raise APIError(404, f"no character {character_id!r} on this server; create one with POST "
                                "/v1/videos/characters", code="character_not_found", param="character_id", retry=False)
        return character

    def _cast(self, options: Rendering) -> Rendering:
        """The options with each character the prompt names replaced by its look; 400/404 for a bad reference."""
        listed = [self.get_character(reference.id) for reference in options.characters or []]
        if not listed and "@" not in options.prompt:
            return options
        known = self.characters.all() if "@" in options.prompt else []  # none yet: an @mention is still refused
        try:
            prompt = cast(options.prompt, listed, known)
        except ValueError as error:
            raise invalid_value("prompt", str(error), code="unknown_character") from None
        return options.model_copy(update={"prompt": prompt})

    # ------------------------------------------------------------------ checks

    def _check_options(self, options: GenerationOptions) -> None:
        """Limits the schema cannot know: the server's step cap."""
        if options.steps is not None and options.steps > self.settings.max_steps:
            raise invalid_value("steps", f"steps must be from 1 to {self.settings.max_steps} on this server; "
                                         f"got {options.steps}")

    def _check_prompt(self, prompt: str) -> None:
        """400 for a blank prompt or one the prompt policy refuses; a refused prompt is never stored."""
        if not prompt.strip():
            raise invalid_value("prompt", "prompt is blank; say what the video should show, "
                                          "e.g. \"a red ball bouncing on grass\"")
        reason = self.policy.refusal(prompt)
        if reason:
            raise APIError(400, f"this prompt was refused by the server's prompt policy: {reason}",
                           code="moderation_blocked", param="prompt", retry=False)

    def _reference_image(self, reference: ImageReference | None, upload: bytes | None, *, width: int,
                         height: int) -> np.ndarray | None:
        """The first frame from an uploaded file or a data: URL, fitted to the video's size; None without one."""
        if upload is not None:
            data = upload
        elif reference is None:
            return None
        elif reference.file_id is not None:
            raise invalid_value("input_reference", "input_reference.file_id is not supported (this server has no "
                                                   "Files API); upload the image as multipart input_reference or "
                                                   "pass image_url as a data: URL")
        else:
            data = _data_url_bytes(reference.image_url)
        try:
            return decode_image(data, width=width, height=height)
        except ValueError as error:
            raise invalid_value("input_reference", str(error), code="invalid_image") from None

    def _completed_source(self, source_id: str, wanted: str) -> Job:
        """The completed video a remix or extension starts from; 404 or 409 otherwise."""
        source = self.get(source_id)
        if source.status != COMPLETED:
            raise not_ready(source.id, source.status, wanted)
        if self.store.is_purged(source.id) or (source.expires_at is not None and source.expires_at <= self.clock()):
            raise _expired(source)
        return source

    # ------------------------------------------------------------------ reading and deleting

    def get(self, video_id: str) -> Job:
        """The live job; 404 for malformed, unknown or deleted ids."""
        job = self.store.get(video_id) if is_video_id(video_id) else None
        if job is None:
            raise video_not_found(video_id)
        return job

    def list(self, *, after: str | None, limit: int, order: str) -> Page:
        """A page of videos in creation order; 400 for a cursor that names no video."""
        if after is not None and not is_video_id(after):
            raise invalid_value("after", f"after must be a video id from an earlier page; got {after!r}")
        try:
            return self.store.list(after=after, limit=limit, order="asc" if order == "asc" else "desc")
        except KeyError:
            raise invalid_value("after", f"after names no video this server made: {after!r}") from None

    def delete(self, video_id: str) -> Job:
        """Delete a video: cancel it if queued or rendering, remove its files (now, or once rendering stops)."""
        job = self.store.delete(video_id) if is_video_id(video_id) else None
        if job is None:
            raise video_not_found(video_id)
        if job.status != IN_PROGRESS:  # the worker removes a rendering job's files when it stops
            self.files.remove(job.id)
            self.store.mark_purged(job.id)
        return job

    def content(self, video_id: str, variant: str) -> tuple[Path, str]:
        """The file and media type of a completed video's variant; 409 before completion, 410 after expiry."""
        if variant not in VARIANTS:
            raise invalid_value("variant", f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        job = self.get(video_id)
        if job.status != COMPLETED:
            raise not_ready(job.id, job.status, f"its {variant}")
        path = self.files.output(job.id, variant)
        expired = job.expires_at is not None and job.expires_at <= self.clock()  # before the sweep removes it
        if expired or self.store.is_purged(job.id) or not path.is_file():
            raise _expired(job)
        return path, VARIANTS[variant][1]


def _expired(job: Job) -> APIError:
    """410 for a video whose files were removed at expiry."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(job.expires_at)) if job.expires_at else "its expiry"
    return APIError(410, f"video {job.id} expired at {when} and its files were deleted; create it again",
                    code="video_expired", param="video_id", retry=False)


def _data_url_bytes(url: str | None) -> bytes:
    """The bytes of a `data:image/...;base64,` URL; remote URLs are refused (the server fetches nothing)."""
    if not url:
        raise invalid_value("input_reference", "input_reference needs image_url (a data: URL) or an uploaded file")
    header, comma, payload = url.partition(",")
    if not (header.startswith("data:image/") and header.endswith(";base64") and comma):
        raise invalid_value("input_reference", "input_reference.image_url must be a data:image/...;base64, URL; this "
                                               "server does not fetch remote URLs (upload the file instead)")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_value("input_reference", "input_reference.image_url has invalid base64 data") from None
