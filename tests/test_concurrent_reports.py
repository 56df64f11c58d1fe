"""200 reports at once, over real HTTP: every acknowledged report is stored, on SQLite
(one writer at a time: BEGIN IMMEDIATE and the busy timeout queue them) and PostGIS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from live_server import serve
from sqlalchemy import func, select

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store import schema as t
from gridgeo.store.core import Store

REPORTS = 200


def test_200_concurrent_reports_all_stored(store_url: str) -> None:
    url = store_url  # each backend in turn (conftest)
    app = create_app(Settings(store=StoreSettings(database_url=url)))
    store = Store(url)
    key = api_keys.create_key(store, "app", Role.REPORTER, actor="test")
    with serve(app) as base:

        def report(n: int) -> tuple[int, str]:
            form = {
                "service_code": "0505",
                "lat": "25.2775",
                "long": "110.2965",
                "description": f"并发上报 {n}",
                "api_key": key,
            }
            with httpx.Client(base_url=base, timeout=60) as http:
                r = http.post("/open311/v2/requests.json", data=form)
            return r.status_code, r.text

        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(report, range(REPORTS)))
    failed = [a for a in answers if a[0] != 201]
    assert not failed, failed[:3]
    with store.reading() as session:
        stored = session.scalars(select(t.Case.description)).all()
        events = session.scalar(select(func.count()).select_from(t.CaseEvent))
    assert sorted(stored) == sorted(f"并发上报 {n}" for n in range(REPORTS))
    assert events == REPORTS  # each with its report event
    store.close()
