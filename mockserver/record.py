"""``r360-webhooks record``: capture what Record360 really sends, for ``drift`` to judge.

Our schemas come from Record360's published example and its v1 API pages; only real traffic
says what it actually sends. So ``record`` is a small receiver to register as the webhook URL
of a Record360 *staging* account, or to put in front of a staging consumer (``--forward URL``:
the consumer's own answer is passed back, so Record360 sees the real consumer). Each delivery
becomes one JSON line of the ``r360-capture/1`` format (:mod:`contracts.captures` reads it)::

    {"format": "r360-capture/1", "time": "2026-11-30T04:05:06.123Z", "event": "transaction.create",
     "content_type": "application/json", "body": "<the raw body, as UTF-8 text>",
     "headers": ["authorization", "content-type", ...], "auth": "Authorization: Bearer [REDACTED]",
     "remote": "127.0.0.1", "answer": {"status": 202, "duration_s": 0.012}}

The raw body is kept exactly (``body_b64`` when it is not UTF-8), so ``send --from-capture``
replays it byte for byte. Headers are kept by *name* only, and the credential is described by
its scheme, never its value: a capture can be attached to a ticket. When ``--auth`` is given the
same SPEC the reference consumer takes is checked first; a refused request is recorded without
its body (an unauthenticated body is nobody's traffic).

Robust by construction: a body over ``max_body`` bytes is refused (413) and recorded without
it; every line is written whole, under a lock, with one ``write`` and a flush, so concurrent
deliveries never interleave and a SIGTERM or a kill leaves at most the line being written; the
file is rotated (``capture.jsonl`` becomes ``capture.jsonl.1``, ``.2``...) past ``rotate_bytes``.
"""

from __future__ import annotations

import base64
import datetime
import glob
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.wrappers import Request, Response

from contracts.schemas import event_of
from mockserver.auth import AuthScheme
from mockserver.consumer import Authenticator
from mockserver.errors import UsageError
from mockserver.redaction import PLACEHOLDER, SENSITIVE_HEADERS
from mockserver.settings import secret_like_header

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["CAPTURE_FORMAT", "CaptureWriter", "Recorder", "RecorderConfig"]

CAPTURE_FORMAT = "r360-capture/1"
#: Webhook bodies are a few KiB; a megabyte is far past any.
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_ROTATE_BYTES = 100 * 1024 * 1024
#: Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), and what httpx sets itself.
_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "host", "content-length",
})  # fmt: skip
#: What is not passed back from the consumer's answer: the hop headers; the encoding and length,
#: because httpx hands over the body *decoded* (Werkzeug counts the length again); and Server and
#: Date, which Werkzeug always sends itself (passing them too would send each twice).
_NOT_PASSED_BACK = _HOP | {"content-encoding", "server", "date"}
#: The headers whose value is ``SCHEME CREDENTIALS``: only their scheme word is recorded.
_SCHEMED = frozenset({"authorization", "proxy-authorization"})


@dataclass(frozen=True)
class RecorderConfig:
    """What ``record`` does: where it writes, what it checks, where it forwards."""

    out: Path
    path: str = "/webhooks"
    auth: AuthScheme | None = None
    forward: str | None = None
    #: The TLS setting for ``forward`` (from the settings factory).
    forward_verify: Any = True
    max_body: int = DEFAULT_MAX_BODY
    rotate_bytes: int = DEFAULT_ROTATE_BYTES
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise UsageError(f"--path {self.path!r} must start with '/', e.g. /webhooks")
        if not 1024 <= self.max_body <= 64 * 1024 * 1024:
            raise UsageError(f"--max-body {self.max_body} must be from 1024 to 67108864 bytes")
        if self.rotate_bytes < 1024 * 1024:
            raise UsageError("--rotate-mb must be at least 1")


class CaptureWriter:
    """Appends whole lines to the capture, one writer at a time, rotating by size.

    Rotation renames the file to ``FILE.N`` past the highest N there, so ``FILE.1`` is the oldest,
    then ``FILE.2``..., and ``FILE`` itself the newest. A line longer than the rotation size is
    written alone in its file rather than leave an empty one behind.
    """

    def __init__(self, path: Path, rotate_bytes: int) -> None:
        self.path = path
        self._rotate = rotate_bytes
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise UsageError(f"cannot write the capture {str(path)!r} ({exc.strerror})") from None
        self.lines = 0

    def write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd < 0:  # closed: a delivery that outlived the stop's bounded wait
                return
            size = os.fstat(self._fd).st_size
            if size and size + len(data) > self._rotate:  # a line alone past it: never roll empty
                self._roll()
            os.write(self._fd, data)  # one write of a whole line, on an O_APPEND descriptor
            self.lines += 1

    def _roll(self) -> None:
        os.close(self._fd)
        taken = [
            int(suffix)
            for part in self.path.parent.glob(f"{glob.escape(self.path.name)}.*")
            if (suffix := part.name.removeprefix(self.path.name + ".")).isdigit()
        ]
        number = max(taken, default=0) + 1  # past the highest, so the numbers keep the order
        self.path.rename(self.path.with_name(f"{self.path.name}.{number}"))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1


