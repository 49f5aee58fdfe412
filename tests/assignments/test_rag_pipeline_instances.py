"""rag_pipeline per instance: what its hidden questions ask derives from the instance's seeds, so
everything the public generator says under other seeds is worth nothing on a private instance.

In process, no Docker. The private instances are random 63-bit seeds made here (as
grader.instance derives them from a secret), never the published ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest
from support.grammar import template_regex

from grader.metrics.answers import citation_support, token_f1
from grader.metrics.retrieval import mrr_at_k, ndcg_at_k, recall_at_k

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "rag_pipeline"
GENERATOR = FOLDER / "hidden" / "generate.py"
K = 10
STATES_THE_FACT = 2
TABLE_SEEDS = 20  # instances the attacker tabulates, besides the published one
TOLERANCE = 0.005  # what the attack may score above BM25 on a metric: rounding, nothing more
METRICS = ("recall_at_10", "ndcg_at_10", "mrr_at_10", "token_f1", "citation_support")


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate() -> Iterator[ModuleType]:
    name = "_rag_pipeline_generate_instances"
    yield _load(GENERATOR, name)
    del sys.modules[name]


def instance_seeds(rng: random.Random, names: tuple[str, ...]) -> dict[str, int]:
    """An instance's seeds as grader.instance makes them: one 63-bit integer per name."""
    return {name: rng.getrandbits(63) for name in names}


@pytest.fixture(scope="module")
def published(generate: ModuleType) -> dict[str, int]:
    return generate.assignment_seeds(FOLDER)


@pytest.fixture(scope="module")
def private(generate: ModuleType, published: dict[str, int]) -> dict[str, int]:
    seeds = instance_seeds(random.Random(0x13_1337), generate.SEED_NAMES)
    assert not set(seeds.values()) & set(published.values())
    return seeds


def word_privately(generate: ModuleType, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The example questions file stands in for a deployment's own (the attackers here know only
    catalogue.py), so it is not also the public example the file is compared with."""
    monkeypatch.setattr(generate, "QUESTIONS_FILE", generate.EXAMPLE_QUESTIONS_FILE)
    monkeypatch.setattr(generate, "EXAMPLE_QUESTIONS_FILE", folder / "no-example.jsonl")


@pytest.fixture
def privately_worded(generate: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    word_privately(generate, monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def private_bm25(generate: ModuleType, private: dict[str, int],
                 tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """Plain BM25 built on the private instance's corpus, once for the tests that compare with it
    (the corpus does not depend on how questions are worded)."""
    return bm25_on(generate, generate.build_knowledge_base(private["corpus"]),
                   tmp_path_factory.mktemp("bm25"))


# --- the attack -----------------------------------------------------------------------------

def wordings(fact, company: str) -> Iterator[str]:
    """Every wording the generator can give a question about ``fact`` (see ``_word``)."""
    names = list(fact.slots)
    for template in fact.templates:
        for chosen in itertools.product(*(fact.slots[n] for n in names)):
            text = template.format(company=company, **dict(zip(names, chosen, strict=True)))
            stripped = text.rstrip("?")
            yield text[0].upper() + text[1:]
            yield stripped[0].upper() + stripped[1:]
            yield stripped.lower()


def tabulate(generate: ModuleType, instances: list[Mapping[str, int]]
             ) -> dict[str, tuple[list[str], str]]:
    """question -> (its labelled pages, best first; its gold answer), for every question the
    public generator can word about every fact of each instance's corpus, the first instance's
    entry kept where two instances word a question alike."""
    table: dict[str, tuple[list[str], str]] = {}
    for seeds in instances:
        kb = generate.build_knowledge_base(seeds["corpus"])
        for fact in kb.facts:
            pages = sorted(fact.relevance, key=lambda page: -fact.relevance[page])
            for text in wordings(fact, kb.names.company):
                table.setdefault(text, (pages, fact.answer))  # the first instance's wins
    return table


def bm25_on(generate: ModuleType, kb, folder: Path) -> ModuleType:
    """The repository's plain baseline (reference/bm25), built on ``kb`` in this process."""
    bm25 = _load(FOLDER / "reference" / "bm25" / "solution.py", f"_rag_bm25_{id(kb)}")
    corpus = folder / "corpus.jsonl"
    corpus.write_bytes(generate.jsonl_bytes(kb.rows()))
    bm25.index(str(corpus), str(folder))
    bm25.load(str(folder))
    return bm25


