"""The ``matchmaker`` command: thin wrappers over models, seeds and the web app."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from models import Organization, Role, Space
from models.database import ensure_sqlite_folder, make_engine, make_session_factory
from web import config as config_module


def _database_url() -> str:
    url: str = config_module.from_environment()["DATABASE_URL"]
    ensure_sqlite_folder(url)
    return url


def _say(message: str) -> None:
    click.echo(f"  · {message}")


def _upgrade() -> None:
    from models import migrate

    url = _database_url()
    click.echo(f"Database: {_redact(url)}")
    migrate.upgrade(url)
    _say("schema is up to date")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _serve(host: str, port: int, debug: bool = False, dev: bool = False) -> None:
    """gunicorn (``web/server.py``) unless ``dev``: then Werkzeug's development server, which can
    reload and debug but is not built for production."""
    if not dev:
        from web import server

        click.echo(f"Serving on http://{host}:{port} with gunicorn, one worker (Ctrl+C to stop)")
        server.run(host, port)
        return
    from web import create_app, rankers
    from web.bookings import sweeper
    from web.extensions import socketio
    from web.mentoring import escalation
    from web.tasks import deadlines

    app = create_app()
    sweeper.start(app)
    rankers.start(app)
    deadlines.start(app)
    escalation.start(app)
    click.echo(f"Serving on http://{host}:{port} with the development server (Ctrl+C to stop)")
    socketio.run(app, host=host, port=port, debug=debug, use_reloader=False, allow_unsafe_werkzeug=True)


dev_option = click.option(
    "--dev", is_flag=True, help="Werkzeug's development server instead of gunicorn (not for production)."
)


@click.group(help="Open online platform for specialized maker spaces (专业化众创空间).")
def main() -> None:
    pass


@main.command(help="Create the database, load the demo spaces, print the demo logins and serve.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Load the demo and exit.")
@dev_option
def demo(host: str, port: int, no_serve: bool, dev: bool) -> None:
    from seeds import demo as demo_data

    _upgrade()
    click.echo("Loading the demo spaces (generated demo data, not real spaces):")
    factory = make_session_factory(make_engine(_database_url()))
    logins = demo_data.load_demo(factory, progress=_say)
    click.echo("")
    click.echo(f"Demo logins (password for all: {demo_data.DEMO_PASSWORD}):")
    for who, email in logins.rows:
        click.echo(f"  {email:<44} {who}")
    click.echo("")
    if not no_serve:
        _serve(host, port, dev=dev)


@main.command(help="Serve the platform (Socket.IO included).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="With --dev: Werkzeug's debugger.")
@dev_option
def serve(host: str, port: int, debug: bool, dev: bool) -> None:
    if debug and not dev:
        raise click.UsageError("--debug needs --dev: the production server has no debugger.")
    _serve(host, port, debug, dev)


@main.command(
    help="Release lapsed booking holds, approvals and no-shows once (serving processes also do it)."
)
def sweep() -> None:
    from web import create_app
    from web.bookings import sweeper

    count = sweeper.sweep_once(create_app())
    click.echo(f"Released {count} lapsed bookings.")


def _backup_report(report: Any) -> None:
    for check in report.checks:
        _say(check)
    _say(f"{sum(report.rows.values())} rows in {len(report.rows)} tables")


@main.command(help="Back up the database to FILE (SQLite: online backup API; PostgreSQL: pg_dump -Fc).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    from models.backup import BackupError
    from models.backup import backup as make_backup

    url = _database_url()
    click.echo(f"Backing up {_redact(url)} to {out}")
    try:
        report = make_backup(url, out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    _backup_report(report)
    click.echo(f"Backup written and checked: {out}")


@main.command(
    help="Replace the database with the backup in FILE, checked before and after. Stop serving first."
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(file: Path, yes: bool) -> None:
    from models.backup import BackupError
    from models.backup import restore as restore_backup

    url = _database_url()
    if not yes:
        click.confirm(f"Replace everything in {_redact(url)} with {file}?", abort=True)
    click.echo(f"Restoring {file} into {_redact(url)}")
    try:
        report = restore_backup(url, file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    _backup_report(report)
    click.echo("Restored and checked.")


@main.group(help="Database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Apply the migrations (creates the SQLite file on first use).")
def db_upgrade() -> None:
    _upgrade()


@main.command(help="Load one demo space by name (see --list); loading twice does no harm.")
@click.argument("name", required=False)
@click.option("--list", "list_names", is_flag=True, help="List the demo spaces.")
def seed(name: str | None, list_names: bool) -> None:
    from seeds import demo as demo_data

    names = demo_data.available()
    if list_names or not name:
        click.echo("Demo spaces: " + ", ".join(names))
        if not name:
            return
    if name not in names:
        raise click.BadParameter(
            f"unknown demo space {name!r}; choose one of: {', '.join(names)}", param_hint="NAME"
        )
    _upgrade()
    factory = make_session_factory(make_engine(_database_url()))
    demo_data.load_demo(factory, names=[name], progress=_say)
    click.echo(f"Loaded {name}.")


def _interactions(data: str | None, *, with_tasks: bool = False) -> Any:
    """The interaction data set, from a folder of files or the platform's own database, announced."""
    from matchmaker.datasets import load_dataset
    from matchmaker.errors import MatchmakerError
    from matchmaker.operations.matching import dataset_from_db

    try:
        if data:
            dataset = load_dataset(Path(data))
        else:
            with make_session_factory(make_engine(_database_url()))() as session:
                dataset = dataset_from_db(session, with_tasks=with_tasks)
    except MatchmakerError as exc:
        raise click.ClickException(f"{exc} {exc.details}") from None
    _say(
        f"{len(dataset.teams)} teams, {len(dataset.resources)} resources, {len(dataset.events)} interactions"
    )
    return dataset


