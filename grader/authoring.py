"""Assignments as folders: finding them, scaffolding a new one, and validating one end to end."""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import ruamel.yaml
from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap

import sandbox
from grader.environment_fit import bundle_readme
from grader.environments import probe_environment, used_environments
from grader.instance import (
    Instance,
    InstanceError,
    demo_instance,
    exposure,
    load_generator,
    public_files,
)
from grader.intake import IntakeRules
from grader.integrity import MIN_ITEMS_FOUND, File, find_copies, item_texts
from grader.intervals import MIN_ITEMS
from grader.pipeline import InfrastructureError, grade_zip
from grader.report import Report
from grader.settings import BUILT_IN_ASSIGNMENTS
from grader.spec import NAME_PATTERN, Assignment, SpecError, load_assignment

__all__ = [
    "AssignmentNotFound",
    "BundleRefused",
    "Check",
    "PublicFolderRefused",
    "ValidationReport",
    "build_bundle",
    "bundle_files",
    "find_assignment",
    "hidden_split_overlap",
    "list_assignments",
    "new_assignment",
    "record_baselines",
    "validate_assignment",
    "with_scores",
    "zip_folder",
]

TEMPLATES = Path(__file__).parent / "templates" / "assignment"
_ID = re.compile(NAME_PATTERN)

# Metrics named like the report's run-to-run measurements (see grader.report): timings never
# reproduce, so validate requires them to be measured but does not compare their values.
TIMING_SUFFIXES = ("_ms", "_seconds")
# Scores are recorded with this many decimals and compared at the same precision, so a metric
# like 0.78666... reproduces its recorded 0.786667 even at tolerance 0.
RECORDED_DIGITS = 6


class AssignmentNotFound(Exception):
    pass


class BundleRefused(Exception):
    """The candidate bundle would carry a file of hidden/ or reference/."""


def list_assignments(root: Path, *, ceiling: sandbox.Limits
                     ) -> list[tuple[str, Assignment | SpecError]]:
    """Every folder with an assignment.yaml under root, parsed or with the reason it is not;
    ``ceiling`` is the deployment's limits, which phase limits may only lower."""
    found: list[tuple[str, Assignment | SpecError]] = []
    for folder in _assignment_folders(root):
        try:
            found.append((folder.name, load_assignment(folder, ceiling=ceiling)))
        except SpecError as exc:
            found.append((folder.name, exc))
    return found


def find_assignment(root: Path, assignment_id: str, *, ceiling: sandbox.Limits
                    ) -> tuple[Assignment, Path]:
    folder = root / assignment_id
    if not _ID.match(assignment_id) or not (folder / "assignment.yaml").is_file():
        known = ", ".join(folder.name for folder in _assignment_folders(root)) or "none"
        raise AssignmentNotFound(f"no assignment {assignment_id!r} in {root} (known: {known})")
    return load_assignment(folder, ceiling=ceiling), folder


def _assignment_folders(root: Path) -> list[Path]:
    return sorted(spec.parent for spec in root.glob("*/assignment.yaml"))


class PublicFolderRefused(ValueError):
    """``assignment new`` was about to write hidden code into this repository's own folder."""


def new_assignment(root: Path, assignment_id: str, *, template: str = "blank",
                   into_repository: bool = False) -> Path:
    """Copy a template into root/ID; the result validates as it is.

    This repository's own ``assignments/`` folder is public: a new assignment's hidden tests,
    generator and reference solutions written there are one ``git push`` from every candidate.
    So ``root`` may be that folder only when ``into_repository`` says it was chosen on purpose
    (``GRADER_ASSIGNMENTS_DIR`` set to it, to add a built-in assignment).
    """
    if not _ID.match(assignment_id):
        raise ValueError(f"{assignment_id!r} is not a valid id: use lowercase letters, digits "
                         "and underscores, starting with a letter")
    if root.resolve() == BUILT_IN_ASSIGNMENTS.resolve() and not into_repository:
        raise PublicFolderRefused(
            f"GRADER_ASSIGNMENTS_DIR is not set, so assignments are read from this repository's "
            f"own folder {root}, which is public: a new assignment's hidden tests and generator "
            "do not belong there. Set GRADER_ASSIGNMENTS_DIR (environment or .env) to a private "
            "folder of your own, e.g. `export GRADER_ASSIGNMENTS_DIR=~/grader-assignments`, and "
            "run this again; set it to the repository's folder to add a built-in assignment")
    source = TEMPLATES / template
    if not source.is_dir():
        known = ", ".join(sorted(p.name for p in TEMPLATES.iterdir()))
        raise ValueError(f"no template {template!r} (known: {known})")
    target = root / assignment_id
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another id or remove it")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    spec = target / "assignment.yaml"
    spec.write_text(spec.read_text().replace("{{id}}", assignment_id))
    return target


