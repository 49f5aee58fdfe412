"""The cohort page's most similar pairs: ``cohort_similarity`` over stored submission folders.

Each invite's latest submission is compared (a candidate's own earlier uploads are not a copy),
the starter bundle's code ignored. Submissions' files never change once stored, so a result is
kept in memory for as long as the same submissions and starter bundle are compared.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from sqlalchemy.orm import Session

from grader.signals import PairSimilarity, cohort_similarity
from grader.store import latest_submissions
from grader.web._catalog import Catalog
from grader.web._files import folder_stamp
from grader.web._schemas import CohortSimilarity, SimilarPair

SIMILARITY_THRESHOLD = 0.5
CONTAINMENT_THRESHOLD = 0.8
MAX_COMPARED = 300  # the newest; pairs grow with the square of the count
CACHED_RESULTS = 16


class SimilarityCache:
    """The last few results, by what was compared; thread-safe."""

    def __init__(self, size: int = CACHED_RESULTS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._results: OrderedDict[Hashable, list[PairSimilarity]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], list[PairSimilarity]]
            ) -> list[PairSimilarity]:
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = compute()
        with self._lock:
            self._results[key] = result
            while len(self._results) > self._size:
                self._results.popitem(last=False)
        return result


def similarity_view(*, session: Session, catalog: Catalog, cache: SimilarityCache,
                    submissions_root: Path, assignment_id: str, cohort: str | None,
                    limit: int = 10) -> CohortSimilarity:
    """Every flagged pair, then the most similar others, ``limit`` pairs at least."""
    compared = latest_submissions(session, assignment_id, cohort)
    note = ""
    if len(compared) > MAX_COMPARED:
        note = (f"Only the newest {MAX_COMPARED} of {len(compared)} candidates' submissions "
                "were compared.")
        compared = compared[-MAX_COMPARED:]
    found = catalog.get(assignment_id)
    starter = (found.folder / found.assignment.candidate.bundle if found
               else submissions_root / "-absent-")
    if found is None:
        note = (note + " " if note else "") + ("The assignment's spec cannot be read, so its "
                                               "starter code was not set aside.")
    folders = {str(s.id): submissions_root / s.files_dir for s in compared}
    key = (assignment_id, cohort, tuple(sorted(folders.items())), str(starter),
           folder_stamp(starter))
    pairs = cache.get(key, lambda: cohort_similarity(
        folders, starter, threshold=SIMILARITY_THRESHOLD,
        containment_threshold=CONTAINMENT_THRESHOLD)) if len(folders) > 1 else []
    labels = {str(s.id): s.invite.label for s in compared}
    flagged = [p for p in pairs if p.flagged]
    shown = flagged + [p for p in pairs if not p.flagged][:max(0, limit - len(flagged))]
    shown.sort(key=lambda p: (-p.score, -p.containment, int(p.a), int(p.b)))
    return CohortSimilarity(
        assignment_id=assignment_id, cohort=cohort, submissions=len(folders),
        threshold=SIMILARITY_THRESHOLD, containment_threshold=CONTAINMENT_THRESHOLD,
        flagged=len(flagged), note=note,
        pairs=[SimilarPair(a=int(p.a), b=int(p.b), label_a=labels[p.a], label_b=labels[p.b],
                           score=p.score, containment=p.containment, shared=p.shared,
                           flagged=p.flagged, files=p.files) for p in shown])
