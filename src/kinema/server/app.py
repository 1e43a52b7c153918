"""The FastAPI application: OpenAI's Videos API routes over a VideoService, plus /health and the web page.

Routes parse the request, call the service and format its answer; nothing else. POST routes that
OpenAI's SDK sends as multipart/form-data (`videos.create`, `videos.edit`, `videos.extend`) also
take JSON, so curl and browsers can use either; bodies are validated by the pydantic models in
`schemas`, whose errors become 400s naming the field.

    POST   /v1/videos                      create (text-to-video; image-to-video with input_reference)
    GET    /v1/videos                      list (after, limit, order)
    GET    /v1/videos/{id}                 retrieve
    DELETE /v1/videos/{id}                 delete (cancels a queued or rendering video)
    GET    /v1/videos/{id}/content         download (variant=video|thumbnail|spritesheet)
    POST   /v1/videos/{id}/remix           remix: a new prompt over a completed video
    POST   /v1/videos/edits                the same, with the source as video[id] (SDK: videos.edit)
    POST   /v1/videos/{id}/extend          Kinema: continue a completed video forwards
    POST   /v1/videos/extensions           the same, with the source as video[id] (SDK: videos.extend)
    POST   /v1/videos/characters           a named look read from an uploaded clip (SDK: videos.create_character)
    GET    /v1/videos/characters/{id}      a character (SDK: videos.get_character)
    GET    /v1/models[/{model}]            the served model, with its sizes, seconds and tasks (Kinema fields)
    GET    /health                         liveness, no key needed

`videos.edit` and `videos.extend` take the source by id (`video[id]` in multipart, JSON
`{"video": {"id": ...}}`) or as an uploaded clip (the multipart file `video`), which is fitted to the
model: the size nearest its aspect ratio, the model's frame rate, the longest duration it covers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from kinema import __version__
from kinema.server.errors import (
    APIError,
    from_validation_errors,
    install_error_handlers,
    invalid_value,
)
from kinema.server.files import MAX_IMAGE_BYTES
from kinema.server.jobs import IN_PROGRESS, QUEUED, Job
from kinema.server.schemas import (
    CharacterBody,
    CharacterObject,
    CreateVideoBody,
    EditBody,
    ExtendBody,
    ExtensionBody,
    Health,
    Model,
    ModelList,
    RemixBody,
    Video,
    VideoDeleted,
    VideoReference,
    VideoList,
    character_object,
    model_object,
    video_list,
    video_object,
)
from kinema.server.service import VideoService

STATIC_DIR = Path(__file__).parent / "static"  # the web page, served at / when present
_NESTED_FIELD = re.compile(r"(\w+)\[(\w+)\]")  # multipart spelling of a nested object: video[id]
_LISTED_FIELD = re.compile(r"(\w+)\[(\d*)\]\[(\w+)\]")  # a list of objects: characters[][id], characters[0][id]
router = APIRouter()


def create_app(service: VideoService, *, worker: Any = None, api_keys: frozenset[str] = frozenset(),
               static_dir: Path | None = None) -> FastAPI:
    """The application; starts `worker` (if any) with the server and stops it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            # Called on the server's main thread, not a pool thread: a worker process is tied to the life of
            # the thread that starts it (PR_SET_PDEATHSIG), and pool threads exit when idle. It returns once
            # the model is loaded; only then does uvicorn open the port.
            worker.start()
        watchdog = asyncio.create_task(_revive_worker(worker)) if hasattr(worker, "revive") else None
        try:
            yield
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if worker is not None:
                await run_in_threadpool(worker.stop)

    app = FastAPI(title="Kinema Videos API", version=__version__, lifespan=lifespan,
                  description="OpenAI Videos API-compatible text-to-video server. Point an OpenAI client's "
                              "base_url at /v1.")
    app.state.service = service
    app.state.started_at = int(time.time())
    app.state.worker = worker
    app.include_router(router)
    install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if api_keys:
        from kinema.server.auth import BearerAuth

        app.add_middleware(BearerAuth, keys=frozenset(api_keys))
    if static_dir is not None and (Path(static_dir) / "index.html").is_file():
        from fastapi.staticfiles import StaticFiles

        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")  # after the routes: they win
    return app


async def _revive_worker(worker: Any, every_s: float = 2.0) -> None:
    """Replace a worker process that died, so queued jobs never wait for a renderer that is gone.

    Runs on the event loop (the main thread), the thread a worker process must be started from.
    """
    while True:
        await asyncio.sleep(every_s)
        worker.revive()


def _service(request: Request) -> VideoService:
    return request.app.state.service


# ---------------------------------------------------------------------------- request bodies