data_option = click.option(
    "--data",
    type=click.Path(file_okay=False),
    help="A folder with teams, resources and interactions files (CSV or JSONL); default: this database.",
)


@main.command(help="Fit the re-ranking model on all interactions so far; saved under instance/models.")
@data_option
@click.option(
    "--queue",
    "queued",
    is_flag=True,
    help="Hand the training to `matchmaker worker` instead of fitting here.",
)
def train(data: str | None, queued: bool) -> None:
    if queued:
        _enqueue_training(data)
        return
    from matchmaker.ranking import save_model
    from matchmaker.ranking import train as fit

    ranker = fit(_interactions(data))
    if ranker.model is None and not ranker.describe()["warm"]["validation"]:
        raise click.ClickException(
            "not enough outcomes to learn from (positive and negative ones are needed)"
        )
    path = save_model(
        ranker, config_module.instance_path() / "models", trained_on=data or _redact(_database_url())
    )
    for group in ("warm", "cold"):
        choice = ranker.describe()[group]
        figures = ", ".join(f"{n} {v:.3f}" for n, v in choice["validation"].items())
        _say(f"{group} teams served by {choice['served']} (validation NDCG@10: {figures or 'none'})")
    click.echo(f"Saved {path}")


def _enqueue_training(data: str | None) -> None:
    from web import create_app, jobs
    from web.jobs.definitions import TRAIN_RANKER

    app = create_app()
    layer = jobs.layer(app)
    if layer.settings.backend != "rq":
        raise click.ClickException(
            "--queue needs the task queue (set MATCHMAKER_REDIS_URL or MATCHMAKER_JOBS_REDIS_URL); "
            "without it, train here (leave out --queue)"
        )
    kwargs = {"data": str(Path(data).resolve())} if data else {}
    key = layer.enqueue(TRAIN_RANKER, **kwargs)
    layer.stop()
    click.echo(f"Queued {key}; `matchmaker worker` will train.")


@main.command(help="Run background jobs from the task queue: scheduled sweeps, training, reports.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (schedules are not run).")
def worker(burst: bool) -> None:
    import logging

    from web import create_app
    from web.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        run_worker(create_app(), burst=burst)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command(
    help="Compare the served ranking with baselines on a time-based hold-out, warm and cold teams apart."
)
@data_option
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0.05, 0.5))
@click.option(
    "--exclude-seen",
    is_flag=True,
    help="Leave out of each team's list and relevance whatever it used before the split.",
)
@click.option(
    "--positive-min-rating",
    type=click.FloatRange(1, 5),
    help="Rated interactions below this (1-5 scale) count as not positive.",
)
@click.option(
    "--history",
    type=click.Choice(["recorded", "no-content", "content-only"]),
    default="recorded",
    show_default=True,
    help="Evaluate on the recorded history, or on a generated variant over the same teams and resources.",
)
@click.option(
    "--strict", is_flag=True, help="Exit with status 1 when the served ranking loses to a baseline."
)
@click.option(
    "--tasks",
    "with_tasks",
    is_flag=True,
    help="Rank the hosts' published tasks among the items too (this database only), as the task ranker does.",
)
def evaluate(
    data: str | None,
    k: int,
    holdout: float,
    exclude_seen: bool,
    positive_min_rating: float | None,
    history: str,
    strict: bool,
    with_tasks: bool,
) -> None:
    from matchmaker.datasets import with_positive_min_rating
    from matchmaker.offline import compare, table

    dataset = _interactions(data, with_tasks=with_tasks)
    if history != "recorded":
        from seeds.history import generate_variant

        dataset = generate_variant(dataset, history)
        _say(f"generated history {history!r}: {len(dataset.events)} interactions")
    if positive_min_rating is not None:
        dataset = with_positive_min_rating(dataset, positive_min_rating)
    if len(dataset.events) < 20:
        raise click.ClickException("too few interactions to evaluate (at least 20 are needed)")
    if not dataset.positives():
        raise click.ClickException(
            "no interaction counts as positive (check the kinds, outcomes and --positive-min-rating)"
        )
    comparison = compare(dataset, k=k, holdout=holdout, exclude_seen=exclude_seen)
    click.echo(table(comparison, k=k))
    if strict and any(loss.beyond_noise for loss in comparison.losses):
        raise click.ClickException("the served ranking loses to a baseline (--strict)")


