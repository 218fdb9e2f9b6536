"""A cap on uploads: a file posted to an order's attachments is refused (413) once its body
passes the size limit, before more of it is read or spooled to disk.

The multipart parser would otherwise take the whole body (to a temporary file) before the
route sees who is asking or how large the file is: anyone could make the service spool any
amount. The cap is the setting ``attachment_max_bytes`` plus room for the form's other
fields; the route still checks the file's own size.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quaywatch.api import problems

#: Room for the multipart framing, the caption and the CSRF token beside the file.
OVERHEAD = 64 * 1024


class UploadLimit:
    """ASGI middleware capping the body of ``POST …/attachments`` at ``max_bytes`` plus
    ``OVERHEAD``: by its Content-Length when it states one, else as it arrives."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.allowed = max_bytes + OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not scope["path"].rstrip("/").endswith("/attachments")):  # fmt: skip
            await self.app(scope, receive, send)
            return
        stated = dict(scope["headers"]).get(b"content-length")
        if stated is not None and (not stated.isdigit() or int(stated) > self.allowed):
            await self._refuse(scope, receive, send)
            return
        received = 0
        over = False

        async def counted() -> Message:
            # Past the cap the body is cut short: the app's parser fails on it and whatever
            # it answers is replaced by the 413 below.
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.allowed:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        refused = False

        async def sending(message: Message) -> None:
            nonlocal refused
            if over:
                if not refused:
                    refused = True
                    await self._refuse(scope, receive, send)
                return
            await send(message)

        await self.app(scope, counted, sending)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = (f"the upload is larger than {self.allowed} bytes (the attachment size "
                  "limit and its form)")  # fmt: skip
        answer = problems.response(413, "too-large", "Too large", detail, Request(scope),
                                   headers={"Connection": "close"})  # fmt: skip
        await answer(scope, receive, send)
