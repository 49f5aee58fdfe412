"""The data generator: the public corpus and dev queries, and hidden queries from the seed in force.

Hidden, like everything under hidden/: candidates get the corpus and the dev queries, never this
file, so they cannot regenerate a deployment's hidden queries even when they know how they are
made. After changing the corpus, rewrite the public files with `python hidden/generate.py`.
"""

import json
import random
from pathlib import Path

CORPUS_SEED = 1  # fixed: the corpus is public (candidate/data/corpus.jsonl), only queries vary
PUBLIC_SEED = 1  # the dev queries in candidate/data/queries.jsonl

PRODUCTS = [
    "aurora", "beacon", "cobalt", "delta", "ember", "falcon", "granite", "harbor", "iris",
    "juniper", "kestrel", "lumen", "meridian", "nimbus", "orchid", "pioneer", "quartz", "ridge",
    "sierra", "tundra",
]
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


def corpus() -> list[dict[str, str]]:
    """One passage per (product, topic): the product's name, most of the topic's words, filler,
    and a word of another topic as a distractor. Ids are opaque and in a shuffled order."""
    rng = random.Random(CORPUS_SEED)
    pairs = [(product, topic) for product in PRODUCTS for topic in TOPICS]
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


def queries(seed: int, count: int) -> list[dict]:
    """``count`` queries naming a product and two words of a topic (not always the passage's);
    each has one relevant passage, the one about that product and topic."""
    rng = random.Random(seed)
    ids = {(p["product"], p["topic"]): p["id"] for p in corpus()}
    out = []
    for index in range(count):
        product, topic = rng.choice(PRODUCTS), rng.choice(list(TOPICS))
        words = [product, *rng.sample(TOPICS[topic].split(), 2)]
        rng.shuffle(words)
        text = " ".join([rng.choice(ASKING), *words]).strip()
        out.append({"id": f"q{seed}-{index}", "text": text,
                    "relevant": {ids[product, topic]: 1}})
    return out


if __name__ == "__main__":
    data = Path(__file__).resolve().parent.parent / "candidate" / "data"
    with open(data / "corpus.jsonl", "w") as f:
        for passage in corpus():
            f.write(json.dumps({"id": passage["id"], "text": passage["text"]}) + "\n")
    with open(data / "queries.jsonl", "w") as f:
        for query in queries(PUBLIC_SEED, 20):
            f.write(json.dumps(query) + "\n")
