"""What every benchmark reports alongside its figures: percentiles, the machine, the code measured."""

from __future__ import annotations

import os
import platform
import subprocess
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
