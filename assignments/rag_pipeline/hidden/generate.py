"""Deterministic generator of the Kestrel Works knowledge base and its questions.

    python assignments/rag_pipeline/hidden/generate.py    # rewrites candidate/data/ from the seeds

Three seeds, all in ``assignment.yaml``: ``corpus`` makes the pages (public: candidates index them),
``dev`` picks and words the public dev questions, ``hidden`` picks and words the test questions.
A deployment may override ``hidden`` privately; the hidden questions are only ever made in memory
by the harness (``hidden_questions``) and never written into the bundle. They never reuse a fact
that a dev question asks about.

What makes retrieval hard here, on purpose: pages are long and multi-section (the fact is often
past the first 256 word pieces), sibling products have near-identical pages with different
figures, older revisions of a page stay in the corpus (marked ``Status: Archived`` in a header of
``Key: value`` lines) with figures that are no longer right, how-to pages, release notes and Q&A
threads talk about the same subject without stating the figure, and questions are worded apart
from the pages. Relevance labels: 2 for a current page that states the asked-for fact, 1 for a page
on the same subject (an older revision, a sibling product's page, a how-to, a release note).
Everything is derived from hashes of (seed, names), so one page never depends on the order in
which others were made, and the same seeds give the same bytes on every platform.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def load_module(path: Path, name: str):
    """Import a file of this folder afresh under a name of its own, leaving sys.modules as it was.

    Harnesses run inside the grader's long-lived process: a bare ``import catalogue`` could find
    another assignment's module, and a cached one would outlive an update of this assignment.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # dataclasses look their module up while a class is made
    try:
        spec.loader.exec_module(module)
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return module


C = load_module(Path(__file__).with_name("catalogue.py"), "rag_pipeline_catalogue")

GENERATOR_VERSION = 1
DEV_QUESTIONS = 100
HIDDEN_QUESTIONS = 300
UNSEEN_QUESTIONS = 6
UNSEEN_PAGES = 45  # the pages those questions label, then distractors
# Share of questions per kind of fact, in order: product guides, policies, support articles.
QUESTION_MIX = (("guide", 0.55), ("policy", 0.25), ("issue", 0.20))


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass
class Page:
    key: str  # internal and stable; the public id is assigned at the end
    title: str
    text: str
    id: str = ""


@dataclass
class Fact:
    key: str
    kind: str  # guide | policy | issue
    answer: str
    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]  # placeholder -> alternatives, one drawn per question
    relevance: dict[str, int]  # page key -> label


@dataclass
class KnowledgeBase:
    pages: list[Page]
    facts: list[Fact]
    by_key: dict[str, Page] = field(default_factory=dict)

    def rows(self) -> list[dict[str, str]]:
        return [{"id": p.id, "title": p.title, "text": p.text} for p in self.pages]


# --- values ---------------------------------------------------------------------------------

def _format_value(kind: str, raw: object) -> str:
    template, _ = C.VALUE_KINDS[kind]
    return template.format(raw)


def _pool(kind: str, pool: Sequence[object] = ()) -> list[str]:
    choices = list(pool) or list(C.VALUE_KINDS[kind][1])
    if kind == "person" and not pool:
        choices = [f"{a} {b}" for a in C.FIRST_NAMES for b in C.LAST_NAMES]
    return [_format_value(kind, raw) for raw in choices]


def _draw_values(rng: random.Random, kind: str, count: int, pool: Sequence[object] = ()
                 ) -> list[str]:
    """``count`` values of a kind, all different while the pool allows it."""
    choices = _pool(kind, pool)
    values: list[str] = []
    while len(values) < count:
        batch = choices[:]
        rng.shuffle(batch)
        values.extend(batch[:count - len(values)])
    return values


