"""Run your solution the way the grader does (build, then serve) on the public data."""

import json
import tempfile

import solution

with tempfile.TemporaryDirectory() as work:
    solution.index("data/corpus.jsonl", work)
    solution.load(work)
    with open("data/queries.jsonl") as lines:
        queries = [json.loads(line) for line in lines]
    found = sum(bool(set(solution.search(q["text"], 5)) & set(q["relevant"])) for q in queries)
    print(f"dev queries with a relevant passage in the top 5: {found / len(queries):.3f}")
