"""`grader sandbox ...`: build, check and try the container sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast, get_args

import typer

from grader.cli._output import abort, checks_table, console, info, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from grader.settings import Settings
    from grader.spec import Assignment
    from sandbox._doctor import Probe
    from sandbox._limits import Runtime

app = typer.Typer(help="Build, check and try the hardened container sandbox.",
                  no_args_is_help=True)

JsonOption = typer.Option(False, "--json", help="print JSON for scripts")
# A plain string, checked where it is used: naming sandbox's Runtime here would load the
# container backend for every command, `grader --help` included.
RuntimeOption = typer.Option(None, "--runtime",
                             help="runc or runsc (gVisor); default: the deployment's setting")
AssignmentOption = typer.Option(None, "--assignment", "-a", metavar="ID",
                                help="the assignment whose environment (assignment.yaml's "
                                     "environment block) to use")


def _runtime(name: str) -> Runtime:
    from sandbox._limits import Runtime

    known = get_args(Runtime)
    if name not in known:
        abort(f"--runtime {name!r} is not a container runtime the sandbox knows; choose one of "
              f"{', '.join(known)}")
    return cast("Runtime", name)


@app.command()
def build(as_json: bool = JsonOption, assignment_id: str | None = AssignmentOption) -> None:
    """Build the runner image (cached: a rebuild with nothing changed takes seconds), or with
    --assignment the image of that assignment's environment, on the runner image."""
    import sandbox
    from grader.settings import get_settings

    settings = get_settings()
    if assignment_id is not None:
        _build_environment(settings, assignment_id, as_json)
        return
    try:
        built = sandbox.build_runner_image(tag=settings.runner_image,
                                           base_image=settings.base_image,
                                           debian_mirror=settings.debian_mirror,
                                           log=info)
    except sandbox.SandboxError as exc:
        abort(str(exc))
    if as_json:
        print_json({"tag": built.tag, "digest": built.digest, "base_image": built.base_image,
                    "torch_source": built.torch_source})
    else:
        console.print(f"built [bold]{built.tag}[/bold] {built.digest} (base {built.base_image})")


def _build_environment(settings: Settings, assignment_id: str, as_json: bool) -> None:
    import sandbox
    from grader.cli._grade import assignment_or_abort
    from grader.spec import LOCK_FILE

    assignment, folder = assignment_or_abort(assignment_id)
    if assignment.environment is None:
        abort(f"{assignment_id} has no environment block; it runs in {settings.runner_image}")
    try:
        built = sandbox.ensure_derived_image(
            base_image=settings.runner_image,
            lock_text=(folder / LOCK_FILE).read_text(encoding="utf-8"), log=info)
    except sandbox.SandboxError as exc:
        abort(str(exc))
    if as_json:
        print_json({"assignment": assignment_id, "tag": built.tag, "digest": built.digest,
                    "base_digest": built.base_digest, "built": built.built})
    else:
        done = "built" if built.built else "already built (the lock is unchanged)"
        console.print(f"{assignment_id}: {done}: [bold]{built.tag}[/bold] {built.digest}")


@app.command()
def doctor(as_json: bool = JsonOption, runtime: str | None = RuntimeOption) -> None:
    """Check the engine, the runner image, that each hardening option takes effect here, and
    each assignment's environment image once built (from its lock, its packages importable)."""
    from grader.settings import get_settings
    from sandbox._doctor import run_doctor

    settings = get_settings()
    chosen = _runtime(runtime) if runtime else settings.limits.runtime
    report = run_doctor(image=settings.runner_image, runtime=chosen)
    environments = _environment_probes(settings, report.image_digest, chosen)
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok,
                    "environments": {name: [p.model_dump(mode="json") for p in probes]
                                     for name, probes in environments.items()}})
    else:
        console.print(f"engine: {report.engine or '[red]not answering[/red]'}")
        console.print(f"runner image: {report.image} {report.image_digest or '[red]missing[/red]'}")
        checks_table(((p.name, p.ok, p.detail) for p in report.probes), title="probe")
        for name, probes in environments.items():
            checks_table(((p.name, p.ok, p.detail) for p in probes),
                         title=f"environment of {name}")
    if not report.ok:
        failed = ", ".join(p.name for p in report.probes if not p.ok) or "engine"
        abort(f"sandbox hardening is not effective on this host: {failed}")
    broken = [name for name, probes in environments.items() if not all(p.ok for p in probes)]
    if broken:
        abort(f"assignment environments with a failing check: {', '.join(broken)} (see their "
              "rows above)")


