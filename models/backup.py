"""Backing up and restoring the database, each checked before it is trusted.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the
platform keeps running; ``PRAGMA integrity_check`` checks the copy, and a restore checks the backup
before and the database after. PostgreSQL: ``pg_dump -Fc`` on a snapshot exported from a transaction
that also counts every table's rows (so the counts are exactly what the dump holds), checked with
``pg_restore --list``; a restore (``pg_restore --clean``) runs in one transaction and compares the
row counts with those written next to the dump. Restore into a stopped platform: open connections
would see tables vanish and come back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from models.database import make_engine


class BackupError(Exception):
    """The backup or restore did not happen, or did not check out; ``str()`` says why."""


@dataclass
class Report:
    engine: str
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def backup(url: str, out: Path) -> Report:
    """Write a checked backup of the database at ``url`` to ``out`` (replaced only once it checks out)."""
    parsed = make_url(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        if parsed.get_backend_name() == "sqlite":
            report = _sqlite_backup(_sqlite_file(parsed), partial)
        elif parsed.get_backend_name() == "postgresql":
            report = _postgres_backup(url, parsed, partial)
        else:
            raise BackupError(f"no backup for {parsed.get_backend_name()} databases")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    report.path = out
    manifest = {
        "engine": report.engine,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": report.rows,
    }
    manifest_path(out).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return report


def restore(url: str, source: Path) -> Report:
    """Replace the database at ``url`` with the backup in ``source``, checking it before and after."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_restore(source, _sqlite_file(parsed))
    if parsed.get_backend_name() == "postgresql":
        return _postgres_restore(url, parsed, source)
    raise BackupError(f"no restore for {parsed.get_backend_name()} databases")


# SQLite ----------------------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(url.database)


def _integrity(connection: sqlite3.Connection, what: str) -> str:
    found = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
    if found != ["ok"]:
        raise BackupError(f"{what} fails SQLite's integrity check: {'; '.join(found[:5])}")
    return f"{what}: PRAGMA integrity_check ok"


def _sqlite_rows(connection: sqlite3.Connection) -> dict[str, int]:
    names = [
        str(row[0])
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    # Names come from the database's own catalogue, quoted as identifiers.
    return {
        name: int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])  # noqa: S608
        for name in names
    }


def _sqlite_backup(database: Path, partial: Path) -> Report:
    if not database.is_file():
        raise BackupError(f"{database}: no such SQLite database")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)
        report = Report("sqlite", partial)
        report.checks.append(_integrity(target, "the backup"))
        report.rows = _sqlite_rows(target)
    finally:
        target.close()
        source.close()
    return report


def _sqlite_restore(source: Path, database: Path) -> Report:
    report = Report("sqlite", source)
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            report.checks.append(_integrity(backup_db, "the backup"))
        except sqlite3.DatabaseError as exc:  # not a database at all
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        expected = _sqlite_rows(backup_db)
        database.parent.mkdir(parents=True, exist_ok=True)
        live = sqlite3.connect(database, timeout=30)
        try:
            # The backup API replaces every page of the live database, under its write lock.
            backup_db.backup(live)
            report.checks.append(_integrity(live, "the restored database"))
            report.rows = _sqlite_rows(live)
        finally:
            live.close()
    finally:
        backup_db.close()
    _compare(expected, report.rows)
    report.checks.append(f"row counts match the backup in all {len(expected)} tables")
    return report


# PostgreSQL ------------------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for pg_dump/pg_restore, and the environment carrying the password
    (kept out of the command line, where any user could read it)."""
    from psycopg.conninfo import make_conninfo  # installed with PostgreSQL support only

    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    conninfo = make_conninfo(
        "",
        host=url.host or "",
        port=str(url.port or ""),
        dbname=url.database or "",
        user=url.username or "",
        **params,
    )
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(command: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _listed_tables(dump: Path, env: dict[str, str]) -> set[str]:
    """The tables whose data the dump holds, as ``pg_restore --list`` reads its table of contents."""
    listing = _run(["pg_restore", "--list", str(dump)], env)
    tables = set()
    for line in listing.splitlines():
        if line.startswith(";") or " TABLE DATA " not in line:
            continue
        # "<id>; <oid> <oid> TABLE DATA <schema> <name> <owner>"
        parts = line.split(" TABLE DATA ", 1)[1].split()
        if len(parts) >= 2:
            tables.add(parts[1])
    return tables


def _postgres_backup(url: str, parsed: URL, partial: Path) -> Report:
    conninfo, env = _libpq(parsed)
    engine = make_engine(url)
    report = Report("postgresql", partial)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            # The snapshot is the transaction's own: the dump sees exactly the rows counted here.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            names = conn.scalars(
                text(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                    " AND table_type = 'BASE TABLE' ORDER BY table_name"
                )
            ).all()
            report.rows = {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608
                for name in names
            }
            command = ["pg_dump", "--format=custom", f"--file={partial}", f"--snapshot={snapshot}"]
            if schema != "public":
                # A deployment kept in a schema of its own (search_path) backs up that schema only.
                command.append(f"--schema={schema}")
            _run([*command, f"--dbname={conninfo}"], env)
    finally:
        engine.dispose()
    missing = set(report.rows) - _listed_tables(partial, env)
    if missing:
        raise BackupError(f"the dump lacks the data of {', '.join(sorted(missing))}")
    report.checks.append(f"pg_restore --list: data of all {len(report.rows)} tables present")
    return report


def _postgres_restore(url: str, parsed: URL, source: Path) -> Report:
    conninfo, env = _libpq(parsed)
    report = Report("postgresql", source)
    listed = _listed_tables(source, env)
    if not listed:
        raise BackupError(f"{source} holds no table data")
    report.checks.append(f"pg_restore --list: {len(listed)} tables in the dump")
    expected: dict[str, int] | None = None
    manifest = manifest_path(source)
    if manifest.is_file():
        expected = {str(k): int(v) for k, v in json.loads(manifest.read_text())["rows"].items()}
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(source),
        ],
        env,
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            report.rows = {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608
                for name in sorted(listed)
            }
    finally:
        engine.dispose()
    if expected is None:
        report.checks.append(f"no {manifest.name}: row counts not compared")
    else:
        _compare(expected, report.rows)
        report.checks.append(f"row counts match the backup in all {len(expected)} tables")
    return report


def _compare(expected: dict[str, int], found: dict[str, int]) -> None:
    wrong = {name: (count, found.get(name)) for name, count in expected.items() if found.get(name) != count}
    if wrong:
        detail = ", ".join(
            f"{name}: {want} expected, {got} found" for name, (want, got) in sorted(wrong.items())
        )
        raise BackupError(f"row counts differ after the restore: {detail}")