@main.group(help="Accounts.")
def user() -> None:
    pass


@user.command("create", help="Create an account, optionally with a role in a space.")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--password", help="Prompted for when omitted.")
@click.option("--admin", is_flag=True, help="Platform admin.")
@click.option("--role", type=click.Choice([r.value for r in Role]), help="A role in --space.")
@click.option("--space", "space_slug", help="The space's slug (see `matchmaker seed --list`).")
@click.option("--organization", "org_key", help="For host staff: the organisation's key in the space.")
def user_create(
    email: str,
    display_name: str,
    password: str | None,
    admin: bool,
    role: str | None,
    space_slug: str | None,
    org_key: str | None,
) -> None:
    from matchmaker.errors import MatchmakerError
    from matchmaker.operations import accounts

    if bool(role) != bool(space_slug):
        raise click.UsageError("--role and --space go together.")
    if password is None:
        password = getpass.getpass("Password (10+ characters): ")
    factory = make_session_factory(make_engine(_database_url()))
    try:
        with factory.begin() as session:
            created = accounts.create_user(
                session, email=email, password=password, display_name=display_name, is_admin=admin
            )
            if role and space_slug:
                space = session.scalar(select(Space).where(Space.slug == space_slug))
                if space is None:
                    raise click.BadParameter(f"no space with slug {space_slug!r}", param_hint="--space")
                org = None
                if org_key:
                    org = session.scalar(
                        select(Organization).where(
                            Organization.space_id == space.id, Organization.key == org_key
                        )
                    )
                    if org is None:
                        raise click.BadParameter(
                            f"no organisation {org_key!r} in {space_slug}", param_hint="--organization"
                        )
                accounts.grant_role(
                    session, None, user=created, space=space, role=Role(role), organization=org
                )
            click.echo(f"Created {created.email} (id {created.id}).")
    except MatchmakerError as exc:
        click.echo(f"Error: {exc} {exc.details.get('fields', '')}", err=True)
        sys.exit(2)


@main.group(help="Reports a space files.")
def report() -> None:
    pass


@report.command("filing", help="The national basic information form (基础信息表) of a space as XLSX.")
@click.option("--space", "space_slug", required=True, help="The space's slug.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The .xlsx file.")
def report_filing(space_slug: str, out: Path) -> None:
    from matchmaker.operations import audit, reports
    from matchmaker.permissions import Principal

    operator = Principal(is_admin=True)  # whoever runs the command line runs the deployment
    factory = make_session_factory(make_engine(_database_url()))
    with factory.begin() as session:
        space = session.scalar(select(Space).where(Space.slug == space_slug))
        if space is None:
            raise click.BadParameter(f"no space with slug {space_slug!r}", param_hint="--space")
        found = reports.filing_report(session, operator, space.id)
        out.write_bytes(reports.filing_workbook(session, operator, space.id))
        audit.record(
            session,
            operator,
            space_id=space.id,
            action="filing_exported",
            subject=f"space:{space.id}",
            via="command_line",
        )
    click.echo(f"Wrote {out}: {len(found['fields'])} fields of the form.")
    if not found["name_check"]["ok"]:
        click.echo(f"Name: {found['name_check']['message_en']}")
    if found["missing"]:
        click.echo(f"Still missing in the profile: {', '.join(found['missing'])}")


if __name__ == "__main__":  # pragma: no cover
    main()
