"""The integrity section: copies of hidden and reference files (exact, with a comment added,
renamed), hidden module names, hidden items held word for word, implausible metrics, and a
failure inside the check recorded rather than raised. Against the real rag_pipeline and
fraud_detection folders, read as they are now."""

from __future__ import annotations

import json
import pickle
import re
import shutil
import time
from pathlib import Path

import pytest

import grader.integrity as integrity_module
from grader.integrity import (
    MIN_ITEMS_FOUND,
    SHARE_MARGIN,
    Integrity,
    check_integrity,
    find_implausible_metrics,
    integrity_not_checked,
    item_texts,
    with_metrics,
)
from grader.spec import Assignment, load_assignment
from sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parents[2] / "assignments"
RAG = ASSIGNMENTS / "rag_pipeline"
FRAUD = ASSIGNMENTS / "fraud_detection"

# A fresh, small, honest solution to rag_pipeline: written for this test, sharing nothing with
# the assignment's hidden or reference code beyond what any solution would.
HONEST = '''\
"""Word-overlap retrieval: score pages by the query words they contain, rarer words counting
more; answer with the best sentence of the best page."""

import json
import math
import os
import re

WORD = re.compile(r"[a-z0-9]+")
STATE = {}


def tokens(text):
    return WORD.findall(text.lower())


def index(corpus_path, work_dir):
    pages = []
    with open(corpus_path, encoding="utf-8") as handle:
        for raw in handle:
            page = json.loads(raw)
            pages.append({"id": page["id"], "words": sorted(set(tokens(page["title"] + " "
                                                                       + page["text"]))),
                          "text": page["text"]})
    with open(os.path.join(work_dir, "pages.json"), "w", encoding="utf-8") as out:
        json.dump(pages, out)


def load(work_dir):
    with open(os.path.join(work_dir, "pages.json"), encoding="utf-8") as handle:
        STATE["pages"] = json.load(handle)
    counts = {}
    for page in STATE["pages"]:
        for word in page["words"]:
            counts[word] = counts.get(word, 0) + 1
    total = len(STATE["pages"])
    STATE["weight"] = {word: math.log(1 + total / n) for word, n in counts.items()}


def ranked(query):
    wanted = set(tokens(query))
    scored = []
    for page in STATE["pages"]:
        shared = wanted.intersection(page["words"])
        scored.append((-sum(STATE["weight"].get(w, 0.0) for w in shared), page["id"]))
    scored.sort()
    return [page_id for _, page_id in scored]


def search(query, k):
    return ranked(query)[:k]


def answer(query):
    best = ranked(query)[:1]
    if not best:
        return {"answer": "", "citations": []}
    text = next(p["text"] for p in STATE["pages"] if p["id"] == best[0])
    wanted = set(tokens(query))
    sentences = [s for s in re.split(r"(?<=[.!?])\\s+", text) if s.strip()]
    pick = max(sentences, key=lambda s: len(wanted.intersection(tokens(s))), default="")
    return {"answer": pick[:80], "citations": best}
'''


@pytest.fixture(scope="module")
def rag() -> Assignment:
    return load_assignment(RAG, ceiling=Limits())