def _assign_values(rng: random.Random, specs: Sequence[C.FactSpec], owners: Sequence[str],
                   revisions: Mapping[str, int]) -> dict[tuple[str, str, int], str]:
    """Values of every fact on every revision of every owner's page (product or region).

    Current pages of siblings get different values; an archived revision never repeats a value
    its page has, had or will have for that fact, nor any current value of its own page, so only
    the current revision states the right answer.
    """
    last = {owner: revisions[owner] - 1 for owner in owners}
    values: dict[tuple[str, str, int], str] = {}
    for spec in specs:
        current = _draw_values(rng, spec.kind, len(owners))
        for owner, value in zip(owners, current, strict=True):
            values[(spec.key, owner, last[owner])] = value
    for owner in owners:
        taken = {values[(spec.key, owner, last[owner])] for spec in specs}
        for spec in specs:
            used = set(taken)
            for revision in range(last[owner]):
                free = [v for v in _pool(spec.kind) if v not in used]
                value = rng.choice(free) if free else rng.choice(_pool(spec.kind))
                values[(spec.key, owner, revision)] = value
                used.add(value)
    return values


def _per_revision(rng: random.Random, kind: str, owners: Sequence[str],
                  revisions: Mapping[str, int], pool: Sequence[object] = ()
                  ) -> dict[tuple[str, int], str]:
    """One value per (owner, revision): current ones differ between owners while the pool
    allows, and an owner's archived revisions never repeat a value of its other revisions."""
    current = _draw_values(rng, kind, len(owners), pool)
    values = {(owner, revisions[owner] - 1): value
              for owner, value in zip(owners, current, strict=True)}
    for owner in owners:
        used = {values[(owner, revisions[owner] - 1)]}
        for revision in range(revisions[owner] - 1):
            free = [v for v in _pool(kind, pool) if v not in used]
            values[(owner, revision)] = rng.choice(free or _pool(kind, pool))
            used.add(values[(owner, revision)])
    return values


def _date(rng: random.Random, start: dt.date, span_days: int) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(span_days))


def _revision_dates(rng: random.Random, count: int) -> list[str]:
    """Effective dates, oldest first, the newest in 2024-2025."""
    newest = _date(rng, dt.date(2024, 6, 1), 420)
    dates = [newest]
    for _ in range(count - 1):
        dates.append(dates[-1] - dt.timedelta(days=rng.randrange(120, 420)))
    return [d.isoformat() for d in reversed(dates)]


def _archived_count(rng: random.Random) -> int:
    return rng.choices((0, 1, 2, 3), weights=(15, 40, 30, 15))[0]


# --- text assembly --------------------------------------------------------------------------

def _header(fields: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in fields)


def _status(revision: int, current: int) -> str:
    if revision == current:
        return "Current"
    return f"Archived (superseded by revision {revision + 1})"


def _document(header: Sequence[tuple[str, str]], sections: Sequence[tuple[str, list[str]]]
              ) -> str:
    parts = [_header(header)]
    for heading, sentences in sections:
        parts.append(f"## {heading}\n" + " ".join(sentences))
    return "\n\n".join(parts)


def _fill(template: str, **values: str) -> str:
    return template.format(company=C.COMPANY, **values)


def _interleave(rng: random.Random, facts: list[str], filler: list[str]) -> list[str]:
    """Fact sentences kept in order, filler sentences around them."""
    out = list(facts)
    for sentence in filler:
        out.insert(rng.randrange(len(out) + 1), sentence)
    return out


# --- product guides -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Product:
    family: C.Family
    name: str
    prefix: str


def _products() -> list[_Product]:
    return [_Product(f, name, prefix) for f in C.FAMILIES for name, prefix in f.products]


def _guides(seed: int, kb: _Builder) -> None:
    for family in C.FAMILIES:
        siblings = [_Product(family, name, prefix) for name, prefix in family.products]
        for topic in C.PRODUCT_TOPICS:
            shape = _rng(seed, "guide-shape", family.key, topic.key)
            # The family's layout, wording and filler: shared by siblings, hence near-duplicates.
            layout = _guide_layout(shape, topic)
            revisions = {p.name: _archived_count(_rng(seed, "revisions", p.name, topic.key)) + 1
                         for p in siblings}
            specs = [fact for section in topic.sections for fact in section.facts]
            values = _assign_values(_rng(seed, "values", family.key, topic.key), specs,
                                    [p.name for p in siblings], revisions)
            for product in siblings:
                total = revisions[product.name]
                dates = _revision_dates(_rng(seed, "dates", product.name, topic.key), total)
                first = _rng(seed, "first-revision", product.name, topic.key).randrange(1, 4)
                for index in range(total):
                    number = first + index
                    current = index == total - 1
                    tweak = _rng(seed, "revision-wording", product.name, topic.key, index)
                    header = [("Product", product.name), ("Document type", "Product guide"),
                              ("Topic", topic.title), ("Revision", str(number)),
                              ("Status", _status(number, first + total - 1)),
                              ("Effective", dates[index]), ("Owner", family.team)]
                    sections = _guide_sections(layout, topic, product, tweak, current,
                                               {s.key: values[(s.key, product.name, index)]
                                                for s in specs})
                    kb.add(Page(f"guide/{product.name}/{topic.key}/{number}",
                                f"{product.name}: {topic.title}", _document(header, sections)))
            for product in siblings:
                last = revisions[product.name] - 1
                for spec in specs:
                    kb.fact_slots[("guide", product.name, topic.key, spec.key)] = (
                        spec, values[(spec.key, product.name, last)])


