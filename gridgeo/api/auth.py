"""Who calls the HTTP API, and whether its role may do what it asks.

Roles (:mod:`gridgeo.roles`) are ordered ``viewer < reporter < handler < inspector
< dispatcher < planner < admin`` where a rule asks for a role or above; the work loop
asks for specific roles (docs/SECURITY.md). A caller sends an API key in the
``X-API-Key`` header (or the ``api_key`` query parameter, which Open311 clients use,
or an Open311 POST's ``api_key`` form field); a request without a key acts as
``GRIDGEO_ANONYMOUS_ROLE``. Keys are stored and found by :mod:`gridgeo.store.api_keys`.

One mechanism decides: every route declares the role it needs with the dependency
:func:`require` (``gridgeo.api.deps`` names them: ``Viewer``, ``Planner``, ...), which
calls :func:`authorize`, which calls the one decision :func:`check_role`. The lookup,
whose handlers read the key themselves for speed, call :func:`authorize` too
(tests/test_api_auth_routes.py checks every route).

Refusals: 401 (no key where one is needed, unknown or revoked key; with
``WWW-Authenticate``), 403 (the key's role is too low). Each names the problem.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from gridgeo.api.state import app_settings, app_store_or_none
from gridgeo.caseflow import Actor
from gridgeo.i18n import current_lang, tr
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store.api_keys import KeyHolder, find_key, remembered_key
from gridgeo.store.core import Store
from gridgeo.wording import labelled

KEY_HEADER = "X-API-Key"
KEY_QUERY = "api_key"  # also the Open311 POST's form field
AUTHENTICATE = f'ApiKey header="{KEY_HEADER}", query="{KEY_QUERY}"'
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name and role, or ``anonymous``."""

    name: str
    role: Role | None
    authenticated: bool
    unit: str | None = None  # a handler key's unit
    grids: tuple[str, ...] = ()  # an inspector key's grids

    @classmethod
    def holding(cls, holder: KeyHolder) -> Caller:
        """The caller presenting the key of ``holder``."""
        return cls(holder.name, holder.role, True, holder.unit, holder.grids)

    @property
    def actor(self) -> str:
        """Name for the audit log."""
        return self.name if self.authenticated else "anonymous"

    def as_actor(self) -> Actor:
        """The caller as the case flow sees it (its role and scope decide what it may do)."""
        if self.role is None:
            raise AccessDenied(
                401, tr("an API key is needed (send it in the {header} header)", header=KEY_HEADER)
            )
        return Actor(self.actor, self.role, self.unit, self.grids)


class AccessDenied(HTTPException):
    """A 401 or 403 with a message saying what is missing."""

    def __init__(self, status_code: int, message: str) -> None:
        headers = {"WWW-Authenticate": AUTHENTICATE} if status_code == 401 else None
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message


# --- who calls ----------------------------------------------------------------------------


def presented_key(request: Request) -> str | None:
    """The key sent with the request (header first, then ``api_key``), if any."""
    return request.headers.get(KEY_HEADER) or request.query_params.get(KEY_QUERY) or None


async def form_key(request: Request) -> str | None:
    """The ``api_key`` field of a form body (Open311 POST), if the body is a form."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return None
    value = (await request.form()).get(KEY_QUERY)  # parsed once: the route reads it again
    return value if isinstance(value, str) and value else None


def anonymous(settings: Settings) -> Caller:
    """The caller without a key: it acts as ``GRIDGEO_ANONYMOUS_ROLE``."""
    return _anonymous(settings.api.anonymous_role)


@functools.cache
def _anonymous(role: str) -> Caller:
    return Caller("anonymous", None if role == "none" else Role(role), authenticated=False)


def _store(request: Request) -> Store:
    store = app_store_or_none(request)
    if store is None:
        raise AccessDenied(401, tr("API keys cannot be checked: this service runs without a store"))
    return store


def _holder(found: KeyHolder | None) -> Caller:
    if found is None:
        raise AccessDenied(401, tr("the API key is unknown or has been revoked"))
    return Caller.holding(found)


async def identify(request: Request, key: str | None) -> Caller:
    """Who presents ``key`` (None: the anonymous caller); 401 for a key that is unknown
    or revoked (never silently anonymous).

    An anonymous caller, and a key answered lately (``remembered_key``), are known on
    the event loop; any other key is looked up in the store (a blocking query) in the
    thread pool. The caller is kept on the request: the staff filter and the costly
    limits ask again (:func:`caller`).
    """
    if key is None:
        return anonymous(app_settings(request))
    store = _store(request)
    known, found = remembered_key(store, key)
    if not known:  # a new key, or the keys held in memory are stale
        found = await run_in_threadpool(find_key, store, key)
    who = request.state.gridgeo_caller = _holder(found)
    return who


def caller(request: Request) -> Caller:
    """Who is calling, from a thread (the sync twin of :func:`identify`): the caller a
    role check found already, else the one the request's key names."""
    known: Caller | None = getattr(request.state, "gridgeo_caller", None)
    if known is not None:
        return known
    key = presented_key(request)
    if key is None:
        return anonymous(app_settings(request))
    known = request.state.gridgeo_caller = _holder(find_key(_store(request), key))
    return known


