"""Serving an ASGI app on a real port: blocking for `d365xero emulate`, in a thread for tests and
the demo."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from d365xero.emulators.core.tls import TlsFiles


def _config(app: ASGIApp, host: str, port: int, tls: TlsFiles | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        ssl_certfile=str(tls.certfile) if tls else None,
        ssl_keyfile=str(tls.keyfile) if tls else None,
        lifespan="off",
        # Clients with keep-alive pools would otherwise hold a stopping server open.
        timeout_graceful_shutdown=1,
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port (port 0: any free one; read it from getsockname()), so the
    caller can say where it listens before serving, and a refusal is one plain OSError."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening now, not when uvicorn starts: a client told "emulator on URL" may connect at
        # once, and the kernel queues it instead of refusing it (a refusal failed CI).
        sock.listen(2048)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def serve_forever(app: ASGIApp, sock: socket.socket, tls: TlsFiles | None = None) -> None:
    """Serve on a socket from `listen` until Ctrl-C."""
    host, port = sock.getsockname()[:2]
    uvicorn.Server(_config(app, host, port, tls)).run(sockets=[sock])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerThread:
    """Runs `app` on 127.0.0.1 in a daemon thread; `url` is its origin once started."""

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, tls: TlsFiles | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.tls = tls
        self._server = uvicorn.Server(_config(app, host, self.port, tls))
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        # An emulator stops at once: idle keep-alive TLS connections of clients that never
        # close them would otherwise hold it for the graceful timeout.
        self._server.force_exit = True
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
