"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

Every request a page makes is routed through :class:`Guard`: requests to the
loopback range are let through, any other is recorded and aborted, so a page
that would need the internet fails its test (and never reaches the network).
Screenshots are decoded to numpy arrays for colour checks.
"""

from __future__ import annotations

import functools
import http.server
import io
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from PIL import Image
from playwright.sync_api import Browser, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1200, "height": 800}


def is_loopback(url: str) -> bool:
    """True for data:/blob:/about: URLs and http(s) URLs whose host is in 127.0.0.0/8 or ::1."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = (parts.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """Records every request; aborts those leaving the loopback range."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if is_loopback(url):
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (no sandbox: tests run as root in CI)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


def guarded_page(browser: Browser) -> tuple[Page, Guard]:
    """A new page whose requests all go through a :class:`Guard`; page errors are recorded."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    guard = Guard()
    context.route("**/*", guard.route)
    page = context.new_page()
    page.on("pageerror", lambda exc: guard.errors.append(str(exc)))
    return page, guard


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on a free loopback port; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def screenshot(page: Page, path: Path | None = None) -> npt.NDArray[np.uint8]:
    """The page as an (h, w, 3) RGB array; also saved to ``path`` when given."""
    png = page.screenshot(path=str(path) if path else None)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def pixels_near(image: npt.NDArray[np.uint8], rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels are within ``tolerance`` of ``rgb`` in every channel."""
    diff = np.abs(image.astype(np.int16) - np.asarray(rgb, dtype=np.int16))
    return int((diff.max(axis=2) <= tolerance).sum())


def container_point(page: Page, lon: float, lat: float) -> tuple[float, float]:
    """Page coordinates of (lon, lat) on the Leaflet map exposed as ``window.gridgeoMap``."""
    xy = page.evaluate(
        """([lat, lon]) => {
            const m = window.gridgeoMap;
            const p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""",
        [lat, lon],
    )
    return float(xy[0]), float(xy[1])


def wait_for_map(page: Page) -> None:
    """Wait until the map exists and has drawn its vector paths."""
    page.wait_for_function("() => window.gridgeoMap !== undefined")
    page.wait_for_selector("path.leaflet-interactive, svg path", state="attached")
    page.wait_for_timeout(300)  # let Leaflet finish the first paint after fitting bounds


def click_at(page: Page, lon: float, lat: float, zoom: int | None = None) -> None:
    """Click the map at (lon, lat), first centring there at ``zoom`` when given.

    Zooming in first is what a person does on a city-wide map, where one pixel
    is a hundred metres and a point near a border is ambiguous.
    """
    if zoom is not None:
        page.evaluate(
            "([lat, lon, z]) => { window.gridgeoMap.setView([lat, lon], z, {animate: false}); }",
            [lat, lon, zoom],
        )
        page.wait_for_timeout(300)
    page.mouse.click(*container_point(page, lon, lat))
