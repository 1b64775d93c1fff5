"""The helper that starts server processes for tests: one failure is one error, and nothing is left."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.web.processes import free_port, launch, reap, running


def _never_listens(pid_file: Path) -> list[str]:
    script = (
        "import os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "print('starting', flush=True)\n"
        "time.sleep(600)\n"
    )
    return [sys.executable, "-c", script]


def _wait_for_text(path: Path, text: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path}"
        time.sleep(0.05)


def test_a_process_that_never_gets_ready_fails_once_and_is_reaped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    url = f"http://127.0.0.1:{free_port()}"
    reached = False
    with (
        pytest.raises(AssertionError, match=r"not ready within 3s") as failure,
        running(_never_listens(pid_file), os.environ, tmp_path / "log", url, limit=3),
    ):
        reached = True
    assert not reached  # start-up failed, so the test body never ran
    assert "starting" in str(failure.value)  # the log's tail says what the process did
    assert not Path(f"/proc/{pid_file.read_text()}").exists(), "the process outlived its failed start"


def test_a_process_that_exits_early_is_reported_without_waiting_out_the_limit(tmp_path: Path) -> None:
    crash = [sys.executable, "-c", "raise SystemExit('no database')"]
    url = f"http://127.0.0.1:{free_port()}"
    with (
        pytest.raises(AssertionError, match=r"exited with 1 before it was ready") as failure,
        running(crash, os.environ, tmp_path / "log", url, limit=600),
    ):
        pass
    assert "no database" in str(failure.value)  # reported as an exit, not as a wait run out


def test_reaping_kills_a_process_that_ignores_terminate(tmp_path: Path) -> None:
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ignoring', flush=True)\n"
        "time.sleep(600)\n",
    ]
    log = tmp_path / "log"
    process = launch(stubborn, os.environ, log)
    _wait_for_text(log, "ignoring")  # its handler is in place
    reap(process, limit=1)
    assert process.returncode == -9
