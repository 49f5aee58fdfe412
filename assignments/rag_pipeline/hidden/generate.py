"""Deterministic generator of a fictional company's knowledge base and its questions, per instance.

    python assignments/rag_pipeline/hidden/generate.py    # rewrites candidate/data/ (demo seeds)

Three seeds, named in ``assignment.yaml``; a deployment derives all three from its instance secret,
and the published values make the demo instance (this repository's tests and committed data).
``corpus`` invents the company and makes its pages (public: candidates index them), ``dev`` picks
and words the public dev questions, ``hidden`` picks and words the test questions. The grader calls
``public_files(seeds)`` for the instance's public data and ``hidden_items(seeds)`` for its hidden
split as graded; the harnesses make the hidden questions in memory (``hidden_questions``), never on
disk, and never about a fact that a dev question asks about.

Nothing a question names or asks for is fixed by this code: the company, its product families and
products, regions, offices, people and teams are invented per corpus seed from syllables and word
lists (``catalogue.py``), every figure is a draw from a wide range, error codes and page ids are
random, and so is how many revisions a page has and which number is current. A table of question
wordings and answers built from this code under any number of seeds therefore finds nothing on
another instance. What stays public is the shape: topics, page layouts and the question grammar.

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

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import json
import random
import re
import string
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


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

FOLDER = Path(__file__).resolve().parents[1]
QUESTIONS_FILE = FOLDER / "hidden" / "content" / "questions.jsonl"  # a deployment's, private
EXAMPLE_QUESTIONS_FILE = FOLDER / "hidden" / "content" / "example_questions.jsonl"  # public

GENERATOR_VERSION = 2
DEV_QUESTIONS = 100
HIDDEN_QUESTIONS = 300
UNSEEN_QUESTIONS = 6
UNSEEN_PAGES = 45  # the pages those questions label, then distractors
# Share of questions per kind of fact, in order: product guides, policies, support articles.
QUESTION_MIX = (("guide", 0.55), ("policy", 0.25), ("issue", 0.20))
SEED_NAMES = ("corpus", "dev", "hidden")


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
    wording: str  # its key in a questions file ("guide/rate_standard", "issue/team")
    issue: str = ""  # a support article's issue, whose symptom a questions file may word


# --- invented names -------------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    slot: int  # its place among the instance's families: a stable internal key
    name: str  # invented: every product of the family is "<name> <edition>"
    things: str  # what the family's products handle, plural
    team: str  # the docs owner
    products: tuple[tuple[str, str], ...]  # (name, error-code prefix)


@dataclass(frozen=True)
class Region:
    name: str
    offices: tuple[str, ...]


@dataclass(frozen=True)
class Names:
    company: str
    families: tuple[Family, ...]
    regions: tuple[Region, ...]


def _catalogue_words() -> frozenset[str]:
    """Every lower-case word of the catalogue: an invented name is never one of them."""
    words: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            words.update(re.findall(r"[a-z]+", value.lower()))
        elif isinstance(value, tuple | list | frozenset):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            walk(tuple(value))
            walk(tuple(value.values()))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            walk(tuple(getattr(value, f.name) for f in dataclasses.fields(value)))

    walk(tuple(value for name, value in vars(C).items() if name.isupper()))
    return frozenset(words)


RESERVED_WORDS = _catalogue_words()


def _syllables(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(C.ONSETS) + rng.choice(C.VOWELS) for _ in range(count)) \
        + rng.choice(C.CODAS)


def _invented(rng: random.Random, taken: set[str], *, syllables: Sequence[int] = (2, 3),
              suffixes: Sequence[str] = ("",)) -> str:
    """A new capitalised word, unlike any word of the catalogue or already in ``taken``."""
    while True:
        word = (_syllables(rng, rng.choice(syllables)) + rng.choice(suffixes)).capitalize()
        if word.lower() not in taken and word.lower() not in RESERVED_WORDS:
            taken.add(word.lower())
            return word


def invent_names(seed: int) -> Names:
    """The company, its product families with their products and error-code prefixes, and its
    regions with their offices, all invented from ``seed``."""
    rng = _rng(seed, "names")
    taken: set[str] = set()
    company = f"{_invented(rng, taken)} {rng.choice(C.COMPANY_SUFFIXES)}"
    prefixes: set[str] = set()
    families = []
    for slot, (things, team) in enumerate(rng.sample(C.DOMAINS, k=C.FAMILY_COUNT)):
        name = _invented(rng, taken)
        products = []
        for edition in rng.sample(C.EDITIONS, k=3):
            prefix = ""
            while not prefix or prefix in prefixes:
                prefix = name[0] + "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
            prefixes.add(prefix)
            products.append((f"{name} {edition}", prefix))
        families.append(Family(slot, name, things, team, tuple(products)))
    regions = tuple(
        Region(_invented(rng, taken),
               tuple(_invented(rng, taken, syllables=(2,), suffixes=C.PLACE_SUFFIXES)
                     for _ in range(C.OFFICES_PER_REGION)))
        for _ in range(C.REGION_COUNT))
    return Names(company, tuple(families), regions)


# --- values ---------------------------------------------------------------------------------

def _person(rng: random.Random) -> str:
    first = _syllables(rng, rng.choice((2, 2, 3))).capitalize()
    last = (_syllables(rng, rng.choice((2, 3))) + rng.choice(C.SURNAME_SUFFIXES)).capitalize()
    return f"{first} {last}"


def _team(rng: random.Random) -> str:
    function = rng.choice(C.TEAM_FUNCTIONS)
    roll = rng.random()
    if roll < 0.3:
        return f"{_syllables(rng, 2).capitalize()} {function}"
    area = rng.choice(C.TEAM_AREAS)
    if roll < 0.5:
        return f"Tier {rng.randint(2, 3)} {area} {function}"
    return f"{area} {function}"


def _maintenance(rng: random.Random) -> str:
    start = rng.randrange(0, 24 * 60, 15)
    end = (start + rng.randrange(30, 241, 15)) % (24 * 60)
    return (f"{rng.choice(C.WEEKDAYS)}s from {start // 60:02d}:{start % 60:02d} to "
            f"{end // 60:02d}:{end % 60:02d} UTC")


def _value(rng: random.Random, kind: str, parts: Sequence[Sequence[str]] = ()) -> str:
    if kind == "person":
        return _person(rng)
    if kind == "team":
        return _team(rng)
    if kind == "maintenance":
        return _maintenance(rng)
    if kind == "uptime":
        return f"{rng.randrange(9850, 10000) / 100:.2f}%"
    if kind == "setting":
        heads, tails = parts
        return f"{rng.choice(heads)} {rng.choice(tails)}"
    template, low, high, step = C.VALUE_KINDS[kind]
    return template.format(rng.randrange(low, high + 1, step))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _words(text: str) -> tuple[str, ...]:
    """SQuAD normalisation, as the answer metrics apply it."""
    return tuple(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def _within(needle: tuple[str, ...], hay: tuple[str, ...]) -> bool:
    return any(hay[i:i + len(needle)] == needle for i in range(len(hay) - len(needle) + 1))


def _clashes(value: str, others: Iterable[str]) -> bool:
    """Whether a page stating ``value`` would also state one of ``others``, or the reverse."""
    words = _words(value)
    return any(_within(words, _words(o)) or _within(_words(o), words) for o in others)


def _draw(rng: random.Random, kind: str, avoid: Iterable[str] = (),
          parts: Sequence[Sequence[str]] = ()) -> str:
    """A value of ``kind`` that neither states nor is stated by any value in ``avoid``."""
    avoid = tuple(avoid)
    value = _value(rng, kind, parts)
    for _ in range(200):
        if not _clashes(value, avoid):
            break
        value = _value(rng, kind, parts)
    return value


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
        used: list[str] = []
        for owner in owners:
            used.append(_draw(rng, spec.kind, used))
            values[(spec.key, owner, last[owner])] = used[-1]
    for owner in owners:
        taken = [values[(spec.key, owner, last[owner])] for spec in specs]
        for spec in specs:
            used = list(taken)
            for revision in range(last[owner]):
                used.append(_draw(rng, spec.kind, used))
                values[(spec.key, owner, revision)] = used[-1]
    return values


def _per_revision(rng: random.Random, kind: str, owners: Sequence[str],
                  revisions: Mapping[str, int], parts: Sequence[Sequence[str]] = ()
                  ) -> dict[tuple[str, int], str]:
    """One value per (owner, revision): current ones differ between owners, and an owner's
    archived revisions never repeat a value of its other revisions."""
    values: dict[tuple[str, int], str] = {}
    current: list[str] = []
    for owner in owners:
        current.append(_draw(rng, kind, current, parts))
        values[(owner, revisions[owner] - 1)] = current[-1]
    for owner in owners:
        used = [values[(owner, revisions[owner] - 1)]]
        for revision in range(revisions[owner] - 1):
            used.append(_draw(rng, kind, used, parts))
            values[(owner, revision)] = used[-1]
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


def _interleave(rng: random.Random, facts: list[str], filler: list[str]) -> list[str]:
    """Fact sentences kept in order, filler sentences around them."""
    out = list(facts)
    for sentence in filler:
        out.insert(rng.randrange(len(out) + 1), sentence)
    return out


# --- assembly state -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Product:
    family: Family
    name: str
    prefix: str


class _Builder:
    """Pages by internal key, and what the fact labels need to know about them."""

    def __init__(self, seed: int, names: Names) -> None:
        self.seed = seed
        self.names = names
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

    def fill(self, template: str, **values: str) -> str:
        return template.format(company=self.names.company, **values)

    def products(self) -> list[_Product]:
        return [_Product(f, name, prefix) for f in self.names.families
                for name, prefix in f.products]

    def siblings(self, family: Family) -> list[_Product]:
        return [_Product(family, name, prefix) for name, prefix in family.products]


# --- product guides -------------------------------------------------------------------------

def _guides(kb: _Builder) -> None:
    seed = kb.seed
    for family in kb.names.families:
        siblings = kb.siblings(family)
        for topic in C.PRODUCT_TOPICS:
            shape = _rng(seed, "guide-shape", family.slot, topic.key)
            # The family's layout, wording and filler: shared by siblings, hence near-duplicates.
            layout = _guide_layout(shape, topic)
            revisions = {p.name: _archived_count(_rng(seed, "revisions", p.name, topic.key)) + 1
                         for p in siblings}
            specs = [fact for section in topic.sections for fact in section.facts]
            values = _assign_values(_rng(seed, "values", family.slot, topic.key), specs,
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
                    sections = _guide_sections(kb, layout, topic, product, tweak, current,
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
    interleave: int  # seeds where filler goes between the fact sentences


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
    return _GuideLayout(headings, statement, filler, summary, extras, order, generic,
                        rng.getrandbits(32))


def _guide_sections(kb: _Builder, layout: _GuideLayout, topic: C.TopicSpec, product: _Product,
                    tweak: random.Random, current: bool, values: Mapping[str, str]
                    ) -> list[tuple[str, list[str]]]:
    fmt = {"product": product.name, "things": product.family.things}
    overview = [kb.fill(topic.summary[i], **fmt) for i in layout.summary]
    overview.append(kb.fill(C.GENERIC_FILLER[layout.generic[0]], **fmt))
    sections: list[tuple[str, list[str]]] = [("Overview", overview)]
    for ref in layout.order:
        if ref < 0:
            index, sentences = layout.extras[-ref - 1]
            heading, pool = C.GUIDE_EXTRA_SECTIONS[index]
            if heading == "Changes in this revision" and not current and tweak.random() < 0.5:
                continue
            sections.append((heading, [kb.fill(pool[i], **fmt) for i in sentences]))
            continue
        spec = topic.sections[ref]
        facts = []
        for fact in spec.facts:
            choice = layout.statement[fact.key]
            if not current and tweak.random() < 0.4:  # older revisions were worded differently
                choice = (choice + 1) % len(fact.statements)
            facts.append(kb.fill(fact.statements[choice], value=values[fact.key], **fmt))
        filler = [kb.fill(spec.filler[i], **fmt) for i in layout.filler[ref]]
        if tweak.random() < 0.3:
            filler.append(kb.fill(C.GENERIC_FILLER[layout.generic[1 + ref % 2]], **fmt))
        sections.append((kb.fill(layout.headings[ref], **fmt),
                         _interleave(_rng(layout.interleave, ref), facts, filler)))
    return sections


def _howtos_and_notes(kb: _Builder) -> None:
    seed = kb.seed
    for product in kb.products():
        fmt = {"product": product.name, "things": product.family.things}
        for topic in C.PRODUCT_TOPICS:
            rng = _rng(seed, "howto", product.name, topic.key)
            steps = rng.sample(topic.howto, k=rng.randint(4, 6))
            text = _document(
                [("Product", product.name), ("Document type", "How-to"), ("Topic", topic.title),
                 ("Status", "Current")],
                [("Steps", [f"{n}. {kb.fill(s, **fmt)}" for n, s in enumerate(steps, start=1)]),
                 ("Notes", [kb.fill(rng.choice(C.GENERIC_FILLER), **fmt)])])
            key = f"howto/{product.name}/{topic.key}"
            kb.add(Page(key, kb.fill(rng.choice(topic.howto_titles), **fmt), text))
            kb.on_topic[("guide", product.name, topic.key)].append(key)
        rng = _rng(seed, "releases", product.name)
        year_month = [(2024, m) for m in (2, 5, 8, 11)] + [(2025, m) for m in (2, 5)]
        for year, month in year_month:
            topics = rng.sample(C.PRODUCT_TOPICS, k=2)
            items = [kb.fill(rng.choice(t.release_items), **fmt) for t in topics]
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
            body = kb.fill(rng.choice(C.INCIDENT_TEMPLATES), start=start, end=end,
                           n=str(rng.randrange(5, 120)), **fmt)
            text = _document([("Product", product.name), ("Document type", "Incident report"),
                              ("Date", day.isoformat()), ("Status", "Resolved")],
                             [("Summary", [body])])
            kb.add(Page(f"incident/{product.name}/{n}",
                        f"Incident report: {product.name}, {day:%d %B %Y}", text))


def _comparisons(kb: _Builder) -> None:
    """One plan comparison per family: it states trial, seat price and uptime of every sibling,
    so those facts have a second page at label 2, next to its siblings' figures."""
    for family in kb.names.families:
        lines = []
        for name, _ in family.products:
            trial = kb.fact_slots[("guide", name, "billing", "trial_days")][1]
            price = kb.fact_slots[("guide", name, "billing", "seat_price")][1]
            uptime = kb.fact_slots[("guide", name, "support", "uptime")][1]
            lines.append(f"- {name}: free trial {trial}; Standard seat {price} per user per "
                         f"month; uptime commitment {uptime}.")
        key = f"compare/{family.slot}"
        rng = _rng(kb.seed, "compare", family.slot)
        intro = [f"This page compares the {family.name} products side by side.",
                 "Figures are those of the current product guides; the guides take precedence.",
                 kb.fill(rng.choice(C.GENERIC_FILLER), product=f"The {family.name} family")]
        text = _document([("Document type", "Plan comparison"),
                          ("Products", ", ".join(n for n, _ in family.products)),
                          ("Status", "Current")],
                         [("Overview", intro), ("Plans", lines)])
        kb.add(Page(key, f"{family.name} plans compared", text))
        for name, _ in family.products:
            for topic, fact in (("billing", "trial_days"), ("billing", "seat_price"),
                                ("support", "uptime")):
                kb.extra_states[("guide", name, topic, fact)].append(key)


