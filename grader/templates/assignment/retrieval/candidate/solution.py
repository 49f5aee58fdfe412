"""Your solution. Keep these signatures; add any modules you need beside this file."""


def index(corpus_path: str, work_dir: str) -> None:
    """Read the passages in corpus_path (JSON lines) and save a search index under work_dir."""
    raise NotImplementedError


def load(work_dir: str) -> None:
    """Load the index that index() saved in work_dir."""
    raise NotImplementedError


def search(query: str, k: int) -> list[str]:
    """Return the ids of the k passages that best answer query, best first, each once."""
    raise NotImplementedError