def scores(questions: list[dict], kb, respond) -> dict[str, float]:
    """The harnesses' metrics (hidden/retrieval.py, hidden/answers.py) of ``respond(question)
    -> (ranking, {"answer", "citations"})`` on ``questions``."""
    passages = {page.id: f"{page.title}\n{page.text}" for page in kb.pages}
    run, f1, support = {}, 0.0, 0.0
    for question in questions:
        ranking, result = respond(question["question"])
        run[question["id"]] = ranking
        f1 += token_f1(result["answer"], question["answer"])
        support += citation_support(result["citations"], question["answer"], passages)
    qrels = {q["id"]: q["relevance"] for q in questions}
    return {
        "recall_at_10": recall_at_k(qrels, run, K, min_relevance=STATES_THE_FACT),
        "ndcg_at_10": ndcg_at_k(qrels, run, K),
        "mrr_at_10": mrr_at_k(qrels, run, K, min_relevance=STATES_THE_FACT),
        "token_f1": f1 / len(questions),
        "citation_support": support / len(questions),
    }


def attack_and_baseline(generate: ModuleType, table: Mapping[str, tuple[list[str], str]],
                        seeds: Mapping[str, int], folder: Path
                        ) -> tuple[dict[str, float], dict[str, float], int]:
    """Scores of the lookup attack and of plain BM25 on the instance ``seeds``, and how many of
    its hidden questions the table knew. The attack answers a known question from the table
    (its pages that are in this corpus first, then BM25's) and any other one as BM25 does."""
    kb = generate.build_knowledge_base(seeds["corpus"])
    questions = generate.hidden_questions(kb, seeds)
    bm25 = bm25_on(generate, kb, folder)
    ids = {page.id for page in kb.pages}

    def baseline(question: str) -> tuple[list[str], dict]:
        return bm25.search(question, K), bm25.answer(question)

    def attack(question: str) -> tuple[list[str], dict]:
        ranking, result = baseline(question)
        if question not in table:
            return ranking, result
        pages, answer = table[question]
        known = [page for page in pages if page in ids]
        return (list(dict.fromkeys(known + ranking))[:K],
                {"answer": answer, "citations": known[:1] or result["citations"]})

    hits = sum(q["question"] in table for q in questions)
    return scores(questions, kb, attack), scores(questions, kb, baseline), hits


def test_a_table_of_everything_the_public_generator_says_buys_nothing_on_a_private_instance(
        generate: ModuleType, published: dict[str, int], private: dict[str, int],
        tmp_path: Path) -> None:
    rng = random.Random(0xA77AC4)
    instances = [published, *(instance_seeds(rng, generate.SEED_NAMES)
                              for _ in range(TABLE_SEEDS))]
    table = tabulate(generate, instances)
    # The table is the real thing: every hidden question of the published instance is in it,
    # with its gold answer (a lookup scores 1.000 there, as it did under any hidden seed before).
    demo = generate.hidden_questions(generate.build_knowledge_base(published["corpus"]),
                                     published)
    assert all(table[q["question"]][1] == q["answer"] for q in demo)
    assert len(table) > TABLE_SEEDS * 10_000

    attack, baseline, hits = attack_and_baseline(generate, table, private, tmp_path)
    print(f"\n{len(table):,} wordings tabulated; {hits} of {generate.HIDDEN_QUESTIONS} hidden "
          f"questions known\nattack {_fmt(attack)}\nbm25   {_fmt(baseline)}")
    assert hits <= generate.HIDDEN_QUESTIONS // 100
    better = {m: (attack[m], baseline[m]) for m in METRICS if attack[m] > baseline[m] + TOLERANCE}
    assert not better, f"the lookup attack beats plain BM25 on {better}"


