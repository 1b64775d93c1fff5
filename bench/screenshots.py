"""Screenshots of the main pages: loads the demo into a fresh folder, serves it, logs in as each role
and writes PNGs of each role's main pages in Chinese and English at desktop width, and in Chinese at a
phone's width (390 px), to docs/screenshots/.

    python bench/screenshots.py [--out docs/screenshots] [--instance FOLDER]

Needs Debian's chromium (the browser tests use the same one). ``--instance`` keeps the demo database in
FOLDER, so a second run skips loading the demo.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seeds.demo import DEMO_PASSWORD  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

# Who logs in (the demo login `matchmaker demo` prints with that description) and which pages they see; a
# page is a path, or (a path, a link on it[, a query to add]) for pages whose ids the demo decides.
Target = str | tuple[str, str] | tuple[str, str, str]
# The demo's generated history ends on this day (seeds/demo.py): the cockpit is shown over its last year.
DEMO_YEAR = "start=2025-11-01&end=2026-10-31"

ROLES: dict[str, tuple[str | None, list[tuple[str, Target]]]] = {
    "visitor": (
        None,
        [
            ("spaces", "/"),
            ("catalogue", "/catalogue?q=%E6%89%AB%E6%8F%8F%E7%94%B5%E9%95%9C"),
            ("directory", "/directory"),
        ],
    ),
    "founder": (
        "founder, a team in every space",
        [
            ("home", "/home"),
            ("team", ("/home", "header a[href^='/teams/']")),
            ("bookings", "/bookings"),
            ("mentoring", "/mentoring"),
            ("tasks", "/tasks"),
        ],
    ),
    "host": (
        "host staff / 主办方人员 (ic-design)",
        [
            ("home", "/home"),
            ("equipment", "/equipment/mine"),
            ("workbench", ("/equipment/mine", "#quiet-list a[href$='/workbench']")),
            ("task-desk", "/tasks/desk"),
        ],
    ),
    "manager": (
        "space manager / 空间经理 (ic-design)",
        [
            ("home", "/home"),
            ("workbench", ("/home", "header a[href$='/workbench']")),
            ("review", ("/home", "[data-section=admissions] a")),
            ("cockpit", ("/home", "header a[href$='/cockpit']", DEMO_YEAR)),
        ],
    ),
    "mentor": (
        "mentor or investor / 导师或投资人 (ic-design)",
        [
            ("home", "/home"),
            ("matching", ("/home", "header a[href^='/resources/']")),
            ("mentoring", "/mentoring"),
        ],
    ),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_logins(instance: Path) -> dict[str, str]:
    """Load the demo unless the folder has it, and read the logins the command prints."""
    env = {**os.environ, "MATCHMAKER_INSTANCE_PATH": str(instance)}
    printed = subprocess.run(  # noqa: S603  (our own console script)
        [str(Path(sys.executable).parent / "matchmaker"), "demo", "--no-serve"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=instance.parent,
    ).stdout
    logins: dict[str, str] = {}
    for line in printed.splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2 and "@" in parts[0]:
            logins[parts[1]] = parts[0]
    return logins


@contextmanager
def serving(instance: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "MATCHMAKER_INSTANCE_PATH": str(instance),
        "MATCHMAKER_LOGIN_RATE_LIMIT": "100 per minute",
    }
    server = subprocess.Popen(  # noqa: S603  (our own console script)
        [str(Path(sys.executable).parent / "matchmaker"), "serve", "--dev", "--port", str(port)],
        env=env,
        cwd=instance.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)  # polling for the server to listen: a script, not a test
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def shoot(base: str, out: Path, logins: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for role, (who, pages) in ROLES.items():
            email = next(e for w, e in logins.items() if who in w) if who else None
            for width_name, viewport, languages in (("", DESKTOP, ("zh", "en")), ("-phone", PHONE, ("zh",))):
                context = browser.new_context(viewport=viewport, locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(30_000)
                if email:
                    page.goto(f"{base}/login?lang=zh")
                    page.fill("input[name=email]", email)
                    page.fill("input[name=password]", DEMO_PASSWORD)
                    page.click("#login-form button[type=submit]")
                    page.wait_for_url(f"{base}/home*")
                for lang in languages:
                    for name, target in pages:
                        if isinstance(target, tuple):
                            page.goto(f"{base}{target[0]}")
                            path = str(page.locator(target[1]).first.get_attribute("href"))
                            if len(target) == 3:
                                path = f"{path}?{target[2]}"
                        else:
                            path = target
                        joiner = "&" if "?" in path else "?"
                        page.goto(f"{base}{path}{joiner}lang={lang}")
                        page.wait_for_load_state("networkidle")
                        file = out / f"{role}-{name}-{lang}{width_name}.png"
                        page.screenshot(path=str(file), full_page=False)
                        written.append(file)
                context.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--instance", type=Path, default=None)
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("Debian's chromium is needed (apt-get install chromium).")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        instance = (args.instance or Path(scratch) / "instance").resolve()
        instance.mkdir(parents=True, exist_ok=True)
        logins = demo_logins(instance)
        with serving(instance) as base:
            written = shoot(base, args.out, logins)
    for file in written:
        print(file.relative_to(ROOT) if file.is_relative_to(ROOT) else file)


if __name__ == "__main__":
    main()
