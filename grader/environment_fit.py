"""What a candidate meets of an assignment's environment: the packages it offers, and how a
submission's imports and ``requirements.txt`` fit it. One place for three questions:

- **Which packages are available** (``available_packages``): read from the locks the environment
  is built from, the runner image's ``runner.lock`` and the assignment's ``environment.lock``
  (``grader.spec``), and written into the starter bundle's README when the bundle is made
  (``readme_with_packages``), so the list is the image's and cannot drift from it. Only names and
  versions are copied, never a lock's comments.
- **Which modules the image provides** (``provided_by``): asked of the environment's image itself
  (``importlib.metadata``: each installed distribution's version and the top-level modules it
  installs), since a distribution's name is not its module's (scikit-learn installs sklearn).
  An image's content never changes under its digest, so the answer is kept per digest: in the
  process, and on disk under the data directory (``DATA_DIR/image-modules/<digest>.json``),
  since every grading runs in a process of its own and asking costs a container run.
- **What a warm session may import ahead** (``session_preload``): the runner's heavy packages
  and the modules of the distributions the assignment's lock installs, as the image reports them
  (faiss for faiss-cpu, Stemmer for pystemmer), so nothing is listed by hand.
- **How a submission fits** (``fit``): its imports read with ``ast``, never executed (every
  ``import``/``from ... import`` anywhere in a file, and ``importlib.import_module("x")``), less
  relative imports, the standard library (``sys.stdlib_module_names``; host and image run the
  same Python minor version) and the submission's own modules (a ``.py`` file or a folder of that
  name anywhere in it), compared with what the image provides. An import guarded by ``try: ...
  except ImportError`` (or under ``if TYPE_CHECKING:``) is marked optional. A ``requirements.txt``
  at the submission's root is compared line by line with the installed versions (parsed with
  ``packaging``; a line it cannot parse is listed as such). Nothing is ever installed from it.

Exceptions:

    EnvironmentUnreadable   the image could not be asked what it provides (the grader's problem,
                            never the candidate's)
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import sandbox
from grader.environments import environment_image
from grader.signals._common import MAX_TEXT_BYTES, Tree, read_regular_file, scan
from grader.spec import Assignment, logical_lines, read_lock, request_name, strip_comment
from sandbox._image import recipe_paths

if TYPE_CHECKING:
    from grader.settings import Settings

__all__ = [
    "PACKAGES_HEADING",
    "AvailablePackages",
    "EnvironmentFit",
    "EnvironmentUnreadable",
    "FoundImport",
    "ImportSite",
    "Package",
    "ProvidedModules",
    "RequirementLine",
    "UnavailableImport",
    "absolute_imports",
    "available_packages",
    "bundle_readme",
    "compare_requirements",
    "environment_modules",
    "find_imports",
    "fit",
    "provided_by",
    "session_preload",
]

MAX_USES = 5
REQUIREMENTS_FILE = "requirements.txt"
MAX_REQUIREMENT_LINES = 200
PROVIDED_CACHE_DIR = "image-modules"  # under the data directory
# Run inside the image: what ``importlib.metadata`` knows of every installed distribution.
_PROBE = """\
import importlib.metadata as m, json
print(json.dumps({"modules": m.packages_distributions(),
                  "distributions": {d.metadata["Name"]: d.version for d in m.distributions()}}))
"""
_PROBE_LIMITS = sandbox.Limits(memory=512 * 1024**2, timeout=60.0)
# The libraries a candidate looks for first, listed before the rest of the runner's lock; which
# of them an image has still comes from its lock.
MACHINE_LEARNING = ("torch", "scikit-learn", "numpy", "scipy", "pandas", "transformers",
                    "sentence-transformers", "tokenizers", "datasets", "safetensors",
                    "huggingface-hub", "pyarrow")
PACKAGES_HEADING = "## Packages in the sandbox"
README_NAMES = ("README.md", "README.txt", "README")


class EnvironmentUnreadable(Exception):
    """The environment's image could not be asked which modules it provides."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- the packages an environment offers ------------------------------------------------------

