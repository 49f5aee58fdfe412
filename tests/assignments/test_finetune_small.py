"""The finetune_small assignment: its ticket generator, committed data, harness and hidden suites.

Most tests run the trusted side in-process: the harness and the hidden suites against a real
``Candidate`` whose session calls a solution imported here instead of crossing into a container.
One docker-marked test grades the floor and the TF-IDF baseline through the real pipeline.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import sandbox
from grader.authoring import TIMING_SUFFIXES
from grader.candidate import Candidate
from grader.hidden import HiddenContext, run_harness, run_suite
from grader.spec import Assignment, load_assignment
from sandbox import Limits

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "finetune_small"
HIDDEN = FOLDER / "hidden"
DATA = FOLDER / "candidate" / "data"


def _module(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: the generator defines dataclasses
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _module("finetune_small_hidden_generate", HIDDEN / "generate.py")


@pytest.fixture(scope="module")
def spec() -> Assignment:
    return load_assignment(FOLDER, ceiling=Limits())


@pytest.fixture(scope="module")
def seeds(spec) -> dict[str, int]:
    return dict(spec.reproducibility.seeds)   # the demo instance


@pytest.fixture(scope="module")
def public(generator, seeds) -> dict[str, list[dict[str, str]]]:
    return generator.public_splits(seeds["public"])


@pytest.fixture(scope="module")
def hidden(generator, seeds) -> list[dict[str, str]]:
    return generator.hidden_items(seeds)


PUBLIC_REFUND = "Please refund order {order}, the {product} arrived damaged."  # in INTENTS


def _private_seeds(rng_seed: int) -> dict[str, int]:
    rng = random.Random(rng_seed)
    return {"public": rng.getrandbits(63), "hidden": rng.getrandbits(63)}


# --- the spec -----------------------------------------------------------------------------------

def test_spec_labels_are_the_generators(spec, generator) -> None:
    assert spec.entry_point("predict").returns["items"]["enum"] == list(generator.LABELS)
    proba = spec.entry_point("predict_proba").returns["items"]
    assert proba["propertyNames"]["enum"] == list(generator.LABELS)
    solution = _module("finetune_small_starter", FOLDER / "candidate" / "solution.py")
    assert list(generator.LABELS) == solution.LABELS


def test_spec_declares_the_instance_generator(spec) -> None:
    assert spec.instance is not None
    assert spec.instance.generator == Path("hidden/generate.py")
    assert set(spec.reproducibility.seeds) == {"public", "hidden"}


def test_rubric_is_anchored_on_floor_tfidf_frozen_encoder_and_reference(spec) -> None:
    for component in spec.rubric:
        if component.scale is not None:
            anchors = [(a.baseline, a.points) for a in component.scale.anchors]
            assert anchors == [("chance", 0.0), ("tfidf_lr", 0.4), ("minilm_lr", 0.7),
                               ("reference", 1.0)]
    recorded = {b.name: b.scores for b in spec.baselines}
    for metric in ("quality.macro_f1", "quality.shifted_macro_f1"):
        assert recorded["chance"][metric] < recorded["tfidf_lr"][metric] \
            < recorded["minilm_lr"][metric] < recorded["reference"][metric]
    # The calibration: TF-IDF in [0.55, 0.85]; the reference 0.05 above it, more on the
    # shifted slice.
    tfidf, reference = recorded["tfidf_lr"], recorded["reference"]
    assert 0.55 <= tfidf["quality.macro_f1"] <= 0.85
    overall = reference["quality.macro_f1"] - tfidf["quality.macro_f1"]
    assert overall >= 0.05
    assert reference["quality.shifted_macro_f1"] - tfidf["quality.shifted_macro_f1"] > overall


# --- the generator ------------------------------------------------------------------------------

def test_same_seeds_same_bytes(generator) -> None:
    seeds = _private_seeds(1)
    assert generator.public_files(seeds) == generator.public_files(dict(seeds))
    assert generator.to_jsonl(generator.hidden_items(seeds)) == generator.to_jsonl(
        generator.hidden_items(dict(seeds)))


def test_committed_public_data_is_the_demo_instances(generator, seeds) -> None:
    files = generator.public_files(seeds)
    assert sorted(files) == ["dev.jsonl", "train.jsonl"]
    for name, content in files.items():
        assert (DATA / name).read_bytes() == content, \
            f"{name} differs: rewrite candidate/data with hidden/generate.py (see assignment.yaml)"


def test_two_instances_share_no_hidden_text(generator) -> None:
    one, other = _private_seeds(2), _private_seeds(3)
    texts = {row["text"] for row in generator.hidden_items(one)}
    assert len(texts & {row["text"] for row in generator.hidden_items(other)}) < 0.01 * len(texts)
    # Nor their public data: the world (names) and every row come from the public seed.
    public = {row["text"] for rows in generator.public_splits(one["public"]).values()
              for row in rows}
    assert len(public & {row["text"] for rows in generator.public_splits(
        other["public"]).values() for row in rows}) < 0.01 * len(public)


def test_hidden_split_depends_on_each_seed(generator) -> None:
    seeds = _private_seeds(4)
    base = {row["text"] for row in generator.hidden_items(seeds)}
    for name in ("public", "hidden"):
        changed = {row["text"] for row in generator.hidden_items({**seeds, name: seeds[name] + 1})}
        assert len(base & changed) < 0.01 * len(base), name


def test_worlds_are_invented_and_disjoint(generator) -> None:
    worlds = [generator.world(_private_seeds(n)["public"]) for n in (5, 6)]
    for world in worlds:
        seen = world.products + world.plans + world.features
        new = world.new_products + world.new_plans + world.new_features
        assert len(set(seen)) == len(seen) and len(set(new)) == len(new)
        assert not set(seen) & set(new)
        assert (len(world.products), len(world.new_products)) == (12, 8)
    names = [set(w.products + w.plans + w.new_products + w.new_plans + w.new_features)
             for w in worlds]
    assert not names[0] & names[1]


def test_public_rows(generator, public) -> None:
    assert [len(public["train"]), len(public["dev"])] == [generator.TRAIN_SIZE,
                                                          generator.DEV_SIZE]
    assert (generator.TRAIN_SIZE, generator.DEV_SIZE) == (2000, 400)
    ids = [row["id"] for rows in public.values() for row in rows]
    assert len(set(ids)) == len(ids)
    for rows in public.values():
        assert all(list(row) == ["id", "text", "label"] for row in rows)
        assert {row["label"] for row in rows} == set(generator.LABELS)
    counts = Counter(row["label"] for row in public["train"])
    assert len(generator.LABELS) >= 12
    assert max(counts.values()) >= 4 * min(counts.values()), "classes should be imbalanced"


def test_hidden_rows(generator, public, hidden) -> None:
    assert len(hidden) == generator.HIDDEN_SIZE == 1000
    slices = Counter(row["slice"] for row in hidden)
    assert slices == {"in_distribution": 600, "shifted": 400}
    for name in slices:
        assert {r["label"] for r in hidden if r["slice"] == name} == set(generator.LABELS)
    seen = {row["text"] for rows in public.values() for row in rows}
    # Short generic tickets may repeat a public one word for word, as real ones do; rarely.
    assert sum(row["text"] in seen for row in hidden) < 0.01 * len(hidden)


def test_noise_features_occur(generator, public) -> None:
    texts = [row["text"] for row in public["train"]]
    cues = [cue.strip() for cue in generator.SEEN_AFTER_CUES + generator.SEEN_BEFORE_CUES]
    two_intent = sum(any(cue in text for cue in cues) for text in texts) / len(texts)
    assert 0.15 < two_intent < 0.35
    contrast = sum(_is_contrast(generator, text) for text in texts) / len(texts)
    assert 0.08 < contrast < 0.16
    assert sum(text == text.lower() for text in texts) > 0.05 * len(texts)
    assert sum(text == text.upper() for text in texts) > 0.005 * len(texts)
    assert sum(bool(re.search(r"#\d{6,8}|ORD-\d+", text)) for text in texts) > 0.1 * len(texts)
    greetings = tuple(g.lower() for g in generator.SEEN_GREETINGS)
    assert sum(text.lower().startswith(greetings) for text in texts) > 0.5 * len(texts)
    # Typos make many words that occur once; the templates alone have no such words.
    words = Counter(w.lower() for text in texts for w in re.findall(r"[A-Za-z]+", text))
    assert sum(1 for count in words.values() if count == 1) > 300


def _is_contrast(generator, text: str) -> bool:
    fixed = [re.split(r"\{\w+\}", frame) for frame in generator.CONTRAST_FRAMES]
    lowered = text.lower()
    return any(all(part.strip(" ,.;").lower() in lowered for part in parts if part.strip(" ,.;"))
               for parts in fixed)


def test_contrast_tickets_name_both_roles_alike(generator) -> None:
    # Every topic starts with "the" and ends in a value drawn per ticket, so no bigram at its
    # edges tells a bag of words which topic is the request.
    for label, topics in generator.TOPICS.items():
        assert label in generator.LABELS
        for topic in topics:
            assert topic.startswith("the "), topic
            assert re.search(r"\{(order|last4|invoice|error)\}$", topic), topic


def test_label_noise_is_small_and_public_only(generator, seeds, monkeypatch) -> None:
    noisy = generator.public_splits(seeds["public"])["train"]
    monkeypatch.setattr(generator, "LABEL_NOISE_RATE", 0.0)
    clean = generator.public_splits(seeds["public"])["train"]
    assert [r["text"] for r in noisy] == [r["text"] for r in clean]
    flipped = sum(a["label"] != b["label"] for a, b in zip(noisy, clean, strict=True))
    assert 0.015 * len(clean) < flipped < 0.05 * len(clean)


def test_shifted_slice_uses_unseen_names_and_wordings(generator, seeds, public, hidden) -> None:
    public_text = "\n".join(row["text"] for rows in public.values() for row in rows).lower()
    shifted_text = "\n".join(r["text"] for r in hidden if r["slice"] == "shifted").lower()
    world = generator.world(seeds["public"])
    for name in world.new_products + world.new_plans + world.new_features:
        assert name.lower() not in public_text, name
    for name in world.products + world.plans:
        assert name.lower() not in shifted_text, name
    content = generator.content_for(seeds)   # the demo's: the example content
    assert content == generator.load_content(generator.EXAMPLE_CONTENT_FILE)
    for label, wordings in content.items():
        for phrasing in wordings.requests:
            # the longest run of fixed words: a held-out wording must never reach training
            fragment = max(re.split(r"\{[a-z0-9]+\}", phrasing), key=len).strip().lower()
            assert fragment not in public_text, f"{label}: {fragment!r} is public"


def test_a_private_instance_without_content_holds_out_no_wording(generator, monkeypatch,
                                                                  tmp_path) -> None:
    monkeypatch.setattr(generator, "CONTENT_FILE", tmp_path / "shifted.jsonl")
    assert generator.content_for(_private_seeds(7)) is None
    rows = generator.hidden_items(_private_seeds(7))
    shifted = [r["text"] for r in rows if r["slice"] == "shifted"]
    # Half the shifted tickets say which request they are not about.
    assert 0.4 < sum(_is_contrast(generator, text) for text in shifted) / len(shifted) < 0.6


def test_private_content_is_the_shifted_slices(generator, monkeypatch, tmp_path) -> None:
    private = tmp_path / "shifted.jsonl"
    lines = [{"label": label, "kind": "request", "text": f"Zq-{label} wording {n} for {{product}}."}
             for label in generator.LABELS for n in range(3)]
    private.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    monkeypatch.setattr(generator, "CONTENT_FILE", private)
    seeds = _private_seeds(8)
    rows = generator.hidden_items(seeds)
    marked = [row for row in rows if "zq" in row["text"].lower()]
    assert all(row["slice"] == "shifted" and f"zq-{row['label']}" in row["text"].lower()
               for row in marked)
    # Every shifted ticket but its contrast ones (12%, as in training) has a private request.
    assert 0.8 * generator.HIDDEN_SHIFTED < len(marked) < 0.95 * generator.HIDDEN_SHIFTED
    # The demo keeps its example content, so its recorded baselines still reproduce.
    spec_seeds = generator._published_seeds()
    assert generator.content_for(spec_seeds) == generator.load_content(
        generator.EXAMPLE_CONTENT_FILE)


@pytest.mark.parametrize(("line", "message"), [
    ('{"label": "nope", "kind": "request", "text": "x"}', "unknown label"),
    ('{"label": "refund_request", "kind": "aside", "text": "x"}', "kind must be"),
    ('{"label": "refund_request", "kind": "request", "text": "a {colour}"}', "placeholders"),
    ('{"label": "refund_request", "kind": "request", "text": "a {"}', "literal brace"),
    ('{"label": "refund_request", "kind": "request"}', "label, kind and text"),
    ("not json", "not JSON"),
    ('{"label": "refund_request", "kind": "request", "text": "ok {product}"}', "at least 3"),
    (json.dumps({"label": "refund_request", "kind": "request",
                 "text": "Hello. " + PUBLIC_REFUND.replace("Please", "PLEASE") + " Thanks"}),
     "holds the public wording"),
])
def test_content_errors_name_the_line(generator, tmp_path, line, message) -> None:
    path = tmp_path / "shifted.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(generator.ContentError, match=re.escape(message)):
        generator.load_content(path)


def test_a_copy_of_the_public_example_holds_nothing_out_and_is_refused(
        generator, monkeypatch, tmp_path) -> None:
    copy = tmp_path / "shifted.jsonl"
    copy.write_bytes(generator.EXAMPLE_CONTENT_FILE.read_bytes())
    monkeypatch.setattr(generator, "CONTENT_FILE", copy)
    with pytest.raises(generator.ContentError, match="copies the public example's wordings of "
                                                     "account_locked, address_change, "):
        generator.hidden_items(_private_seeds(9))


def test_example_content_is_complete(generator) -> None:
    content = generator.load_content(generator.EXAMPLE_CONTENT_FILE)
    assert set(content) == set(generator.LABELS)
    assert all(len(w.requests) >= 5 and w.details and w.mentions for w in content.values())


def test_content_reads_as_an_editor_may_save_it(generator, tmp_path) -> None:
    """A byte-order mark, CRLF, a line separator inside a string (json.dumps writes U+2028 as
    it is with ensure_ascii=False)."""
    text = generator.EXAMPLE_CONTENT_FILE.read_text(encoding="utf-8")
    first = json.loads(text.splitlines()[0])["text"]
    path = tmp_path / "shifted.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace(first, first.replace(" ", "\u2028", 1))
                     .replace("\n", "\r\n").encode())
    content = generator.load_content(path)
    assert content.keys() == generator.load_content(generator.EXAMPLE_CONTENT_FILE).keys()
    assert any("\u2028" in request for w in content.values() for request in w.requests)


# --- the harness and hidden suites, in-process --------------------------------------------------

class InProcessSession:
    """An ``AgentSession`` stand-in: calls a solution module here, through a JSON round trip."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.last_call_seconds: float | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        function = getattr(self.module, method, None)
        started = time.monotonic()
        try:
            if function is None:
                raise AttributeError(f"solution.py has no function {method!r}")
            return json.loads(json.dumps(function(**json.loads(json.dumps(params)))))
        except Exception as exc:
            raise sandbox.CandidateError(type(exc).__name__, str(exc), "") from exc
        finally:
            self.last_call_seconds = time.monotonic() - started


