"""The recipe of a checked import: findings, then a draft version of one kind, or nothing.

Rosters, partner units and routing tables (:mod:`gridgeo.store.responsibility`)
are imported alike: the caller checks what is imported against the published
versions, and :func:`import_checked` does the rest, in one way for every kind:

* a dry run (the default) returns the findings and writes nothing;
* ``commit=True`` writes, in one transaction, a draft version row (its error and
  warning counts, the findings as its report, the import in the audit log) and
  the rows of what is imported. A draft with errors may be written; publishing
  it is what the errors stop (:func:`gridgeo.store.versions.publish`).

Boundaries have their own import (:func:`gridgeo.store.versions.import_boundaries`):
a validation report rather than findings, workstations carried over, geometry
checks of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import insert

from gridgeo.findings import Finding, Severity
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.versions import VersionInfo, new_version


class ImportOptions(TypedDict, total=False):
    """The options of every checked import (keywords; only ``author`` is required).

    Attributes
    ----------
    author
        Who imports: the draft's author and the audit log's actor.
    note
        A note kept with the version (default none).
    source
        The file imported, as (name, SHA-256); default ``("", "")``.
    commit
        Write the draft; default False, a dry run that writes nothing.
    """

    author: Required[str]
    note: str
    source: tuple[str, str]
    commit: bool


def import_checked(
    store: Store,
    kind: t.VersionKind,
    findings: list[Finding],
    *,
    count: int,
    table: type[t.Base],
    rows: Callable[[int], list[dict[str, Any]]],
    **options: Unpack[ImportOptions],
) -> tuple[list[Finding], VersionInfo | None]:
    """Return the findings and, with ``commit=True``, write a draft version of ``kind``.

    Parameters
    ----------
    store
        The store written to.
    kind
        The kind of version (roster, partners, routing).
    findings
        What the check of the import found (errors and warnings).
    count
        How many items are imported (the version's feature count).
    table
        The table the items' rows go to.
    rows
        The rows of the items for a version id (called only when writing).
    **options
        :class:`ImportOptions`: ``author``, ``note``, ``source``, ``commit``.

    Returns
    -------
    tuple of (list of Finding, VersionInfo or None)
        The findings, and the draft written (None on a dry run).

    Examples
    --------
    >>> from gridgeo.store.core import Store
    >>> store = Store("sqlite://")  # an embedded store in memory
    >>> def staff_rows(version_id):
    ...     return []  # nobody on the roster
    >>> import_checked(store, t.VersionKind.ROSTER, [], count=0, table=t.Staff,
    ...                rows=staff_rows, author="planner")
    ([], None)
    >>> findings, draft = import_checked(store, t.VersionKind.ROSTER, [], count=0,
    ...                                  table=t.Staff, rows=staff_rows, author="planner",
    ...                                  commit=True)
    >>> print(draft.kind, draft.status, draft.author, draft.errors)
    roster draft planner 0
    """
    if not options.get("commit", False):
        return findings, None
    errors = sum(f.severity == Severity.ERROR for f in findings)
    with store.transaction() as session:
        version = new_version(
            session,
            kind,
            author=options["author"],
            note=options.get("note", ""),
            source=options.get("source", ("", "")),
            count=count,
            findings=(errors, len(findings) - errors),
            report={"findings": [f.to_dict() for f in findings]},
        )
        batch = rows(version.id)
        if batch:
            session.execute(insert(table), batch)
        return findings, VersionInfo.of(version)
