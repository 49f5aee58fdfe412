"""The data generator: public rows from the published seed, hidden rows from the seed in force.

Hidden, like everything under hidden/: candidates get the public rows, never this file, so they
cannot regenerate a deployment's hidden split even when they know how it is made.
"""

import random

WORDS = "data model ticket refund order account plan invoice shipping login error update team price"


def rows(seed: int, count: int) -> list[dict[str, str]]:
    """``count`` texts of 1 to 9 words; "long" when a text has more than 4 words."""
    rng = random.Random(seed)
    words = WORDS.split()
    out = []
    for index in range(count):
        length = rng.randint(1, 9)
        text = " ".join(rng.choice(words) for _ in range(length))
        out.append({"id": f"{seed}-{index}", "text": text,
                    "label": "long" if length > 4 else "short"})
    return out
