"""finetune_small on private instances: nothing the public generator emits buys points.

The attack of issue 13: the honest TF-IDF + linear SVM, trained on the instance's public train
split *plus* labelled samples of everything this repository's generator can produce (the public
splits and hidden splits of the demo instance and of other seeds of the attacker's own). Before
instances it lifted macro-F1 from 0.73 to 1.000 and shifted-slice macro-F1 from 0.34 to 1.000,
because the held-out wordings were literals of the generator. The bar here: on private instances
(seeds no one published) the attack scores no more than the same model trained on the bundle
alone, overall and on the shifted slice, within a small tolerance (more public data still teaches
a bag of words a few more typo spellings of public words).

A private instance without private content holds no wording out (none in public code could be);
its shifted slice is the world's new names and tickets that say which request they are *not*
about, whose two topics a bag of words cannot tell apart however much data it sees. With a hiring
team's private wordings the semantic shift returns and holds too. A TF-IDF model fits in seconds,
so this runs in CI without Docker.
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sys
from pathlib import Path
from statistics import mean
from types import ModuleType

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from support.grammar import template_regex

FOLDER = Path(__file__).resolve().parents[2] / "assignments" / "finetune_small"
ATTACKER_SEEDS = 6          # other instances the attacker samples, besides the demo
PRIVATE_INSTANCES = 3
MACRO_TOLERANCE = 0.03
SHIFTED_TOLERANCE = 0.04

Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    name = "finetune_small_instance_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FOLDER / "hidden" / "generate.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def public_code_only(generator, monkeypatch, tmp_path) -> ModuleType:
    """The generator as anyone with the repository runs it: no private content."""
    monkeypatch.setattr(generator, "CONTENT_FILE", tmp_path / "absent.jsonl")
    return generator


def stand_in(generator, folder: Path) -> Path:
    """The example content as a hiring team's own file: each text's first letter in the other
    case, so the generator does not refuse it as a copy of the public example, while a bag of
    words (lower-cased) sees the same wordings."""
    lines = []
    for line in generator.EXAMPLE_CONTENT_FILE.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        item["text"] = item["text"][0].swapcase() + item["text"][1:]
        lines.append(json.dumps(item))
    path = folder / "shifted.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _seeds(rng: random.Random) -> dict[str, int]:
    return {"public": rng.getrandbits(63), "hidden": rng.getrandbits(63)}


def _everything_public(generator, rng: random.Random, *, with_demo_hidden: bool = True) -> Rows:
    """Labelled samples of all the generator emits: the demo instance and seeds of one's own."""
    demo = generator._published_seeds()
    rows: Rows = []
    for seeds in [demo] + [_seeds(rng) for _ in range(ATTACKER_SEEDS)]:
        splits = generator.public_splits(seeds["public"])
        rows += splits["train"] + splits["dev"]
        if seeds != demo or with_demo_hidden:
            rows += generator.hidden_items(seeds)
    return rows


def _model():
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LinearSVC())


def _scores(train: Rows, hidden: Rows) -> tuple[float, float]:
    model = _model().fit([r["text"] for r in train], [r["label"] for r in train])
    predicted = model.predict([r["text"] for r in hidden])
    truth = [r["label"] for r in hidden]
    shifted = [(t, p) for t, p, r in zip(truth, predicted, hidden, strict=True)
               if r["slice"] == "shifted"]
    return (f1_score(truth, predicted, average="macro"),
            f1_score([t for t, _ in shifted], [p for _, p in shifted], average="macro"))


def _honest_and_attack(generator, seeds: dict[str, int], extra: Rows, hidden: Rows
                       ) -> tuple[tuple[float, float], tuple[float, float]]:
    train = generator.public_splits(seeds["public"])["train"]
    return _scores(train, hidden), _scores(train + extra, hidden)


def test_training_on_the_public_generator_buys_nothing(public_code_only) -> None:
    generator = public_code_only
    rng = random.Random(20261203)
    extra = _everything_public(generator, rng)
    honest, attack = [], []
    for _ in range(PRIVATE_INSTANCES):
        seeds = _seeds(rng)
        assert seeds != generator._published_seeds()
        one, other = _honest_and_attack(generator, seeds, extra, generator.hidden_items(seeds))
        honest.append(one)
        attack.append(other)
    gains = [mean(a[i] - h[i] for h, a in zip(honest, attack, strict=True)) for i in (0, 1)]
    detail = f"honest {honest}, attack {attack}"
    assert gains[0] <= MACRO_TOLERANCE, f"macro-F1 gained {gains[0]:.3f}: {detail}"
    assert gains[1] <= SHIFTED_TOLERANCE, f"shifted macro-F1 gained {gains[1]:.3f}: {detail}"
    # The instance is still a test: a bag of words is well short of perfect on it.
    assert max(h[1] for h in honest) < 0.85, detail