@dataclass(frozen=True)
class _GuideLayout:
    headings: tuple[str, ...]
    statement: dict[str, int]
    filler: tuple[tuple[int, ...], ...]  # per section: indices into its filler
    summary: tuple[int, ...]
    extras: tuple[tuple[int, tuple[int, ...]], ...]  # (extra section, sentence indices)
    order: tuple[int, ...]  # section order: ids >= 0 topic sections, < 0 extras
    generic: tuple[int, ...]


def _guide_layout(rng: random.Random, topic: C.TopicSpec) -> _GuideLayout:
    headings = tuple(rng.choice(s.headings) for s in topic.sections)
    statement = {f.key: rng.randrange(len(f.statements))
                 for s in topic.sections for f in s.facts}
    filler = tuple(tuple(rng.sample(range(len(s.filler)), k=min(len(s.filler),
                                                                rng.randint(2, 3))))
                   for s in topic.sections)
    summary = tuple(rng.sample(range(len(topic.summary)), k=min(3, len(topic.summary))))
    extra_ids = rng.sample(range(len(C.GUIDE_EXTRA_SECTIONS)), k=rng.randint(2, 3))
    extras = tuple((i, tuple(rng.sample(range(len(C.GUIDE_EXTRA_SECTIONS[i][1])),
                                        k=min(3, len(C.GUIDE_EXTRA_SECTIONS[i][1])))))
                   for i in extra_ids)
    # Overview first; then an extra section or two, the topic sections, the rest of the extras.
    body = list(range(len(topic.sections)))
    rng.shuffle(body)
    lead = [-(n + 1) for n in range(len(extras))]
    split = rng.randint(1, len(lead))
    order = tuple(lead[:split] + body + lead[split:])
    generic = tuple(rng.sample(range(len(C.GENERIC_FILLER)), k=3))
    return _GuideLayout(headings, statement, filler, summary, extras, order, generic)


def _guide_sections(layout: _GuideLayout, topic: C.TopicSpec, product: _Product,
                    tweak: random.Random, current: bool, values: Mapping[str, str]
                    ) -> list[tuple[str, list[str]]]:
    fmt = {"product": product.name, "things": product.family.things}
    overview = [_fill(topic.summary[i], **fmt) for i in layout.summary]
    overview.append(_fill(C.GENERIC_FILLER[layout.generic[0]], **fmt))
    sections: list[tuple[str, list[str]]] = [("Overview", overview)]
    for ref in layout.order:
        if ref < 0:
            index, sentences = layout.extras[-ref - 1]
            heading, pool = C.GUIDE_EXTRA_SECTIONS[index]
            if heading == "Changes in this revision" and not current and tweak.random() < 0.5:
                continue
            sections.append((heading, [_fill(pool[i], **fmt) for i in sentences]))
            continue
        spec = topic.sections[ref]
        facts = []
        for fact in spec.facts:
            choice = layout.statement[fact.key]
            if not current and tweak.random() < 0.4:  # older revisions were worded differently
                choice = (choice + 1) % len(fact.statements)
            facts.append(_fill(fact.statements[choice], value=values[fact.key], **fmt))
        filler = [_fill(spec.filler[i], **fmt) for i in layout.filler[ref]]
        if tweak.random() < 0.3:
            filler.append(_fill(C.GENERIC_FILLER[layout.generic[1 + ref % 2]], **fmt))
        sections.append((_fill(layout.headings[ref], **fmt),
                         _interleave(_rng(layout.headings[ref], product.family.key), facts,
                                     filler)))
    return sections


