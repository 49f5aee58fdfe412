"""The data generator: public rows from the published seed, hidden rows from the seed in force.

Hidden, like everything under hidden/: candidates get the public rows, never this file, so they
cannot regenerate a deployment's hidden split even when they know how it is made. After changing
it, rewrite the public files with `python hidden/generate.py`.
"""

import json
import random
from pathlib import Path

PUBLIC_SEED = 1  # candidate/data/train.jsonl and dev.jsonl

# Each label: its share of the tickets (imbalanced on purpose) and the words that suggest it.
LABELS = {
    "billing": (0.40, "invoice charged payment card refund receipt overcharged subscription"),
    "shipping": (0.25, "delivery parcel courier tracking delayed package address shipped"),
    "account": (0.15, "password login locked email username reset verify profile"),
    "bug": (0.12, "crash error broken freezes bug screen button loading"),
    "feedback": (0.08, "love suggestion feature idea great improve wish request"),
}
FILLER = [
    "i", "my", "the", "a", "your", "is", "was", "it", "please", "help", "with", "on", "for", "to",
    "and", "this", "not", "again", "today", "yesterday", "order", "app", "website", "team",
    "thanks", "hi", "hello", "still", "can", "you",
]


def rows(seed: int, count: int) -> list[dict[str, str]]:
    """``count`` support tickets: a few words of their label, filler, and sometimes a word of
    another label, so a few tickets are genuinely ambiguous."""
    rng = random.Random(seed)
    names = list(LABELS)
    shares = [share for share, _ in LABELS.values()]
    out = []
    for index in range(count):
        label = rng.choices(names, weights=shares)[0]
        words = rng.sample(LABELS[label][1].split(), rng.randint(1, 3))
        if rng.random() < 0.4:
            other = rng.choice([name for name in names if name != label])
            words.append(rng.choice(LABELS[other][1].split()))
        words += rng.choices(FILLER, k=rng.randint(3, 8))
        rng.shuffle(words)
        out.append({"id": f"{seed}-{index}", "text": " ".join(words), "label": label})
    return out


if __name__ == "__main__":
    data = Path(__file__).resolve().parent.parent / "candidate" / "data"
    public = rows(PUBLIC_SEED, 800)
    for name, part in (("train", public[:600]), ("dev", public[600:])):
        with open(data / f"{name}.jsonl", "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in part)