def test_private_wordings_hold_against_the_same_attack(public_code_only, monkeypatch,
                                                       tmp_path) -> None:
    """The example content stands in for a hiring team's private file; the attacker has all the
    generator emits without it (so not the demo's hidden split, which the example makes)."""
    generator = public_code_only
    rng = random.Random(7)
    extra = _everything_public(generator, rng, with_demo_hidden=False)
    monkeypatch.setattr(generator, "CONTENT_FILE", stand_in(generator, tmp_path))
    seeds = _seeds(rng)
    hidden = generator.hidden_items(seeds)
    assert generator.content_for(seeds) is not None
    honest, attack = _honest_and_attack(generator, seeds, extra, hidden)
    assert attack[0] <= honest[0] + MACRO_TOLERANCE, (honest, attack)
    assert attack[1] <= honest[1] + SHIFTED_TOLERANCE, (honest, attack)
    assert honest[1] < 0.6, "private wordings make the shifted slice hard for a bag of words"


def test_the_attack_catches_held_out_wordings_in_public_code(public_code_only, monkeypatch,
                                                              tmp_path) -> None:
    """The bar has teeth: when the held-out wordings are in the repository (as they were in the
    generator before instances, and as the example content is), every instance's hidden split
    teaches them, and the same attack buys the shifted slice."""
    generator = public_code_only
    monkeypatch.setattr(generator, "CONTENT_FILE", stand_in(generator, tmp_path))
    rng = random.Random(11)
    extra = _everything_public(generator, rng)
    seeds = _seeds(rng)
    honest, attack = _honest_and_attack(generator, seeds, extra, generator.hidden_items(seeds))
    assert attack[1] > honest[1] + 0.3, (honest, attack)
    assert attack[0] > honest[0] + 0.1, (honest, attack)


# --- the public grammar, read on each ticket -----------------------------------------------------

def _grammar_parser(generator):
    """Labels from the public templates alone: a contrast frame's main topic, else the intent
    of the first public request wording found in the ticket; None when none is (a held-out
    wording, or a typo inside the wording)."""
    flags = re.IGNORECASE | re.DOTALL
    requests = [(re.compile(template_regex(p.rstrip(".?!")), flags), intent.label)
                for intent in generator.INTENTS for p in intent.phrasings]
    topics = [(re.compile(template_regex(t), flags), label)
              for label, templates in generator.TOPICS.items() for t in templates]
    frames = [re.compile(template_regex(f.rstrip("."), ("main", "other")), flags)
              for f in generator.CONTRAST_FRAMES]

    def label(text: str) -> str | None:
        for frame in frames:
            found = frame.search(text)
            main = found and next((lab for topic, lab in topics
                                   if topic.fullmatch(found["main"].strip())), None)
            if main:
                return main
        hits = [(found.start(), lab) for request, lab in requests
                for found in [request.search(text)] if found]
        return min(hits)[1] if hits else None
    return label


def _honest_and_parser(generator, seeds: dict[str, int]
                       ) -> tuple[tuple[float, float], tuple[float, float]]:
    """The bundle's bag of words, alone and behind the grammar parser (the model answers
    what the parser cannot)."""
    train = generator.public_splits(seeds["public"])["train"]
    hidden = generator.hidden_items(seeds)
    model = _model().fit([r["text"] for r in train], [r["label"] for r in train])
    honest = list(model.predict([r["text"] for r in hidden]))
    parse = _grammar_parser(generator)
    attack = [parse(r["text"]) or guess for r, guess in zip(hidden, honest, strict=True)]

    def macro(predicted: list[str], only: str | None = None) -> float:
        pairs = [(r["label"], p) for r, p in zip(hidden, predicted, strict=True)
                 if only is None or r["slice"] == only]
        return f1_score([t for t, _ in pairs], [p for _, p in pairs], average="macro")
    return ((macro(honest), macro(honest, "shifted")),
            (macro(attack), macro(attack, "shifted")))


@pytest.mark.xfail(strict=True, reason=(
    "known, not fixed: without a deployment's private content every request, topic and "
    "contrast frame is a public template, so matching them labels the hidden tickets about as "
    "well as the fine-tuned reference (docs/authoring.md, what a public generator still gives "
    "away); private content closes the shifted slice (the test below)"))
def test_a_parser_of_the_public_grammar_buys_nothing(public_code_only) -> None:
    honest, attack = _honest_and_parser(public_code_only, _seeds(random.Random(7)))
    assert attack[0] <= honest[0] + MACRO_TOLERANCE, (honest, attack)
    assert attack[1] <= honest[1] + SHIFTED_TOLERANCE, (honest, attack)


def test_private_wordings_hold_against_the_grammar_parser(public_code_only, monkeypatch,
                                                          tmp_path) -> None:
    """With held-out wordings, the shifted slice's requests are in no public template: the
    parser finds only what the bag of words already knew (the side remarks it does find are
    another intent's)."""
    monkeypatch.setattr(public_code_only, "CONTENT_FILE",
                        stand_in(public_code_only, tmp_path))
    honest, attack = _honest_and_parser(public_code_only, _seeds(random.Random(7)))
    assert attack[1] <= honest[1] + SHIFTED_TOLERANCE, (honest, attack)


def test_reports_say_public_code_reads_the_tickets_until_the_deployment_words_them(
        public_code_only, monkeypatch, tmp_path) -> None:
    seeds = _seeds(random.Random(5))
    [said] = public_code_only.exposure(seeds)
    assert "public template" in said and "hidden/content/shifted.jsonl" in said
    monkeypatch.setattr(public_code_only, "CONTENT_FILE",
                        stand_in(public_code_only, tmp_path))
    assert public_code_only.exposure(seeds) == []
