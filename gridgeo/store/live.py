"""Live reload: the service's data follows the published versions without a restart.

A :class:`LiveDataset` holds one immutable :class:`~gridgeo.dataset.Dataset`.
When another process publishes or rolls back, the new Dataset is built and
warmed (lookup index prepared) *beside* the old one, then swapped in with a
single reference assignment; a request reads ``live.current`` once and uses
that object throughout, so no request ever sees a half-built index.

How a change is noticed:

* PostgreSQL: ``LISTEN gridgeo_versions`` on a dedicated connection (publish
  sends ``NOTIFY`` in its transaction), with a periodic check as a fallback
  for notifications lost while reconnecting;
* SQLite: a cheap check of the published version ids every
  ``reload_interval_s`` seconds (one indexed query).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from gridgeo.dataset import Dataset
from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.datasets import PublishedKey, load_dataset, published_key
from gridgeo.store.snapshots import published_history, version_at
from gridgeo.store.versions import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
HISTORY_CACHE = 4  # older versions kept built for lookups "as of" a version or date
RETRY_FAILED_S = 60.0  # a published version that failed to load is tried again after this


@dataclass(frozen=True)
class LoadFailure:
    """The published boundaries version that could not be loaded, and why."""

    version: int | None
    error: str
    at: datetime

    def to_dict(self) -> dict[str, object]:
        return {"version": self.version, "error": self.error, "at": self.at.isoformat()}


class LiveDataset:
    """The published data of a store, reloaded when a new version is published.

    Parameters
    ----------
    store
        The store to follow.
    settings
        Settings for the built Datasets (and ``store.reload_interval_s``).
    warm
        Called with every new Dataset before it is swapped in (the HTTP API builds
        its point index there, so that no request after a publication pays for it).
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        warm: Callable[[Dataset], object] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._warm = warm
        self._lock = threading.Lock()  # one rebuild at a time; readers never take it
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._history: OrderedDict[int, Dataset] = OrderedDict()
        self.failure: LoadFailure | None = None
        self._failed_at = 0.0
        self._key = self._read_key()
        self._current = self._start(self._key)
        self.reloads = 0

    @property
    def current(self) -> Dataset:
        """The Dataset of the published versions (read it once per request)."""
        return self._current

    def _read_key(self) -> PublishedKey:
        with self.store.reading() as session:
            return published_key(session)

    def _build(self, key: PublishedKey, boundaries: int | None = None) -> Dataset:
        version = key.boundaries if boundaries is None else boundaries
        data = load_dataset(self.store, self.settings, version)
        _ = data.locator  # warm the index before anyone can see this Dataset
        if self._warm is not None:
            self._warm(data)
        return data

    def _start(self, key: PublishedKey) -> Dataset:
        """The published data; if it cannot be loaded, the last good version published
        before it (a service that keeps answering, and says so on /health, beats one
        that does not start). Nothing published, or nothing loadable: the error."""
        try:
            return self._build(key)
        except NotFoundError:
            raise
        except Exception as exc:  # any failure to load: fall back, and record why
            self._record_failure(key, exc)
            for version in self._earlier_versions(key.boundaries):
                try:
                    data = self._build(key, version)
                except Exception:
                    log.exception("gridgeo: version %s does not load either", version)
                    continue
                log.warning("gridgeo: serving version %s, the last that loads", version)
                return data
            raise

    def _earlier_versions(self, failed: int | None) -> list[int]:
        """Boundaries versions published before, most recent first (the failed one out)."""
        with self.store.reading() as session:
            return [v for v in published_history(session) if v != failed]

    def _record_failure(self, key: PublishedKey, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"[:500]
        self.failure = LoadFailure(key.boundaries, message, datetime.now(UTC))
        self._failed_at = time.monotonic()
        log.error(
            "gridgeo: published boundaries version %s cannot be loaded (%s)",
            key.boundaries,
            message,
        )

    def refresh(self) -> bool:
        """Check the published versions; rebuild and swap if they changed. True if swapped.

        A new version that fails to load leaves the current one served and is recorded
        in :attr:`failure` (``/health`` reports it); it is tried again after
        ``RETRY_FAILED_S`` or when another version is published.
        """
        with self._lock:
            key = self._read_key()
            retry = self.failure is not None and (
                time.monotonic() - self._failed_at >= RETRY_FAILED_S
            )
            if key == self._key and not retry:
                return False
            try:
                data = self._build(key)
            except Exception as exc:  # keep serving what loads; say why on /health
                self._key = key  # no rebuild storm: next try after RETRY_FAILED_S
                self._record_failure(key, exc)
                return False
            self._current, self._key = data, key  # the swap: one reference assignment
            self.failure = None
            self.reloads += 1
            log.info("gridgeo: now serving %s", key)
            return True

    def version_at(self, at: datetime) -> int:
        """The boundaries version published at ``at`` (a store query; NotFoundError if none)."""
        with self.store.reading() as session:
            return version_at(session, at)

    def cached(self, version: int) -> Dataset | None:
        """The Dataset of ``version`` if it is held in memory (served or recently asked
        for), else None: :meth:`as_of` would load it."""
        if version == self._current.version:
            return self._current
        with self._lock:
            return self._history.get(version)

    def as_of(self, version: int | None = None, at: datetime | None = None) -> Dataset:
        """The Dataset of a given boundaries version, or of the one published at ``at``."""
        if version is None and at is None:
            return self.current
        if version is None:
            assert at is not None
            with self.store.reading() as session:
                version = version_at(session, at)
        if version == self._current.version:
            return self._current
        with self._lock:
            if version in self._history:
                self._history.move_to_end(version)
                return self._history[version]
            data = load_dataset(self.store, self.settings, version)
            self._history[version] = data
            while len(self._history) > HISTORY_CACHE:
                self._history.popitem(last=False)
            return data

    # --- background watcher -------------------------------------------------
    def start(self) -> None:
        """Catch up with the store, then follow it in a daemon thread.

        The catching up matters to a process forked from one that loaded the data earlier
        (``serve --workers N`` forks a worker again when one dies): it must not answer
        from a version the store has replaced since.
        """
        if self._thread is not None:
            return
        self._safe_refresh()
        target = self._listen if self.store.backend == "postgresql" else self._poll
        self._thread = threading.Thread(target=target, name="gridgeo-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # keep serving the old version; the next check retries
            log.exception("gridgeo: reload failed; still serving %s", self._key)

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.store.reload_interval_s):
            self._safe_refresh()

    def _listen(self) -> None:
        import psycopg

        url = make_url(self.store.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._safe_refresh()  # anything published while we were not listening
                    while not self._stop.is_set():
                        # returns on the first NOTIFY or after the interval (fallback check)
                        for _ in conn.notifies(
                            timeout=self.settings.store.reload_interval_s, stop_after=1
                        ):
                            pass
                        self._safe_refresh()
            except psycopg.Error:
                log.exception("gridgeo: lost the LISTEN connection; reconnecting")
                self._stop.wait(self.settings.store.reload_interval_s)


class StaticData:
    """A fixed Dataset with the LiveDataset interface (tests, files without a store)."""

    store: Store | None = None
    failure: LoadFailure | None = None

    def __init__(self, data: Dataset) -> None:
        self._data = data

    @property
    def current(self) -> Dataset:
        return self._data

    def version_at(self, at: datetime) -> int:
        raise NotFoundError(_no_store())

    def cached(self, version: int) -> Dataset | None:
        return self._data if version == self._data.version else None

    def as_of(self, version: int | None = None, at: datetime | None = None) -> Dataset:
        if (version is None or version == self._data.version) and at is None:
            return self._data
        raise NotFoundError(_no_store())

    def refresh(self) -> bool:
        return False

    def start(self) -> None:
        """Nothing to follow."""

    def stop(self) -> None:
        """Nothing to stop."""


def _no_store() -> str:
    return tr("this service serves fixed data without a store: no other version or date")