def _howtos_and_notes(seed: int, kb: _Builder) -> None:
    for product in _products():
        fmt = {"product": product.name, "things": product.family.things}
        for topic in C.PRODUCT_TOPICS:
            rng = _rng(seed, "howto", product.name, topic.key)
            steps = rng.sample(topic.howto, k=rng.randint(4, 6))
            text = _document(
                [("Product", product.name), ("Document type", "How-to"), ("Topic", topic.title),
                 ("Status", "Current")],
                [("Steps", [f"{n}. {_fill(s, **fmt)}" for n, s in enumerate(steps, start=1)]),
                 ("Notes", [_fill(rng.choice(C.GENERIC_FILLER), **fmt)])])
            key = f"howto/{product.name}/{topic.key}"
            kb.add(Page(key, _fill(rng.choice(topic.howto_titles), **fmt), text))
            kb.on_topic[("guide", product.name, topic.key)].append(key)
        rng = _rng(seed, "releases", product.name)
        year_month = [(2024, m) for m in (2, 5, 8, 11)] + [(2025, m) for m in (2, 5)]
        for year, month in year_month:
            topics = rng.sample(C.PRODUCT_TOPICS, k=2)
            items = [_fill(rng.choice(t.release_items), **fmt) for t in topics]
            items.append(f"Performance improvements and bug fixes in {product.name}.")
            text = _document(
                [("Product", product.name), ("Document type", "Release notes"),
                 ("Release", f"{year}.{month:02d}"), ("Status", "Current")],
                [("What's new", [f"- {item}" for item in items])])
            key = f"release/{product.name}/{year}.{month}"
            kb.add(Page(key, f"{product.name} release notes {year}.{month:02d}", text))
            for t in topics:
                kb.on_topic[("guide", product.name, t.key)].append(key)
        for n in range(3):
            day = _date(rng, dt.date(2024, 1, 1), 540)
            start = f"{rng.randrange(0, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}"
            end = f"{int(start[:2]) + rng.randint(1, 2):02d}:{rng.choice((5, 20, 40)):02d}"
            body = _fill(rng.choice(C.INCIDENT_TEMPLATES), start=start, end=end,
                         n=str(rng.choice((7, 12, 18, 25, 35, 50, 70))), **fmt)
            text = _document([("Product", product.name), ("Document type", "Incident report"),
                              ("Date", day.isoformat()), ("Status", "Resolved")],
                             [("Summary", [body])])
            kb.add(Page(f"incident/{product.name}/{n}",
                        f"Incident report: {product.name}, {day:%d %B %Y}", text))


def _comparisons(seed: int, kb: _Builder) -> None:
    """One plan comparison per family: it states trial, seat price and uptime of every sibling,
    so those facts have a second page at label 2, next to its siblings' figures."""
    for family in C.FAMILIES:
        lines = []
        for name, _ in family.products:
            trial = kb.fact_slots[("guide", name, "billing", "trial_days")][1]
            price = kb.fact_slots[("guide", name, "billing", "seat_price")][1]
            uptime = kb.fact_slots[("guide", name, "support", "uptime")][1]
            lines.append(f"- {name}: free trial {trial}; Standard seat {price} per user per "
                         f"month; uptime commitment {uptime}.")
        key = f"compare/{family.key}"
        rng = _rng(seed, "compare", family.key)
        intro = [f"This page compares the {family.key.title()} products side by side.",
                 "Figures are those of the current product guides; the guides take precedence.",
                 rng.choice(C.GENERIC_FILLER).format(product=f"The {family.key.title()} family",
                                                     company=C.COMPANY)]
        text = _document([("Document type", "Plan comparison"),
                          ("Products", ", ".join(n for n, _ in family.products)),
                          ("Status", "Current")],
                         [("Overview", intro), ("Plans", lines)])
        kb.add(Page(key, f"{family.key.title()} plans compared", text))
        for name, _ in family.products:
            for topic, fact in (("billing", "trial_days"), ("billing", "seat_price"),
                                ("support", "uptime")):
                kb.extra_states[("guide", name, topic, fact)].append(key)


