"""The WSGI app on granian's RSGI interface: requests run on the event loop, delays wait there."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .deferral import DEFERRAL, Deferral

if TYPE_CHECKING:
    from granian._granian import RSGIHTTPProtocol as HTTPProtocol
    from granian.rsgi import Scope

__all__ = ["WsgiOnRsgi", "wsgi_environ"]

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

# What granian's own WSGI interface puts in every environ (granian/wsgi.py), less the process
# environment it copies in, which nothing here reads.
_BASE_ENVIRON: dict[str, Any] = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "Granian",
    "wsgi.errors": sys.stderr,
    "wsgi.input_terminated": True,
    "wsgi.multiprocess": False,
    "wsgi.multithread": True,
    "wsgi.run_once": False,
    "wsgi.version": (1, 0),
}
_SPECIAL = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}
_JOINERS = {"HTTP_COOKIE": ";"}  # how granian joins a repeated header: a comma, but cookies
_END = b""  # never a chunk `_pull` answers: it stands for the end of the body


def _wsgi_text(text: str) -> str:
    """RSGI's text (UTF-8 decoded) as WSGI's: the same bytes as latin-1 (PEP 3333)."""
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


def wsgi_environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ granian's WSGI interface builds for the request `scope` names, without
    its body (`wsgi.input`): the path percent-decoded, the query raw, repeated headers joined
    as granian joins them. Two things RSGI does not pass on differ: a path whose escapes are
    not UTF-8 comes with U+FFFD in their place (werkzeug reads the same from either), and a
    header whose value is not ASCII is missing (granian's WSGI interface passed it empty)."""
    host, _, port = scope.server.rpartition(":")
    environ = {
        **_BASE_ENVIRON,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "REMOTE_ADDR": scope.client.rpartition(":")[0].strip("[]"),
        "REQUEST_METHOD": scope.method,
        "PATH_INFO": _wsgi_text(scope.path),
        "QUERY_STRING": _wsgi_text(scope.query_string),
        "wsgi.url_scheme": scope.scheme,
    }
    for name, value in scope.headers.items():
        key = _SPECIAL.get(name) or "HTTP_" + name.upper().replace("-", "_")
        value = _wsgi_text(value)
        environ[key] = f"{environ[key]}{_JOINERS.get(key, ',')}{value}" if key in environ else value
    return environ


@dataclass(slots=True)
class _Answer:
    """What the app answered one call: the status line and headers it started, and its body."""

    body: Iterable[bytes]
    start: list[Any] = field(default_factory=list)  # [status line, header list]

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


class WsgiOnRsgi:
    """Serves a WSGI app as an RSGI application (granian's `Interfaces.RSGI`).

    A request runs on the worker's event loop, in its one thread, unless `offload(path)` says
    it may block (a proxied provider's: it waits for the live API): those run on `threads`
    threads. A delay fault holds no thread: the app asks for the wait through the environ's
    `Deferral`, answers nothing, and is called again once the wait is over (deferral.py)."""

    def __init__(
        self,
        app: WsgiApp,
        *,
        max_body: int,
        threads: int = 0,
        offload: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.offload = offload
        self.pool = ThreadPoolExecutor(threads, "mockserver-request") if threads else None

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False)

    async def __call__(self, scope: Scope, protocol: HTTPProtocol) -> None:
        environ = wsgi_environ(scope)
        body = await self._body(environ, protocol)
        pool = self.pool
        if pool is not None and self.offload is not None and not self.offload(scope.path):
            pool = None
        deferral = Deferral()
        while True:
            answer = await self._run(pool, self._call, environ, body, deferral)
            if not deferral.pending:
                break
            await self._run(pool, answer.close)
            await asyncio.sleep(deferral.seconds)
            deferral.seconds = 0.0
        await self._send(protocol, answer, pool)

    async def _body(self, environ: dict[str, Any], protocol: HTTPProtocol) -> bytes:
        """The request's body, read up to one byte beyond what the app accepts: it refuses a
        longer one (413) without reading further, as it did reading it from WSGI's stream."""
        declared = environ.get("CONTENT_LENGTH", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return b""
        if declared == "0" or (not declared and "HTTP_TRANSFER_ENCODING" not in environ):
            return b""
        if declared:  # a length within the limit: read at once (far cheaper than by chunks)
            return await protocol()
        chunks: list[bytes] = []
        size = 0
        async for chunk in protocol:
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body:
                break
        return b"".join(chunks)

    def _call(self, environ: dict[str, Any], body: bytes, deferral: Deferral) -> _Answer:
        """One call of the app on a fresh copy of the environ (the app writes into its own)."""
        answer = _Answer(())

        def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            if exc_info is not None and answer.start:
                raise exc_info[1].with_traceback(exc_info[2])
            answer.start[:] = [status, headers]
            return _no_write

        call = {**environ, "wsgi.input": io.BytesIO(body), DEFERRAL: deferral}
        answer.body = self.app(call, start_response)
        return answer

    async def _send(
        self, protocol: HTTPProtocol, answer: _Answer, pool: ThreadPoolExecutor | None
    ) -> None:
        """Send as granian's WSGI interface sends: a list body in one piece, any other
        iterable as a stream; a body that raises midway breaks the connection off."""
        try:
            if isinstance(answer.body, list):
                protocol.response_bytes(*_head(answer), b"".join(answer.body))
                return
            chunks = iter(answer.body)
            chunk = await self._run(pool, _pull, chunks)  # may call start_response first
            stream = protocol.response_stream(*_head(answer))
            while chunk is not _END:
                await stream.send_bytes(chunk)
                chunk = await self._run(pool, _pull, chunks)
        finally:
            await self._run(pool, answer.close)

    @staticmethod
    async def _run(pool: ThreadPoolExecutor | None, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)` here, on the event loop's thread, or on the pool's when given."""
        if pool is None:
            return call(*args)
        return await asyncio.get_running_loop().run_in_executor(pool, call, *args)


def _head(answer: _Answer) -> tuple[int, list[tuple[str, str]]]:
    status, headers = answer.start
    return int(status.split(" ", 1)[0]), headers


def _pull(chunks: Iterator[bytes]) -> bytes:
    """The body's next non-empty chunk, or `_END`."""
    for chunk in chunks:
        if chunk:
            return chunk
    return _END


def _no_write(data: bytes) -> None:
    raise NotImplementedError("write() is not offered: return the body instead")