class Recorder:
    """The WSGI app: ``POST {path}`` is recorded (and forwarded); ``GET /healthz``."""

    def __init__(self, config: RecorderConfig) -> None:
        self.config = config
        self.writer = CaptureWriter(config.out, config.rotate_bytes)
        self._authenticate = Authenticator(config.auth, leeway=60)
        self._credential_headers = frozenset(
            name.lower() for name in (config.auth.sensitive_headers() if config.auth else [])
        )
        self._client = (
            httpx.Client(verify=config.forward_verify, timeout=config.timeout_s)
            if config.forward
            else None
        )

    def close(self) -> None:
        self.writer.close()
        if self._client is not None:
            self._client.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/healthz" and request.method == "GET":
            response = _json({"status": "ok", "recorded": self.writer.lines}, 200)
        elif request.path != self.config.path:
            response = _json({"error": f"POST webhooks to {self.config.path}"}, 404)
        elif request.method != "POST":
            response = _json({"error": "webhooks are POSTed"}, 405)
        else:
            response = self._receive(request)
        return response(environ, start_response)

    def _receive(self, request: Request) -> Response:
        record: dict[str, Any] = {
            "format": CAPTURE_FORMAT,
            "time": _now(),
            "event": None,
            "content_type": request.headers.get("Content-Type"),
            "headers": sorted({k.lower() for k, _ in request.headers.items()}),
            "auth": _auth_seen(request, self._credential_headers),
            "remote": request.remote_addr,
            "answer": None,
        }
        length = request.content_length
        if length is not None and length > self.config.max_body:
            return self._refuse(record, 413, f"body larger than {self.config.max_body} bytes")
        body = request.stream.read(self.config.max_body + 1)
        if len(body) > self.config.max_body:
            return self._refuse(record, 413, f"body larger than {self.config.max_body} bytes")
        if not self._authenticate(request.headers):
            return self._refuse(record, 401, "missing or invalid credentials")
        _keep_body(record, body)
        if self._client is None:
            record["answer"] = {"status": 202, "duration_s": 0.0}
            self.writer.write(record)
            return _json({"status": "recorded"}, 202)
        return self._forward(request, body, record)

    def _refuse(self, record: dict[str, Any], status: int, why: str) -> Response:
        """Answer ``status`` and record the delivery without its body (and why)."""
        record["answer"] = {"status": status, "duration_s": 0.0}
        record["refused"] = why
        self.writer.write(record)
        return _json({"error": why}, status)

    def _forward(self, request: Request, body: bytes, record: dict[str, Any]) -> Response:
        """Send the delivery on, as it came (credentials included: the consumer checks them),
        and pass the consumer's answer back."""
        assert self._client is not None and self.config.forward is not None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        began = time.perf_counter()
        try:
            answer = self._client.post(self.config.forward, content=body, headers=headers)
        except httpx.HTTPError as exc:
            record["answer"] = {"status": None, "error": type(exc).__name__,
                                "duration_s": round(time.perf_counter() - began, 6)}  # fmt: skip
            self.writer.write(record)
            return _json({"error": "the consumer behind this recorder did not answer"}, 502)
        record["answer"] = {
            "status": answer.status_code,
            "duration_s": round(time.perf_counter() - began, 6),
        }
        self.writer.write(record)
        passed = [
            (k, v) for k, v in answer.headers.multi_items() if k.lower() not in _NOT_PASSED_BACK
        ]
        return Response(answer.content, status=answer.status_code, headers=passed)


def _keep_body(record: dict[str, Any], body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_b64"] = base64.b64encode(body).decode("ascii")
        return
    record["body"] = text
    try:
        parsed = json.loads(text)
    except ValueError:
        return
    record["event"] = event_of(parsed) if isinstance(parsed, dict) else None


def _auth_seen(request: Request, configured: frozenset[str]) -> str | None:
    """The credential as a scheme, never a value: ``Authorization: Bearer [REDACTED]``.

    Headers that carry one are known by name (the standard ones, names with ``auth``, ``token``,
    ``key``... in them) or are the header the ``--auth`` SPEC names (``X-R360-Key``). Only the
    Authorization headers have a scheme word before the credential (RFC 9110 §11.4); any other
    header's value is a credential from its first character (``X-Api-Key: letmein now``), so
    nothing of it is kept.
    """
    seen = []
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in SENSITIVE_HEADERS or lowered in configured or secret_like_header(name):
            scheme = ""
            if lowered in _SCHEMED:
                word, _, rest = value.strip().partition(" ")
                scheme = f"{word} " if rest and word.isalpha() and len(word) <= 12 else ""
            seen.append(f"{name}: {scheme}{PLACEHOLDER}")
    return "; ".join(seen) or None


def _now() -> str:
    moment = datetime.datetime.now(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json(data: object, status: int) -> Response:
    return Response(json.dumps(data), status, mimetype="application/json")
