"""Reproducible sample pilot dataset for the "1+2+N" urban grid management pilot.

``python -m gridgeo.sample`` rebuilds ``data/sample/`` from the real Guilin
district outlines: the five grid levels (city to fifth-level grid) of the pilot
in 秀峰区, the two pilot communities' workstations and the pilot's staff.
Everything below district level is illustrative; see ``data/sample/README.md``.
"""
