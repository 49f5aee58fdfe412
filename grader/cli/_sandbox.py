"""`grader sandbox ...`: build, check and try the container sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast, get_args

import typer

from grader.cli._output import abort, checks_table, console, info, print_json

if TYPE_CHECKING:
    from sandbox._limits import Runtime

app = typer.Typer(help="Build, check and try the hardened container sandbox.",
                  no_args_is_help=True)

JsonOption = typer.Option(False, "--json", help="print JSON for scripts")
# A plain string, checked where it is used: naming sandbox's Runtime here would load the
# container backend for every command, `grader --help` included.
RuntimeOption = typer.Option(None, "--runtime",
                             help="runc or runsc (gVisor); default: the deployment's setting")


def _runtime(name: str) -> Runtime:
    from sandbox._limits import Runtime

    known = get_args(Runtime)
    if name not in known:
        abort(f"--runtime {name!r} is not a container runtime the sandbox knows; choose one of "
              f"{', '.join(known)}")
    return cast("Runtime", name)


@app.command()
def build(as_json: bool = JsonOption) -> None:
    """Build the runner image (cached: a rebuild with nothing changed takes seconds)."""
    import sandbox
    from grader.settings import get_settings

    settings = get_settings()
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


@app.command()
def doctor(as_json: bool = JsonOption, runtime: str | None = RuntimeOption) -> None:
    """Check the engine, the runner image, and that each hardening option takes effect here."""
    from grader.settings import get_settings
    from sandbox._doctor import run_doctor

    settings = get_settings()
    report = run_doctor(image=settings.runner_image,
                        runtime=_runtime(runtime) if runtime else settings.limits.runtime)
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        console.print(f"engine: {report.engine or '[red]not answering[/red]'}")
        console.print(f"runner image: {report.image} {report.image_digest or '[red]missing[/red]'}")
        checks_table(((p.name, p.ok, p.detail) for p in report.probes), title="probe")
    if not report.ok:
        failed = ", ".join(p.name for p in report.probes if not p.ok) or "engine"
        abort(f"sandbox hardening is not effective on this host: {failed}")


@app.command(context_settings={"allow_interspersed_args": False})
def run(
    command: list[str] = typer.Argument(..., help="the command to run, after --"),
    memory: str | None = typer.Option(None, help="memory limit, e.g. 512m"),
    cpus: float | None = typer.Option(None, help="CPU quota in cores"),
    timeout: float | None = typer.Option(None, help="wall-clock limit in seconds"),
    pids: int | None = typer.Option(None, help="process and thread limit"),
    runtime: str | None = RuntimeOption,
    as_json: bool = JsonOption,
) -> None:
    """Run a command in a fresh hardened container from the runner image and report how it went."""
    import sandbox
    from grader.settings import get_settings

    settings = get_settings()
    overrides = {name: value for name, value in
                 {"memory": memory, "cpus": cpus, "timeout": timeout, "pids": pids,
                  "runtime": _runtime(runtime) if runtime else None}.items()
                 if value is not None}
    try:
        limits = settings.limits.tightened(**overrides)
    except ValueError as exc:
        abort(f"invalid limits: {exc}")
    result = sandbox.run_command(command, image=settings.runner_image, limits=limits)
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