def submission(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "submission"
    for name, content in {"solution.py": HONEST, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def check(folder: Path, assignment: Assignment, root: Path, **extra) -> Integrity:
    return check_integrity(submission_dir=root, assignment=assignment, folder=folder,
                           metrics=extra.pop("metrics", {}), **extra)


def hidden_text(name: str) -> str:
    return (RAG / "hidden" / name).read_text(encoding="utf-8")


# --- copies -------------------------------------------------------------------------------------

def test_an_honest_submission_is_not_flagged(tmp_path: Path, rag: Assignment) -> None:
    readme = (RAG / "candidate" / "README.md").read_text(encoding="utf-8")
    section = check(RAG, rag, submission(tmp_path, {"README.md": readme}))
    assert section.checked and not section.flagged, section
    assert section.findings == 0
    assert section.sources_compared >= 5 and section.files_compared == 2
    assert section.message.startswith("Nothing found")


def test_the_starter_bundle_is_not_flagged(tmp_path: Path, rag: Assignment) -> None:
    root = tmp_path / "starter"
    shutil.copytree(RAG / "candidate", root)
    section = check(RAG, rag, root)
    assert section.checked and not section.flagged, section


def test_a_verbatim_copy_of_a_hidden_file_is_flagged_with_the_matching_lines(
        tmp_path: Path, rag: Assignment) -> None:
    original = hidden_text("generate.py")
    section = check(RAG, rag, submission(tmp_path, {"vendor/gen.py": original}))
    assert section.flagged
    found = [c for c in section.copies if c.source == "hidden/generate.py"]
    assert [c.path for c in found] == ["vendor/gen.py"]
    copy = found[0]
    assert copy.folder == "hidden" and copy.similarity >= 0.95 and copy.line_share >= 0.95
    assert copy.longest_run >= 100 and copy.lines
    lines = original.split("\n")
    for matched in copy.lines:
        assert matched.text == lines[matched.submission_line - 1].strip()
        assert matched.submission_line == matched.source_line  # unchanged, so in place
    assert "hidden/generate.py" in section.message and "not a verdict" in section.message


def test_a_copy_with_a_comment_added_is_still_flagged(tmp_path: Path, rag: Assignment) -> None:
    lines = hidden_text("catalogue.py").split("\n")
    middle = len(lines) // 2
    edited = [*lines[:middle], "# my own helper tables, written from scratch", *lines[middle:]]
    edited = [line + "  # noqa" if line.startswith("def ") else line for line in edited]
    section = check(RAG, rag, submission(tmp_path, {"tables.py": "\n".join(edited)}))
    copy = next(c for c in section.copies if c.source == "hidden/catalogue.py")
    assert copy.path == "tables.py" and copy.similarity >= 0.95
    # a run goes on past the added comment: its last line is one further down than the source's
    assert any(last == source_last + 1 for _, last, _, source_last in copy.runs), copy.runs


def test_a_renamed_copy_is_flagged_by_tokens(tmp_path: Path, rag: Assignment) -> None:
    original = hidden_text("generate.py")
    names = sorted(set(re.findall(r"^def ([a-z_]\w*)", original, re.M)))
    renamed = original
    for index, name in enumerate(names):
        renamed = re.sub(rf"\b{name}\b", f"helper_{index}", renamed)
    renamed = re.sub(r"\brng\b", "chooser", renamed)
    section = check(RAG, rag, submission(tmp_path, {"data_maker.py": renamed}))
    copy = next(c for c in section.copies if c.source == "hidden/generate.py")
    assert copy.token_share is not None and copy.token_share >= 0.8
    assert copy.lines


def test_a_copy_of_a_reference_solution_is_flagged(tmp_path: Path, rag: Assignment) -> None:
    reference = (RAG / "reference" / "hybrid" / "solution.py").read_text(encoding="utf-8")
    section = check(RAG, rag, submission(tmp_path, {"solution.py": reference}))
    copy = next(c for c in section.copies if c.source == "reference/hybrid/solution.py")
    assert copy.folder == "reference" and copy.path == "solution.py" and copy.similarity > 0.9


def test_a_copy_hidden_under_a_dot_folder_or_as_text_is_found(tmp_path: Path,
                                                                rag: Assignment) -> None:
    original = hidden_text("catalogue.py")
    section = check(RAG, rag, submission(tmp_path, {".cache/c.py": original,
                                                    "notes/tables.txt": original}))
    paths = {c.path for c in section.copies if c.source == "hidden/catalogue.py"}
    assert paths == {".cache/c.py", "notes/tables.txt"}


# --- hidden module names ------------------------------------------------------------------------

def test_imports_of_hidden_module_names_are_flagged(tmp_path: Path, rag: Assignment) -> None:
    solution = HONEST.replace("import json\n", "import json\nimport generate\n"
                              "from catalogue import DOMAINS\n", 1)
    solution += '\nLOADER = "../hidden/generate.py"\n'
    section = check(RAG, rag, submission(tmp_path, {
        "solution.py": solution, "catalogue.py": hidden_text("catalogue.py")}))
    found = {(f.module, f.how, f.shipped_copy) for f in section.imports}
    assert found == {("generate", "import", None), ("catalogue", "import", "catalogue.py"),
                     ("generate", "path", None)}
    first = next(f for f in section.imports if f.module == "generate" and f.how == "import")
    assert first.path == "solution.py" and first.text == "import generate"
    assert first.source == "hidden/generate.py"
    assert "hidden module name(s) used: catalogue, generate" in section.message


def test_a_module_of_the_submissions_own_with_a_hidden_name_is_not_flagged(
        tmp_path: Path, rag: Assignment) -> None:
    own = "def rank(scores):\n    return sorted(scores, key=scores.get, reverse=True)\n"
    solution = HONEST.replace("import json\n", "import json\nimport retrieval\n", 1)
    section = check(RAG, rag, submission(tmp_path, {"solution.py": solution,
                                                    "retrieval.py": own}))
    assert section.imports == [] and not section.flagged


# --- hidden items -------------------------------------------------------------------------------

ITEMS = [
    {"id": "q-001", "question": "Which port does the Brakel relay listen on by default?",
     "answer": "port 8443", "relevance": {"kb-1": 2}},
    {"id": "q-002", "question": "How many days are archived Quorin invoices kept for?",
     "answer": "400 days"},
    {"id": "q-003", "question": "Who approves refunds above the Stelmark limit in Dravon?",
     "answer": "Ilsa Varno"},
    {"id": "q-004", "question": "What is the retry interval of the Pluvia sync agent?",
     "answer": "every 90 seconds"},
]


def test_item_texts_keep_long_strings_only() -> None:
    texts = item_texts(ITEMS)
    assert texts == [item["question"] for item in ITEMS]


def test_hidden_items_held_word_for_word_are_flagged(tmp_path: Path, rag: Assignment) -> None:
    table = {item["question"].upper(): item["answer"] for item in ITEMS[:2]}
    pickled = pickle.dumps({item["question"]: item["answer"] for item in ITEMS[2:]})
    section = check(RAG, rag, submission(tmp_path, {
        "lookup.json": json.dumps(table, indent=1), "model/table.pkl": pickled}),
        hidden_items=lambda: ITEMS)
    assert section.flagged and section.hidden_items_searched == len(ITEMS)
    by_path = {f.path: f for f in section.hidden_items}
    assert set(by_path) == {"lookup.json", "model/table.pkl"}
    assert by_path["lookup.json"].items == 2
    assert [e.line for e in by_path["lookup.json"].examples] == [2, 3]
    assert by_path["model/table.pkl"].examples[0].line is None
    assert "4 hidden item(s) held word for word in 2 file(s)" in section.message


def test_a_few_items_or_items_also_public_are_not_flagged(tmp_path: Path,
                                                          rag: Assignment) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "dev.jsonl").write_text(json.dumps(ITEMS[0]) + "\n" + json.dumps(ITEMS[1]) + "\n")
    text = "\n".join(item["question"] for item in ITEMS[:MIN_ITEMS_FOUND])
    section = check(RAG, rag, submission(tmp_path, {"notes.txt": text}),
                    hidden_items=lambda: ITEMS, public_data=public)
    assert section.hidden_items_searched == len(ITEMS) - 2
    assert section.hidden_items == [] and not section.flagged


def test_a_failing_generator_is_a_note_not_a_failure(tmp_path: Path, rag: Assignment) -> None:
    def broken() -> list:
        raise RuntimeError("no such seed")

    section = check(RAG, rag, submission(tmp_path, {}), hidden_items=broken)
    assert section.checked and section.hidden_items_searched is None
    assert any("RuntimeError: no such seed" in note for note in section.notes)


# --- metrics ------------------------------------------------------------------------------------

def test_a_perfect_metric_is_flagged(rag: Assignment) -> None:
    reference = rag.baseline("reference").scores
    ndcg = reference["retrieval.ndcg_at_10"]
    found = find_implausible_metrics(rag, {"retrieval.recall_at_10": 1.0,
                                           "retrieval.ndcg_at_10": ndcg,
                                           "retrieval.search_p50_ms": 0.0})
    assert [(f.metric, f.kind, f.reference) for f in found] == [
        ("retrieval.recall_at_10", "perfect", "reference")]
    assert found[0].reference_value == pytest.approx(reference["retrieval.recall_at_10"])
    assert "perfect (1.000)" in found[0].message


def test_a_metric_far_beyond_the_reference_is_flagged(rag: Assignment) -> None:
    reference = rag.baseline("reference").scores["retrieval.ndcg_at_10"]
    far = find_implausible_metrics(rag, {"retrieval.ndcg_at_10": reference + 0.1})
    near = find_implausible_metrics(rag, {"retrieval.ndcg_at_10": reference + 0.04})
    assert [(f.kind, f.margin) for f in far] == [("beyond_reference", SHARE_MARGIN)]
    assert near == []


def test_lower_is_better_metrics_and_other_scales() -> None:
    fraud = load_assignment(FRAUD, ceiling=Limits())
    assert [f.kind for f in find_implausible_metrics(fraud, {"quality.ece": 0.0})] == ["perfect"]
    assert find_implausible_metrics(fraud, {"quality.ece": 0.005}) == []
    assert find_implausible_metrics(fraud, {"quality.p95_batch_ms": 0.001}) == []  # a timing
    # On a scale outside [0, 1] the margin is half the reference-to-plain gap.
    scores = {"prior": {"quality.pr_auc": 2.0}, "logreg": {"quality.pr_auc": 30.0},
              "gbm": {"quality.pr_auc": 60.0}, "reference": {"quality.pr_auc": 80.0}}
    beyond = find_implausible_metrics(fraud, {"quality.pr_auc": 91.0}, scores)
    assert [(f.kind, f.margin) for f in beyond] == [("beyond_reference", 10.0)]
    assert find_implausible_metrics(fraud, {"quality.pr_auc": 89.0}, scores) == []


def test_metric_findings_follow_the_anchors_a_report_is_rescored_on(tmp_path: Path,
                                                                     rag: Assignment) -> None:
    values = {"retrieval.ndcg_at_10": 0.8}
    section = check(RAG, rag, submission(tmp_path, {}), metrics=values)
    assert [f.kind for f in section.metrics] == ["beyond_reference"] and section.flagged
    instance = {name: dict(scores) for name, scores in
                {b.name: b.scores for b in rag.baselines}.items()}
    instance["reference"]["retrieval.ndcg_at_10"] = 0.79
    rescored = with_metrics(section, rag, values, instance)
    assert rescored.metrics == [] and not rescored.flagged
    assert rescored.message.startswith("Nothing found")
    broken = integrity_not_checked("boom")
    assert with_metrics(broken, rag, values) is broken


def test_metrics_reach_the_section(tmp_path: Path, rag: Assignment) -> None:
    section = check(RAG, rag, submission(tmp_path, {}),
                    metrics={"retrieval.recall_at_10": 1.0, "answers.token_f1": None})
    assert section.flagged and [f.metric for f in section.metrics] == ["retrieval.recall_at_10"]


# --- failures and speed -------------------------------------------------------------------------

def test_a_failure_inside_the_check_is_recorded_not_raised(
        tmp_path: Path, rag: Assignment, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args, **_kwargs):
        raise ValueError("a bug in the grader")

    monkeypatch.setattr(integrity_module, "find_copies", boom)
    section = check(RAG, rag, submission(tmp_path, {}))
    assert not section.checked and not section.flagged
    assert section.message == ("The integrity check could not run: ValueError: a bug in the "
                               "grader")


def test_a_large_submission_is_checked_quickly(tmp_path: Path, rag: Assignment) -> None:
    files: dict[str, str | bytes] = {f"pkg/copy_{i}.py": hidden_text("generate.py")
                                     for i in range(4)}
    files["pkg/catalogue.py"] = hidden_text("catalogue.py")
    files["data/corpus.jsonl"] = (RAG / "candidate" / "data" / "corpus.jsonl").read_bytes()
    started = time.perf_counter()
    section = check(RAG, rag, submission(tmp_path, files), hidden_items=lambda: ITEMS)
    elapsed = time.perf_counter() - started
    assert {c.path for c in section.copies} >= {f"pkg/copy_{i}.py" for i in range(4)}
    assert elapsed < 20, f"{elapsed:.1f} s"


# --- the report ---------------------------------------------------------------------------------

def test_candidates_never_receive_the_section(tmp_path: Path, rag: Assignment) -> None:
    from typing import get_args

    from grader.report import Report, ReportStatus, Reproduction
    from grader.spec import ReleasedField

    section = check(RAG, rag, submission(tmp_path, {"gen.py": hidden_text("generate.py")}))
    assert section.flagged
    report = Report(
        status=ReportStatus.GRADED, message="Graded: 50.0 / 100.", assignment_title="t",
        total=50.0, components=[], metrics=[], hidden_tests=[], phases=[], integrity=section,
        reproduction=Reproduction(
            runner_image="i", runner_image_digest=None, assignment_id="rag_pipeline",
            assignment_version="1.0.0", assignment_sha256="0" * 64, submission_sha256=None,
            instance_id="demo", demo=True, public_data_sha256=None, seeds={}, limits={}))
    assert "integrity" not in get_args(ReleasedField)
    released = json.dumps(report.for_candidate(list(get_args(ReleasedField))))
    assert "integrity" not in released and "generate.py" not in released
    assert Report.model_validate_json(report.model_dump_json()).integrity == section


def test_the_pipeline_puts_the_section_in_a_graded_report(tmp_path: Path,
                                                          rag: Assignment) -> None:
    """The report's assembly, in process (no container runs: nothing was built)."""
    from grader.instance import demo_instance
    from grader.pipeline import _Grading
    from sandbox import Limits

    root = submission(tmp_path, {"gen.py": hidden_text("generate.py")})
    steps: list[str] = []
    grading = _Grading(rag, RAG, demo_instance(rag, RAG), root, "runner:test", Limits(),
                       steps.append)
    grading.ledger.metrics = {"retrieval.recall_at_10": 1.0}
    report = grading.report("sha256:" + "0" * 64, None)
    assert report.integrity is not None and report.integrity.flagged
    assert {c.path for c in report.integrity.copies} == {"gen.py"}
    assert [f.metric for f in report.integrity.metrics] == ["retrieval.recall_at_10"]
    assert (report.integrity.hidden_items_searched is None) == (rag.instance is None)
    assert "integrity" in steps
