"""Tests that start real server processes: wait for readiness on a condition, and always reap.

A busy machine may take long to start a process, so the limit is generous (it is only reached when
something is wrong); every process started is terminated, waited for, and killed if it will not
stop, even when its start-up failed, so one failure is reported once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

# Seconds a process may take to become ready before the test fails; not the normal path.
START_LIMIT = float(os.environ.get("MATCHMAKER_TEST_START_SECONDS", "120"))
STOP_LIMIT = 20.0
POLL_INTERVAL = 0.2  # between readiness probes; the wait ends on the condition, not on the interval


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self, size: int = 3000) -> str:
        return tail(self.log, size)


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except FileNotFoundError:
        return "(no log)"


def reap(process: subprocess.Popen[bytes], limit: float = STOP_LIMIT) -> None:
    """Terminate, wait, and kill on timeout; its own children go too (it leads its process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=limit)


def wait_until_ready(
    process: subprocess.Popen[bytes], probe: str, log: Path, limit: float = START_LIMIT
) -> None:
    """Return once ``probe`` answers 200; fail early if the process exits, late if it never answers."""
    deadline = time.monotonic() + limit
    last = "no answer yet"
    while True:
        code = process.poll()
        if code is not None:
            raise AssertionError(f"{probe}: the process exited with {code} before it was ready:\n{tail(log)}")
        try:
            response = requests.get(probe, timeout=5)
            if response.status_code == 200:
                return
            last = f"status {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        if time.monotonic() > deadline:
            raise AssertionError(f"{probe} not ready within {limit:.0f}s ({last}):\n{tail(log)}")
        time.sleep(POLL_INTERVAL)


def launch(args: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group (so reaping it reaps its children), output to ``log``."""
    with log.open("wb") as output:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            list(args), env=dict(env), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextmanager
def running(
    args: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    url: str,
    probe_path: str = "/healthz",
    limit: float = START_LIMIT,
) -> Iterator[Started]:
    """Start ``args``, wait until ``url + probe_path`` answers, and reap the process however it ends."""
    process = launch(args, env, log)
    try:
        wait_until_ready(process, url + probe_path, log, limit)
        yield Started(process, url, log)
    finally:
        reap(process)


@contextmanager
def all_running(
    commands: Sequence[tuple[Sequence[str], Mapping[str, str], Path, str]], probe_path: str = "/healthz"
) -> Iterator[list[Started]]:
    """Start every command at once (a busy machine starts them in parallel), wait for each, reap all."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for args, env, log, _url in commands:
            processes.append(launch(args, env, log))
        for process, (_args, _env, log, url) in zip(processes, commands, strict=True):
            wait_until_ready(process, url + probe_path, log)
        yield [Started(p, c[3], c[2]) for p, c in zip(processes, commands, strict=True)]
    finally:
        for process in processes:
            reap(process)
