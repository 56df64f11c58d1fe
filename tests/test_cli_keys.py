"""``gridgeo keys``: create prints the key once, the store keeps only its hash; revoke is logged."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from gridgeo.cli.main import main
from gridgeo.roles import Role
from gridgeo.store import api_keys
from gridgeo.store.core import Store


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "keys.sqlite"
    url = f"sqlite:///{db}"
    opts = ("--database-url", url, "--actor", "ops")
    code, out, _ = _run(capsys, "keys", "create", "qgis-planner", "--role", "planner", *opts)
    assert code == 0
    key = out.splitlines()[0]
    assert key.startswith(api_keys.KEY_PREFIX) and len(key) > 40
    assert "已创建 API 密钥 'qgis-planner'（planner）：密钥只显示这一次；" in out

    # Only the hash is stored: the plain key is nowhere in the database file.
    assert key.encode() not in db.read_bytes()
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored == api_keys.hash_key(key) and stored != key

    code, out, _ = _run(capsys, "keys", "list", "--format", "json", *opts)
    listed = json.loads(out)
    assert listed[0]["name"] == "qgis-planner" and listed[0]["role"] == "planner"
    assert listed[0]["revoked_at"] is None and "key" not in listed[0]
    code, out, _ = _run(capsys, "keys", "list", *opts)
    head, row = out.splitlines()
    assert head.split() == ["名称", "角色", "范围", "创建时间", "状态"]
    assert row.split()[:3] == ["qgis-planner", "planner", "-"] and row.endswith("有效")

    store = Store(url)
    found = api_keys.find_key(store, key)
    assert found is not None and found.role is Role.PLANNER

    code, out, _ = _run(capsys, "keys", "revoke", "qgis-planner", *opts)
    assert code == 0 and out == "已吊销 API 密钥 'qgis-planner'\n"
    code, out, _ = _run(capsys, "keys", "list", *opts, "--lang", "en")
    assert out.splitlines()[0].split() == ["name", "role", "scope", "created", "state"]
    assert " revoked 20" in out.splitlines()[1]
    # another process (this CLI) revoked it: a running service refuses it within
    # KEY_CACHE_SECONDS, when its remembered answer expires
    later = time.monotonic() + api_keys.KEY_CACHE_SECONDS + 0.1
    monkeypatch.setattr(api_keys.time, "monotonic", lambda: later)
    assert api_keys.find_key(store, key) is None
    with sqlite3.connect(db) as conn:
        actions = [r for r in conn.execute("SELECT actor, action, entity_id FROM audit_log")]
    assert ("ops", "key.create", "qgis-planner") in actions
    assert ("ops", "key.revoke", "qgis-planner") in actions


def test_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opts = ("--database-url", f"sqlite:///{tmp_path / 'k.sqlite'}")
    assert _run(capsys, "keys", "create", "a", "--role", "viewer", *opts)[0] == 0
    code, _, err = _run(capsys, "keys", "create", "a", "--role", "admin", *opts, "--lang", "en")
    assert code != 0 and "exists already" in err
    code, _, err = _run(capsys, "keys", "revoke", "nobody", *opts, "--lang", "en")
    assert code != 0 and "no API key named 'nobody'" in err
    with pytest.raises(SystemExit):
        main(["keys", "create", "b", "--role", "root", *opts])
