"""API keys for tests: one per role, handler and inspector keys with a scope of the sample."""

from __future__ import annotations

from gridgeo.roles import Role
from gridgeo.store import api_keys
from gridgeo.store.core import Store

SAMPLE_UNIT = "TP-450302"  # the sample's traffic police unit
SAMPLE_GRIDS = ("450302",)  # the sample district: every grid of the pilot


def role_keys(store: Store, suffix: str = "-key") -> dict[str, str]:
    """A key named ``<role><suffix>`` for every role, by role value."""
    return {r.value: make_key(store, f"{r.value}{suffix}", r) for r in Role}


def make_key(store: Store, name: str, role: Role) -> str:
    """A key of ``role``; a handler acts for the sample's traffic police, an inspector in
    the whole sample district."""
    if role is Role.HANDLER:
        return api_keys.create_key(store, name, role, actor="test", unit=SAMPLE_UNIT)
    if role is Role.INSPECTOR:
        return api_keys.create_key(store, name, role, actor="test", grids=SAMPLE_GRIDS)
    return api_keys.create_key(store, name, role, actor="test")