class Package(_Model):
    name: str = Field(description="the distribution's canonical name")
    version: str


class AvailablePackages(_Model):
    """What an assignment's environment installs, from its locks, in the groups the README
    lists them in."""

    machine_learning: list[Package]
    assignment: list[Package] = Field(
        description="the packages the assignment's environment block asks for")
    assignment_dependencies: list[Package] = Field(
        description="what its lock installs with them (dependencies the runner image lacks)")
    other: list[Package] = Field(description="the rest of the runner image: dependencies, tools")


def available_packages(assignment: Assignment, folder: Path) -> AvailablePackages:
    """The runner image's lock and, when the assignment has an environment, its lock beside
    ``assignment.yaml`` (``grader.spec.read_lock``; the spec check has read it already)."""
    runner = _runner_packages(recipe_paths()[1])
    extra = list(read_lock(folder).packages) if assignment.environment is not None else []
    requested = ({request_name(r) for r in assignment.environment.packages}
                 if assignment.environment is not None else set())
    by_name = {p.name: p for p in runner}
    return AvailablePackages(
        machine_learning=[by_name[name] for name in MACHINE_LEARNING if name in by_name],
        assignment=[Package(name=p.name, version=p.version) for p in extra
                    if p.name in requested],
        assignment_dependencies=[Package(name=p.name, version=p.version) for p in extra
                                 if p.name not in requested],
        other=[p for p in runner if p.name not in MACHINE_LEARNING])


def _runner_packages(lock: Path) -> list[Package]:
    """The runner's lock: ``name==version`` lines (comments aside), sorted by name."""
    found = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (pin,) = requirement.specifier
        found.append(Package(name=canonicalize_name(requirement.name), version=pin.version))
    return sorted(found, key=lambda p: p.name)


def bundle_readme(assignment: Assignment, folder: Path) -> tuple[str, str]:
    """The starter bundle's README (its name in the bundle, and its text) with the environment's
    packages listed at its end; a bundle without one gets a README.md of the title, the summary
    and the list."""
    bundle = folder / assignment.candidate.bundle
    name = next((n for n in README_NAMES if (bundle / n).is_file()), README_NAMES[0])
    text = ((bundle / name).read_text(encoding="utf-8", errors="replace")
            if (bundle / name).is_file() else f"# {assignment.title}\n\n{assignment.summary}\n")
    return name, f"{text.rstrip()}\n\n{_packages_markdown(available_packages(assignment, folder))}"


def _packages_markdown(available: AvailablePackages) -> str:
    groups = [("Machine learning", available.machine_learning),
              ("Added for this assignment", available.assignment),
              ("Installed with them (their dependencies)", available.assignment_dependencies),
              ("Everything else (dependencies and tools)", available.other)]
    lines = [PACKAGES_HEADING, "",
             "Your code runs offline with exactly these packages and versions, on Python 3.11 "
             "(CPU only). Nothing else can be installed: a `requirements.txt` in your submission "
             "is compared with this list (the pre-flight check shows the difference), never "
             "installed. The list is made from the environment's own lock files.", ""]
    for title, packages in groups:
        if packages:
            pins = ", ".join(f"`{p.name}=={p.version}`" for p in packages)
            lines.append(f"- **{title}:** {pins}")
    return "\n".join(lines) + "\n"


# --- what the image provides ----------------------------------------------------------------

class ProvidedModules(_Model):
    """What an environment's image has installed, as ``importlib.metadata`` reports it there."""

    image_digest: str
    modules: dict[str, list[str]] = Field(
        description="each top-level importable name, with the distributions that install it")
    distributions: dict[str, str] = Field(
        description="each installed distribution (canonical name) with its version")


_provided: dict[str, ProvidedModules] = {}
_provided_lock = threading.Lock()


