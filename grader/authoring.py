"""Assignments as folders: finding them, scaffolding a new one, and validating one end to end."""

from __future__ import annotations

import copy
import difflib
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import ruamel.yaml
from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap

import sandbox
from grader.intake import IntakeRules
from grader.instance import demo_instance
from grader.pipeline import grade_zip
from grader.report import Report
from grader.spec import Assignment, SpecError, load_assignment

__all__ = [
    "AssignmentNotFound",
    "BundleRefused",
    "Check",
    "ValidationReport",
    "build_bundle",
    "find_assignment",
    "list_assignments",
    "new_assignment",
    "record_baselines",
    "validate_assignment",
    "with_scores",
    "zip_folder",
]

TEMPLATES = Path(__file__).parent / "templates" / "assignment"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")

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


def list_assignments(root: Path) -> list[tuple[str, Assignment | SpecError]]:
    """Every folder with an assignment.yaml under root, parsed or with the reason it is not."""
    found: list[tuple[str, Assignment | SpecError]] = []
    for folder in sorted(p for p in root.glob("*/assignment.yaml")):
        try:
            found.append((folder.parent.name, load_assignment(folder.parent)))
        except SpecError as exc:
            found.append((folder.parent.name, exc))
    return found


def find_assignment(root: Path, assignment_id: str) -> tuple[Assignment, Path]:
    folder = root / assignment_id
    if not _ID.match(assignment_id) or not (folder / "assignment.yaml").is_file():
        known = ", ".join(name for name, _ in list_assignments(root)) or "none"
        raise AssignmentNotFound(f"no assignment {assignment_id!r} in {root} (known: {known})")
    return load_assignment(folder), folder


def new_assignment(root: Path, assignment_id: str, *, template: str = "blank") -> Path:
    """Copy a template into root/ID; the result validates as it is."""
    if not _ID.match(assignment_id):
        raise ValueError(f"{assignment_id!r} is not a valid id: use lowercase letters, digits "
                         "and underscores, starting with a letter")
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


def build_bundle(assignment: Assignment, folder: Path, destination: Path, *,
                 public_data: Path | None = None, instance_id: str | None = None) -> Path:
    """The starter zip candidates download: the bundle folder plus a manifest of its files.

    ``public_data`` (an instance's, see grader.instance) takes the place of the committed files
    under ``candidate.public_data`` when that folder lies inside the bundle.
    Refused (nothing written) when any bundled file has the content of a hidden or reference file,
    whatever its name, so a misplaced copy cannot leak through a rename.
    """
    check = _bundle_has_no_hidden_file(assignment, folder)
    if not check.ok:
        raise BundleRefused(check.detail)
    bundle = folder / assignment.candidate.bundle
    files = {p.relative_to(bundle).as_posix(): p for p in bundle.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    committed = folder / (assignment.candidate.public_data or assignment.candidate.bundle)
    if public_data is not None and committed.resolve().is_relative_to(bundle.resolve()):
        inside = committed.resolve().relative_to(bundle.resolve()).as_posix()
        files = {name: path for name, path in files.items()
                 if not (name == inside or name.startswith(f"{inside}/"))}
        files.update({f"{inside}/{p.relative_to(public_data).as_posix()}": p
                      for p in public_data.rglob("*") if p.is_file()})
    manifest = {
        "assignment": assignment.id,
        "version": assignment.version,
        **({"instance": instance_id} if instance_id else {}),
        "files": [{"path": name, "sha256": _sha256(path), "bytes": path.stat().st_size}
                  for name, path in sorted(files.items())],
    }
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(files.items()):
            archive.write(path, name)
        archive.writestr(BUNDLE_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    partial.replace(destination)
    return destination


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class ValidationReport(BaseModel):
    assignment: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def validate_assignment(folder: Path, *, runner_image: str, ceiling: sandbox.Limits,
                        intake: IntakeRules, run_solutions: bool = True) -> ValidationReport:
    """Schema, bundle hygiene, then every recorded solution re-graded against its scores."""
    try:
        assignment = load_assignment(folder)
    except SpecError as exc:
        return ValidationReport(assignment=folder.name,
                                checks=[Check(name="schema", ok=False, detail=str(exc))])
    checks = [Check(name="schema", ok=True, detail="assignment.yaml is valid"),
              _bundle_has_no_hidden_file(assignment, folder), _anchors_recorded(assignment)]
    if run_solutions:
        grade = _grader(assignment, folder, runner_image, ceiling, intake)
        reports = {b.name: grade(folder / b.path) for b in assignment.baselines}
        checks += [_baseline_reproduces(assignment, name, report)
                   for name, report in reports.items()]
        checks.append(_top_anchors_pass(assignment, reports))
        checks.append(_starter_fails(assignment, grade(folder / assignment.candidate.bundle)))
    return ValidationReport(assignment=assignment.id, checks=checks)


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
    assignment = load_assignment(folder)
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


def _bundle_has_no_hidden_file(assignment: Assignment, folder: Path) -> Check:
    bundle = folder / assignment.candidate.bundle
    bundled = {_sha256(p) for p in bundle.rglob("*") if p.is_file()}
    secret_roots = [folder / "hidden", folder / "reference"]
    leaked = sorted(str(p.relative_to(folder)) for root in secret_roots if root.is_dir()
                    for p in root.rglob("*") if p.is_file() and _sha256(p) in bundled)
    if leaked:
        return Check(name="bundle_has_no_hidden_file", ok=False,
                     detail=f"the candidate bundle contains hidden files: {', '.join(leaked)}")
    return Check(name="bundle_has_no_hidden_file", ok=True,
                 detail="no file of hidden/ or reference/ is in the bundle")


def _baseline_reproduces(assignment: Assignment, name: str, report: Report) -> Check:
    recorded = assignment.baseline(name).scores
    measured = {m.name: m.value for m in report.metrics}
    tolerance = assignment.reproducibility.tolerance
    timings = sorted(metric for metric in recorded if metric.endswith(TIMING_SUFFIXES))
    off = [f"{metric}: recorded {value}, measured {measured.get(metric)}"
           for metric, value in recorded.items()
           if measured.get(metric) is None or (
               metric not in timings
               and abs(round(measured[metric], RECORDED_DIGITS) - value) > tolerance + 1e-9)]
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
