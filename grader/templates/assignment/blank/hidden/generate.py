"""The instance generator: the public data and the hidden split of one instance, from its seeds.

The grader calls ``public_files(seeds)`` and ``hidden_items(seeds)`` with the seeds of
``reproducibility.seeds``: the published ones for the demo instance (``candidate/data/`` holds
exactly what they give), or for a deployment's private instance seeds derived from its secret. So
this file may be read by anyone: what a candidate cannot know is the seeds. Whatever the hidden
split asks must therefore come from the seeds, never from literals here: a literal is public.

Here the texts are made of invented words drawn from the seeds, and the hidden texts use words of
their own that no public text contains: a model must learn the length rule, not the vocabulary.
After changing this file, rewrite the public files with ``python hidden/generate.py``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"


def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The files of /data for these seeds: relative path -> bytes."""
    return {"train.jsonl": _jsonl(rows(seeds["public"], 200))}


def hidden_items(seeds: Mapping[str, int]) -> list[dict]:
    """The hidden split exactly as the harness scores it."""
    return rows(seeds["hidden"], 100)


def rows(seed: int, count: int) -> list[dict[str, str]]:
    """``count`` texts of 1 to 9 words from a vocabulary of this seed's own; "long" when a text has
    more than 4 words."""
    rng = random.Random(seed)
    words = vocabulary(rng, 40)
    out = []
    for index in range(count):
        length = rng.randint(1, 9)
        text = " ".join(rng.choice(words) for _ in range(length))
        out.append({"id": f"t{index}", "text": text, "label": "long" if length > 4 else "short"})
    return out


def vocabulary(rng: random.Random, size: int) -> list[str]:
    """``size`` distinct invented words of 2 to 4 syllables (over 24 million possible words)."""
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(CONSONANTS) + rng.choice(VOWELS)
                          for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _jsonl(items: list[dict]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in items).encode()


if __name__ == "__main__":
    import yaml

    folder = Path(__file__).resolve().parent.parent
    published = yaml.safe_load((folder / "assignment.yaml").read_text())["reproducibility"]["seeds"]
    for name, content in public_files(published).items():
        (folder / "candidate" / "data" / name).write_bytes(content)