def provided_by(image: str, *, data_dir: Path | None = None) -> ProvidedModules:
    """What ``image`` provides, asked of the image once per digest: kept in this process and,
    with ``data_dir``, in a file there that later processes read instead of starting a container.
    Raises ``EnvironmentUnreadable`` when the image is missing or the probe fails."""
    try:
        digest = sandbox.image_digest(image)
    except sandbox.SandboxError as exc:
        raise EnvironmentUnreadable(f"cannot look up the image {image}: {exc}") from exc
    if digest is None:
        raise EnvironmentUnreadable(f"the image {image} is missing; run `grader sandbox build`")
    with _provided_lock:
        if digest in _provided:
            return _provided[digest]
    cached = None if data_dir is None else _cache_path(data_dir, digest)
    provided = _read_cache(cached, digest) if cached is not None else None
    if provided is None:
        provided = _ask_image(image, digest)
        if cached is not None:
            _write_cache(cached, provided)
    with _provided_lock:
        _provided[digest] = provided
    return provided


def _ask_image(image: str, digest: str) -> ProvidedModules:
    result = sandbox.run_command(["python3", "-c", _PROBE], image=digest, limits=_PROBE_LIMITS)
    if not (result.ok and result.exit_code == 0) or result.stdout.truncated:
        raise EnvironmentUnreadable(f"asking {image} for its installed packages failed: "
                                    f"{result.message}; {result.stderr.text[-500:]}")
    try:
        raw = json.loads(result.stdout.text)
        return ProvidedModules(
            image_digest=digest,
            modules={name: sorted({canonicalize_name(d) for d in dists})
                     for name, dists in raw["modules"].items()},
            distributions={canonicalize_name(name): version
                           for name, version in raw["distributions"].items()})
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise EnvironmentUnreadable(f"{image} answered what is not a package list: "
                                    f"{exc}") from exc


def _cache_path(data_dir: Path, digest: str) -> Path:
    # The digest names a file: only ever the engine's sha256 form.
    found = re.fullmatch(r"sha256:([0-9a-f]{64})", digest)
    if found is None:
        raise EnvironmentUnreadable(f"{digest!r} is not an image digest (sha256:<64 hex>)")
    return data_dir / PROVIDED_CACHE_DIR / f"{found.group(1)}.json"


def _read_cache(path: Path, digest: str) -> ProvidedModules | None:
    """The kept answer, or None when there is none or it cannot be read (a crash mid-write on
    a filesystem without atomic rename, a disk error, an edit): it is asked again and rewritten."""
    try:
        provided = ProvidedModules.model_validate_json(path.read_bytes())
    except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
        return None
    return provided if provided.image_digest == digest else None


