"""What a user does: build the wheel, install it in a fresh venv, run ``gridgeo serve``
in an empty folder, and get the sample data served from the defaults alone.

The new venv reuses the dependencies already installed in ``.venv`` (a ``.pth`` line
naming its site-packages) so nothing is downloaded; its ``.pth`` files are not run, so
the checkout's editable install of gridgeo is not on the path: only the wheel is.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POINT = "/v1/lookup?lon=110.2965&lat=25.2775"  # in 文明社区第1网格 of the sample


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _build_wheel(tmp: Path) -> Path:
    """The wheel of a clean copy of the sources (a shared checkout's build/ may be stale)."""
    source = tmp / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(REPO / "gridgeo", source / "gridgeo", symlinks=True, ignore=skip)
    shutil.copytree(REPO / "data" / "sample", source / "data" / "sample")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    wheels = tmp / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("gridgeo-*.whl")
    return wheel


def _install(wheel: Path, venv: Path) -> Path:
    """A fresh venv holding the wheel, on top of ``.venv``'s dependencies; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "gridgeo_deps.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return python


def _get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_the_installed_wheel_seeds_and_serves_in_an_empty_folder(tmp_path: Path) -> None:
    python = _install(_build_wheel(tmp_path), tmp_path / "venv")
    empty, home = tmp_path / "empty", tmp_path / "home"
    empty.mkdir()
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GRIDGEO_", "XDG_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["HOME"] = str(home)

    where = subprocess.run(
        [str(python), "-c", "import gridgeo.settings as s; print(s.__file__)"],
        cwd=empty,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv")  # the wheel, not the checkout

    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(python.with_name("gridgeo")), "serve", "--port", str(port)],
            cwd=empty,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = _get(f"{base}/health")
                break
            except OSError:
                assert server.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.3)
        assert status == 200 and health["status"] == "ok"
        assert health["grids"] == 79 and health["workstations"] == 2  # the sample, seeded
        status, found = _get(base + POINT)
        assert status == 200
        assert found["grids"][0]["code"] == "450302001001001"
    finally:
        server.terminate()
        server.wait(timeout=20)

    # the defaults of an installed package: the store under the user's data folder
    store = home / ".local" / "share" / "gridgeo" / "store" / "gridgeo.sqlite"
    assert store.is_file()
    assert (store.parent / "index").is_dir()  # the index files beside it
    assert sorted(p.name for p in empty.iterdir()) == []  # nothing written where it ran
