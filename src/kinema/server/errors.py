"""OpenAI's error envelope, `{"error": {"message", "type", "param", "code"}}`, and the status of each failure.

Clients written for OpenAI (the official SDKs among them) read the HTTP status to pick an
exception class and show `error.message` to people, so every failure here names the bad value and
what would be accepted. The SDKs retry 409, 429 and 5xx on their own; `retry=False` adds
`x-should-retry: false` where retrying cannot help (a video that is not rendered yet, one that failed).
"""

from __future__ import annotations

from typing import Any

INVALID_REQUEST = "invalid_request_error"


class APIError(Exception):
    """A request the server refuses, with everything the error envelope and the response need."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 type: str = INVALID_REQUEST, headers: dict[str, str] | None = None, retry: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.headers = dict(headers or {})
        if not retry:
            self.headers["x-should-retry"] = "false"

    def body(self) -> dict[str, Any]:
        """The JSON body OpenAI's clients parse."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid_value(param: str, message: str, *, code: str = "invalid_value") -> APIError:
    """400 for a field whose value is wrong; `message` says what is allowed."""
    return APIError(400, message, code=code, param=param, retry=False)


def video_not_found(video_id: str) -> APIError:
    """404 for an id that names no live video (never created, deleted, or not an id at all)."""
    return APIError(404, f"no video with id {video_id!r} (it never existed or was deleted); "
                         "list your videos with GET /v1/videos", code="video_not_found", param="video_id", retry=False)


def not_ready(video_id: str, status: str, wanted: str) -> APIError:
    """409 for an operation that needs a completed video; says what the video is doing instead."""
    hint = "poll GET /v1/videos/{id} until status is completed" if status in ("queued", "in_progress") else \
        "it failed and has no content; create a new video"
    return APIError(409, f"video {video_id} is {status}, so {wanted} is not available; {hint}",
                    code="video_not_ready", param="video_id", retry=False)


def install_error_handlers(app: Any) -> None:
    """Answer APIError, request-validation errors and Starlette's own 404/405 in OpenAI's envelope."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    async def api_error(request: Any, error: APIError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    async def validation_error(request: Any, error: RequestValidationError) -> JSONResponse:
        return await api_error(request, from_validation_errors(error.errors()))

    async def http_error(request: Any, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code)
        message = f"{request.method} {request.url.path}: {error.detail}"
        if error.status_code == 404:
            message += "; see /openapi.json for the routes" if request.url.path.startswith("/v1/") else \
                "; the API lives under /v1 (see /openapi.json)"
        wrapped = APIError(error.status_code, message, code=code, retry=False, headers=getattr(error, "headers", None))
        return await api_error(request, wrapped)

    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)


def from_validation_errors(errors: Any) -> APIError:
    """One 400 naming the first bad field (pydantic's list of errors, from a body or a query)."""
    errors = list(errors)
    if not errors:
        return APIError(400, "the request is not valid", retry=False)
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = ".".join(location) or None
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return APIError(400, f"unknown parameter {param!r}; see /openapi.json for the fields this route takes",
                        code="unknown_parameter", param=param, retry=False)
    if kind == "missing":
        return APIError(400, f"missing required parameter {param!r}", code="missing_required_parameter",
                        param=param, retry=False)
    got = first.get("input")
    shown = f"; got {got!r}" if got is not None and not isinstance(got, dict) else ""
    return invalid_value(param or "body", f"invalid {param or 'request body'}: {first.get('msg', 'not valid')}{shown}")