def _qa_threads(kb: _Builder) -> None:
    """Short internal Q&A threads: on the subject, never stating the current figure."""
    openers = ("Quick question about {product}: {q}", "Customer asked me this about {product}: {q}",
               "{q} (asking for a {product} customer)")
    answers = ("It's in the product guide; check the current revision, the figure changed "
               "recently.",
               "I think it depends on the plan. The {topic} page has the details.",
               "Support should know. I've seen this come up a few times this quarter.",
               "Not sure, but the old number I remember is probably out of date now.",
               "Look at the {topic} page for {product}, not the one for the sibling product.")
    for product in kb.products():
        rng = _rng(kb.seed, "qa", product.name)
        fmt = {"product": product.name, "things": product.family.things}
        for n in range(5):
            topic = rng.choice(C.PRODUCT_TOPICS)
            fact = rng.choice([f for s in topic.sections for f in s.facts])
            question = kb.fill(rng.choice(fact.questions), **fmt)
            opener = rng.choice(openers).format(product=product.name, q=question)
            reply = kb.fill(rng.choice(answers), topic=topic.title.lower(), **fmt)
            text = _document([("Product", product.name), ("Document type", "Q&A thread"),
                              ("Status", rng.choice(("Answered", "Open")))],
                             [("Question", [opener]), ("Replies", [reply])])
            key = f"qa/{product.name}/{n}"
            kb.add(Page(key, f"Q&A: {question}", text))
            kb.on_topic[("guide", product.name, topic.key)].append(key)


