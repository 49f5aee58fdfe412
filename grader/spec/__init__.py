"""The assignment spec: ``assignments/<id>/assignment.yaml`` parsed into frozen pydantic models.

``load_assignment(folder, ceiling=settings.limits)`` is the only way the grader reads a spec. It
checks, in order:

1. YAML syntax and duplicate keys (``yaml.safe_load`` silently keeps the last of two keys);
2. the shape: every model forbids unknown fields, names and paths have fixed forms;
3. cross-references (``Assignment`` checks these itself, so a model built in code holds them too):
   rubric metrics name a metric some harness declares, rubric tests name a declared suite, scale
   anchors name baselines that recorded that metric, phase calls name entry points of that phase,
   and the rubric's weights sum to 100 with at least one quality component; manual rubric items
   have unique ids (distinct from the automatic rubric's) and levels whose points strictly ascend
   from a non-negative floor;
4. the folder: the id equals the folder's name, every declared path exists inside the folder, the
   candidate bundle holds no hidden file, phase limits only tighten the deployment's ceiling,
   and an ``environment`` block has an ``environment.lock`` written from its packages.

Every problem becomes a ``SpecIssue`` (field path, problem, YAML line when it can be found), and all
of them are raised together as one ``SpecError``, one line each, e.g.
``assignments/rag/assignment.yaml:31: rubric[0].scale.anchors[1].baseline: no baseline named ...``.

Exceptions:

    SpecError           the spec is unreadable, malformed or inconsistent; carries ``issues``

Modules: ``_models`` (the models), ``_checks`` (cross-references and the folder), ``_limits``
(phase limit overrides), ``_environment`` (the environment block and its lock), ``_loading`` (the
file, its YAML and line numbers), ``_errors``.
"""

from grader.spec._environment import (
    LOCK_FILE,
    EnvironmentLock,
    EnvironmentSpec,
    LockedPackage,
    LockError,
    lock_sha256,
    logical_lines,
    parse_lock,
    read_lock,
    request_name,
    strip_comment,
)
from grader.spec._errors import SpecError, SpecIssue
from grader.spec._limits import LimitOverrides
from grader.spec._loading import assignment_json_schema, load_assignment, read_environment
from grader.spec._models import (
    JSON_TYPES,
    NAME_PATTERN,
    SUPPORTING_SUFFIXES,
    Anchor,
    Assignment,
    Baseline,
    BuildPhase,
    CandidateSpec,
    EntryPoint,
    FeedbackRelease,
    Harness,
    HiddenSuite,
    InstanceSpec,
    ManualItem,
    ManualLevel,
    MetricSpec,
    Phase,
    Phases,
    Release,
    ReleasedField,
    Reproducibility,
    Role,
    RubricComponent,
    Scale,
    ServePhase,
)

__all__ = [
    "JSON_TYPES",
    "LOCK_FILE",
    "NAME_PATTERN",
    "SUPPORTING_SUFFIXES",
    "Anchor",
    "Assignment",
    "Baseline",
    "BuildPhase",
    "CandidateSpec",
    "EntryPoint",
    "EnvironmentLock",
    "EnvironmentSpec",
    "FeedbackRelease",
    "Harness",
    "HiddenSuite",
    "InstanceSpec",
    "LimitOverrides",
    "LockError",
    "LockedPackage",
    "ManualItem",
    "ManualLevel",
    "MetricSpec",
    "Phase",
    "Phases",
    "Release",
    "ReleasedField",
    "Reproducibility",
    "Role",
    "RubricComponent",
    "Scale",
    "ServePhase",
    "SpecError",
    "SpecIssue",
    "assignment_json_schema",
    "load_assignment",
    "lock_sha256",
    "logical_lines",
    "parse_lock",
    "read_environment",
    "read_lock",
    "request_name",
    "strip_comment",
]
