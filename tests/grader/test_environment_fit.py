"""What candidates meet of an environment, in process: the import scan, requirements.txt against
the installed versions, the two together against an image's package list (as the image's probe
returns it; the probe itself runs against the real image in test_environment_image.py), and the
starter bundle's README listing the locked packages."""

from __future__ import annotations

import hashlib
import json
import textwrap
import zipfile
from pathlib import Path

from support.environment import RUNNER_PROVIDED

from grader.authoring import build_bundle, new_assignment
from grader.environment_fit import (
    compare_requirements,
    environment_modules,
    find_imports,
    fit,
)
from grader.settings import Settings
from grader.signals._common import scan
from grader.spec import LOCK_FILE, Assignment, EnvironmentLock, LockedPackage, load_assignment
from grader.templating import environment
from grader.web._catalog import Catalog
from sandbox import RUNNER_MODULES, Limits

PROVIDED = RUNNER_PROVIDED


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_imports_are_found_wherever_they_are_and_however_they_are_written(tmp_path: Path
                                                                          ) -> None:
    folder = write(tmp_path, {
        "solution.py": """\
            import numpy as np, os.path
            import sklearn.linear_model as lm
            from faiss import IndexFlatL2
            from collections import Counter
            from . import sibling
            from .models import Net
            from helpers import clean
            from mypkg.sub import thing

            def build():
                import lightgbm
                if np:
                    from rank_bm25 import BM25Okapi
                return importlib.import_module("hnswlib")

            try:
                import xgboost
            except ImportError:
                xgboost = None
            """,
        "helpers.py": "def clean(x):\n    return x\n",
        "mypkg/sub.py": "thing = 1\n",
    })
    imports = find_imports(scan(folder))
    assert [(f.module, f.use.line, f.optional) for f in imports.found] == [
        ("numpy", 1, False), ("sklearn", 2, False), ("faiss", 3, False), ("lightgbm", 11, False),
        ("rank_bm25", 13, False), ("hnswlib", 14, False), ("xgboost", 17, True)]
    assert imports.unreadable == []


def test_a_file_that_does_not_parse_is_named_and_the_others_still_read(tmp_path: Path) -> None:
    folder = write(tmp_path, {"solution.py": "import faiss\n",
                              "broken.py": "import torch\ndef f(:\n    pass\n"})
    imports = find_imports(scan(folder))
    assert [f.module for f in imports.found] == ["faiss"]
    assert imports.unreadable == ["broken.py (line 2)"]


def test_requirements_are_compared_pin_by_pin_and_unparseable_lines_listed() -> None:
    text = textwrap.dedent("""\
        # what I used locally
        numpy==2.4.6          # matches
        scikit_learn>=1.5,<2
        torch==2.13.0         # the image's is the +cpu build of the same version
        PyYAML==5.4
        faiss-cpu>=1.8
        numpy==2.4.6 \\
            --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
        -e git+https://example.com/x.git
        this is not a requirement
        pywin32==306; sys_platform == "win32"
        """)
    compared = compare_requirements(text, PROVIDED.distributions)
    assert [(r.line, r.text, r.status, r.installed) for r in compared] == [
        (2, "numpy==2.4.6", "available", "2.4.6"),
        (3, "scikit_learn>=1.5,<2", "available", "1.9.1"),
        (4, "torch==2.13.0", "available", "2.13.0+cpu"),
        (5, "PyYAML==5.4", "differs", "6.0.4"),
        (6, "faiss-cpu>=1.8", "missing", None),
        (7, "numpy==2.4.6", "available", "2.4.6"),
        (9, "-e git+https://example.com/x.git", "unreadable", None),
        (10, "this is not a requirement", "unreadable", None)]


def test_fit_names_what_the_image_lacks_and_where_it_is_imported(tmp_path: Path) -> None:
    folder = write(tmp_path, {
        "solution.py": "import numpy\nimport faiss\ntry:\n    import xgboost\n"
                       "except ImportError:\n    xgboost = None\n",
        "index.py": "from faiss import IndexFlatL2\n",
        "requirements.txt": "numpy==2.4.6\nfaiss-cpu==1.8.0\n",
    })
    result = fit(folder, PROVIDED)
    assert [(m.module, m.optional, [(u.path, u.line) for u in m.used_in])
            for m in result.missing_imports] == [
        ("faiss", False, [("index.py", 1), ("solution.py", 2)]),
        ("xgboost", True, [("solution.py", 4)])]
    assert [(r.text, r.status) for r in result.requirements] == [
        ("numpy==2.4.6", "available"), ("faiss-cpu==1.8.0", "missing")]
    assert result.message.startswith("Your code imports faiss, which this environment does not "
                                     "provide")
    assert "1 line(s) of your requirements.txt differ" in result.message


def test_a_submission_the_environment_fits_is_told_so(tmp_path: Path) -> None:
    folder = write(tmp_path, {"solution.py": "import numpy, sklearn, json\nimport helpers\n",
                              "helpers.py": "import torch\n"})
    result = fit(folder, PROVIDED)
    assert result.missing_imports == [] and result.requirements == []
    assert result.message == ("Every import of your code is provided by the environment, the "
                              "standard library or your own files.")