def _fmt(values: Mapping[str, float]) -> str:
    return " ".join(f"{name} {values[name]:.3f}" for name in METRICS)


# --- instances are apart, and each is reproducible ------------------------------------------

def test_two_instances_share_no_hidden_question_no_page_and_no_name(
        generate: ModuleType, private: dict[str, int]) -> None:
    other = instance_seeds(random.Random(0xB0B), generate.SEED_NAMES)
    items = [generate.hidden_items(seeds) for seeds in (private, other)]
    questions = [{item["question"] for item in split} for split in items]
    assert len(items[0]) == len(items[1]) >= generate.HIDDEN_QUESTIONS
    assert not questions[0] & questions[1]
    pairs = [{(i["question"], i["answer"]) for i in split} for split in items]
    assert not pairs[0] & pairs[1]

    kbs = [generate.build_knowledge_base(seeds["corpus"]) for seeds in (private, other)]
    texts = [{page.text for page in kb.pages} for kb in kbs]
    titles = [{page.title for page in kb.pages} for kb in kbs]
    assert not texts[0] & texts[1]
    assert len(titles[0] & titles[1]) == 0
    names = [_names(kb.names) for kb in kbs]
    assert not names[0] & names[1]
    ids = [{page.id for page in kb.pages} for kb in kbs]
    assert len(ids[0] & ids[1]) < len(ids[0]) / 10  # 5-digit ids: some coincide by chance
    # Figures are drawn anew: a fact in the same place of both instances (guides and policies
    # come in the same order) rarely has the same answer.
    facts = [[f for f in kb.facts if f.kind != "issue"] for kb in kbs]
    same = sum(a.answer == b.answer for a, b in zip(*facts, strict=True))
    assert same < len(facts[0]) / 20


def _names(names) -> set[str]:
    return {names.company, *(f.name for f in names.families),
            *(p for f in names.families for p, _ in f.products),
            *(r.name for r in names.regions), *(o for r in names.regions for o in r.offices)}


def digest(generate: ModuleType, seeds: Mapping[str, int]) -> str:
    """One hash of an instance: its public files and its hidden items."""
    h = hashlib.sha256()
    for name, content in sorted(generate.public_files(seeds).items()):
        h.update(name.encode() + b"\0" + content)
    h.update(json.dumps(generate.hidden_items(seeds), sort_keys=True).encode())
    return h.hexdigest()


def test_an_instance_is_the_same_bytes_again_and_in_another_process(
        generate: ModuleType, private: dict[str, int]) -> None:
    here = digest(generate, private)
    assert here == digest(generate, private)
    script = "\n".join([
        "import hashlib, importlib.util, json, sys",
        "from collections.abc import Mapping",
        "from types import ModuleType",
        f"spec = importlib.util.spec_from_file_location('g', {str(GENERATOR)!r})",
        "g = importlib.util.module_from_spec(spec)",
        "sys.modules['g'] = g",
        "spec.loader.exec_module(g)",
        inspect.getsource(digest),
        f"print(digest(g, {json.dumps(private)}))"])
    # Another hash seed: no set or dict order of this process leaks into the bytes.
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == here


# --- what the instance keeps of the assignment ----------------------------------------------

def test_a_private_instance_keeps_the_hard_parts_and_the_labels(
        generate: ModuleType, private: dict[str, int]) -> None:
    kb = generate.build_knowledge_base(private["corpus"])
    rows = kb.rows()
    assert 1000 <= len(rows) <= 3000
    assert len([r for r in rows if "\nStatus: Archived" in r["text"]]) > 150
    assert len([r for r in rows if len(r["text"].split()) > 250]) > 300
    assert sum(len(r["text"].split()) for r in rows) < 300_000
    dev = generate.dev_questions(kb, private)
    hidden = generate.hidden_questions(kb, private)
    assert {q["fact"] for q in dev}.isdisjoint(q["fact"] for q in hidden)
    assert not {q["question"] for q in dev} & {q["question"] for q in hidden}
    pages = {p.id: f"{p.title}\n{p.text}" for p in kb.pages}
    from grader.metrics.answers import contains_answer

    archived_checked = 0
    for question in [*dev, *hidden]:
        stating = [p for p, label in question["relevance"].items() if label == 2]
        assert stating and all(contains_answer(pages[p], question["answer"]) for p in stating)
        for page, label in question["relevance"].items():
            if label == 1 and "Status: Archived" in pages[page]:
                assert not contains_answer(pages[page], question["answer"]), (question, page)
                archived_checked += 1
    assert archived_checked > 50