# --- policies -------------------------------------------------------------------------------

def _policies(kb: _Builder) -> None:
    seed = kb.seed
    regions = kb.names.regions
    for policy in C.POLICIES:
        shape = _rng(seed, "policy-shape", policy.key)
        headings = [shape.choice(s.headings) for s in policy.sections]
        statement = {f.key: shape.randrange(len(f.statements))
                     for s in policy.sections for f in s.facts}
        filler = [shape.sample(s.filler, k=len(s.filler)) for s in policy.sections]
        order = list(range(len(policy.sections)))
        shape.shuffle(order)
        interleave = shape.getrandbits(32)
        revisions = {r.name: _archived_count(_rng(seed, "policy-revisions", policy.key, r.name))
                     + 1 for r in regions}
        specs = [f for s in policy.sections for f in s.facts]
        values = _assign_values(_rng(seed, "policy-values", policy.key), specs,
                                [r.name for r in regions], revisions)
        for region in regions:
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
                             [kb.fill(s, **fmt) for s in policy.purpose]
                             + [tweak.choice(C.POLICY_FILLER)])]
                for ref in order:
                    spec = policy.sections[ref]
                    facts = []
                    for fact in spec.facts:
                        choice = statement[fact.key]
                        if not current and tweak.random() < 0.4:
                            choice = (choice + 1) % len(fact.statements)
                        facts.append(kb.fill(fact.statements[choice],
                                             value=values[(fact.key, region.name, index)], **fmt))
                    sections.append((headings[ref], _interleave(
                        _rng(interleave, ref), facts, [kb.fill(s, **fmt) for s in filler[ref]])))
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