def test_the_page_section_reads_the_same_from_the_model_and_from_its_json(tmp_path: Path
                                                                         ) -> None:
    folder = write(tmp_path, {"solution.py": "import faiss\n",
                              "requirements.txt": "faiss-cpu==1.8\n<script>\n"})
    result = fit(folder, PROVIDED)
    template = environment().from_string(
        '{% from "_environment.html.j2" import environment_fit %}{{ environment_fit(e) }}')
    html = template.render(e=result)
    assert html == template.render(e=result.model_dump(mode="json"))
    assert "<code>faiss</code></td><td><code>solution.py</code> line 1" in html
    assert "line 1: <code>faiss-cpu==1.8</code></td><td class=\"missing\">not installed" in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def _with_environment(folder: Path, bm25_version: str) -> Assignment:
    """The scaffold with an environment block and its lock, as `grader assignment lock` writes
    them (the resolver aside)."""
    spec = folder / "assignment.yaml"
    if "environment:" not in spec.read_text():
        spec.write_text(spec.read_text() + "environment:\n  packages: [rank-bm25]\n")
    lock = EnvironmentLock(
        requested=("rank-bm25",), runner_lock_sha256="0" * 64,
        packages=(LockedPackage(name="rank-bm25", version=bm25_version, hashes=("1" * 64,)),
                  LockedPackage(name="tiny-dep", version="2.0", hashes=("2" * 64,))))
    (folder / LOCK_FILE).write_text(lock.render("starter"))
    return load_assignment(folder, ceiling=Limits())


def _readme_in(bundle: Path) -> str:
    with zipfile.ZipFile(bundle) as archive:
        readme = archive.read("README.md")
        manifest = json.loads(archive.read("MANIFEST.json"))
    [entry] = [f for f in manifest["files"] if f["path"] == "README.md"]
    assert entry["sha256"] == hashlib.sha256(readme).hexdigest()
    return readme.decode()


def test_the_bundle_readme_lists_the_locked_packages_and_follows_the_lock(tmp_path: Path
                                                                          ) -> None:
    folder = new_assignment(tmp_path / "assignments", "starter")
    plain = _readme_in(build_bundle(load_assignment(folder, ceiling=Limits()), folder,
                                    tmp_path / "plain.zip"))
    assert plain.startswith((folder / "candidate" / "README.md").read_text().rstrip())
    assert "\n## Packages in the sandbox\n" in plain
    assert "- **Machine learning:** `torch==2.13.0+cpu`, `scikit-learn==" in plain
    assert "Added for this assignment" not in plain

    first = _readme_in(build_bundle(_with_environment(folder, "0.2.2"), folder,
                                    tmp_path / "first.zip"))
    assert "- **Added for this assignment:** `rank-bm25==0.2.2`\n" in first
    assert "- **Installed with them (their dependencies):** `tiny-dep==2.0`\n" in first
    assert "runner-lock-sha256" not in first and "do not edit" not in first
    lines = first.splitlines()
    assert lines.index(next(x for x in lines if "Machine learning" in x)) < lines.index(
        next(x for x in lines if "Added for this assignment" in x))

    second = _readme_in(build_bundle(_with_environment(folder, "0.2.3"), folder,
                                     tmp_path / "second.zip"))
    assert "`rank-bm25==0.2.3`" in second and "0.2.2" not in second


def test_the_candidate_page_and_a_new_starter_zip_follow_a_changed_lock(tmp_path: Path) -> None:
    root = tmp_path / "assignments"
    folder = new_assignment(root, "starter")
    catalog = Catalog(root, tmp_path / "bundles", Settings(data_dir=tmp_path / "data"))
    assignment = _with_environment(folder, "0.2.2")
    first = catalog.starter_bundle(assignment, folder)
    assert "`rank-bm25==0.2.2`" in catalog.readme(assignment, folder)
    assignment = _with_environment(folder, "0.2.3")
    second = catalog.starter_bundle(assignment, folder)
    assert second != first and "`rank-bm25==0.2.3`" in _readme_in(second)
    assert "`rank-bm25==0.2.3`" in catalog.readme(assignment, folder)


BUILT_IN = Path(__file__).parents[2] / "assignments"


def test_a_warm_session_may_import_what_the_lock_installs_by_the_module_names_the_image_reports(
        tmp_path: Path) -> None:
    # As the rag_pipeline image would answer: the runner's modules plus the lock's, whose
    # module names are not their distributions' (faiss-cpu installs faiss, pystemmer Stemmer).
    provided = RUNNER_PROVIDED.model_copy(update={"modules": {
        **RUNNER_PROVIDED.modules, "faiss": ["faiss-cpu"], "bm25s": ["bm25s"],
        "Stemmer": ["pystemmer"], "faiss_cpu.libs": ["faiss-cpu"]}})
    folder = BUILT_IN / "rag_pipeline"
    rag = load_assignment(folder, ceiling=Limits(memory="16g", cpus=8, timeout=3600))
    assert environment_modules(rag, folder, provided) == ("Stemmer", "bm25s", "faiss")
    assert Settings().session_preload(environment_modules(rag, folder, provided)) == (
        *RUNNER_MODULES, "Stemmer", "bm25s", "faiss")
    plain = new_assignment(tmp_path, "plain")
    assert environment_modules(load_assignment(plain, ceiling=Limits(memory="16g", cpus=8,
                                                                     timeout=3600)),
                               plain, provided) == ()