def test_on_a_private_instance_bm25_is_well_above_the_floor_and_below_the_ceiling(
        generate: ModuleType, private: dict[str, int], tmp_path: Path) -> None:
    """The anchors keep their order where candidates are graded. The reference (MiniLM) is not
    installed in the grader's environment: its place above BM25 on a private instance is checked
    through the real pipeline in test_rag_pipeline.py."""
    kb = generate.build_knowledge_base(private["corpus"])
    questions = generate.hidden_questions(kb, private)
    bm25 = bm25_on(generate, kb, tmp_path)
    floor = _load(FOLDER / "reference" / "floor" / "solution.py", "_rag_floor_instances")
    floor.index(str(tmp_path / "corpus.jsonl"), str(tmp_path))
    floor.load(str(tmp_path))
    plain = scores(questions, kb, lambda q: (bm25.search(q, K), bm25.answer(q)))
    empty = scores(questions, kb, lambda q: (floor.search(q, K), floor.answer(q)))
    assert 0.45 <= plain["recall_at_10"] <= 0.80
    for metric in ("recall_at_10", "ndcg_at_10", "mrr_at_10", "citation_support"):
        assert empty[metric] + 0.1 < plain[metric], metric


def test_generation_is_quick(generate: ModuleType, private: dict[str, int]) -> None:
    import time

    started = time.perf_counter()
    generate.public_files(private)
    generate.hidden_items(private)
    assert time.perf_counter() - started < 20  # about 2 s on an idle machine


# --- the public grammar, read on the candidate's own corpus ---------------------------------

def _stated(body: str, statements: tuple[str, ...], captured: tuple[str, ...] = ("value",)
            ) -> dict[str, str]:
    for statement in statements:
        found = re.search(template_regex(statement, captured), body)
        if found:
            return found.groupdict()
    return {}


def _values(body: str, sections) -> dict[str, str]:
    """Each fact of a guide's or a policy's sections that the page states, by its key."""
    stated = {spec.key: _stated(body, spec.statements) for s in sections for spec in s.facts}
    return {key: found["value"] for key, found in stated.items() if found}


def parsed_facts(catalogue: ModuleType, rows: list[dict]
                 ) -> tuple[dict[tuple, tuple[str, dict[str, str]]], dict[str, str],
                            dict[str, tuple]]:
    """What the candidate's own bundle states, read with the public catalogue: (kind, owner,
    document) -> (the current page's id, fact key -> value), office or region -> region, error
    code -> its article's key."""
    topics = {t.title: t for t in catalogue.PRODUCT_TOPICS}
    policies = {p.title: p for p in catalogue.POLICIES}
    facts: dict[tuple, tuple[str, dict[str, str]]] = {}
    regions: dict[str, str] = {}
    codes: dict[str, tuple] = {}
    for row in rows:
        head, _, body = row["text"].partition("\n\n")
        meta = dict(line.split(": ", 1) for line in head.splitlines())
        if meta.get("Status") != "Current":
            continue
        if meta.get("Document type") == "Product guide":
            topic = topics[meta["Topic"]]
            values = _values(body, topic.sections)
            facts[("guide", meta["Product"].lower(), topic.key)] = (row["id"], values)
        elif "Policy" in meta:
            policy = policies[meta["Policy"]]
            region, offices = re.fullmatch(r"(.+) \((.+)\)", meta["Applies to"]).groups()
            regions.update({w.lower(): region.lower() for w in [region, *offices.split(", ")]})
            values = _values(body, policy.sections)
            facts[("policy", region.lower(), policy.key)] = (row["id"], values)
        elif meta.get("Document type") == "Support article":
            issue = next(i for i in catalogue.ISSUES
                         if re.search(template_regex(i.title, ()), row["title"]))
            values = _stated(body, issue.fix, ("setting", "value"))
            values["team"] = _stated(body, catalogue.ISSUE_ESCALATION).get("value", "")
            key = ("issue", meta["Product"].lower(), issue.key)
            facts[key] = (row["id"], values)
            codes[meta["Error code"].lower()] = key
    return facts, regions, codes