def _qa_threads(seed: int, kb: _Builder) -> None:
    """Short internal Q&A threads: on the subject, never stating the current figure."""
    openers = ("Quick question about {product}: {q}", "Customer asked me this about {product}: {q}",
               "{q} (asking for a {product} customer)")
    answers = ("It's in the product guide; check the current revision, the figure changed "
               "recently.",
               "I think it depends on the plan. The {topic} page has the details.",
               "Support should know. I've seen this come up a few times this quarter.",
               "Not sure, but the old number I remember is probably out of date now.",
               "Look at the {topic} page for {product}, not the one for the sibling product.")
    for product in _products():
        rng = _rng(seed, "qa", product.name)
        fmt = {"product": product.name, "things": product.family.things}
        for n in range(5):
            topic = rng.choice(C.PRODUCT_TOPICS)
            fact = rng.choice([f for s in topic.sections for f in s.facts])
            question = _fill(rng.choice(fact.questions), **fmt)
            opener = rng.choice(openers).format(product=product.name, q=question)
            reply = _fill(rng.choice(answers), topic=topic.title.lower(), **fmt)
            text = _document([("Product", product.name), ("Document type", "Q&A thread"),
                              ("Status", rng.choice(("Answered", "Open")))],
                             [("Question", [opener]), ("Replies", [reply])])
            key = f"qa/{product.name}/{n}"
            kb.add(Page(key, f"Q&A: {question}", text))
            kb.on_topic[("guide", product.name, topic.key)].append(key)


# --- policies -------------------------------------------------------------------------------

def _policies(seed: int, kb: _Builder) -> None:
    for policy in C.POLICIES:
        shape = _rng(seed, "policy-shape", policy.key)
        headings = [shape.choice(s.headings) for s in policy.sections]
        statement = {f.key: shape.randrange(len(f.statements))
                     for s in policy.sections for f in s.facts}
        filler = [shape.sample(s.filler, k=len(s.filler)) for s in policy.sections]
        order = list(range(len(policy.sections)))
        shape.shuffle(order)
        revisions = {r.name: _archived_count(_rng(seed, "policy-revisions", policy.key, r.name))
                     + 1 for r in C.REGIONS}
        specs = [f for s in policy.sections for f in s.facts]
        values = _assign_values(_rng(seed, "policy-values", policy.key), specs,
                                [r.name for r in C.REGIONS], revisions)
        for region in C.REGIONS:
            total = revisions[region.name]
            dates = _revision_dates(_rng(seed, "policy-dates", policy.key, region.name), total)
            first = _rng(seed, "policy-first", policy.key, region.name).randrange(1, 5)
            fmt = {"region": region.name}
            for index in range(total):
                number = first + index
                current = index == total - 1
                tweak = _rng(seed, "policy-wording", policy.key, region.name, index)
                header = [("Policy", policy.title),
                          ("Applies to", f"{region.name} ({', '.join(region.offices)})"),
                          ("Revision", str(number)),
                          ("Status", _status(number, first + total - 1)),
                          ("Effective", dates[index]), ("Owner", "People Operations")]
                sections = [("Purpose and scope",
                             [_fill(s, **fmt) for s in policy.purpose]
                             + [tweak.choice(C.POLICY_FILLER)])]
                for ref in order:
                    spec = policy.sections[ref]
                    facts = []
                    for fact in spec.facts:
                        choice = statement[fact.key]
                        if not current and tweak.random() < 0.4:
                            choice = (choice + 1) % len(fact.statements)
                        facts.append(_fill(fact.statements[choice],
                                           value=values[(fact.key, region.name, index)], **fmt))
                    sections.append((headings[ref], _interleave(
                        _rng(policy.key, ref), facts, [_fill(s, **fmt) for s in filler[ref]])))
                sections.append(("Responsibilities", [
                    "Employees are responsible for reading and following this policy.",
                    "Managers make sure their teams know where to find it.",
                    tweak.choice(C.POLICY_FILLER)]))
                if current:
                    sections.append(("Revision history", [
                        f"Revision {n} took effect on {dates[n - first]}."
                        for n in range(first, number + 1)]))
                kb.add(Page(f"policy/{policy.key}/{region.name}/{number}",
                            f"{policy.title} ({region.name})", _document(header, sections)))
            for spec in specs:
                wheres = (region.name, *region.offices)
                kb.fact_slots[("policy", region.name, policy.key, spec.key)] = (
                    spec, values[(spec.key, region.name, total - 1)], wheres)


