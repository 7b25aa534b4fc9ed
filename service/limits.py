"""Request body limits and encoding checks, enforced before FastAPI parses anything (it has no size limit)."""

from __future__ import annotations

import json


async def _reply(send, status: int, message: str):
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Reject bodies over `max_bytes` (413) and JSON bodies that are not UTF-8 (400), then replay the body."""

    def __init__(self, app, max_bytes: int, metrics=None, streamed: dict[str, int] | None = None):
        self.app, self.max_bytes, self.metrics = app, max_bytes, metrics
        self.streamed = streamed or {}  # path -> limit, for uploads that are streamed to disk, not buffered

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        if scope["path"] in self.streamed:
            return await self._streamed(scope, receive, send, self.streamed[scope["path"]])
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._reject(scope, send, 413, f"request body of {int(declared)} bytes exceeds the "
                                                        f"limit of {self.max_bytes} (STANCE_MAX_BODY_BYTES)")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._reject(scope, send, 413, f"request body exceeds the limit of {self.max_bytes} "
                                                            "bytes (STANCE_MAX_BODY_BYTES)")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip()
        if ctype in (b"application/json", b""):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as e:
                return await self._reject(scope, send, 400, f"request body is not valid UTF-8 (byte {e.start})")
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _streamed(self, scope, receive, send, limit: int):
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._reject(scope, send, 413, f"upload of {int(declared)} bytes exceeds the limit of "
                                                        f"{limit} (STANCE_MAX_UPLOAD_BYTES)")
        size = 0

        async def counted():
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise ValueError(f"upload exceeds the limit of {limit} bytes (STANCE_MAX_UPLOAD_BYTES)")
            return message

        await self.app(scope, counted, send)

    async def _reject(self, scope, send, status, message):
        if self.metrics:
            self.metrics.observe(scope.get("path", ""), scope["method"], status, 0.0)
        await _reply(send, status, message)