def _write_cache(path: Path, provided: ProvidedModules) -> None:
    """Written to a temporary file and renamed, so a reader never sees half of it. A cache that
    cannot be written only costs the next process a container run."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(provided.model_dump_json())
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise


def environment_modules(assignment: Assignment, folder: Path, provided: ProvidedModules
                        ) -> tuple[str, ...]:
    """The top-level modules installed by the distributions of ``assignment``'s lock, as the
    image ``provided`` reports them (sorted; none without an environment)."""
    if assignment.environment is None:
        return ()
    locked = {p.name for p in read_lock(folder).packages}
    # A preload names top-level modules only; a distribution's odd entries (a data folder)
    # are no module a candidate imports.
    return tuple(sorted(name for name, dists in provided.modules.items()
                        if locked.intersection(dists) and name.isidentifier()))


def session_preload(settings: Settings, assignment: Assignment, folder: Path
                    ) -> tuple[str, ...]:
    """What each sandbox session of ``assignment`` may import ahead: the runner's packages and
    what its environment adds (``Settings.session_preload`` decides whether any). Raises
    ``EnvironmentUnreadable`` when the image cannot be built (pip's output in the message) or
    asked."""
    try:  # a missing environment image is built here, as the grading would
        image = environment_image(assignment, folder, runner_image=settings.runner_image)
    except (sandbox.SandboxError, OSError) as exc:
        raise EnvironmentUnreadable(str(exc)) from exc
    # Asked even without an environment: the grading's import check (``fit``) asks the same
    # image next in this process, and so finds the answer kept, not a container to start.
    provided = provided_by(image, data_dir=settings.data_dir)
    return settings.session_preload(environment_modules(assignment, folder, provided))


# --- a submission's imports -----------------------------------------------------------------

class ImportSite(_Model):
    path: str = Field(description="a file of the submission, relative to its root")
    line: int


class FoundImport(_Model):
    module: str = Field(description="the top-level name imported")
    use: ImportSite
    optional: bool = Field(description="guarded by try/except ImportError or TYPE_CHECKING")


class Imports(_Model):
    """The third-party imports of a submission's Python files, in file and line order."""

    found: list[FoundImport]
    unreadable: list[str] = Field(
        description="Python files that could not be parsed, so were not read for imports")


def find_imports(tree: Tree) -> Imports:
    """Absolute imports of modules that are neither the standard library's nor the
    submission's own (see the module docstring)."""
    local = _local_modules(tree)
    found: list[FoundImport] = []
    unreadable: list[str] = []
    for source in tree.python:
        try:
            module = ast.parse(source.text, filename=source.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
            unreadable.append(f"{source.path}{where}")
            continue
        for name, line, optional in absolute_imports(module):
            if name in sys.stdlib_module_names or name in local or name == "__main__":
                continue
            found.append(FoundImport(module=name, optional=optional,
                                     use=ImportSite(path=source.path, line=line)))
    return Imports(found=found, unreadable=unreadable)


def _local_modules(tree: Tree) -> set[str]:
    local = set()
    for source in tree.python:
        parts = PurePosixPath(source.path).parts
        local.add(parts[-1].removesuffix(".py"))
        local.update(parts[:-1])
    return local


def absolute_imports(module: ast.Module) -> list[tuple[str, int, bool]]:
    """(top-level name, line, guarded) for each absolute import, and import_module("x") calls."""
    guarded: set[int] = set()
    for node in ast.walk(module):
        guarding_try = isinstance(node, ast.Try | ast.TryStar) and any(
            _catches_import_error(h.type) for h in node.handlers)
        type_checking = isinstance(node, ast.If) and _is_type_checking(node.test)
        if isinstance(node, ast.Try | ast.TryStar | ast.If) and (guarding_try or type_checking):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(module):
        if not isinstance(node, ast.stmt | ast.expr):  # the nodes an import can be
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names = [first.value]
        for name in names:
            top = name.split(".")[0]
            if top.isidentifier():
                found.append((top, node.lineno, id(node) in guarded))
    return sorted(found, key=lambda item: item[1])


def _catches_import_error(handler: ast.expr | None) -> bool:
    if handler is None:
        return True
    names = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError",
                                                     "Exception", "BaseException")
               for n in names)


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _is_import_call(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Name) and func.id in ("__import__", "import_module"))
            or (isinstance(func, ast.Attribute) and func.attr == "import_module"))


# --- a submission's requirements.txt --------------------------------------------------------

class RequirementLine(_Model):
    line: int = Field(description="its line number in requirements.txt")
    text: str
    status: Literal["available", "differs", "missing", "unreadable"] = Field(
        description="available: installed in a version it allows; differs: installed in another "
                    "version; missing: not installed; unreadable: not a requirement packaging "
                    "can parse (pip options such as -r or -e are not read either)")
    installed: str | None = Field(description="the version the environment has, if any")


