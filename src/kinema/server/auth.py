"""Optional bearer-token authentication, as OpenAI's clients send it: `Authorization: Bearer KEY`.

With keys configured, the API (`/v1/...`) and its schema and docs answer 401 without a valid key.
Open to all: `GET /health` (for load balancers and the tests) and the web page at `/` with its
static assets, which holds no data and asks the browser user for a key to call the API.
Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kinema.server.errors import APIError

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
PROTECTED_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")


def is_protected(path: str) -> bool:
    """Whether a request path needs a key: the API, its schema and docs (not /health, not the web page)."""
    return path == "/v1" or path.startswith("/v1/") or path in PROTECTED_PATHS


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def key_is_valid(token: str | None, keys: frozenset[str]) -> bool:
    """Constant-time membership, so response timing does not reveal a key's prefix."""
    if token is None:
        return False
    found = False
    for key in keys:
        found |= hmac.compare_digest(token.encode(), key.encode())
    return found


class BearerAuth:
    """ASGI middleware: 401 in OpenAI's envelope for protected paths without a valid key."""

    def __init__(self, app: ASGIApp, keys: frozenset[str]) -> None:
        if not keys:
            raise ValueError("BearerAuth needs at least one API key; leave it out to serve without authentication")
        self.app = app
        self.keys = frozenset(keys)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http" or not is_protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope.get("headers", []))
        if key_is_valid(token, self.keys):
            await self.app(scope, receive, send)
            return
        message = ("missing API key: send Authorization: Bearer YOUR_KEY (the key given to kinema serve)"
                   if token is None else "invalid API key: it is not one of the keys this server accepts")
        error = APIError(401, message, code="invalid_api_key", retry=False)
        body = json.dumps(error.body()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"www-authenticate", b'Bearer realm="kinema"'), (b"x-should-retry", b"false")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