def grammar_attack(catalogue: ModuleType, rows: list[dict], fallback):
    """A responder that matches a question against the public question templates, finds the
    page its slots name in the parsed bundle and answers with the value stated there; any other
    question as ``fallback`` does. No retrieval model, no seed, no hidden data."""
    facts, regions, codes = parsed_facts(catalogue, rows)
    symptoms = {i.symptom_question.lower(): i.key for i in catalogue.ISSUES}
    asked = [(q, "guide", t.key, f.key) for t in catalogue.PRODUCT_TOPICS
             for s in t.sections for f in s.facts for q in f.questions]
    asked += [(q, "policy", p.key, f.key) for p in catalogue.POLICIES
              for s in p.sections for f in s.facts for q in f.questions]
    asked += [(q, "issue", None, part) for part, templates in (
        ("setting", catalogue.ISSUE_QUESTIONS_CODE + catalogue.ISSUE_QUESTIONS_SYMPTOM),
        ("value", catalogue.ISSUE_QUESTIONS_VALUE), ("team", catalogue.ISSUE_QUESTIONS_TEAM))
        for q in templates]
    slots = ("product", "where", "code", "symptom")
    patterns = [(re.compile(template_regex(q.rstrip("?"), slots) + r"\??", re.IGNORECASE),
                 kind, document, fact) for q, kind, document, fact in asked]

    def respond(question: str) -> tuple[list[str], dict]:
        ranking, result = fallback(question)
        for pattern, kind, document, fact in patterns:
            found = pattern.fullmatch(question.strip())
            if not found:
                continue
            said = {name: value.lower() for name, value in found.groupdict().items()}
            key = {"guide": ("guide", said.get("product"), document),
                   "policy": ("policy", regions.get(said.get("where", "")), document)}.get(
                kind, codes.get(said.get("code", ""),
                                ("issue", said.get("product"), symptoms.get(said.get("symptom")))))
            page, values = facts.get(key, ("", {}))
            if values.get(fact):
                return ([page, *(p for p in ranking if p != page)][:K],
                        {"answer": values[fact], "citations": [page]})
        return ranking, result
    return respond



def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", " ", text.lower())))