def _environment_probes(settings: Settings, runner_digest: str | None,
                        runtime: Runtime) -> dict[str, list[Probe]]:
    """Each valid assignment's environment, probed once built, by assignment id (none without a
    runner image)."""
    from grader.environments import probe_environment, used_environments

    if runner_digest is None:
        return {}
    return {used.assignment_id: probe_environment(used, runtime=runtime)
            for used in used_environments(_valid_assignments(settings),
                                          runner_digest=runner_digest)}


def _valid_assignments(settings: Settings) -> list[tuple[Assignment, Path]]:
    """The assignments whose spec loads, with their folders: one that does not load has no
    environment to check or keep (``grader assignment list`` says why it does not load)."""
    from grader.authoring import list_assignments
    from grader.spec import SpecError

    return [(a, settings.assignments_dir / name)
            for name, a in list_assignments(settings.assignments_dir, ceiling=settings.limits)
            if not isinstance(a, SpecError)]


@app.command()
def prune(as_json: bool = JsonOption) -> None:
    """Remove environment images no assignment uses any more (an old lock, an old runner
    image); never the runner image or any image this grader did not build."""
    import sandbox
    from grader.environments import unused_environment_images
    from grader.settings import get_settings

    settings = get_settings()
    try:
        unused = unused_environment_images(_valid_assignments(settings),
                                           runner_image=settings.runner_image)
        for image in unused:
            sandbox.remove_derived_image(image.id)
    except sandbox.SandboxError as exc:
        abort(str(exc))
    if as_json:
        print_json({"removed": [{"id": i.id, "tags": list(i.tags), "size_bytes": i.size_bytes}
                                for i in unused]})
        return
    for image in unused:
        console.print(f"removed {', '.join(image.tags) or image.id} "
                      f"({image.size_bytes / 1e9:.2f} GB with the layers it shares)")
    console.print(f"removed {len(unused)} environment image(s) no assignment uses")


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    command: list[str] = typer.Argument(..., help="the command to run, after --"),
    memory: str | None = typer.Option(None, help="memory limit, e.g. 512m"),
    cpus: float | None = typer.Option(None, help="CPU quota in cores"),
    timeout: float | None = typer.Option(None, help="wall-clock limit in seconds"),
    pids: int | None = typer.Option(None, help="process and thread limit"),
    runtime: str | None = RuntimeOption,
    as_json: bool = JsonOption,
    assignment_id: str | None = AssignmentOption,
) -> None:
    """Run a command in a fresh hardened container from the runner image (or, with
    --assignment, that assignment's environment, built first when missing) and report how it
    went."""
    import sandbox
    from grader.settings import get_settings

    settings = get_settings()
    image = settings.runner_image
    if assignment_id is not None:
        from grader.cli._grade import assignment_or_abort
        from grader.environments import environment_image

        assignment, folder = assignment_or_abort(assignment_id)
        try:
            image = environment_image(assignment, folder, runner_image=image, log=info)
        except sandbox.SandboxError as exc:
            abort(str(exc))
    overrides = {name: value for name, value in
                 {"memory": memory, "cpus": cpus, "timeout": timeout, "pids": pids,
                  "runtime": _runtime(runtime) if runtime else None}.items()
                 if value is not None}
    try:
        limits = settings.limits.tightened(**overrides)
    except ValueError as exc:
        abort(f"invalid limits: {exc}")
    result = sandbox.run_command(command, image=image, limits=limits)
    if as_json:
        print_json(result)
    else:
        if result.stdout.text:
            console.out(result.stdout.text, end="")
        if result.stderr.text:
            console.out(result.stderr.text, end="", style="dim")
        usage = (f"{result.wall_seconds:.2f} s wall, "
                 f"{result.cpu_seconds if result.cpu_seconds is not None else '?'} s CPU, "
                 f"peak {result.peak_memory_bytes or '?'} bytes")
        info(f"{result.outcome.value} (exit {result.exit_code}): {result.message}; {usage}")
    if not result.ok:
        raise typer.Exit(1 if result.outcome is not sandbox.Outcome.INFRASTRUCTURE_ERROR else 3)
