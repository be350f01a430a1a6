"""Prepare the door visits' new version in the background after a field-entry sync.

A sync from the field-entry page (:mod:`app.saisie.routes`) stores a few visits and so makes a new version of
the store; the page Terrain reads the version's prepared arrays (:mod:`geo.coverage.prepared`). Without this,
the first Terrain request after a sync would prepare them itself, inside that request. Here the sync asks for
the preparation once its answer is ready, and one thread per process runs it:

* **latest wins**: syncs arriving while a preparation runs only ask for one more round, which prepares the
  store's version of that moment (several syncs, one preparation);
* the preparation's file lock keeps two processes (gunicorn workers) from writing the same version, and a
  version already prepared is not prepared again;
* a failure is logged (never a visit's content) and the page prepares the version itself when it first needs
  it, as before.

A thread rather than the job queue (:mod:`geo.jobs`): the work is a cache refresh of this machine's
prepared files, not a job a user follows, and several requests must collapse into one run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Refresher:
    """Run ``work`` in one background thread, once more after each :meth:`request` (latest wins).

    Parameters
    ----------
    work : callable
        What to run; its exceptions are logged, never raised.
    name : str
        Name of the thread.
    """

    def __init__(self, work: Callable[[], object], *, name: str) -> None:
        self._work = work
        self._name = name
        self._lock = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None
        self.runs = 0

    def request(self) -> None:
        """Ask for one more run (started now when none is running)."""
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no run is wanted nor running; True when idle (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    self._thread = None
                    return
                self._wanted = False
            try:
                self._work()
            except Exception:  # noqa: BLE001 - the page prepares the version itself on first use
                logger.exception("%s failed", self._name)
            self.runs += 1


_REFRESHERS: dict[tuple[str, str | None], Refresher] = {}
_GUARD = threading.Lock()


def after_write(*, store_url: str, data_dir: str | None) -> Refresher:
    """Ask for the preparation of the store's current version, in the background.

    Parameters
    ----------
    store_url : str
        The door-visit store that was written.
    data_dir : str, optional
        The processed data folder the app serves (its ``prepared/`` folder and QPV layer).

    Returns
    -------
    Refresher
        The process's refresher of that store and folder.
    """
    key = (store_url, data_dir)
    with _GUARD:
        refresher = _REFRESHERS.get(key)
        if refresher is None:
            refresher = _REFRESHERS[key] = Refresher(lambda: _prepare(store_url, data_dir),
                                                     name="voisinmap-doors-refresh")
    refresher.request()
    return refresher


def _prepare(store_url: str, data_dir: str | None) -> None:
    from geo.coverage import prepared

    prepared.prepare_for_app(db=store_url, data_dir=data_dir)  # the QPV layer of data_dir, as the app reads it
