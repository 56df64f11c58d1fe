"""The service's background delivery: a pass every ``webhook_interval_s``, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from gridgeo.notify.webhooks import (
    DeliveryReport,
    Outcome,
    deliver_once,
    iso,
    redact,
    webhook_urls,
)
from gridgeo.settings import Settings
from gridgeo.store.core import Store

if TYPE_CHECKING:  # imported when delivery starts: a service without webhooks never needs it
    import httpx

log = logging.getLogger(__name__)


class WebhookWorker:
    """The service's delivery loop: a pass every ``webhook_interval_s``, in a thread.

    Started and stopped by the app's lifespan; without configured webhooks it does
    nothing. A failing pass (a store outage) is logged and tried again at the next
    interval: nothing here ever raises into the service.

    Raises
    ------
    WebhookConfigError
        On construction, for a configured URL that is not usable (the service
        refuses to start rather than silently not deliver).
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.urls = webhook_urls(settings)
        self.passes = 0
        self.last_report: DeliveryReport | None = None
        self._halt = threading.Event()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop (no-op without webhooks)."""
        if not self.urls or self._task is not None:
            return
        self._halt.clear()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gridgeo-webhooks")

    async def stop(self) -> None:
        """End the loop: the pass under way stops after the message being sent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._halt.set()
        if self._wake is not None:
            self._wake.set()
        try:
            # one POST may still be waiting for its answer; after that, cancel
            await asyncio.wait_for(task, timeout=self.settings.notify.webhook_timeout_s + 5)
        except TimeoutError:
            log.warning("gridgeo: webhook delivery did not stop in time; cancelled")
        except Exception:  # _run never raises; if it did, shutdown must still go on
            log.exception("gridgeo: webhook delivery ended with an error")

    async def _run(self) -> None:
        import httpx

        assert self._wake is not None
        with httpx.Client(timeout=self.settings.notify.webhook_timeout_s) as client:
            while not self._halt.is_set():
                more = await self._pass(client)
                if more:
                    continue  # a backlog: go on without waiting
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), self.settings.notify.webhook_interval_s
                    )

    async def _pass(self, client: httpx.Client) -> bool:
        """One pass in a thread; True when some URL has more messages waiting."""
        try:
            report = await asyncio.to_thread(
                deliver_once, self.store, self.settings, client=client, halt=self._halt
            )
        except Exception:  # e.g. the store is unreachable: log, and retry next interval
            log.exception("gridgeo: webhook delivery pass failed")
            return False
        self.passes += 1
        self.last_report = report
        for r in report.failed:
            log.warning(
                "gridgeo: webhook %s failed (attempt %d, next at %s): %s",
                redact(r.url),
                r.attempts,
                iso(r.next_attempt_at),
                r.error,
            )
        return any(r.outcome is Outcome.MORE for r in report.webhooks)