def zip_folder(folder: Path, destination: Path) -> Path:
    """Zip a folder's files the way a candidate would (paths relative to the folder)."""
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return destination


BUNDLE_MANIFEST = "MANIFEST.json"


def bundle_files(assignment: Assignment, folder: Path, *,
                 public_data: Path | None = None) -> dict[str, Path]:
    """The starter bundle's files by their name in the zip.

    ``public_data`` (an instance's, see grader.instance) takes the place of the committed files
    under ``candidate.public_data`` when that folder lies inside the bundle.
    """
    bundle = folder / assignment.candidate.bundle
    files = {p.relative_to(bundle).as_posix(): p for p in bundle.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    if public_data is None or assignment.candidate.public_data is None:
        return dict(sorted(files.items()))
    committed = (folder / assignment.candidate.public_data).resolve()
    if committed.is_relative_to(bundle.resolve()) and committed != bundle.resolve():
        inside = committed.relative_to(bundle.resolve()).as_posix()
        files = {name: path for name, path in files.items() if not name.startswith(f"{inside}/")}
        files.update({f"{inside}/{p.relative_to(public_data).as_posix()}": p
                      for p in public_data.rglob("*") if p.is_file()})
    return dict(sorted(files.items()))


def build_bundle(assignment: Assignment, folder: Path, destination: Path, *,
                 public_data: Path | None = None, instance_id: str | None = None,
                 seeds: Mapping[str, int] | None = None) -> Path:
    """The starter zip candidates download: the bundle folder plus a manifest of its files, its
    README ending with the environment's packages (``grader.environment_fit.bundle_readme``).

    ``public_data`` is an instance's data, shipped in place of the committed files (see
    ``bundle_files``), and ``seeds`` that instance's seeds (default: the published ones), with
    which the hidden items looked for in the bundle are made. Refused (nothing written) when the
    bundle holds a copy or a near copy of a hidden or reference file, whatever its name, or rows
    of the hidden split (``_bundle_has_no_hidden_file``).
    """
    files = bundle_files(assignment, folder, public_data=public_data)
    check = _bundle_has_no_hidden_file(assignment, folder, files=files, seeds=seeds)
    if not check.ok:
        raise BundleRefused(check.detail)
    readme_name, readme_text = bundle_readme(assignment, folder)
    readme = readme_text.encode()
    files = {name: path for name, path in files.items() if name != readme_name}
    listed = {name: (_sha256(path), path.stat().st_size) for name, path in files.items()}
    listed[readme_name] = (hashlib.sha256(readme).hexdigest(), len(readme))
    manifest = {
        "assignment": assignment.id,
        "version": assignment.version,
        **({"instance": instance_id} if instance_id else {}),
        "files": [{"path": name, "sha256": sha256, "bytes": size}
                  for name, (sha256, size) in sorted(listed.items())],
    }
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(readme_name, readme)
        for name, path in files.items():
            archive.write(path, name)
        archive.writestr(BUNDLE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    partial.replace(destination)
    return destination


class Check(BaseModel):
    name: str
    ok: bool
    detail: str
    severity: Literal["error", "warning"] = "error"  # a warning never fails validation


class ValidationReport(BaseModel):
    assignment: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.severity == "error")

    @property
    def warnings(self) -> list[Check]:
        return [check for check in self.checks if not check.ok and check.severity == "warning"]


def validate_assignment(folder: Path, *, runner_image: str, ceiling: sandbox.Limits,
                        intake: IntakeRules, run_solutions: bool = True) -> ValidationReport:
    """Schema, bundle hygiene, the instance generator, then every recorded solution re-graded
    against its scores (on the demo instance: the published seeds)."""
    try:
        assignment = load_assignment(folder, ceiling=ceiling)
    except SpecError as exc:
        return ValidationReport(assignment=folder.name,
                                checks=[Check(name="schema", ok=False, detail=str(exc))])
    checks = [Check(name="schema", ok=True, detail="assignment.yaml is valid"),
              _bundle_has_no_hidden_file(assignment, folder),
              _public_data_is_generated(assignment, folder),
              _hidden_split_depends_on_instance(assignment, folder),
              _instance_exposure(assignment, folder),
              _anchors_recorded(assignment)]
    if run_solutions:
        grade = _grader(assignment, folder, runner_image, ceiling, intake)
        try:
            reports = {b.name: grade(folder / b.path) for b in assignment.baselines}
            starter = grade(folder / assignment.candidate.bundle)
        except InfrastructureError as exc:
            # An author's bug in hidden code (or the engine) stops grading: say so, as a check.
            checks.append(Check(name="trusted_code_runs", ok=False,
                                detail=f"grading a recorded solution stopped on the grader's "
                                       f"side, not the solution's: {exc}"))
            return ValidationReport(assignment=assignment.id, checks=checks)
        checks += [_baseline_reproduces(assignment, name, report)
                   for name, report in reports.items()]
        checks.append(_top_anchors_pass(assignment, reports))
        checks.append(_starter_fails(assignment, starter))
        checks.append(_metrics_bounded(reports))
        checks.extend(_environment_holds(assignment, folder, runner_image))
    return ValidationReport(assignment=assignment.id, checks=checks)


def _metrics_bounded(reports: Mapping[str, Report]) -> Check:
    """A warning when the recorded solutions' metrics were computed over too few hidden items to
    bound (``grader.intervals``): every candidate's report would then show no 95% interval for
    them, and so none for the total."""
    unbounded = sorted({why for report in reports.values() for why in report.unbounded})
    if not unbounded:
        return Check(name="intervals", ok=True, detail="every metric computed through "
                                                        "grader.metrics has a 95% interval")
    return Check(name="intervals", ok=False, severity="warning", detail=(
        f"reports will carry no 95% interval for {'; '.join(unbounded)}, nor for the total: a "
        f"metric is bootstrapped only over {MIN_ITEMS} hidden items or more (a share of items "
        "each right or wrong, such as an accuracy, is bounded exactly at any size). Add hidden "
        "items so reviewers can tell close scores apart (docs/intervals.md)"))


def _environment_holds(assignment: Assignment, folder: Path, runner_image: str) -> list[Check]:
    """The environment the solutions were just graded in: its packages import (a wheel can
    install and still need a system library the runner image lacks)."""
    digest = sandbox.image_digest(runner_image)
    if assignment.environment is None or digest is None:
        return []
    probes = [probe for used in used_environments([(assignment, folder)], runner_digest=digest)
              for probe in probe_environment(used)]
    details = {p.name: p.detail for p in probes}
    return [Check(name="environment", ok=all(p.ok for p in probes),
                  detail="; ".join(f"{p.name}: {p.detail}" for p in probes if not p.ok)
                  or details.get("imports", details["built"]))]


def _grader(assignment: Assignment, folder: Path, runner_image: str, ceiling: sandbox.Limits,
            intake: IntakeRules):
    def grade(solution: Path) -> Report:
        with tempfile.TemporaryDirectory(prefix="validate-") as tmp:
            archive = zip_folder(solution, Path(tmp) / "submission.zip")
            # Validation and recorded baselines are the repository's: the published seeds.
            return grade_zip(assignment=assignment, folder=folder,
                             instance=demo_instance(assignment, folder), zip_path=archive,
                             runner_image=runner_image, ceiling=ceiling, intake=intake)
    return grade


def record_baselines(folder: Path, *, runner_image: str, ceiling: sandbox.Limits,
                     intake: IntakeRules) -> tuple[str, str]:
    """Re-grade every baseline on this machine; return assignment.yaml with the scores measured
    here, and a unified diff against the current file (the caller decides whether to write it).

    The rewrite keeps the author's comments, quoting and layout.
    """
    assignment = load_assignment(folder, ceiling=ceiling)
    grade = _grader(assignment, folder, runner_image, ceiling, intake)
    declared = [f"{h.name}.{m.name}" for h in assignment.harnesses for m in h.metrics]
    measured = {}
    for baseline in assignment.baselines:
        report = grade(folder / baseline.path)
        values = {m.name: m.value for m in report.metrics}
        missing = [metric for metric in declared if values.get(metric) is None]
        if missing:
            raise ValueError(f"baseline {baseline.name} produced no value for {missing}: "
                             f"{report.message}")
        measured[baseline.name] = {metric: round(values[metric], RECORDED_DIGITS)
                                   for metric in declared}
    original = (folder / "assignment.yaml").read_text()
    updated = with_scores(original, measured)
    diff = "".join(difflib.unified_diff(original.splitlines(True), updated.splitlines(True),
                                        "assignment.yaml", "assignment.yaml (measured)"))
    return updated, diff


def with_scores(spec_text: str, measured: dict[str, dict[str, float]]) -> str:
    """assignment.yaml's text with each baseline's scores updated from ``measured`` (baseline
    name to metric to value), keeping the author's comments, quoting and layout."""
    yaml = _round_trip_yaml()
    data = yaml.load(spec_text)
    for entry in data["baselines"]:
        if entry.get("scores"):
            _update_keeping_trailing_comment(entry["scores"], measured[entry["name"]])
        else:
            _update_keeping_trailing_comment(entry, {"scores": measured[entry["name"]]})
    # Only the baselines block is emitted again: a whole dump would reflow what the author laid
    # out by hand elsewhere (a long flow list broken over lines).
    keys = list(data)
    after = keys.index("baselines") + 1
    start = data.lc.key("baselines")[0]
    end = data.lc.key(keys[after])[0] if after < len(keys) else None
    block = CommentedMap(baselines=data["baselines"])
    if "baselines" in data.ca.items:
        block.ca.items["baselines"] = data.ca.items["baselines"]
    buffer = io.StringIO()
    yaml.dump(block, buffer)
    lines = spec_text.splitlines(keepends=True)
    return "".join(lines[:start]) + buffer.getvalue() + "".join(lines[end:] if end else [])


def _update_keeping_trailing_comment(mapping: CommentedMap, values: dict[str, Any]) -> None:
    """``mapping.update(values)``, keeping the lines after the mapping where they were.

    ruamel files the comment lines that follow a mapping (often the next list item's leading
    comment) under its last key, with that key's end-of-line comment: new keys would land below
    them. The end-of-line part stays with its key; the lines after it move to the new last line
    (the last key of the new value, when that value is itself a mapping).
    """
    before = list(mapping)[-1]
    mapping.update(values)
    after = list(mapping)[-1]
    slots = mapping.ca.items.get(before)
    if after == before or not slots or slots[2] is None:
        return
    end_of_line, _, following = slots[2].value.partition("\n")
    moved = copy.copy(slots[2])
    moved.value = "\n" + following
    holder, key = mapping, after
    while isinstance(holder[key], dict) and holder[key]:
        if not isinstance(holder[key], CommentedMap):
            holder[key] = CommentedMap(holder[key])
        holder, key = holder[key], list(holder[key])[-1]
    holder.ca.items[key] = [None, None, moved, None]
    if end_of_line.strip():
        slots[2].value = end_of_line + "\n"
    else:
        del mapping.ca.items[before]


def _round_trip_yaml() -> ruamel.yaml.YAML:
    yaml = ruamel.yaml.YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _anchors_recorded(assignment: Assignment) -> Check:
    missing = sorted({f"{anchor.baseline} for {component.metric}"
                      for component in assignment.rubric if component.scale is not None
                      for anchor in component.scale.anchors
                      if component.metric not in assignment.baseline(anchor.baseline).scores})
    if missing:
        return Check(name="anchors_recorded", ok=False,
                     detail=f"no recorded score: {'; '.join(missing)}; run "
                            "`grader assignment baseline`")
    return Check(name="anchors_recorded", ok=True,
                 detail="every anchor's baseline has a recorded score")


# What may never reach candidates, and the share of two instances' hidden splits that may be the
# same before validate warns (above it, the hidden split does not depend on the instance).
SECRET_FOLDERS = ("hidden", "reference")
OVERLAP_WARNING = 0.1


def _bundle_has_no_hidden_file(assignment: Assignment, folder: Path, *,
                               files: Mapping[str, Path] | None = None,
                               seeds: Mapping[str, int] | None = None) -> Check:
    """The bundle holds no file of hidden/ or reference/ (exact copies under any name, and near
    copies: grader.integrity's line runs and token shingles, so an added comment changes
    nothing), and no rows of the hidden split (``hidden_items(seeds)``, the published seeds by
    default) in any of its files."""
    files = bundle_files(assignment, folder) if files is None else files
    shipped = [_read(name, path) for name, path in files.items()]
    secret = [_read(f"{root}/{p.relative_to(folder / root).as_posix()}", p)
              for root in SECRET_FOLDERS if (folder / root).is_dir()
              for p in sorted((folder / root).rglob("*"))
              if p.is_file() and "__pycache__" not in p.parts]
    by_content = {hashlib.sha256(f.data).digest(): f.path for f in shipped if f.data}
    exact = {(by_content[digest], f.path) for f in secret
             if (digest := hashlib.sha256(f.data).digest()) in by_content}
    problems = [f"{source} (as {name})" for name, source in sorted(exact, key=lambda e: e[1])]
    copies, _ = find_copies(shipped, secret)
    problems += [
        f"a near copy of {c.source} in {c.path} ({c.similarity:.0%} alike; line "
        f"{c.lines[0].submission_line}: {c.lines[0].text!r})" if c.lines else
        f"a near copy of {c.source} in {c.path} ({c.similarity:.0%} alike)"
        for c in copies if (c.path, c.source) not in exact]
    try:
        items = _hidden_items(assignment, folder, seeds)
    except InstanceError as exc:
        return Check(name="bundle_has_no_hidden_file", ok=False, detail=str(exc))
    found = _items_in_files(items or [], shipped)
    if len(found) >= MIN_ITEMS_FOUND:
        where = sorted({place for place, _ in found.values()})
        problems.append(f"{len(found)} of the {len(items or [])} hidden items (hidden_items() "
                        f"under {'these' if seeds is not None else 'the published'} seeds), "
                        f"e.g. {where[0]}: {next(iter(found.values()))[1]!r}"
                        + (f" (and in {len(where) - 1} more places)" if len(where) > 1 else ""))
    if problems:
        return Check(name="bundle_has_no_hidden_file", ok=False,
                     detail="the candidate bundle contains hidden files: "
                            + "; ".join(problems)[:2000])
    searched = f", nor any of {len(items)} hidden items" if items is not None else ""
    return Check(name="bundle_has_no_hidden_file", ok=True,
                 detail=f"no file of hidden/ or reference/ is in the bundle, copied or nearly"
                        f"{searched}")


def _read(name: str, path: Path) -> File:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return File(name, data, None)
    try:
        return File(name, data, data.decode("utf-8"))
    except UnicodeDecodeError:
        return File(name, data, None)


def _hidden_items(assignment: Assignment, folder: Path,
                  seeds: Mapping[str, int] | None) -> list[Any] | None:
    """``hidden_items(seeds)`` of the instance generator (the published seeds by default), or
    None when the assignment declares none. Raises InstanceError for a broken generator."""
    if assignment.instance is None:
        return None
    path = assignment.instance.generator
    generator = load_generator(assignment, folder)
    if generator is None or not callable(getattr(generator, "hidden_items", None)):
        raise InstanceError(f"the instance generator {path} defines no hidden_items(seeds)")
    try:
        items = generator.hidden_items(
            dict(seeds if seeds is not None else assignment.reproducibility.seeds))
        json.dumps(items, allow_nan=False)
    except Exception as exc:  # the author's generator: its failure is theirs, named
        raise InstanceError(f"hidden_items() of {path} failed or gave no JSON rows: "
                            f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(items, list):
        raise InstanceError(f"hidden_items() of {path} must return a list of JSON rows, not "
                            f"{type(items).__name__}")
    return items


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _items_in_files(items: list[Any], files: list[File]) -> dict[int, tuple[str, str]]:
    """Hidden items written into these files, each with where and one of its texts.

    Each line of a text file is a row: a JSON value, CSV cells or the line itself. An item is
    there when a row equals it (keys in any order), or when one row holds every text of the item
    (``grader.integrity.item_texts``: a question and its answer) or, for an item without texts,
    every one of its fractional numbers (at least three). Rows of the public data that merely
    quote one text of an item (a passage its answer comes from) are not the item.
    """
    whole = {_canonical(item): index for index, item in enumerate(items)}
    keys: list[frozenset[str]] = []
    by_first: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        texts = item_texts([item])
        key = frozenset(texts) if texts else frozenset(
            repr(v) for v in _leaves(item) if isinstance(v, float) and not v.is_integer())
        keys.append(key if texts or len(key) >= 3 else frozenset())
        if keys[-1]:
            by_first.setdefault(min(keys[-1]), []).append(index)
    found: dict[int, tuple[str, str]] = {}
    for file in files:
        if file.text is None:
            continue
        delimiter = {".csv": ",", ".tsv": "\t"}.get(Path(file.path).suffix.lower())
        for number, line in enumerate(file.text.splitlines(), 1):
            strings = _row_strings(line, delimiter)
            if strings is None:
                continue
            row, canonical = strings
            hit = whole.get(canonical) if canonical is not None else None
            hits = [hit] if hit is not None else []
            hits += [index for value in row & by_first.keys() for index in by_first[value]
                     if keys[index] <= row]
            for index in hits:
                if index not in found:
                    example = min(keys[index]) if keys[index] else canonical or line
                    found[index] = (f"{file.path}:{number}", example[:200])
    return found


def _row_strings(line: str, delimiter: str | None) -> tuple[set[str], str | None] | None:
    """A line's values as strings (and floats' reprs), and its canonical JSON when it is JSON."""
    stripped = line.strip()
    if not stripped:
        return None
    if stripped[0] in "{[":
        try:
            value = json.loads(stripped)
        except ValueError:
            pass
        else:
            return ({v if isinstance(v, str) else repr(v) for v in _leaves(value)
                     if isinstance(v, str | float)}, _canonical(value))
    cells = [stripped]
    if delimiter is not None:
        cells += [cell.strip().strip('"') for cell in stripped.split(delimiter)]
    values = set(cells)
    for cell in cells:
        with contextlib.suppress(ValueError):
            values.add(repr(float(cell)))
    return values, None


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list | tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _public_data_is_generated(assignment: Assignment, folder: Path) -> Check:
    """The committed public data is what the generator makes under the published seeds, so the
    demo instance and every private one come from the same code."""
    name = "public_data_is_generated"
    if assignment.instance is None or assignment.candidate.public_data is None:
        return Check(name=name, ok=True, detail="no instance generator: the committed public "
                                                "data serves every instance")
    try:
        made = public_files(assignment, folder, assignment.reproducibility.seeds)
    except Exception as exc:  # InstanceError, or the module failing to import
        return Check(name=name, ok=False, detail=f"public_files() failed: {exc}")
    data = folder / assignment.candidate.public_data
    committed = {p.relative_to(data).as_posix(): p.read_bytes() for p in data.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    differ = sorted(name for name in made.keys() | committed.keys()
                    if made.get(name) != committed.get(name))
    if differ:
        return Check(name=name, ok=False, detail=(
            f"{assignment.candidate.public_data} differs from public_files() under the "
            f"published seeds: {', '.join(differ[:10])}; write the generator's files there "
            "(the templates' `python hidden/generate.py`)"))
    return Check(name=name, ok=True, detail=f"{assignment.candidate.public_data} is exactly "
                                            "public_files() under the published seeds")


def _hidden_split_depends_on_instance(assignment: Assignment, folder: Path) -> Check:
    """Two random instances' hidden splits should share next to nothing: a split that is the same
    whatever the secret is one anybody with this folder can reproduce."""
    name = "hidden_split_depends_on_instance"
    if assignment.instance is None:
        return Check(name=name, ok=False, severity="warning", detail=(
            "no instance generator (instance.generator), so whether the hidden split depends on "
            "the instance cannot be checked: fine when hidden/ holds private content kept out of "
            "any public repository, not when public code makes the split (docs/authoring.md)"))
    try:
        first, second = (_hidden_items(assignment, folder,
                                       Instance.random().seeds(assignment)) or []
                         for _ in range(2))
    except InstanceError as exc:
        return Check(name=name, ok=False, detail=str(exc))
    if not first:
        return Check(name=name, ok=False, severity="warning",
                     detail="hidden_items() gave no items for a random instance")
    items, texts = hidden_split_overlap(first, second)
    detail = (f"two random instances share {items:.0%} of their hidden items and {texts:.0%} of "
              f"their hidden texts ({len(first)} and {len(second)} items)")
    if max(items, texts) > OVERLAP_WARNING:
        return Check(name=name, ok=False, severity="warning", detail=(
            f"{detail}, over {OVERLAP_WARNING:.0%}: the hidden split hardly depends on the "
            "instance, so anyone who runs the generator has it. Draw what the hidden items ask "
            "from the seeds (docs/authoring.md)"))
    return Check(name=name, ok=True, detail=detail)


def _instance_exposure(assignment: Assignment, folder: Path) -> Check:
    """What the public code still reads of a private instance's hidden split, as the generator's
    ``exposure(seeds)`` says: a warning, since only the deployment's private content closes it."""
    name = "instance_exposure"
    if assignment.instance is None:
        return Check(name=name, ok=True, detail="no instance generator: nothing to ask")
    try:
        said = exposure(assignment, folder, Instance.random().seeds(assignment))
    except InstanceError as exc:
        return Check(name=name, ok=False, detail=str(exc))
    if said:
        return Check(name=name, ok=False, severity="warning",
                     detail="on a private instance: " + " ".join(said))
    return Check(name=name, ok=True, detail="the generator reports nothing of a private "
                                            "instance's hidden split readable from public code")


def hidden_split_overlap(first: list[Any], second: list[Any]) -> tuple[float, float]:
    """Shares of ``first``'s hidden split also in ``second``'s: of its distinct items (canonical
    JSON, keys in any order), and of its distinct texts (``grader.integrity.item_texts``: strings
    long enough to be a question or a row's text; labels and ids are not texts)."""
    mine, theirs = {_canonical(i) for i in first}, {_canonical(i) for i in second}
    my_texts, their_texts = set(item_texts(first)), set(item_texts(second))
    return (len(mine & theirs) / len(mine) if mine else 0.0,
            len(my_texts & their_texts) / len(my_texts) if my_texts else 0.0)


def _baseline_reproduces(assignment: Assignment, name: str, report: Report) -> Check:
    recorded = assignment.baseline(name).scores
    measured = {m.name: m.value for m in report.metrics}
    tolerance = assignment.reproducibility.tolerance
    timings = sorted(metric for metric in recorded if metric.endswith(TIMING_SUFFIXES))
    off = [f"{metric}: recorded {value}, measured {measured.get(metric)}"
           for metric, value in recorded.items()
           if (got := measured.get(metric)) is None or (
               metric not in timings
               and abs(round(got, RECORDED_DIGITS) - value) > tolerance + 1e-9)]
    if off:
        return Check(name=f"baseline_{name}", ok=False,
                     detail=f"does not reproduce within {tolerance}: " + "; ".join(off))
    detail = f"reproduces its recorded scores (total {report.total})"
    if timings:
        detail += "; timings measured, not compared: " + ", ".join(
            f"{metric} {measured[metric]:.6g} (recorded {recorded[metric]})" for metric in timings)
    return Check(name=f"baseline_{name}", ok=True, detail=detail)


def _top_anchors_pass(assignment: Assignment, reports: dict[str, Report]) -> Check:
    """The solutions that define full points must pass every hidden test: a test they fail is a
    test no candidate can pass (a leftover scaffold test, a call to an undeclared entry point)."""
    tops = sorted({max(c.scale.anchors, key=lambda a: a.points).baseline
                   for c in assignment.rubric if c.scale is not None})
    failing = [f"{name}: {test.name}: {test.message or test.outcome}"
               for name in tops for test in reports[name].hidden_tests
               if test.outcome != "passed"]
    for name in tops:
        if unfinished := _unfinished(assignment, reports[name]):
            failing.append(f"{name}: {unfinished}")
    if failing:
        return Check(name="top_anchor_passes_hidden_tests", ok=False,
                     detail="; ".join(failing)[:2000])
    return Check(name="top_anchor_passes_hidden_tests", ok=True,
                 detail=f"{', '.join(tops) or 'no anchor'} passes every hidden test")


def _unfinished(assignment: Assignment, report: Report) -> str | None:
    """Why a grading ran fewer hidden tests than its suites hold, if a phase failed."""
    ran = {t.suite for t in report.hidden_tests}
    missing = [s.name for s in assignment.hidden_tests if s.name not in ran]
    return f"suites {missing} did not run ({report.message})" if missing else None


def _starter_fails(assignment: Assignment, report: Report) -> Check:
    passed = sum(t.outcome == "passed" for t in report.hidden_tests)
    ok = report.total is not None and passed < max(1, len(report.hidden_tests))
    if not report.hidden_tests:
        detail = f"no hidden test ran for the starter bundle ({report.message})"
    else:
        detail = (f"the starter bundle passes {passed} of {len(report.hidden_tests)} hidden tests "
                  f"and scores {report.total}")
    return Check(name="starter_fails_hidden_tests", ok=ok, detail=detail)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
