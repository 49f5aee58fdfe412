"""`grader assignment ...`: list, scaffold, lock and validate assignments."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from grader.cli._grade import assignment_or_abort, grade_and_report
from grader.cli._output import abort, console, info, print_json

if TYPE_CHECKING:
    from grader.authoring import ValidationReport
    from grader.settings import Settings

app = typer.Typer(help="List, scaffold and validate assignments.", no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the assignments in the assignments folder."""
    from grader.authoring import list_assignments
    from grader.settings import get_settings
    from grader.spec import SpecError

    settings = get_settings()
    found = list_assignments(settings.assignments_dir, ceiling=settings.limits)
    if as_json:
        print_json({"assignments": [
            {"id": name, "valid": not isinstance(a, SpecError),
             **({"error": str(a)} if isinstance(a, SpecError)
                else {"title": a.title, "version": a.version})}
            for name, a in found]})
        return
    table = Table("id", "version", "title")
    for name, a in found:
        if isinstance(a, SpecError):
            table.add_row(name, "[red]invalid[/red]", str(a))
        else:
            table.add_row(name, a.version, a.title)
    console.print(table)


@app.command()
def new(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    template: str = typer.Option(
        "blank", help="the scaffold to start from: blank, retrieval or classification"),
) -> None:
    """Scaffold a new assignment in GRADER_ASSIGNMENTS_DIR that validates as it is.

    Refused while that setting is unset: the default is this repository's own (public) folder.
    """
    from grader.authoring import new_assignment
    from grader.settings import get_settings

    settings = get_settings()
    try:
        folder = new_assignment(
            settings.assignments_dir, assignment_id, template=template,
            into_repository="assignments_dir" in settings.model_fields_set)
    except (ValueError, FileExistsError) as exc:
        abort(str(exc))
    console.print(f"created {folder}; next: grader assignment validate {assignment_id}")


@app.command()
def validate(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    schema_only: bool = typer.Option(False, "--schema-only",
                                     help="skip re-grading the recorded solutions"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Check the schema, the bundle, the instance generator, and that every recorded solution
    reproduces its scores (on the published seeds). Warnings are shown but do not fail it."""
    from grader.authoring import validate_assignment
    from grader.settings import get_settings

    settings = get_settings()
    folder = _folder(settings, assignment_id)
    if not schema_only:
        info("re-grading every baseline and the starter bundle (this runs real containers)")
    report = validate_assignment(folder, runner_image=settings.runner_image,
                                 ceiling=settings.limits, intake=settings.intake,
                                 run_solutions=not schema_only)
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        _checks_table(report)
    if not report.ok:
        abort(f"{assignment_id} is not valid")


@app.command()
def lock(assignment_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Resolve the spec's environment.packages against the runner image (CPU wheels, never a
    change to the runner's pins) and write environment.lock, with hashes, beside assignment.yaml.
    Needs the runner image and the package index (PyPI)."""
    from grader.environments import EnvironmentLockError, lock_environment
    from grader.settings import get_settings
    from grader.spec import LOCK_FILE, SpecError, read_environment

    settings = get_settings()
    folder = _folder(settings, assignment_id)
    try:
        environment = read_environment(folder)
    except SpecError as exc:
        abort(str(exc))
    if environment is None:
        abort(f"{folder / 'assignment.yaml'} has no environment block; add one, e.g. "
              'environment: {packages: ["rank-bm25"]}')
    info(f"resolving {' '.join(environment.packages)} in {settings.runner_image}")
    try:
        written = lock_environment(assignment_id, folder, environment,
                                   runner_image=settings.runner_image)
    except EnvironmentLockError as exc:
        abort(str(exc))
    pins = ", ".join(f"{p.name}=={p.version}" for p in written.packages) or \
        "nothing: the runner image already has every package"
    console.print(f"wrote {folder / LOCK_FILE}: {pins}")


def _folder(settings: Settings, assignment_id: str) -> Path:
    """The assignment's folder, even when its spec does not load: validate reports why, and
    lock mends a missing or stale lock."""
    from grader.authoring import AssignmentNotFound, find_assignment
    from grader.spec import SpecError

    try:
        _, folder = find_assignment(settings.assignments_dir, assignment_id,
                                    ceiling=settings.limits)
    except AssignmentNotFound as exc:
        abort(str(exc))
    except SpecError:
        return settings.assignments_dir / assignment_id
    return folder


def _checks_table(report: ValidationReport) -> None:
    table = Table("check", "", "detail")
    for check in report.checks:
        state = ("[green]ok[/green]" if check.ok else "[yellow]warn[/yellow]"
                 if check.severity == "warning" else "[red]FAIL[/red]")
        table.add_row(check.name, state, check.detail)
    console.print(table)


@app.command()
def bundle(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, "--out", help="the zip to write (default: ID-VERSION.zip)"),
    demo: bool = typer.Option(False, "--demo", help="the demo instance's bundle (the committed "
                              "public data), not this deployment's instance's"),
) -> None:
    """Write the starter zip of this deployment's instance, as candidates download it (refused
    if it would hold a hidden or reference file, or hidden rows)."""
    from grader.authoring import BundleRefused, build_bundle
    from grader.instance import InstanceError
    from grader.settings import get_settings

    settings = get_settings()
    if demo:
        settings = settings.model_copy(update={"demo": True})
    assignment, folder = assignment_or_abort(assignment_id)
    target = out or Path(f"{assignment.id}-{assignment.version}.zip")
    try:
        instance = settings.assignment_instance(assignment, folder)
        build_bundle(assignment, folder, target, public_data=instance.public_data,
                     instance_id=instance.instance_id, seeds=instance.seeds)
    except (BundleRefused, InstanceError) as exc:
        abort(str(exc))
    console.print(f"wrote {target} (instance {instance.instance_id})")


@app.command("try")
def try_(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    solution: Path = typer.Argument(..., exists=True, file_okay=False, metavar="SOLUTION_DIR"),
    out: Path = typer.Option(Path("report"), "--out", help="folder for report.json and .html"),
    as_json: bool = typer.Option(False, "--json", help="print the report JSON"),
    demo: bool = typer.Option(False, "--demo", help="grade on the published seeds, as validate "
                              "and the recorded baselines do, not this deployment's instance"),
) -> None:
    """Grade a folder directly, zipped the way a candidate would zip it."""
    from grader.authoring import zip_folder

    assignment, folder = assignment_or_abort(assignment_id)
    with tempfile.TemporaryDirectory(prefix="try-") as tmp:
        archive = zip_folder(solution, Path(tmp) / "submission.zip")
        grade_and_report(assignment, folder, archive, out=out, as_json=as_json, demo=demo)


@app.command()
def baseline(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    yes: bool = typer.Option(False, "--yes", "-y", help="write without asking"),
) -> None:
    """Re-run every baseline here and write the measured scores into assignment.yaml."""
    from grader.authoring import record_baselines
    from grader.settings import get_settings

    settings = get_settings()
    _, folder = assignment_or_abort(assignment_id)
    info("re-grading every baseline (this runs real containers)")
    try:
        updated, diff = record_baselines(folder, runner_image=settings.runner_image,
                                         ceiling=settings.limits, intake=settings.intake)
    except ValueError as exc:
        abort(str(exc))
    if not diff:
        console.print("the recorded scores already match this machine's")
        return
    console.print(diff, markup=False, highlight=False)
    if not yes and not typer.confirm("write these scores into assignment.yaml?"):
        abort("nothing written")
    (folder / "assignment.yaml").write_text(updated)
    console.print(f"wrote {folder / 'assignment.yaml'}")
