"""Helpers for tests that need cases further along the work loop than ``reported``."""

from __future__ import annotations

from datetime import datetime, timedelta

from gridgeo.caseflow import Action, Actor
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import schema as t
from gridgeo.store.cases import CaseRecord, get_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store
from gridgeo.store.seed import seed_if_empty

ADMIN = Actor("test-admin", Role.ADMIN)
UNIT = "WS450302001001"  # the sample's 文明社区 workstation; without data any code is taken


def close_case(
    store: Store, case_id: int, *, unit: str = UNIT, at: datetime | None = None
) -> CaseRecord:
    """Walk a reported case through register, dispatch (to ``unit``, deadline three days
    on), handle, verify_pass and close as an admin; every step at ``at`` (default now)."""
    when = at or t.utcnow()
    steps = (
        ActionRequest(Action.REGISTER, at=when),
        ActionRequest(Action.DISPATCH, units=(unit,), deadline=when + timedelta(days=3), at=when),
        ActionRequest(Action.HANDLE, unit=unit, at=when),
        ActionRequest(Action.VERIFY_PASS, unit=unit, at=when),
        ActionRequest(Action.CLOSE, at=when),
    )
    for step in steps:
        act(store, case_id, step, ADMIN)
    return get_case(store, case_id)


def published_store(url: str) -> Store:
    """A store with the sample's boundaries, roster, partners and routing published."""
    store = Store(url)
    seed_if_empty(store, Settings(store=StoreSettings(database_url=url)))
    return store


# A hand-written event log of three cases, rows in no particular order (the format allows
# any): A-001 is closed after an extension (granted in one row, as the format has it) and a
# rework; B-002 is rejected; C-003 is dispatched and overdue (its deadline has passed).
EVENT_LOG = """\
case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note
A-001,2026-11-03T09:15+08:00,report,,,市民热线,110.3005,25.2785,wgs84,0101,文明路口占道违章搭建
B-002,2026-11-04T08:00+08:00,report,,,监督员张,110.2915,25.28,wgs84,0505,机动车乱停放
A-001,2026-11-03T09:40+08:00,立案,,,街道李,110.3005,25.2785,wgs84,0101,
A-001,2026-11-03T10:00+08:00,dispatch,ENF-450302001,2026-11-06T17:00+08:00,街道李,110.3005,25.2785,wgs84,0101,请三日内拆除
B-002,2026-11-04T08:30+08:00,reject,,,街道李,110.2915,25.28,wgs84,0505,重复上报
A-001,2026-11-05T16:00+08:00,extend,ENF-450302001,2026-11-10T17:00+08:00,街道李,110.3005,25.2785,wgs84,0101,需协调业主
A-001,2026-11-03T10:30+08:00,accept,ENF-450302001,,执法队王,,,,,
A-001,2026-11-07T11:00+08:00,handle,ENF-450302001,,执法队王,110.3005,25.2785,wgs84,0101,已拆除一半
A-001,2026-11-07T15:00+08:00,verify_fail,ENF-450302001,,监督员张,110.3005,25.2785,wgs84,0101,未拆除完
A-001,2026-11-08T10:00+08:00,处置,ENF-450302001,,执法队王,110.3005,25.2785,wgs84,0101,已全部拆除
A-001,2026-11-08T14:00+08:00,verify_pass,ENF-450302001,,监督员张,110.3005,25.2785,wgs84,0101,
A-001,2026-11-08T16:30+08:00,结案,,,街道李,110.3005,25.2785,wgs84,0101,
C-003,2026-11-20T14:05+08:00,report,,,市民热线,110.2915,25.28,wgs84,0505,人行道停车
C-003,2026-11-20T14:30+08:00,register,,,街道李,110.2915,25.28,wgs84,0505,
C-003,2026-11-20T14:45+08:00,dispatch,TP-450302,2026-11-25T17:00+08:00,街道李,110.2915,25.28,wgs84,0505,
"""
