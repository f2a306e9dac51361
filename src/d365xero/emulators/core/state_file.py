"""`--state FILE`: an emulator's whole state kept in a file, so a restarted emulator is the same
organisation (same tenant, contacts, invoices, tokens) and not a new, empty one.

Saved a bounded interval after any request that may change it (so at most the last interval is
lost when the process is killed), at shutdown, and once at start; loaded at start. The interval
is SAVE_INTERVAL, or four times as long as the last save took when that is longer (a big state
then spends at most a fifth of the time being saved: 2,000 Xero invoices take about 0.5 s).
Each save writes a temporary file beside FILE, flushes it to disk and renames it over FILE, so
FILE is always a whole save, old or new, never a torn one. The file is private (0600): it holds
the emulator's tokens and signing keys. One emulator per file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from d365xero.emulators.core.state_codec import StateCodec

FORMAT = "d365xero-emulator-state"
VERSION = 1
SAVE_INTERVAL = 1.0  # seconds: the most a killed emulator loses (for a state of usual size)
SAVE_SHARE = 4  # the interval is at least this many times the last save's duration
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # requests that change no kept state
log = logging.getLogger(__name__)


class StateFileError(Exception):
    """FILE cannot be used: unreadable, not a state file, or another emulator's."""


class Persistent(Protocol):
    """An emulator's models: their plain state out (JSON types and the codec's), and back."""

    @property
    def codec(self) -> StateCodec: ...

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held while the state is read or restored, so a save never sees half a write."""
        ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: dict[str, Any]) -> None: ...


class StateFile:
    def __init__(self, path: Path, emulator: str) -> None:
        self.path = path
        self.emulator = emulator

    def read(self) -> Any | None:
        """The saved (still encoded) state, or None when FILE does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateFileError(f"{self.path} is not an emulator state file ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateFileError(f"{self.path} is not an emulator state file")
        if data.get("version") != VERSION:
            raise StateFileError(
                f"{self.path} is a version {data.get('version')} state file; "
                f"this d365xero reads version {VERSION}"
            )
        if data.get("emulator") != self.emulator:
            raise StateFileError(
                f"{self.path} holds the state of a {data.get('emulator')} emulator, "
                f"not of a {self.emulator} one"
            )
        return data["state"]

    def write(self, state_json: str) -> None:
        """Replace FILE with the encoded state `state_json`, atomically."""
        header = {
            "format": FORMAT,
            "version": VERSION,
            "emulator": self.emulator,
            "saved_at": datetime.now(UTC).isoformat(),
        }
        text = json.dumps(header, separators=(",", ":"))[:-1] + ',"state":' + state_json + "}"
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        # The rename itself is on disk only once the folder is.
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


class Autosave:
    """Loads `target` from FILE, then keeps FILE up to date while the emulator runs."""

    def __init__(
        self, file: StateFile, target: Persistent, interval: float = SAVE_INTERVAL
    ) -> None:
        self.file = file
        self.target = target
        self.interval = interval
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._saved: str | None = None
        self._pause = interval
        self._thread = threading.Thread(target=self._run, name="emulator-autosave", daemon=True)

    @classmethod
    def open(cls, path: Path, emulator: str, target: Persistent) -> Autosave:
        """Restore `target` from `path` if it exists, and save it there (StateFileError when
        FILE cannot be used); `running()` then keeps the file up to date."""
        autosave = cls(StateFile(path, emulator), target)
        encoded = autosave.file.read()
        if encoded is not None:
            try:
                with target.lock:
                    target.restore(target.codec.decode(encoded))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StateFileError(f"{path} cannot be restored: {exc!r}") from exc
        try:
            autosave.save()  # now: a FILE that cannot be written is a clear error at start
        except OSError as exc:
            raise StateFileError(f"cannot write {path}: {exc.strerror}") from exc
        return autosave

    @contextmanager
    def running(self) -> Iterator[None]:
        """Save now, after changes while inside, and once more on the way out, SIGTERM
        included: uvicorn stops on SIGTERM and then raises it again, which would end the
        process before any `finally` ran; here it becomes SystemExit(143) and unwinds."""
        self.save()
        self._thread.start()
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _exit_on_signal) if main else None
        try:
            yield
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)
            self.close()

    def changed(self) -> None:
        self._changed.set()

    def save(self) -> None:
        """Write FILE now, if the state differs from the last save."""
        started = time.monotonic()
        with self.target.lock:
            encoded = self.target.codec.encode(self.target.snapshot())
        text = json.dumps(encoded, separators=(",", ":"))
        if text != self._saved:
            self.file.write(text)
            self._saved = text
        self._pause = max(self.interval, SAVE_SHARE * (time.monotonic() - started))

    def _run(self) -> None:
        while True:
            self._changed.wait()
            if self._stop.wait(self._pause):  # changes within one interval: one save
                return
            self._changed.clear()
            try:
                self.save()
            except OSError as exc:
                log.error("could not save the emulator state to %s: %s", self.file.path, exc)
            except Exception:  # a bug, not a reason to stop serving or saving
                log.exception("could not save the emulator state to %s", self.file.path)

    def close(self) -> None:
        """Stop the saver and save one last time (at shutdown)."""
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout=10)
        self.save()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """`app`, telling this saver after each request that the state may have changed."""
        return _NoteChanges(app, self.changed)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class _NoteChanges:
    def __init__(self, app: ASGIApp, changed: Callable[[], None]) -> None:
        self.app = app
        self.changed = changed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http" and scope["method"] not in READS:
                self.changed()