def _issues(kb: _Builder) -> None:
    seed = kb.seed
    used_codes: set[str] = set()
    for family in kb.names.families:
        chosen = _rng(seed, "issues", family.slot).sample(C.ISSUES, k=8)
        for issue in chosen:
            shape = _rng(seed, "issue-shape", family.slot, issue.key)
            fix = shape.randrange(len(issue.fix))
            esc = shape.randrange(len(C.ISSUE_ESCALATION))
            siblings = kb.siblings(family)
            revisions = {p.name: 1 + (_rng(seed, "issue-revisions", p.name, issue.key).random()
                                      < 0.3) for p in siblings}
            vrng = _rng(seed, "issue-values", family.slot, issue.key)
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
                        ("Symptoms", [kb.fill(s, **fmt) for s in issue.symptoms]),
                        ("Cause", [kb.fill(s, **fmt) for s in issue.cause]),
                        ("Resolution", [
                            kb.fill(tweak.choice(C.ISSUE_FILLER), **fmt),
                            kb.fill(issue.fix[fix], setting=settings[slot], value=values[slot],
                                    **fmt)]),
                        ("Escalation", [kb.fill(C.ISSUE_ESCALATION[esc], value=teams[slot],
                                                **fmt)]),
                    ]
                    kb.add(Page(f"issue/{product.name}/{issue.key}/{index + 1}",
                                f"{product.name}: " + kb.fill(issue.title, **fmt),
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


# --- facts and their labels -----------------------------------------------------------------

def _revision_index(pages: Mapping[str, Page]) -> dict[str, list[str]]:
    """Page keys by the key of their document ("guide/<product>/<topic>"), oldest first."""
    index: defaultdict[str, list[str]] = defaultdict(list)
    for key in pages:
        prefix, _, number = key.rpartition("/")
        if number.isdigit():
            index[prefix].append(key)
    return {prefix: sorted(keys, key=lambda k: int(k.rsplit("/", 1)[1]))
            for prefix, keys in index.items()}


def _guide_facts(kb: _Builder) -> list[Fact]:
    facts = []
    revisions_of = _revision_index(kb.pages)
    products = {p.name: p for p in kb.products()}
    for (kind, name, topic, key), slot in kb.fact_slots.items():
        if kind != "guide":
            continue
        spec, answer = slot
        product = products[name]
        revisions = revisions_of[f"guide/{name}/{topic}"]
        labels = {revisions[-1]: 2}
        for page in kb.extra_states[(kind, name, topic, key)]:
            labels[page] = 2
        for page in revisions[:-1]:
            labels[page] = 1
        for sibling, _ in product.family.products:
            if sibling != name:
                labels.setdefault(revisions_of[f"guide/{sibling}/{topic}"][-1], 1)
        for page in kb.on_topic[(kind, name, topic)]:
            labels.setdefault(page, 1)
        slots = {"product": (name,), "things": (product.family.things,)}
        facts.append(Fact(f"guide:{name}:{topic}:{key}", "guide", answer, spec.questions, slots,
                          labels, f"guide/{key}"))
    return facts


def _policy_facts(kb: _Builder) -> list[Fact]:
    facts = []
    revisions_of = _revision_index(kb.pages)
    for (kind, region, policy, key), slot in kb.fact_slots.items():
        if kind != "policy":
            continue
        spec, answer, wheres = slot
        revisions = revisions_of[f"policy/{policy}/{region}"]
        labels = {revisions[-1]: 2, **{page: 1 for page in revisions[:-1]}}
        for other in kb.names.regions:
            if other.name != region:
                labels[revisions_of[f"policy/{policy}/{other.name}"][-1]] = 1
        facts.append(Fact(f"policy:{region}:{policy}:{key}", "policy", answer, spec.questions,
                          {"where": wheres}, labels, f"policy/{key}"))
    return facts


def _issue_facts(kb: _Builder) -> list[Fact]:
    facts = []
    revisions_of = _revision_index(kb.pages)
    products = {p.name: p for p in kb.products()}
    for (name, issue), entries in kb.issue_facts.items():
        product = products[name]
        revisions = revisions_of[f"issue/{name}/{issue}"]
        labels = {revisions[-1]: 2, **{page: 1 for page in revisions[:-1]}}
        for sibling, _ in product.family.products:
            others = revisions_of.get(f"issue/{sibling}/{issue}", [])
            if sibling != name and others:
                labels[others[-1]] = 1
        for part, answer, templates, slots in entries:
            facts.append(Fact(f"issue:{name}:{issue}:{part}", "issue", answer, templates,
                              {"product": (name,), **slots}, labels, f"issue/{part}", issue))
    return facts


# --- the knowledge base ---------------------------------------------------------------------

@dataclass
class KnowledgeBase:
    names: Names
    pages: list[Page]
    facts: list[Fact]
    by_key: dict[str, Page] = field(default_factory=dict)

    def rows(self) -> list[dict[str, str]]:
        return [{"id": p.id, "title": p.title, "text": p.text} for p in self.pages]


def build_knowledge_base(seed: int) -> KnowledgeBase:
    """Every page and every fact of the corpus made from ``seed``; ids are opaque and stable."""
    kb = _Builder(seed, invent_names(seed))
    _guides(kb)
    _comparisons(kb)
    _howtos_and_notes(kb)
    _qa_threads(kb)
    _policies(kb)
    _issues(kb)
    keys = sorted(kb.pages)
    numbers = _rng(seed, "ids").sample(range(10000, 100000), k=len(keys))
    for key, number in zip(keys, numbers, strict=True):
        kb.pages[key].id = f"kb-{number}"
    pages = sorted(kb.pages.values(), key=lambda p: p.id)
    facts = _guide_facts(kb) + _policy_facts(kb) + _issue_facts(kb)
    for fact in facts:
        fact.relevance = {kb.pages[k].id: label for k, label in fact.relevance.items()}
    return KnowledgeBase(kb.names, pages, facts, {p.key: p for p in pages})


# --- questions ------------------------------------------------------------------------------

def _word(template: str, slots: Mapping[str, Sequence[str]], company: str,
          rng: random.Random) -> str:
    chosen = {name: rng.choice(list(options)) for name, options in slots.items()}
    text = template.format(company=company, **chosen)
    roll = rng.random()
    if roll < 0.12:  # people type questions in a hurry, too
        text = text.rstrip("?").lower()
    elif roll < 0.2:
        text = text.rstrip("?")
    return text[0].upper() + text[1:] if roll >= 0.12 else text


def make_questions(kb: KnowledgeBase, seed: int, count: int, *, prefix: str,
                   exclude: Iterable[str] = (), wordings: Wordings | None = None) -> list[dict]:
    """``count`` questions about distinct facts, none of whose keys is in ``exclude``, worded
    from ``wordings`` where it words them and from the public catalogue elsewhere."""
    wordings = wordings or {}
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
        slots = fact.slots
        if f"symptom/{fact.issue}" in wordings:
            slots = {**slots, "symptom": wordings[f"symptom/{fact.issue}"]}
        templates = wordings.get(fact.wording, fact.templates)
        text = _word(rng.choice(templates), slots, kb.names.company, rng)
        relevance = dict(sorted(fact.relevance.items(), key=lambda kv: (-kv[1], kv[0])))
        questions.append({"id": f"{prefix}-{number:03d}", "question": text,
                          "answer": fact.answer, "relevance": relevance, "fact": fact.key})
    return questions


def dev_questions(kb: KnowledgeBase, seeds: Mapping[str, int]) -> list[dict]:
    return make_questions(kb, seeds["dev"], DEV_QUESTIONS, prefix="dev")


def hidden_questions(kb: KnowledgeBase, seeds: Mapping[str, int],
                     count: int = HIDDEN_QUESTIONS) -> list[dict]:
    """The test questions: never about a fact that a dev question asks about, worded as the
    instance's wordings say (``wordings_for``)."""
    used = {q["fact"] for q in dev_questions(kb, seeds)}
    return make_questions(kb, seeds["hidden"], count, prefix="test", exclude=used,
                          wordings=wordings_for(seeds))


def unseen_split(seeds: Mapping[str, int]) -> tuple[list[dict[str, str]], list[dict]]:
    """A small corpus no candidate has seen, and questions about it, for the hidden test that
    builds a submission again on it: the pages its questions label, distractors up to
    ``UNSEEN_PAGES`` (fewer than the largest k the tests ask for), and ids of another form, so
    nothing learnt from or hard-coded for the public corpus carries over. Its company, names
    and figures are invented from the hidden seed too, so they are not the public corpus' either;
    its questions are worded like the hidden ones."""
    seed = seeds["hidden"]
    kb = build_knowledge_base(seed)
    keep: set[str] = set()
    questions = []
    for question in make_questions(kb, seed, 2 * UNSEEN_QUESTIONS, prefix="unseen",
                                   wordings=wordings_for(seeds)):
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


# --- private question wordings --------------------------------------------------------------

Wordings = dict[str, tuple[str, ...]]  # a questions file's key -> its wordings


class WordingsError(ValueError):
    """A questions file that cannot be used, with the line at fault."""


class _Rule(NamedTuple):
    public: tuple[str, ...]  # the catalogue's wordings of the key
    required: frozenset[str]  # placeholders a wording must name
    one_of: frozenset[str]  # placeholders of which a wording names exactly one, if any
    allowed: frozenset[str]


def _wording_rules() -> dict[str, _Rule]:
    """Each key a questions file may word, and what its wordings must name."""
    rules = {}
    for kind, documents, slot, extra in (("guide", C.PRODUCT_TOPICS, "product", {"things"}),
                                         ("policy", C.POLICIES, "where", set())):
        for document in documents:
            for section in document.sections:
                for spec in section.facts:
                    rules[f"{kind}/{spec.key}"] = _Rule(
                        spec.questions, frozenset({slot}), frozenset(),
                        frozenset({slot, "company", *extra}))
    for part, public in (("setting", C.ISSUE_QUESTIONS_CODE + C.ISSUE_QUESTIONS_SYMPTOM),
                         ("value", C.ISSUE_QUESTIONS_VALUE), ("team", C.ISSUE_QUESTIONS_TEAM)):
        rules[f"issue/{part}"] = _Rule(public, frozenset({"product"}),
                                       frozenset({"code", "symptom"}),
                                       frozenset({"product", "code", "symptom", "company"}))
    for issue in C.ISSUES:
        rules[f"symptom/{issue.key}"] = _Rule((issue.symptom_question,), frozenset(),
                                              frozenset(), frozenset())
    return rules


def _named(names: Iterable[str], joiner: str = "and") -> str:
    return f" {joiner} ".join("{" + name + "}" for name in sorted(names))


def _bare(text: str) -> str:
    return " ".join(text.casefold().rstrip("?. ").split())


def load_wordings(path: Path) -> Wordings:
    """Question wordings from a JSONL file, one object per line:

        {"key": "guide/rate_standard",
         "text": "Our Standard-tier client keeps getting throttled by {product}: what's their cap?"}

    ``key`` is ``guide/<fact>`` or ``policy/<fact>`` (a fact of ``catalogue.py``; the wording
    names ``{product}``, resp. ``{where}``, a region or one of its offices), ``issue/setting``,
    ``issue/value`` or ``issue/team`` (a support article's fix setting, its value, the team it
    escalates to; the wording names ``{product}`` and one of ``{code}`` or ``{symptom}``), or
    ``symptom/<issue>`` (a lower-case phrase for ``{symptom}``, no braces at all). Questions may
    also name ``{company}``. Every key needs a wording: one left to the catalogue would be one a
    parser of this repository reads (docs/authoring.md). Word them unlike the catalogue and
    never publish the file.
    """
    rules = _wording_rules()
    found: dict[str, list[str]] = defaultdict(list)
    # Split at newlines only: JSON strings may hold U+2028 and other line separators unescaped.
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WordingsError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(item, dict) or set(item) != {"key", "text"}:
            raise WordingsError(f"{where}: expected an object with key and text")
        key, text = item["key"], item["text"]
        if not isinstance(key, str) or key not in rules:
            raise WordingsError(f"{where}: unknown key {key!r} (keys are guide/<fact>, "
                                "policy/<fact>, issue/setting|value|team, symptom/<issue>; "
                                "see load_wordings)")
        if not isinstance(text, str) or not text.strip():
            raise WordingsError(f"{where}: empty text")
        text = text.strip()
        _check_wording(where, key, text, rules[key])
        if text in found[key]:
            raise WordingsError(f"{where}: the same wording of {key} again")
        found[key].append(text)
    missing = sorted(set(rules) - set(found))
    if missing:
        raise WordingsError(f"{path.name} words {len(rules) - len(missing)} of the {len(rules)} "
                            f"keys; missing: {', '.join(missing)}")
    return {key: tuple(texts) for key, texts in found.items()}


def _check_wording(where: str, key: str, text: str, rule: _Rule) -> None:
    if not rule.allowed and ("{" in text or "}" in text):
        raise WordingsError(f"{where}: {key} is a phrase put into questions: no braces")
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion
                  in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise WordingsError(f"{where}: {exc} (write a literal brace as {{{{ or }}}})") from exc
    if any(spec or conversion for _, spec, conversion in fields):
        raise WordingsError(f"{where}: write placeholders bare, as {{product}}, without a format "
                            "or conversion")
    names = {name for name, _, _ in fields}
    if names - rule.allowed:
        raise WordingsError(f"{where}: {key} may not name {_named(names - rule.allowed)} "
                            f"(it may name {_named(rule.allowed) or 'no placeholder'})")
    if rule.required - names:
        raise WordingsError(f"{where}: {key} must name {_named(rule.required - names)}")
    if rule.one_of and len(names & rule.one_of) != 1:
        raise WordingsError(f"{where}: {key} must name one of {_named(rule.one_of, 'or')}"
                            + (", not both" if names & rule.one_of else ""))
    public = next((p for p in rule.public if _bare(p) in _bare(text)), None)
    if public is not None:
        raise WordingsError(f"{where}: it holds the catalogue's public wording of {key} "
                            f"({public!r}); a private wording must differ")


def wordings_for(seeds: Mapping[str, int]) -> Wordings:
    """How this instance's hidden questions are worded beyond the public catalogue: the
    deployment's private questions file on its private instance, nothing on the demo instance
    (whose baselines were recorded on the catalogue's wordings) or without the file."""
    if dict(seeds) == assignment_seeds(FOLDER) or not QUESTIONS_FILE.is_file():
        return {}
    wordings = load_wordings(QUESTIONS_FILE)
    example = load_wordings(EXAMPLE_QUESTIONS_FILE) if EXAMPLE_QUESTIONS_FILE.is_file() else {}
    copied = sorted(key for key, texts in wordings.items()
                    if set(texts) & set(example.get(key, ())))
    if copied:
        raise WordingsError(f"{QUESTIONS_FILE.name} copies the public example's wordings of "
                            f"{', '.join(copied)}: anyone can read those, so they protect "
                            "nothing; write your own")
    return wordings


def exposure(seeds: Mapping[str, int]) -> list[str]:
    """What this repository's code still reads of the instance's hidden split, for the report
    and ``grader grade`` (``grader.instance.exposure``)."""
    if wordings_for(seeds):
        return []
    return ["The hidden questions are worded by the public catalogue (hidden/catalogue.py), so a "
            "parser of those templates answers them without retrieving anything; the "
            "deployment's own wordings in hidden/content/questions.jsonl close that (the "
            "assignment's README, private question wordings)."]


# --- the instance contract ------------------------------------------------------------------

def jsonl_bytes(rows: Iterable[Mapping]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False, sort_keys=False).encode() + b"\n"
                    for row in rows)


def _public_row(question: Mapping) -> dict:
    return {k: v for k, v in question.items() if k != "fact"}


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The public split as the bundle ships it: ``corpus.jsonl`` and ``dev_questions.jsonl``."""
    kb = build_knowledge_base(seeds["corpus"])
    dev = [_public_row(q) for q in dev_questions(kb, seeds)]
    return {"corpus.jsonl": jsonl_bytes(kb.rows()), "dev_questions.jsonl": jsonl_bytes(dev)}


def hidden_items(seeds: Mapping[str, int]) -> list[dict]:
    """The hidden split as graded: the harnesses' test questions, then the behaviour tests'
    unseen-corpus questions, each ``{id, question, answer, relevance}`` like a dev row."""
    kb = build_knowledge_base(seeds["corpus"])
    _, unseen = unseen_split(seeds)
    return [_public_row(q) for q in [*hidden_questions(kb, seeds), *unseen]]


def assignment_seeds(folder: Path) -> dict[str, int]:
    """The published seeds of ``assignment.yaml``: the demo instance's."""
    import yaml

    spec = yaml.safe_load((folder / "assignment.yaml").read_text(encoding="utf-8"))
    return dict(spec["reproducibility"]["seeds"])


def main() -> None:
    seeds = assignment_seeds(FOLDER)
    data = FOLDER / "candidate" / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, content in public_files(seeds).items():
        (data / name).write_bytes(content)
        print(f"wrote {data / name} ({len(content):,} bytes)")


if __name__ == "__main__":
    main()