def lexical_attack(catalogue: ModuleType, rows: list[dict], fallback):
    """A looser reader of the public code than ``grammar_attack``: the fact a question asks for
    is the one whose catalogue wordings (questions, statements, headings) share the most
    IDF-weighted words with it; the product, region or error code is found by name in the parsed
    bundle, the issue of a code-less question by its symptoms' words; the value is read with the
    public statement templates. What private question wordings cannot take away, since the
    corpus itself shows its statements."""
    facts, regions, codes = parsed_facts(catalogue, rows)
    documents = [(kind, document.key, spec.key,
                  _words(" ".join((*spec.questions, *spec.statements, *section.headings))))
                 for kind, documents in (("guide", catalogue.PRODUCT_TOPICS),
                                         ("policy", catalogue.POLICIES))
                 for document in documents for section in document.sections
                 for spec in section.facts]
    documents += [("issue", None, part, _words(" ".join(templates))) for part, templates in (
        ("setting", catalogue.ISSUE_QUESTIONS_CODE + catalogue.ISSUE_QUESTIONS_SYMPTOM),
        ("value", catalogue.ISSUE_QUESTIONS_VALUE), ("team", catalogue.ISSUE_QUESTIONS_TEAM))]
    frequency = Counter(word for *_, words in documents for word in words)
    idf = {word: math.log(len(documents) / n) for word, n in frequency.items()}
    products = sorted({key[1] for key in facts if key[0] in ("guide", "issue")}, key=len,
                      reverse=True)
    places = sorted(regions, key=len, reverse=True)
    symptoms = {issue.key: _words(" ".join((*issue.symptoms, issue.symptom_question,
                                            issue.title))) for issue in catalogue.ISSUES}

    def respond(question: str) -> tuple[list[str], dict]:
        ranking, result = fallback(question)
        lower, words = question.lower(), _words(question)
        product = next((p for p in products if p in lower), None)
        where = next((w for w in places if re.search(rf"\b{re.escape(w)}\b", lower)), None)
        code = next((c for c in codes if c in lower), None)
        named = {"guide": product, "policy": where, "issue": product}
        candidates = [d for d in documents if named[d[0]]]
        if not candidates:
            return ranking, result
        kind, document, fact, _ = max(candidates, key=lambda d: sum(idf[w] for w in words & d[3]))
        if kind == "guide":
            key = ("guide", product, document)
        elif kind == "policy":
            key = ("policy", regions[where], document)
        else:
            issue = max(symptoms, key=lambda i: sum(idf.get(w, 1.0) for w in words & symptoms[i]))
            key = codes[code] if code else ("issue", product, issue)
        page, values = facts.get(key, ("", {}))
        if not values.get(fact):
            return ranking, result
        return ([page, *(p for p in ranking if p != page)][:K],
                {"answer": values[fact], "citations": [page]})
    return respond

def _grammar_attack_against_bm25(generate: ModuleType, seeds: dict[str, int], bm25: ModuleType
                                 ) -> dict[str, tuple[float, float]]:
    """The metrics on which the grammar parser, run on the candidate's own bundle, beats the
    plain BM25 it falls back on: (attack, bm25)."""
    rows = [json.loads(line) for line in generate.public_files(seeds)["corpus.jsonl"]
            .decode().splitlines()]  # exactly what the candidate's bundle holds
    kb = generate.build_knowledge_base(seeds["corpus"])  # the grader's side
    questions = generate.hidden_questions(kb, seeds)

    def baseline(question: str) -> tuple[list[str], dict]:
        return bm25.search(question, K), bm25.answer(question)

    attack = scores(questions, kb, grammar_attack(generate.C, rows, baseline))
    plain = scores(questions, kb, baseline)
    print(f"\nattack {_fmt(attack)}\nbm25   {_fmt(plain)}")
    return {m: (attack[m], plain[m]) for m in METRICS if attack[m] > plain[m] + TOLERANCE}


@pytest.mark.xfail(strict=True, reason=(
    "known: without a private questions file a deployment's hidden questions are worded by the "
    "public catalogue, so a parser of it on the candidate's own corpus answers like the "
    "reference without retrieving anything (docs/authoring.md, private question wordings)"))