async def read_body(request: Request, model: type[BaseModel], *, file_field: str | None = None
                    ) -> tuple[Any, bytes | None]:
    """Parse a JSON or form body into `model`, plus the bytes of an uploaded `file_field`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    upload = None
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields, upload = await _read_form(request, file_field)
    elif content_type in ("application/json", ""):
        fields = _read_json(await request.body())
    else:
        raise APIError(415, f"unsupported Content-Type {content_type!r}; send application/json or "
                            "multipart/form-data", code="unsupported_media_type", retry=False)
    try:
        return model.model_validate(fields), upload
    except ValidationError as error:
        raise from_validation_errors(error.errors()) from None


def _read_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise APIError(400, "the request body is empty; send a JSON object such as {\"prompt\": \"...\"}",
                       code="missing_required_parameter", param="prompt", retry=False)
    try:
        fields = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise APIError(400, f"the request body is not valid JSON: {error}", code="invalid_json", retry=False) from None
    if not isinstance(fields, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_json", retry=False)
    return fields


async def _read_form(request: Request, file_field: str | None) -> tuple[dict[str, Any], bytes | None]:
    """Form fields (video[id] becomes {"video": {"id": ...}}, characters[][id] a list of them) and the one upload."""
    form = await request.form(max_files=1, max_fields=64)
    fields: dict[str, Any] = {}
    upload = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != file_field:
                raise invalid_value(key, f"field {key!r} does not take a file upload"
                                    + (f"; only {file_field!r} does" if file_field else ""))
            upload = await value.read(MAX_IMAGE_BYTES + 1)
            continue
        nested, listed = _NESTED_FIELD.fullmatch(key), _LISTED_FIELD.fullmatch(key)
        if listed:
            _add_listed(fields.setdefault(listed.group(1), []), listed.group(2), listed.group(3), value)
        elif nested:
            fields.setdefault(nested.group(1), {})[nested.group(2)] = value
        else:
            fields[key] = value
    return fields, upload


def _add_listed(items: list[dict[str, Any]], index: str, key: str, value: Any) -> None:
    """One field of a listed object: by its index, or (no index) on the last object until a key repeats."""
    if index:
        if int(index) > 64:
            raise invalid_value(key, f"list index {index} is out of range")
        while len(items) <= int(index):
            items.append({})
        items[int(index)][key] = value
    else:
        if not items or key in items[-1]:
            items.append({})
        items[-1][key] = value


# ---------------------------------------------------------------------------- routes


@router.get("/health", response_model=Health, tags=["server"])
def health(request: Request) -> Health:
    """Liveness and queue depth; needs no key."""
    service = _service(request)
    worker = request.app.state.worker
    return Health(model=service.catalog.model, queued=service.store.count_queued(),
                  worker=worker is not None and worker.alive)


@router.get("/v1/models", response_model=ModelList, tags=["models"])
def list_models(request: Request) -> ModelList:
    """The one served model, with the sizes, durations and tasks it accepts (Kinema's extra fields)."""
    return ModelList(data=[_model(request)])


@router.get("/v1/models/{model_id}", response_model=Model, tags=["models"])
def retrieve_model(request: Request, model_id: str) -> Model:
    """The served model by name; 404 for any other."""
    model = _model(request)
    if model_id != model.id:
        raise APIError(404, f"no model {model_id!r}; this server serves {model.id!r}", code="model_not_found",
                       param="model", retry=False)
    return model


def _model(request: Request) -> Model:
    return model_object(_service(request).catalog, request.app.state.started_at)


@router.post("/v1/videos", response_model=Video, tags=["videos"])
async def create_video(request: Request) -> Video:
    """Create a video job from a prompt, optionally with an input_reference image as the first frame."""
    body, upload = await read_body(request, CreateVideoBody, file_field="input_reference")
    job = await run_in_threadpool(_service(request).create, body, upload)
    return video_object(job)


@router.post("/v1/videos/characters", response_model=CharacterObject, tags=["videos"])
async def create_character(request: Request) -> CharacterObject:
    """A character: a name and a clip (multipart `video`); the clip's most visible object becomes its look."""
    body, upload = await read_body(request, CharacterBody, file_field="video")
    return character_object(await run_in_threadpool(_service(request).create_character, body, upload))


@router.get("/v1/videos/characters/{character_id}", response_model=CharacterObject, tags=["videos"])
def retrieve_character(request: Request, character_id: str) -> CharacterObject:
    """A character by id; 404 for an unknown one."""
    return character_object(_service(request).get_character(character_id))


@router.get("/v1/videos", response_model=VideoList, tags=["videos"])
def list_videos(request: Request, after: str | None = None, limit: int = Query(20, ge=1, le=100),
                order: Literal["asc", "desc"] = "desc") -> VideoList:
    """Videos in creation order (newest first by default), a page at a time."""
    page = _service(request).list(after=after, limit=limit, order=order)
    return video_list(page.jobs, page.has_more)


@router.get("/v1/videos/{video_id}", response_model=Video, tags=["videos"])
def retrieve_video(request: Request, response: Response, video_id: str) -> Video:
    """A video's status and progress; unfinished ones tell the SDK's poll helpers when to ask again."""
    service = _service(request)
    job = service.get(video_id)
    if job.status in (QUEUED, IN_PROGRESS):
        response.headers["openai-poll-after-ms"] = str(service.settings.poll_after_ms)
    return video_object(job)


@router.delete("/v1/videos/{video_id}", response_model=VideoDeleted, tags=["videos"])
def delete_video(request: Request, video_id: str) -> VideoDeleted:
    """Delete a video and its files; a queued or rendering one is cancelled."""
    job = _service(request).delete(video_id)
    return VideoDeleted(id=job.id, deleted=True)


@router.get("/v1/videos/{video_id}/content", tags=["videos"], response_class=FileResponse,
            responses={200: {"content": {"video/mp4": {}, "image/webp": {}, "image/jpeg": {}}}})
def download_content(request: Request, video_id: str,
                     variant: Literal["video", "thumbnail", "spritesheet"] = "video") -> FileResponse:
    """The MP4 (H.264), a WebP thumbnail or a JPEG spritesheet of a completed video."""
    path, media_type = _service(request).content(video_id, variant)
    return FileResponse(path, media_type=media_type, filename=f"{video_id}{path.suffix}",
                        content_disposition_type="inline")


@router.post("/v1/videos/{video_id}/remix", response_model=Video, tags=["videos"])
async def remix_video(request: Request, video_id: str) -> Video:
    """A new video from a completed one and a new prompt (video-to-video edit, same size and length)."""
    body, _ = await read_body(request, RemixBody)
    return video_object(await run_in_threadpool(_service(request).remix, video_id, body))


@router.post("/v1/videos/edits", response_model=Video, tags=["videos"])
async def edit_video(request: Request) -> Video:
    """The SDK's videos.edit: a remix of video[id], or of a clip uploaded as `video`."""
    return await _from_source(request, EditBody, RemixBody, VideoService.remix, VideoService.remix_clip)


@router.post("/v1/videos/{video_id}/extend", response_model=Video, tags=["kinema extensions"])
async def extend_video(request: Request, video_id: str) -> Video:
    """Kinema: continue a completed video forwards by `seconds`; the result holds the source and the new part."""
    body, _ = await read_body(request, ExtendBody)
    return video_object(await run_in_threadpool(_service(request).extend, video_id, body))


@router.post("/v1/videos/extensions", response_model=Video, tags=["videos"])
async def create_extension(request: Request) -> Video:
    """The SDK's videos.extend: an extension of video[id], or of a clip uploaded as `video`."""
    return await _from_source(request, ExtensionBody, ExtendBody, VideoService.extend, VideoService.extend_clip)


async def _from_source(request: Request, wrapped: type[EditBody | ExtensionBody], plain: type[RemixBody | ExtendBody],
                       by_id: Callable[..., Job], by_clip: Callable[..., Job]) -> Video:
    """An edit or extension whose source is in the body: video[id], or a clip uploaded as `video`."""
    body, upload = await read_body(request, wrapped, file_field="video")
    options = plain.model_validate(body.model_dump(exclude={"video"}, exclude_unset=True))
    service = _service(request)
    if upload is not None:
        return video_object(await run_in_threadpool(by_clip, service, upload, options))
    return video_object(await run_in_threadpool(by_id, service, _source_id(body.video), options))


def _source_id(reference: VideoReference | None) -> str:
    """The id of the source video; 400 when the request gives neither an id nor an upload."""
    if reference is None:
        raise invalid_value("video", "give the source video as video[id] (or JSON {\"video\": {\"id\": ...}}), "
                                     "or upload a clip as the multipart file field `video`",
                            code="missing_required_parameter")
    return reference.id


# ---------------------------------------------------------------------------- schema


_BODIES: dict[str, tuple[type[BaseModel], str | None]] = {
    "/v1/videos": (CreateVideoBody, "input_reference"),
    "/v1/videos/{video_id}/remix": (RemixBody, None),
    "/v1/videos/edits": (EditBody, "video"),
    "/v1/videos/{video_id}/extend": (ExtendBody, None),
    "/v1/videos/extensions": (ExtensionBody, "video"),
    "/v1/videos/characters": (CharacterBody, "video"),
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request bodies the POST routes parse themselves (JSON or multipart)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for path, (model, file_field) in _BODIES.items():
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
        multipart = {"$ref": f"#/components/schemas/{model.__name__}"}
        if file_field is not None:
            multipart = {"allOf": [multipart, {"properties": {file_field: {"type": "string", "format": "binary"}}}]}
        schema["paths"][path]["post"]["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}},
            "multipart/form-data": {"schema": multipart}}}
    app.openapi_schema = schema
    return schema