def caller_role(request: Request) -> Role | None:
    """The role the request acts with (anonymous: ``GRIDGEO_ANONYMOUS_ROLE``; None = no role)."""
    return caller(request).role


# --- what it may do -----------------------------------------------------------------------


def check_role(who: Caller, needed: Role) -> Caller:
    """The one decision: ``who`` if its role is ``needed`` or above; else AccessDenied
    (401 or 403)."""
    if who.role is None:
        raise AccessDenied(
            401,
            tr(
                "an API key with role {role} or above is needed (send it in the {header} header)",
                role=role_label(needed),
                header=KEY_HEADER,
            ),
        )
    if not who.role.allows(needed):
        if not who.authenticated:
            raise AccessDenied(
                401,
                tr(
                    "anonymous callers may not do this: an API key with role {role} or above "
                    "is needed (send it in the {header} header)",
                    role=role_label(needed),
                    header=KEY_HEADER,
                ),
            )
        raise AccessDenied(
            403,
            tr(
                "the API key {name!r} has role {role}; this needs role {needed} or above",
                name=who.name,
                role=role_label(who.role),
                needed=role_label(needed),
            ),
        )
    return who


async def authorize(request: Request, needed: Role, key: str | None) -> Caller:
    """The caller presenting ``key`` (:func:`identify`) if its role is ``needed`` or above
    (:func:`check_role`); else AccessDenied (401 or 403)."""
    if key is None:  # most requests: no second coroutine
        return check_role(anonymous(app_settings(request)), needed)
    return check_role(await identify(request, key), needed)


RoleDependency = Callable[[Request], Awaitable[Caller]]
_REQUIRED: dict[object, Role] = {}  # each dependency made by require, and its role


@functools.cache  # one dependency per role: FastAPI runs it once per request
def require(needed: Role, *, form: bool = False) -> RoleDependency:
    """The dependency that lets through callers with role ``needed`` or above: the way
    every route declares its role (``gridgeo.api.deps`` names them).

    ``form``: the key may also come in the ``api_key`` field of a form body (Open311
    POST), read when neither the header nor the query string carries one.

    ``async``, so that an anonymous caller is checked on the event loop; only a
    presented key, looked up in the store (a blocking query), goes to the thread
    pool. A plain ``def`` dependency would pay that hop on every request.
    """

    async def dependency(request: Request) -> Caller:
        key = presented_key(request)
        if key is None and form:
            key = await form_key(request)
        return await authorize(request, needed, key)

    dependency.__name__ = f"require_{needed.value}"
    _REQUIRED[dependency] = needed
    return dependency


def required_role(dependency: object) -> Role | None:
    """The role a dependency made by :func:`require` lets through, else None."""
    return _REQUIRED.get(dependency)


def role_label(role: Role | str) -> str:
    """A role as a message names it: its code (what the settings and ``gridgeo keys``
    take), after its Chinese name in Chinese text.

    >>> from gridgeo.i18n import use_lang
    >>> with use_lang("zh"):
    ...     role_label(Role.PLANNER), role_label("anonymous")
    ('规划员（planner）', '匿名调用方（anonymous）')
    """
    code = str(role)
    if current_lang() != "zh":
        return code
    if code == "anonymous":
        return tr("anonymous caller ({role})", role=code)
    if code not in _ROLES:
        return code
    return labelled(code, Role(code).label_zh)


_ROLES = frozenset(r.value for r in Role)


# --- keys kept out of the logs ------------------------------------------------------------

_KEY_IN_QUERY = re.compile(rf"([?&]{KEY_QUERY}=)[^&#\s]*")


def redact_key(text: str) -> str:
    """``text`` (a URL or a path with its query) with the value of ``api_key`` hidden.

    >>> redact_key("/v1/cases?limit=5&api_key=ggk_secret&x=1")
    '/v1/cases?limit=5&api_key=***&x=1'
    """
    return _KEY_IN_QUERY.sub(r"\1***", text)


class KeyRedactingFilter(logging.Filter):
    """Hides ``api_key`` values in the access log's request lines (uvicorn's access
    records carry the path with its query string as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_key(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_key(record.msg)
        return True


def redact_keys_in_access_log() -> None:
    """Keep keys given in the query string out of uvicorn's access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, KeyRedactingFilter) for f in access.filters):
        access.addFilter(KeyRedactingFilter())