def test_a_parser_of_the_public_grammar_buys_nothing_without_private_wordings(
        generate: ModuleType, private: dict[str, int], private_bm25: ModuleType,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(generate, "QUESTIONS_FILE", tmp_path / "absent.jsonl")
    better = _grammar_attack_against_bm25(generate, private, private_bm25)
    assert not better, f"the grammar attack beats plain BM25 on {better}"


@pytest.mark.usefixtures("privately_worded")
def test_private_wordings_leave_the_parser_of_the_public_grammar_no_better_than_bm25(
        generate: ModuleType, private: dict[str, int], private_bm25: ModuleType) -> None:
    better = _grammar_attack_against_bm25(generate, private, private_bm25)
    assert not better, f"the grammar attack beats plain BM25 on {better}"



def test_private_wordings_cost_a_looser_reader_of_the_public_code_too(
        generate: ModuleType, private: dict[str, int], private_bm25: ModuleType,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The figures the assignment's README quotes. Private wordings take the question grammar
    away, not the statements the corpus shows: the lexical reader keeps much of its score, well
    under what it reads with the public wordings."""
    rows = [json.loads(line) for line in generate.public_files(private)["corpus.jsonl"]
            .decode().splitlines()]
    kb = generate.build_knowledge_base(private["corpus"])

    def baseline(question: str) -> tuple[list[str], dict]:
        return private_bm25.search(question, K), private_bm25.answer(question)

    attack = lexical_attack(generate.C, rows, baseline)
    monkeypatch.setattr(generate, "QUESTIONS_FILE", tmp_path / "absent.jsonl")
    public = scores(generate.hidden_questions(kb, private), kb, attack)
    word_privately(generate, monkeypatch, tmp_path)
    worded = scores(generate.hidden_questions(kb, private), kb, attack)
    print(f"\npublic wordings  {_fmt(public)}\nprivate wordings {_fmt(worded)}")
    assert public["mrr_at_10"] > 0.95
    for metric in ("mrr_at_10", "token_f1", "citation_support"):
        assert worded[metric] < public[metric] - 0.15, metric

# --- private question wordings --------------------------------------------------------------

def test_private_wordings_word_the_same_facts_and_only_on_a_private_instance(
        generate: ModuleType, published: dict[str, int], private: dict[str, int],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def split(seeds: dict[str, int]) -> tuple[list[dict], list[dict]]:
        kb = generate.build_knowledge_base(seeds["corpus"])
        return generate.hidden_questions(kb, seeds), generate.unseen_split(seeds)[1]

    monkeypatch.setattr(generate, "QUESTIONS_FILE", tmp_path / "absent.jsonl")
    public = {name: split(seeds) for name, seeds in (("demo", published), ("private", private))}
    word_privately(generate, monkeypatch, tmp_path)
    worded = {name: split(seeds) for name, seeds in (("demo", published), ("private", private))}

    # The demo instance keeps the catalogue's wordings: its baselines were recorded on them.
    assert worded["demo"] == public["demo"]
    # A private instance asks about the same facts, with the same answers and labels ...
    strip = [[{k: v for k, v in q.items() if k != "question"} for q in part]
             for part in public["private"]]
    assert strip == [[{k: v for k, v in q.items() if k != "question"} for q in part]
                     for part in worded["private"]]
    # ... worded by the file, the unseen corpus' questions too: no hidden question is any
    # wording the public catalogue can make, nor holds a public symptom phrase.
    catalogue = [re.compile(template_regex(t.rstrip("?"), ()) + r"\??", re.IGNORECASE)
                 for t in _public_templates(generate.C)]
    symptoms = [issue.symptom_question for issue in generate.C.ISSUES]
    for part in worded["private"]:
        for question in part:
            assert not any(t.fullmatch(question["question"]) for t in catalogue), question
            assert not any(s in question["question"].lower() for s in symptoms), question
    assert sum(q["fact"].startswith("issue:") for q in worded["private"][0]) > 30


def test_reports_say_public_code_reads_the_questions_until_the_deployment_words_them(
        generate: ModuleType, private: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setattr(generate, "QUESTIONS_FILE", tmp_path / "absent.jsonl")
    [said] = generate.exposure(private)
    assert "worded by the public catalogue" in said and "hidden/content/questions.jsonl" in said
    word_privately(generate, monkeypatch, tmp_path)
    assert generate.exposure(private) == []


def _public_templates(catalogue: ModuleType) -> list[str]:
    return [*(q for documents in (catalogue.PRODUCT_TOPICS, catalogue.POLICIES)
              for d in documents for s in d.sections for f in s.facts for q in f.questions),
            *catalogue.ISSUE_QUESTIONS_CODE, *catalogue.ISSUE_QUESTIONS_SYMPTOM,
            *catalogue.ISSUE_QUESTIONS_VALUE, *catalogue.ISSUE_QUESTIONS_TEAM]


def test_the_example_questions_file_words_every_key(generate: ModuleType, tmp_path: Path) -> None:
    wordings = generate.load_wordings(generate.EXAMPLE_QUESTIONS_FILE)
    assert set(wordings) == set(generate._wording_rules())
    assert all(len(texts) >= 2 for texts in wordings.values())
    # As an editor may save it: a byte-order mark, CRLF, a line separator inside a string.
    text = generate.EXAMPLE_QUESTIONS_FILE.read_text(encoding="utf-8").replace(
        "Standard-tier", "Standard\u2028tier")
    path = tmp_path / "questions.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert len(generate.load_wordings(path)) == len(wordings)


def test_a_copy_of_the_public_example_or_a_partial_file_is_refused(
        generate: ModuleType, private: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    copy = tmp_path / "questions.jsonl"
    copy.write_bytes(generate.EXAMPLE_QUESTIONS_FILE.read_bytes())
    monkeypatch.setattr(generate, "QUESTIONS_FILE", copy)
    with pytest.raises(generate.WordingsError, match="copies the public example's wordings of "
                                                     "guide/audit_days, "):
        generate.hidden_items(private)
    copy.write_text('{"key": "guide/rate_standard", "text": "Standard quota for {product}?"}\n')
    with pytest.raises(generate.WordingsError,
                       match=r"words 1 of the 76 keys; missing: guide/audit_days, "):
        generate.hidden_items(private)


@pytest.mark.parametrize(("line", "expected"), [
    ("not json", "line 2: not JSON"),
    ('{"key": "guide/rate_standard"}', "line 2: expected an object with key and text"),
    ('{"key": "guide/nope", "text": "What about {product}?"}', "line 2: unknown key 'guide/nope'"),
    ('{"key": "guide/rate_standard", "text": "  "}', "line 2: empty text"),
    ('{"key": "guide/rate_standard", "text": "Cap for {where}?"}',
     "guide/rate_standard may not name {where} (it may name {company} and {product} and "
     "{things})"),
    ('{"key": "policy/expense_deadline", "text": "Cut-off for claims at {company}?"}',
     "policy/expense_deadline must name {where}"),
    ('{"key": "issue/team", "text": "Who owns {code} and {symptom} in {product}?"}',
     "issue/team must name one of {code} or {symptom}, not both"),
    ('{"key": "issue/team", "text": "Who owns escalations in {product}?"}',
     "issue/team must name one of {code} or {symptom}"),
    ('{"key": "guide/rate_standard", "text": "Cap of {product:d}?"}', "without a format"),
    ('{"key": "guide/rate_standard", "text": "Cap of {product!r}?"}', "without a format"),
    ('{"key": ["guide/rate_standard"], "text": "Cap of {product}?"}', "unknown key"),
    ('{"key": "symptom/signature", "text": "events with {{forged}} signatures"}', "no braces"),
    ('{"key": "guide/rate_standard", "text": "Standard-tier quota for {product} calls?"}',
     "the same wording of guide/rate_standard again"),
    ('{"key": "guide/max_upload", "text": "At {company}: what\'s the biggest file someone can '
     'attach in {product}?"}', "holds the catalogue's public wording of guide/max_upload"),
    ('{"key": "issue/team", "text": "Who owns {code}?"}', "issue/team must name {product}"),
    ('{"key": "symptom/signature", "text": "forged {product} events"}',
     "symptom/signature is a phrase put into questions: no braces"),
    ('{"key": "guide/rate_standard", "text": "A {product} cap {"}', "literal brace"),
    ('{"key": "guide/max_upload", "text": "what\'s the biggest file someone can attach in '
     '{product}"}', "holds the catalogue's public wording of guide/max_upload"),
])
def test_a_questions_file_that_cannot_be_used_is_refused_naming_the_line(
        generate: ModuleType, private: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "questions.jsonl"
    good = '{"key": "guide/rate_standard", "text": "Standard-tier quota for {product} calls?"}'
    path.write_text(f"{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(generate.WordingsError, match=re.escape(expected)):
        generate.load_wordings(path)
    # Graded on, the instance fails as the deployment's error, never as a candidate's outcome.
    monkeypatch.setattr(generate, "QUESTIONS_FILE", path)
    with pytest.raises(generate.WordingsError):
        generate.hidden_items(private)
