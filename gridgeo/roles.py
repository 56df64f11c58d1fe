"""The roles of the people and systems that use gridgeo (pure core).

Roles are ordered: a role may do everything the roles before it may, where a
rule asks for "this role or above" (reading grids, reporting, planning).
The work loop asks for specific roles instead (:mod:`gridgeo.caseflow`):
a unit handler acts only on its own unit's tasks, an inspector verifies only
in its own grids, the dispatcher (the street office) registers, dispatches,
grants extensions and closes; ``admin`` may do anything.

=========== =============================================== =====================
role        who                                             scope of its key
=========== =============================================== =====================
viewer      reads grids, cases and assessments              (none)
reporter    reports cases (citizen apps, hotlines)          (none)
handler     a responsible unit's 城管通 terminal            one unit code
inspector   a grid inspector (网格监督员), verifies on site  grid codes (prefixes)
dispatcher  the street office: 立案, 派遣, 延期, 结案       (none)
planner     edits and publishes boundaries                  (none)
admin       everything, force-publishing included          (none)
=========== =============================================== =====================
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a caller may do; later members include the earlier ones for ranked checks."""

    VIEWER = "viewer"
    REPORTER = "reporter"
    HANDLER = "handler"
    INSPECTOR = "inspector"
    DISPATCHER = "dispatcher"
    PLANNER = "planner"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]

    def allows(self, needed: Role) -> bool:
        """True when this role is ``needed`` or above it."""
        return self.rank >= needed.rank


_RANKS = {role: rank for rank, role in enumerate(Role)}  # asked on every request
_LABELS_ZH = {
    Role.VIEWER: "查看者",
    Role.REPORTER: "上报者",
    Role.HANDLER: "处置单位",
    Role.INSPECTOR: "网格监督员",
    Role.DISPATCHER: "派遣员",
    Role.PLANNER: "规划员",
    Role.ADMIN: "管理员",
}
