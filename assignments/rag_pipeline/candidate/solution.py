"""Your solution. Keep these four functions and their signatures; add any modules you need beside
this file (they are importable: the folder of solution.py is on the path)."""


def index(corpus_path: str, work_dir: str) -> None:
    """Build phase, called once: read the knowledge base and save your index under work_dir.

    corpus_path is a JSON-lines file of pages, {"id": str, "title": str, "text": str}. work_dir is
    the only writable place that is kept for the serve phase (2 GiB). No network.
    """
    raise NotImplementedError


def load(work_dir: str) -> None:
    """Serve phase, called once in a fresh process before any query: load what index() saved.

    work_dir is read-only now.
    """
    raise NotImplementedError


def search(query: str, k: int) -> list[str]:
    """Return exactly k distinct page ids from the corpus, best first (all of them if the corpus
    holds fewer than k pages). Must not fail on an empty, very long or non-English query."""
    raise NotImplementedError


def answer(query: str) -> dict:
    """Return {"answer": str, "citations": list[str]}: a short answer copied from the knowledge
    base (a figure, a name, a setting: not a whole paragraph) and the ids of the pages that state
    it, most supportive first."""
    raise NotImplementedError
