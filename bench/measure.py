"""What every benchmark reports alongside its figures: percentiles, the machine, the code measured."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 ≤ q ≤ 1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cpu": cpu,
    }


def code_state(paths: Sequence[str]) -> dict[str, Any]:
    """The commit measured, and which of ``paths`` had uncommitted changes (figures are for the working
    tree as it was)."""

    def git(*argv: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603
                ["git", "-C", str(ROOT), *argv],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout

    # Porcelain lines are "XY path": the status columns may start with a space, so no strip() first.
    changed = git("status", "--porcelain", "--", *paths)
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or None,
        "uncommitted_changes_in": [line[3:] for line in changed.splitlines() if line.strip()],
    }


# Environment variables that change how fast the same code runs: thread pools of the numeric libraries,
# the PostgreSQL driver's implementation and wait function, and the interpreter's debug modes.
SPEED_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "PSYCOPG_IMPL",
    "PSYCOPG_WAIT_FUNC",
    "PYTHONDEVMODE",
    "PYTHONMALLOC",
    "PYTHONTRACEMALLOC",
    "PYTHONOPTIMIZE",
    "COVERAGE_PROCESS_START",
)


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def drivers() -> dict[str, Any]:
    """Which implementation of the database stack this interpreter loads: psycopg's C (``binary`` or
    ``c``) or pure-Python libpq wrapper, and whether SQLAlchemy's compiled (Cython) extensions are in
    use. The pure-Python paths cost several times the CPU per query."""
    found: dict[str, Any] = {}
    try:
        import psycopg

        found["psycopg_impl"] = psycopg.pq.__impl__
        found["libpq"] = psycopg.pq.version()
    except ImportError:
        found["psycopg_impl"] = None
    try:
        from sqlalchemy.util._has_cython import HAS_CYEXTENSION

        found["sqlalchemy_compiled"] = bool(HAS_CYEXTENSION)
    except ImportError:  # older layouts
        found["sqlalchemy_compiled"] = None
    return found


def calibration(rounds: int = 3) -> dict[str, float]:
    """The best of ``rounds`` runs of a fixed pure-Python workload, as CPU ms (this thread's) and wall ms:
    how fast one core runs this interpreter right now. CPU ms that differ between two runs of the same
    code and packages mean the host gave less work per CPU second (a busy sibling hyperthread, a
    neighbour's cache traffic, a lower clock); wall ms above CPU ms mean waiting for a core."""
    import time

    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.thread_time()
        total = 0
        table: dict[int, int] = {}
        for i in range(200_000):
            table[i % 1024] = table.get(i % 1024, 0) + i
            total += len(str(i))
        best_cpu = min(best_cpu, time.thread_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return {"cpu_ms": round(best_cpu * 1000, 1), "wall_ms": round(best_wall * 1000, 1)}


def environment() -> dict[str, Any]:
    """What a run ran on, beyond the machine: package versions, the database driver's implementation,
    the Python build, the variables that change speed, the load average and a CPU calibration."""
    import sysconfig

    config_args = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    from datetime import UTC, datetime

    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **machine(),
        "cores": os.cpu_count(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "compiler": platform.python_compiler(),
            "optimized_build": "--enable-optimizations" in config_args,
            "lto": "--with-lto" in config_args,
            "executable": Path(os.path.realpath(sys.executable)).name,
        },
        "packages": {
            name: _version(name)
            for name in (
                "flask",
                "werkzeug",
                "flask-socketio",
                "python-engineio",
                "gunicorn",
                "sqlalchemy",
                "psycopg",
                "psycopg-binary",
                "psycopg-c",
                "redis",
                "greenlet",
            )
        },
        "drivers": drivers(),
        "variables": {name: os.environ.get(name) for name in SPEED_VARIABLES if name in os.environ},
        "load_average_at_start": load,
        "calibration": calibration(),
    }


def slow_paths(found: dict[str, Any]) -> list[str]:
    """The slow implementations ``drivers()`` found, each as a sentence; empty when all are fast."""
    slow = []
    if found.get("psycopg_impl") == "python":
        slow.append(
            "psycopg runs its pure-Python libpq wrapper (install psycopg[binary] at psycopg's own version)"
        )
    if found.get("sqlalchemy_compiled") is False:
        slow.append("SQLAlchemy runs without its compiled extensions (reinstall it from a wheel)")
    return slow
