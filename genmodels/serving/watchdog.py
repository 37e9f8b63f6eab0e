"""Clean-up after browser sessions that went away: a closed tab's job is stopped and its models
forgotten, after a grace period in which a reconnecting browser gets its session back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Watched:
    alive: Callable[[], bool]
    gone: Callable[[], None]
    grace: float
    missing_since: float | None = None


class Watchdog:
    """Notices owners (browser sessions) that have gone away, and cleans up after them.

    An owner is watched with ``alive()``, which says whether it is still there, and ``gone()``,
    which cleans up after it (stop its job, forget its models). Once ``alive()`` has said False for
    ``grace`` seconds - a reconnect window: a browser that loses its connection for a moment comes
    back to the same session - ``gone()`` runs once, on the watchdog's thread, and the owner is
    forgotten. Only an explicit False counts as gone: an ``alive()`` that raises or answers
    something else (a test's stand-in) keeps the owner. ``check()`` is one round, for tests."""

    def __init__(self, interval: float = 5.0):
        self.interval = interval
        self._lock = threading.Lock()
        self._owners: dict[str, _Watched] = {}
        self._thread: threading.Thread | None = None

    def watch(self, owner: str, alive: Callable[[], bool], gone: Callable[[], None], grace: float) -> None:
        """Watch ``owner`` (again: a later call replaces the callbacks and restarts its grace)."""
        with self._lock:
            self._owners[owner] = _Watched(alive, gone, grace)
            self.interval = max(0.5, min(self.interval, grace / 4))  # notice within about grace * 1.25
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="genlab-watchdog", daemon=True)
                self._thread.start()

    def watching(self, owner: str) -> bool:
        with self._lock:
            return owner in self._owners

    def check(self, now: float | None = None) -> list[str]:
        """One round: ask every owner whether it is there; clean up after those gone for longer
        than their grace. Returns the owners cleaned up in this round."""
        now = time.monotonic() if now is None else now
        with self._lock:
            owners = list(self._owners.items())
        cleaned = []
        for owner, watched in owners:
            try:
                present = watched.alive() is not False
            except Exception:  # cannot tell (e.g. the server is shutting down): keep it
                present = True
            if present:
                watched.missing_since = None
                continue
            if watched.missing_since is None:
                watched.missing_since = now
            if now - watched.missing_since < watched.grace:
                continue
            with self._lock:
                if self._owners.get(owner) is not watched:
                    continue  # it came back and was watched again meanwhile
                del self._owners[owner]
            try:
                watched.gone()
            except Exception:  # one owner's clean-up must not stop the watchdog for everyone
                pass
            cleaned.append(owner)
        return cleaned

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            self.check()


# The one process-wide watchdog (the app registers each browser session with it).
WATCHDOG = Watchdog()
