"""The assignments the service offers: read from the assignments folder, re-read when edited."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import AssignmentNotFound, build_bundle, find_assignment, list_assignments
from grader.environment_fit import bundle_readme
from grader.settings import Settings
from grader.spec import Assignment, SpecError
from grader.web._files import folder_stamp

README_CHARS = 200_000


@dataclass(frozen=True)
class Entry:
    id: str
    assignment: Assignment | None
    folder: Path
    error: str | None


@dataclass(frozen=True)
class CatalogEntry:
    """A valid assignment the service offers, and the folder it was read from."""

    assignment: Assignment
    folder: Path


class Catalog:
    """Assignments by id; a spec is parsed again only when its assignment.yaml changes."""

    def __init__(self, root: Path, bundles: Path, settings: Settings) -> None:
        self.root = root
        self.bundles = bundles
        self.settings = settings
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, CatalogEntry]] = {}

    def entries(self) -> list[Entry]:
        found = []
        for name, parsed in list_assignments(self.root, ceiling=self.settings.limits):
            if isinstance(parsed, SpecError):
                found.append(Entry(name, None, self.root / name, str(parsed)))
            else:
                found.append(Entry(name, parsed, self.root / name, None))
        return found

    def get(self, assignment_id: str) -> CatalogEntry | None:
        """The assignment, or None when there is no valid one by this id."""
        spec = self.root / assignment_id / "assignment.yaml"
        try:
            stamp = spec.stat().st_mtime
        except (OSError, ValueError):
            return None
        with self._lock:
            cached = self._cache.get(assignment_id)
            if cached and cached[0] == stamp:
                return cached[1]
        try:
            assignment, folder = find_assignment(self.root, assignment_id,
                                                 ceiling=self.settings.limits)
        except (AssignmentNotFound, SpecError):
            return None
        entry = CatalogEntry(assignment, folder)
        with self._lock:
            self._cache[assignment_id] = (stamp, entry)
        return entry

    def readme(self, assignment: Assignment, folder: Path) -> str:
        """The bundle's README as the starter zip carries it, the environment's packages
        listed at its end."""
        return bundle_readme(assignment, folder)[1][:README_CHARS]

    def starter_bundle(self, assignment: Assignment, folder: Path) -> Path:
        """The starter zip of this deployment's instance, built once per content of the
        candidate folder, of the instance's public data and of the README the environment's
        locks complete."""
        instance = self.settings.assignment_instance(assignment, folder)
        bundle = folder / assignment.candidate.bundle
        digest = hashlib.sha256(f"{instance.instance_id}\0{instance.public_data_sha256}\0"
                                f"{folder_stamp(bundle)}\0{bundle_readme(assignment, folder)[1]}"
                                .encode())
        name = f"{assignment.id}-{assignment.version}-{digest.hexdigest()[:16]}.zip"
        target = self.bundles / name
        if not target.is_file():
            self.bundles.mkdir(parents=True, exist_ok=True)
            with self._lock:
                if not target.is_file():
                    build_bundle(assignment, folder, target, public_data=instance.public_data,
                                 instance_id=instance.instance_id, seeds=instance.seeds)
        return target
