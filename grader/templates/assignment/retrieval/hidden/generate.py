"""The instance generator: the corpus, the dev queries and the hidden queries of one instance.

The grader calls ``public_files(seeds)`` and ``hidden_items(seeds)`` with the seeds of
``reproducibility.seeds``: the published ones for the demo instance (``candidate/data/`` holds
exactly what they give), or for a deployment's private instance seeds derived from its secret. So
this file may be read by anyone: what a candidate cannot know is the seeds. Whatever a hidden
query's answer depends on must therefore come from the seeds, never from literals here: a table of
every query these literals can word, with its answer, would score full marks.

Here the products are invented names drawn from the ``public`` seed and the passage ids are
shuffled by it, so which passage answers a query differs per instance; the hidden queries are
drawn from the ``hidden`` seed. The topic words stay literal: they are the task's meaning, not its
answers.
After changing this file, rewrite the public files with ``python hidden/generate.py``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
PRODUCTS = 20
TOPICS = {
    "billing": "invoice charge payment card receipt billed",
    "refunds": "refund return money reimbursement credit back",
    "shipping": "delivery shipment courier tracking parcel arrive",
    "login": "password sign login reset locked credentials",
    "privacy": "data privacy personal delete gdpr consent",
    "pricing": "price plan tier discount cost annual",
    "setup": "install setup configure download onboarding wizard",
    "outages": "outage downtime status incident unavailable degraded",
    "exports": "export csv download report spreadsheet backup",
    "integrations": "integration api webhook connect slack zapier",
    "mobile": "mobile app phone ios android tablet",
    "security": "security encryption twofactor audit breach token",
    "teams": "team members invite roles admin seats",
    "notifications": "notification email alert digest reminder mute",
    "warranty": "warranty repair replacement defect guarantee broken",
}
FILLER = [
    "the", "a", "our", "your", "this", "is", "are", "can", "will", "with", "for", "to", "of", "on",
    "in", "and", "you", "we", "it", "how", "what", "when", "after", "before", "about", "within",
]
ASKING = ["how do i", "what about", "help with", "question on", "", "why is", "can i"]


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The files of /data for these seeds: the corpus and 20 dev queries."""
    passages = corpus(seeds["public"])
    dev = queries(passages, random.Random(f"dev-{seeds['public']}"), 20, prefix="dev")
    return {"corpus.jsonl": _jsonl([{"id": p["id"], "text": p["text"]} for p in passages]),
            "queries.jsonl": _jsonl(dev)}


def hidden_items(seeds: Mapping[str, int]) -> list[dict]:
    """The hidden queries exactly as the harness scores them, each with its relevant passage."""
    return queries(corpus(seeds["public"]), random.Random(seeds["hidden"]), 150, prefix="q")


def corpus(seed: int) -> list[dict[str, str]]:
    """One passage per (product, topic): the product's name, most of the topic's words, filler,
    and a word of another topic as a distractor. Ids are opaque and in a shuffled order."""
    rng = random.Random(seed)
    products = product_names(rng, PRODUCTS)
    pairs = [(product, topic) for product in products for topic in TOPICS]
    rng.shuffle(pairs)
    passages = []
    for index, (product, topic) in enumerate(pairs):
        words = [*rng.sample(TOPICS[topic].split(), 4), product]
        words += rng.choices(FILLER, k=8)
        words.append(rng.choice(TOPICS[rng.choice([t for t in TOPICS if t != topic])].split()))
        rng.shuffle(words)
        text = f"{product.title()} {topic}: " + " ".join(words) + "."
        passages.append({"id": f"d{index:03d}", "text": text, "product": product, "topic": topic})
    return passages


def queries(passages: list[dict[str, str]], rng: random.Random, count: int, *,
            prefix: str) -> list[dict]:
    """``count`` queries naming a product and two words of a topic (not always the passage's);
    each has one relevant passage, the one about that product and topic."""
    ids = {(p["product"], p["topic"]): p["id"] for p in passages}
    products = sorted({p["product"] for p in passages})
    out = []
    for index in range(count):
        product, topic = rng.choice(products), rng.choice(list(TOPICS))
        words = [product, *rng.sample(TOPICS[topic].split(), 2)]
        rng.shuffle(words)
        text = " ".join([rng.choice(ASKING), *words]).strip()
        out.append({"id": f"{prefix}{index}", "text": text, "relevant": {ids[product, topic]: 1}})
    return out


def product_names(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct invented names of 2 or 3 syllables (about 350,000 possible names)."""
    names: set[str] = set()
    while len(names) < size:
        names.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS)
                          for _ in range(rng.randint(2, 3))))
    return sorted(names)


def _jsonl(items: list[dict]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()


if __name__ == "__main__":
    import yaml

    folder = Path(__file__).resolve().parent.parent
    published = yaml.safe_load((folder / "assignment.yaml").read_text())["reproducibility"]["seeds"]
    for name, content in public_files(published).items():
        (folder / "candidate" / "data" / name).write_bytes(content)