# --- support articles -----------------------------------------------------------------------

def _issues(seed: int, kb: _Builder) -> None:
    used_codes: set[str] = set()
    for family in C.FAMILIES:
        chosen = _rng(seed, "issues", family.key).sample(C.ISSUES, k=8)
        for issue in chosen:
            shape = _rng(seed, "issue-shape", family.key, issue.key)
            fix = shape.randrange(len(issue.fix))
            esc = shape.randrange(len(C.ISSUE_ESCALATION))
            siblings = [_Product(family, name, prefix) for name, prefix in family.products]
            revisions = {p.name: 1 + (_rng(seed, "issue-revisions", p.name, issue.key).random()
                                      < 0.3) for p in siblings}
            vrng = _rng(seed, "issue-values", family.key, issue.key)
            owners = [p.name for p in siblings]
            values = _per_revision(vrng, issue.value_kind, owners, revisions)
            settings = _per_revision(vrng, "setting", owners, revisions, issue.settings)
            teams = _per_revision(vrng, "team", owners, revisions)
            for product in siblings:
                crng = _rng(seed, "code", product.name, issue.key)
                code = f"{product.prefix}-{crng.randrange(1000, 9999)}"
                while code in used_codes:
                    code = f"{product.prefix}-{crng.randrange(1000, 9999)}"
                used_codes.add(code)
                fmt = {"product": product.name, "things": family.things, "code": code}
                total = revisions[product.name]
                dates = _revision_dates(_rng(seed, "issue-dates", product.name, issue.key),
                                        total)
                for index in range(total):
                    slot = (product.name, index)
                    tweak = _rng(seed, "issue-wording", product.name, issue.key, index)
                    header = [("Product", product.name), ("Document type", "Support article"),
                              ("Error code", code), ("Revision", str(index + 1)),
                              ("Status", _status(index + 1, total)),
                              ("Last reviewed", dates[index])]
                    sections = [
                        ("Symptoms", [_fill(s, **fmt) for s in issue.symptoms]),
                        ("Cause", [_fill(s, **fmt) for s in issue.cause]),
                        ("Resolution", [
                            _fill(tweak.choice(C.ISSUE_FILLER), **fmt),
                            _fill(issue.fix[fix], setting=settings[slot], value=values[slot],
                                  **fmt)]),
                        ("Escalation", [_fill(C.ISSUE_ESCALATION[esc], value=teams[slot],
                                              **fmt)]),
                    ]
                    kb.add(Page(f"issue/{product.name}/{issue.key}/{index + 1}",
                                f"{product.name}: " + _fill(issue.title, **fmt),
                                _document(header, sections)))
                last = (product.name, total - 1)
                symptom = (issue.symptom_question,)
                base = {"code": (code,), "symptom": symptom}
                kb.issue_facts[(product.name, issue.key)] = [
                    ("setting", settings[last], C.ISSUE_QUESTIONS_CODE
                     + C.ISSUE_QUESTIONS_SYMPTOM, base),
                    ("value", values[last], C.ISSUE_QUESTIONS_VALUE, base),
                    ("team", teams[last], C.ISSUE_QUESTIONS_TEAM, base),
                ]


# --- assembly -------------------------------------------------------------------------------

