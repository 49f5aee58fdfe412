"""The instance generator: the train and dev tickets and the hidden split of one instance.

The grader calls ``public_files(seeds)`` and ``hidden_items(seeds)`` with the seeds of
``reproducibility.seeds``: the published ones for the demo instance (``candidate/data/`` holds
exactly what they give), or for a deployment's private instance seeds derived from its secret. So
this file may be read by anyone: what a candidate cannot know is the seeds. Whatever the hidden
split asks must therefore come from the seeds, never from literals here: training on everything
these literals can make would otherwise be free extra data for the hidden split.

Here each queue has, besides its literal words, product and error names of its own invented from
the ``public`` seed (the instance's vocabulary, which its train split teaches), and the hidden
tickets are drawn from the ``hidden`` seed. After changing this file, rewrite the public files with
``python hidden/generate.py``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
TERMS_PER_LABEL = 3

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


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The files of /data for these seeds: 600 train and 200 dev tickets."""
    public = rows(seeds["public"], seeds["public"], 800)
    return {"train.jsonl": _jsonl(public[:600]), "dev.jsonl": _jsonl(public[600:])}


def hidden_items(seeds: Mapping[str, int]) -> list[dict]:
    """The hidden split exactly as the harness scores it: 300 tickets in the instance's words."""
    return rows(seeds["public"], seeds["hidden"], 300)


def vocabulary(seed: int) -> dict[str, list[str]]:
    """Each label's words: its literal ones and invented names of this instance's own."""
    rng = random.Random(f"terms-{seed}")
    invented: set[str] = set()
    while len(invented) < TERMS_PER_LABEL * len(LABELS):
        invented.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS)
                             for _ in range(rng.randint(2, 4))))
    terms = sorted(invented)
    rng.shuffle(terms)
    return {label: [*words.split(), *terms[i * TERMS_PER_LABEL:(i + 1) * TERMS_PER_LABEL]]
            for i, (label, (_, words)) in enumerate(LABELS.items())}


def rows(vocabulary_seed: int, seed: int, count: int) -> list[dict[str, str]]:
    """``count`` support tickets: a few words of their label, filler, and sometimes a word of
    another label, so a few tickets are genuinely ambiguous."""
    words_of = vocabulary(vocabulary_seed)
    rng = random.Random(seed)
    names = list(LABELS)
    shares = [share for share, _ in LABELS.values()]
    out = []
    for index in range(count):
        label = rng.choices(names, weights=shares)[0]
        words = rng.sample(words_of[label], rng.randint(1, 3))
        if rng.random() < 0.4:
            other = rng.choice([name for name in names if name != label])
            words.append(rng.choice(words_of[other]))
        words += rng.choices(FILLER, k=rng.randint(3, 8))
        rng.shuffle(words)
        out.append({"id": f"t{index}", "text": " ".join(words), "label": label})
    return out


def _jsonl(items: list[dict]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()


if __name__ == "__main__":
    import yaml

    folder = Path(__file__).resolve().parent.parent
    published = yaml.safe_load((folder / "assignment.yaml").read_text())["reproducibility"]["seeds"]
    for name, content in public_files(published).items():
        (folder / "candidate" / "data" / name).write_bytes(content)
