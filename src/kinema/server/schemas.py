"""Request and response bodies of the Videos API, as pydantic models (they also make /openapi.json).

Field names and shapes follow OpenAI's published API and its Python SDK: `seconds` is a string
("4"), `size` is "WIDTHxHEIGHT", a list is `{object: "list", data, first_id, last_id, has_more}`.
Kinema's own options (`seed`, `steps`, `guidance_scale`, `negative_prompt`, remix `strength`) are
optional extra fields; the SDK sends them with `extra_body={...}`. Unknown fields are a 400, so a
typo is never silently ignored.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from kinema.server.catalog import ModelCatalog, size_name
from kinema.server.characters import Character
from kinema.server.jobs import FAILED, Job, Task

MAX_PROMPT_CHARS = 4000
Prompt = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="What the video shows.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CharacterReference(_Body):
    """A character made with POST /v1/videos/characters, by id."""

    id: str


class GenerationOptions(_Body):
    """Optional settings accepted on every route that renders: Kinema's sampling settings and the characters named."""

    seed: int | None = Field(None, ge=0, lt=2**63, description="Kinema: random seed; the same seed and settings "
                                                                "give the same video. Default: a random one.")
    steps: int | None = Field(None, ge=1, description="Kinema: sampling steps (num_inference_steps). "
                                                      "Default: the model's.")
    guidance_scale: float | None = Field(None, ge=0, le=50, description="Kinema: classifier-free guidance; 1 = none. "
                                                                        "Default: the model's.")
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS,
                                        description="Kinema: what the video should not show.")
    characters: list[CharacterReference] | None = Field(
        None, max_length=3, description="Characters the prompt names (by name); each name is replaced by the "
                                        "character's look. @name and @id mentions work without this list.")


class ImageReference(_Body):
    """OpenAI's reference object; this server takes `image_url` as a `data:` URL (base64)."""

    image_url: str | None = Field(None, description="A data:image/...;base64, URL. Remote URLs are not fetched.")
    file_id: str | None = Field(None, description="Not supported: this server has no Files API.")


class CreateVideoBody(GenerationOptions):
    """POST /v1/videos (JSON, or multipart/form-data with `input_reference` as an image file)."""

    prompt: str = Prompt
    model: str | None = Field(None, description="The served model's name (OpenAI names such as sora-2 mean the same).")
    seconds: str | int | None = Field(None, description="Clip length; one of the model's durations (400 lists them).")
    size: str | None = Field(None, description="WIDTHxHEIGHT; one of the model's sizes (400 lists them).")
    input_reference: ImageReference | None = Field(
        None, description="The first frame (image-to-video): an uploaded image file in multipart, or a data: URL.")


class RemixBody(GenerationOptions):
    """POST /v1/videos/{id}/remix: a new prompt over a completed video (video-to-video edit)."""

    prompt: str = Prompt
    strength: float | None = Field(None, gt=0, le=1, description="Kinema: how much of the source is re-imagined "
                                                                 "(SDEdit noise level, reached by inverting the "
                                                                 "model's flow, so motion is kept even at 1). "
                                                                 "Default: the pipeline's.")


class ExtendBody(GenerationOptions):
    """POST /v1/videos/{id}/extend (Kinema): continue a completed video forwards."""

    prompt: str = Prompt
    seconds: str | int | None = Field(None, description="Length of the new segment; one of the model's durations.")


class VideoReference(_Body):
    """A completed video of this server, by id."""

    id: str


class EditBody(RemixBody):
    """POST /v1/videos/edits (the SDK's `videos.edit`): remix with the source in the body, or uploaded as `video`."""

    video: VideoReference | None = None


class ExtensionBody(ExtendBody):
    """POST /v1/videos/extensions (the SDK's `videos.extend`): extend with the source in the body, or uploaded as `video`."""

    video: VideoReference | None = None


class CharacterBody(_Body):
    """POST /v1/videos/characters (multipart): a name, and the clip as the `video` file."""

    name: str = Field(min_length=1, max_length=64, description="How prompts name the character.")


# ---------------------------------------------------------------------------- responses


class VideoError(BaseModel):
    code: str
    message: str


class Video(BaseModel):
    """The video object: a job and, once completed, its downloadable content."""

    id: str
    object: Literal["video"] = "video"
    model: str
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None
    prompt: str | None
    size: str
    seconds: str
    remixed_from_video_id: str | None = Field(description="The source of a remix, edit or extension.")
    error: VideoError | None
    seed: int = Field(description="Kinema: the seed this video was (or will be) rendered with.")


class CharacterObject(BaseModel):
    """OpenAI's character object, plus the look read from the clip (Kinema)."""

    id: str
    object: Literal["character"] = "character"
    name: str
    created_at: int
    look: str = Field(description="Kinema: the world's words for the character, e.g. \"large red square\"; "
                                  "a prompt's mention of the character is replaced by them.")


class VideoList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VideoDeleted(BaseModel):
    id: str
    object: Literal["video.deleted"] = "video.deleted"
    deleted: bool


class Model(BaseModel):
    """OpenAI's model object, plus what this model accepts (Kinema): the web page builds its controls from it."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "kinema"
    sizes: list[str] = Field(description="Kinema: the allowed `size` values, WIDTHxHEIGHT.")
    seconds: list[str] = Field(description="Kinema: the allowed `seconds` values.")
    default_size: str
    default_seconds: str
    fps: float
    tasks: list[str] = Field(description="Kinema: generate, image (input_reference), remix, extend.")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    model: str
    queued: int
    worker: bool = Field(description="Whether this process renders jobs (false: API only).")


def video_object(job: Job) -> Video:
    """The API's view of a job."""
    error = VideoError(code=job.error_code or "failed", message=job.error_message or "rendering failed") \
        if job.status == FAILED else None
    return Video(id=job.id, model=job.model, status=job.status, progress=job.progress, created_at=job.created_at,
                 completed_at=job.completed_at, expires_at=job.expires_at, prompt=job.prompt, size=job.size,
                 seconds=job.seconds, remixed_from_video_id=job.source_id, error=error, seed=job.seed)


def character_object(character: Character) -> CharacterObject:
    return CharacterObject(id=character.id, name=character.name, created_at=character.created_at, look=character.look)


def video_list(page_jobs: list[Job], has_more: bool) -> VideoList:
    """One page of videos with its cursors."""
    data = [video_object(job) for job in page_jobs]
    return VideoList(data=data, first_id=data[0].id if data else None, last_id=data[-1].id if data else None,
                     has_more=has_more)


def model_object(catalog: ModelCatalog, created: int) -> Model:
    """The served model as GET /v1/models describes it."""
    return Model(id=catalog.model, created=created, sizes=catalog.size_names(), seconds=list(catalog.durations()),
                 default_size=size_name(catalog.default_size()), default_seconds=catalog.default_seconds(), fps=catalog.fps,
                 tasks=sorted(get_args(Task)))