def compare_requirements(text: str, distributions: dict[str, str]) -> list[RequirementLine]:
    """Each requirement of ``text`` (requirements.txt) against the installed ``distributions``
    (canonical name to version). Comments and blank lines are left out; a line that is not a
    requirement is ``unreadable``, never an error."""
    compared = []
    for number, line in _requirement_lines(text)[:MAX_REQUIREMENT_LINES]:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            compared.append(RequirementLine(line=number, text=line[:200], status="unreadable",
                                            installed=None))
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # meant for another platform or Python; the host is the image's
        installed = distributions.get(canonicalize_name(requirement.name))
        compared.append(RequirementLine(line=number, text=line[:200], installed=installed,
                                        status=_status(requirement, installed)))
    return compared


def _requirement_lines(text: str) -> list[tuple[int, str]]:
    """pip's view of the lines: comments off, continuations joined, a requirement's own options
    (``--hash=...``) set aside; each with the number it starts on."""
    lines: list[tuple[int, str]] = []
    for number, joined in logical_lines(text):
        line = strip_comment(joined)
        if line:
            lines.append((number, line if line.startswith("-") else
                          line.split(" --", 1)[0].strip()))
    return lines


def _status(requirement: Requirement, installed: str | None
            ) -> Literal["available", "differs", "missing"]:
    if installed is None:
        return "missing"
    try:
        allowed = requirement.specifier.contains(Version(installed), prereleases=True)
    except InvalidVersion:
        allowed = False
    return "available" if allowed else "differs"


# --- the whole answer -----------------------------------------------------------------------

class UnavailableImport(_Model):
    module: str = Field(description="the top-level name imported")
    optional: bool = Field(description="every import of it is guarded (try/except ImportError)")
    used_in: list[ImportSite] = Field(description=f"the first {MAX_USES} places")


class EnvironmentFit(_Model):
    """How a submission fits the environment it runs in; made from its files and the image's
    package list only, so nothing hidden is in it."""

    missing_imports: list[UnavailableImport] = Field(
        description="imports the environment does not provide")
    unreadable_files: list[str] = Field(
        default_factory=list, description="Python files not read for imports (a syntax error)")
    requirements: list[RequirementLine] = Field(
        default_factory=list, description="requirements.txt compared with the environment "
                                          "(empty without one); nothing is installed from it")
    message: str


def fit(submission_dir: Path, provided: ProvidedModules) -> EnvironmentFit:
    """How the submission in ``submission_dir`` fits the environment ``provided`` describes."""
    imports = find_imports(scan(submission_dir))
    uses: dict[str, list[ImportSite]] = defaultdict(list)
    required: set[str] = set()
    for found in imports.found:
        if found.module not in provided.modules:
            uses[found.module].append(found.use)
            if not found.optional:
                required.add(found.module)
    missing = [UnavailableImport(module=name, optional=name not in required,
                             used_in=uses[name][:MAX_USES]) for name in sorted(uses)]
    data = read_regular_file(submission_dir / REQUIREMENTS_FILE, MAX_TEXT_BYTES)
    requirements = ([] if data is None else compare_requirements(
        data.decode("utf-8", errors="replace"), provided.distributions))
    return EnvironmentFit(missing_imports=missing, unreadable_files=imports.unreadable,
                          requirements=requirements, message=_message(missing, requirements))


def _message(missing: list[UnavailableImport], requirements: list[RequirementLine]) -> str:
    required = [m.module for m in missing if not m.optional]
    sentences = []
    if required:
        sentences.append(f"Your code imports {', '.join(required)}, which this environment does "
                         "not provide: the import fails when the grader runs it.")
    elif missing:
        sentences.append(f"Your optional imports of {', '.join(m.module for m in missing)} "
                         "find nothing here; the code's fallback runs instead.")
    else:
        sentences.append("Every import of your code is provided by the environment, the "
                         "standard library or your own files.")
    unmet = [r for r in requirements if r.status != "available"]
    if unmet:
        sentences.append(f"{len(unmet)} line(s) of your {REQUIREMENTS_FILE} differ from the "
                         "environment (listed below); nothing is installed from it.")
    return " ".join(sentences)