class _Builder:
    """Pages by internal key, and what the fact labels need to know about them."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        # ("guide", product, topic, fact) -> (spec, current value);
        # ("policy", region, policy, fact) -> (spec, current value, ways to name the region)
        self.fact_slots: dict[tuple, tuple] = {}
        self.issue_facts: dict[tuple[str, str], list] = {}  # (product, issue) -> its 3 facts
        self.on_topic: defaultdict[tuple, list[str]] = defaultdict(list)  # label-1 page keys
        self.extra_states: defaultdict[tuple, list[str]] = defaultdict(list)  # more label-2 keys

    def add(self, page: Page) -> None:
        if page.key in self.pages:
            raise ValueError(f"page {page.key} is made twice")
        self.pages[page.key] = page


def _revisions_of(pages: Mapping[str, Page], prefix: str) -> list[str]:
    return sorted((k for k in pages if k.rsplit("/", 1)[0] == prefix),
                  key=lambda k: int(k.rsplit("/", 1)[1]))


def _guide_facts(kb: _Builder) -> list[Fact]:
    facts = []
    for (kind, name, topic, key), slot in kb.fact_slots.items():
        if kind != "guide":
            continue
        spec, answer = slot
        product = next(p for p in _products() if p.name == name)
        revisions = _revisions_of(kb.pages, f"guide/{name}/{topic}")
        labels = {revisions[-1]: 2}
        for page in kb.extra_states[(kind, name, topic, key)]:
            labels[page] = 2
        for page in revisions[:-1]:
            labels[page] = 1
        for sibling, _ in product.family.products:
            if sibling != name:
                labels.setdefault(_revisions_of(kb.pages, f"guide/{sibling}/{topic}")[-1], 1)
        for page in kb.on_topic[(kind, name, topic)]:
            labels.setdefault(page, 1)
        slots = {"product": (name,), "things": (product.family.things,)}
        facts.append(Fact(f"guide:{name}:{topic}:{key}", "guide", answer, spec.questions, slots,
                          labels))
    return facts


def _policy_facts(kb: _Builder) -> list[Fact]:
    facts = []
    for (kind, region, policy, key), slot in kb.fact_slots.items():
        if kind != "policy":
            continue
        spec, answer, wheres = slot
        revisions = _revisions_of(kb.pages, f"policy/{policy}/{region}")
        labels = {revisions[-1]: 2, **{page: 1 for page in revisions[:-1]}}
        for other in C.REGIONS:
            if other.name != region:
                labels[_revisions_of(kb.pages, f"policy/{policy}/{other.name}")[-1]] = 1
        facts.append(Fact(f"policy:{region}:{policy}:{key}", "policy", answer, spec.questions,
                          {"where": wheres}, labels))
    return facts


def _issue_facts(kb: _Builder) -> list[Fact]:
    facts = []
    products = {p.name: p for p in _products()}
    for (name, issue), entries in kb.issue_facts.items():
        product = products[name]
        revisions = _revisions_of(kb.pages, f"issue/{name}/{issue}")
        labels = {revisions[-1]: 2, **{page: 1 for page in revisions[:-1]}}
        for sibling, _ in product.family.products:
            others = _revisions_of(kb.pages, f"issue/{sibling}/{issue}")
            if sibling != name and others:
                labels[others[-1]] = 1
        for part, answer, templates, slots in entries:
            facts.append(Fact(f"issue:{name}:{issue}:{part}", "issue", answer, templates,
                              {"product": (name,), **slots}, labels))
    return facts


def build_knowledge_base(seed: int) -> KnowledgeBase:
    """Every page and every fact of the corpus made from ``seed``; ids are opaque and stable."""
    kb = _Builder()
    _guides(seed, kb)
    _comparisons(seed, kb)
    _howtos_and_notes(seed, kb)
    _qa_threads(seed, kb)
    _policies(seed, kb)
    _issues(seed, kb)
    keys = sorted(kb.pages)
    numbers = _rng(seed, "ids").sample(range(10000, 100000), k=len(keys))
    for key, number in zip(keys, numbers, strict=True):
        kb.pages[key].id = f"kb-{number}"
    pages = sorted(kb.pages.values(), key=lambda p: p.id)
    facts = _guide_facts(kb) + _policy_facts(kb) + _issue_facts(kb)
    for fact in facts:
        fact.relevance = {kb.pages[k].id: label for k, label in fact.relevance.items()}
    return KnowledgeBase(pages, facts, {p.key: p for p in pages})


# --- questions ------------------------------------------------------------------------------

def _word(template: str, slots: Mapping[str, Sequence[str]], rng: random.Random) -> str:
    chosen = {name: rng.choice(list(options)) for name, options in slots.items()}
    text = template.format(company=C.COMPANY, **chosen)
    roll = rng.random()
    if roll < 0.12:  # people type questions in a hurry, too
        text = text.rstrip("?").lower()
    elif roll < 0.2:
        text = text.rstrip("?")
    return text[0].upper() + text[1:] if roll >= 0.12 else text


def make_questions(kb: KnowledgeBase, seed: int, count: int, *, prefix: str,
                   exclude: Iterable[str] = ()) -> list[dict]:
    """``count`` questions about distinct facts, none of whose keys is in ``exclude``."""
    rng = _rng("questions", seed)
    excluded = set(exclude)
    by_kind = {kind: [f for f in kb.facts if f.kind == kind and f.key not in excluded]
               for kind, _ in QUESTION_MIX}
    quotas = [round(count * share) for _, share in QUESTION_MIX]
    quotas[0] += count - sum(quotas)
    picked: list[Fact] = []
    for (kind, _), quota in zip(QUESTION_MIX, quotas, strict=True):
        pool = by_kind[kind]
        if quota > len(pool):
            raise ValueError(f"only {len(pool)} {kind} facts left for {quota} questions")
        picked.extend(rng.sample(pool, k=quota))
    rng.shuffle(picked)
    questions = []
    for number, fact in enumerate(picked, start=1):
        text = _word(rng.choice(fact.templates), fact.slots, rng)
        relevance = dict(sorted(fact.relevance.items(), key=lambda kv: (-kv[1], kv[0])))
        questions.append({"id": f"{prefix}-{number:03d}", "question": text,
                          "answer": fact.answer, "relevance": relevance, "fact": fact.key})
    return questions


def dev_questions(kb: KnowledgeBase, seeds: Mapping[str, int]) -> list[dict]:
    return make_questions(kb, seeds["dev"], DEV_QUESTIONS, prefix="dev")


def hidden_questions(kb: KnowledgeBase, seeds: Mapping[str, int],
                     count: int = HIDDEN_QUESTIONS) -> list[dict]:
    """The test questions: never about a fact that a dev question asks about."""
    used = {q["fact"] for q in dev_questions(kb, seeds)}
    return make_questions(kb, seeds["hidden"], count, prefix="test", exclude=used)


def unseen_split(seed: int) -> tuple[list[dict[str, str]], list[dict]]:
    """A small corpus no candidate has seen, and questions about it, for the hidden test that
    builds a submission again on it: the pages its questions label, distractors up to
    ``UNSEEN_PAGES`` (fewer than the largest k the tests ask for), and ids of another form, so
    nothing learnt from or hard-coded for the public corpus carries over."""
    kb = build_knowledge_base(seed)
    keep: set[str] = set()
    questions = []
    for question in make_questions(kb, seed, 2 * UNSEEN_QUESTIONS, prefix="unseen"):
        labelled = keep | set(question["relevance"])
        if len(questions) < UNSEEN_QUESTIONS and len(labelled) <= UNSEEN_PAGES - 8:
            keep = labelled
            questions.append({**question, "id": f"unseen-{len(questions) + 1:03d}"})
    rng = _rng(seed, "unseen")
    others = sorted(p.id for p in kb.pages if p.id not in keep)
    keep |= set(rng.sample(others, UNSEEN_PAGES - len(keep)))
    numbers = rng.sample(range(1000, 10000), len(keep))
    new_ids = {old: f"doc-{n}" for old, n in zip(sorted(keep), numbers, strict=True)}
    rows = sorted(({"id": new_ids[p.id], "title": p.title, "text": p.text}
                   for p in kb.pages if p.id in keep), key=lambda row: row["id"])
    for question in questions:
        question["relevance"] = {new_ids[k]: label for k, label in question["relevance"].items()}
    return rows, questions


# --- files ----------------------------------------------------------------------------------

def jsonl_bytes(rows: Iterable[Mapping]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False, sort_keys=False).encode() + b"\n"
                    for row in rows)


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The public split as the bundle ships it: ``corpus.jsonl`` and ``dev_questions.jsonl``."""
    kb = build_knowledge_base(seeds["corpus"])
    dev = [{k: v for k, v in q.items() if k != "fact"} for q in dev_questions(kb, seeds)]
    return {"corpus.jsonl": jsonl_bytes(kb.rows()), "dev_questions.jsonl": jsonl_bytes(dev)}


def assignment_seeds(folder: Path) -> dict[str, int]:
    import yaml

    spec = yaml.safe_load((folder / "assignment.yaml").read_text(encoding="utf-8"))
    return dict(spec["reproducibility"]["seeds"])


def main() -> None:
    folder = Path(__file__).resolve().parents[1]
    seeds = assignment_seeds(folder)
    data = folder / "candidate" / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, content in public_files(seeds).items():
        (data / name).write_bytes(content)
        print(f"wrote {data / name} ({len(content):,} bytes)")


if __name__ == "__main__":
    main()