def _candidate(spec: Assignment, module: Any) -> Candidate:
    return Candidate(InProcessSession(module), {
        ep.name: (ep.params, ep.returns) for ep in spec.entry_points if ep.phase == "serve"})


@pytest.fixture(scope="module")
def tfidf(tmp_path_factory) -> ModuleType:
    module = _module("finetune_small_tfidf_lr", FOLDER / "reference" / "tfidf_lr" / "solution.py")
    work = tmp_path_factory.mktemp("tfidf-work")
    module.train(str(DATA / "train.jsonl"), str(DATA / "dev.jsonl"), str(work))
    module.load(str(work))
    module.saved_bytes = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
    return module


class Oracle:
    """Knows every hidden label; offers no predict_proba."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self._labels = {row["text"]: row["label"] for row in rows}

    def predict(self, texts: list[str]) -> list[str]:
        return [self._labels.get(text, "refund_request") for text in texts]


@pytest.fixture(scope="module")
def context(spec) -> HiddenContext:
    # Candidates held in this process saved nothing; a test of a real build states its size.
    return HiddenContext(hidden_dir=HIDDEN, seeds=spec.reproducibility.seeds, work_bytes=0)


def _metrics(spec: Assignment) -> list[str]:
    return [m.name for m in spec.harness("quality").metrics]


def test_harness_on_the_tfidf_baseline(spec, context, tfidf) -> None:
    context = dataclasses.replace(context, work_bytes=tfidf.saved_bytes)
    values = run_harness("quality", HIDDEN / "harness.py", candidate=_candidate(spec, tfidf),
                         context=context, metrics=_metrics(spec))
    recorded = spec.baseline("tfidf_lr").scores
    # Same code, same data, scikit-learn in both places: the recorded scores come back exactly,
    # the size of the saved model too; timings never do.
    for key, value in recorded.items():
        if not key.endswith(TIMING_SUFFIXES):
            assert values[key.removeprefix("quality.")] == value, key
    assert values["shifted_macro_f1"] < values["in_distribution_macro_f1"]
    assert values["proba_provided"] == 1.0
    assert 0.0 < values["ece"] < 1.0
    assert 0.0 < values["latency_p50_ms"] <= values["latency_p95_ms"]


def test_harness_without_predict_proba_reports_one_hot_ece(spec, context, hidden) -> None:
    values = run_harness("quality", HIDDEN / "harness.py",
                         candidate=_candidate(spec, Oracle(hidden)), context=context,
                         metrics=_metrics(spec))
    assert values["macro_f1"] == values["accuracy"] == values["shifted_macro_f1"] == 1.0
    assert values["proba_provided"] == 0.0
    assert values["ece"] == 0.0   # one-hot labels: 1 - accuracy


def _suite(spec, context, module, name):
    results = run_suite(name, FOLDER / spec.suite(name).path,
                        candidate=_candidate(spec, module), context=context)
    return {r.name.rpartition("::")[2]: r.outcome for r in results}


def test_hidden_suites_pass_for_the_tfidf_baseline(spec, context, tfidf) -> None:
    behaviour = _suite(spec, context, tfidf, "behaviour")
    assert len(behaviour) == 7
    assert set(behaviour.values()) == {"passed"}, behaviour
    assert _suite(spec, context, tfidf, "probabilities") == {
        "test_probabilities_sum_to_one": "passed"}


def test_missing_predict_proba_is_skipped_not_failed(spec, context, hidden) -> None:
    assert _suite(spec, context, Oracle(hidden), "probabilities") == {
        "test_probabilities_sum_to_one": "skipped"}


def test_probabilities_that_do_not_sum_to_one_fail(spec, context, tfidf) -> None:
    class Unnormalised:
        def predict_proba(self, texts):
            return [{"refund_request": 0.7, "billing_dispute": 0.7} for _ in texts]

    assert _suite(spec, context, Unnormalised(), "probabilities") == {
        "test_probabilities_sum_to_one": "failed"}


def test_behaviour_suite_catches_order_and_batch_effects(spec, context, hidden) -> None:
    class Positional:
        """Labels by position in the batch, not by text."""

        def predict(self, texts):
            labels = sorted({row["label"] for row in hidden})
            return [labels[i % len(labels)] for i in range(len(texts))]

    outcomes = _suite(spec, context, Positional(), "behaviour")
    assert outcomes["test_order_is_preserved"] == "failed"
    assert outcomes["test_batch_and_one_by_one_agree"] == "failed"
    assert outcomes["test_empty_batch"] == "passed"


def _chance(data: Path, work: Path) -> ModuleType:
    """The floor baseline trained on ``data`` (the module is shared: the last training holds)."""
    module = _module("finetune_small_chance", FOLDER / "reference" / "chance" / "solution.py")
    work.mkdir()
    module.train(str(data / "train.jsonl"), str(data / "dev.jsonl"), str(work))
    module.load(str(work))
    return module


def test_the_floor_is_chance_on_the_demo_and_a_private_instance(spec, context, generator,
                                                                 tmp_path) -> None:
    """The floor anchors 0 at guessing: below it, random labels earned points. Its anchors are
    measured again on every instance, so it must reach chance there too."""
    chance = 1 / len(generator.LABELS)
    demo = _chance(DATA, tmp_path / "demo")
    values = run_harness("quality", HIDDEN / "harness.py", candidate=_candidate(spec, demo),
                         context=context, metrics=_metrics(spec))
    for key, value in spec.baseline("chance").scores.items():
        if not key.endswith(TIMING_SUFFIXES):
            assert values[key.removeprefix("quality.")] == value, key
    assert set(_suite(spec, context, demo, "behaviour").values()) == {"passed"}

    seeds = _private_seeds(11)
    data = tmp_path / "private"
    for relative, content in generator.public_files(seeds).items():
        (data / relative).parent.mkdir(parents=True, exist_ok=True)
        (data / relative).write_bytes(content)
    private = _chance(data, tmp_path / "private-work")
    values = run_harness("quality", HIDDEN / "harness.py", candidate=_candidate(spec, private),
                         context=dataclasses.replace(context, seeds=seeds),
                         metrics=_metrics(spec))
    for metric in ("macro_f1", "shifted_macro_f1"):
        assert chance / 2 < values[metric] < 2 * chance, (metric, values[metric])


def test_starter_bundle_fails_every_behaviour_test(spec, context) -> None:
    starter = _module("finetune_small_starter", FOLDER / "candidate" / "solution.py")
    outcomes = _suite(spec, context, starter, "behaviour")
    assert "passed" not in {o for name, o in outcomes.items() if name != "test_empty_batch"}


# --- through the real pipeline ------------------------------------------------------------------

@pytest.mark.docker
def test_floor_and_tfidf_graded_in_containers(spec, runner_image, tmp_path) -> None:
    from grader.authoring import zip_folder
    from grader.instance import demo_instance
    from grader.pipeline import grade_zip
    from grader.settings import get_settings

    settings = get_settings()
    reports = {}
    for name in ("chance", "tfidf_lr"):
        archive = zip_folder(FOLDER / spec.baseline(name).path, tmp_path / f"{name}.zip")
        reports[name] = grade_zip(assignment=spec, folder=FOLDER,
                                  instance=demo_instance(spec, FOLDER), zip_path=archive,
                                  runner_image=runner_image, ceiling=settings.limits,
                                  intake=settings.intake)
    metrics = {name: {m.name: m.value for m in report.metrics}
               for name, report in reports.items()}
    floor, tfidf = metrics["chance"], metrics["tfidf_lr"]
    assert floor["quality.macro_f1"] < tfidf["quality.macro_f1"]
    assert floor["quality.shifted_macro_f1"] < tfidf["quality.shifted_macro_f1"]
    assert tfidf["quality.shifted_macro_f1"] < tfidf["quality.in_distribution_macro_f1"]
    for name, report in reports.items():
        assert [p.outcome for p in report.phases] == ["ok"] * 4, name
        assert {t.outcome for t in report.hidden_tests} == {"passed"}, name
        for key, value in spec.baseline(name).scores.items():
            if not key.endswith(TIMING_SUFFIXES):
                assert metrics[name][key] == value, f"{name} {key} does not reproduce"
