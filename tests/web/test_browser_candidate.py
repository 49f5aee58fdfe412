"""Each state a candidate sees, in Debian's headless Chromium against a real `grader serve`: the
invite page with its rendered README, a refused upload, a submission waiting in the queue, its
progress updating without a reload, the graded result, and code that failed. The worker grades with
``support.staged`` (no engine), whose steps the test paces. One server and one browser for the
module; screenshots go to test-artifacts/screenshots/ (gitignored, kept by CI)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.kit import (
    REPO,
    Server,
    database_url,
    free_port,
    run_cli,
    service_env,
    solution_zip,
    token_of,
    upload,
)

from grader.authoring import new_assignment

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
README = """# Starter task

Build the classifier.

## What to build

| function | phase | what it does |
| --- | --- | --- |
| `train(train_path, work_dir)` | build | learn from the labelled texts |
| `predict(texts)` | serve | one label per text |

## The data

```python
{"text": "...", "label": "positive"}
```

### Files

## Submitting
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser-candidate")
    new_assignment(root / "assignments", "starter")
    (root / "assignments" / "starter" / "candidate" / "README.md").write_text(README)
    # One worker slot, so a second submission waits in the queue behind the first.
    env = service_env(data_dir=root / "data", assignments_dir=root / "assignments",
                      database_url=database_url("sqlite", root), port=free_port(), fake=False,
                      GRADER_WORKER_GRADER="support.staged:staged_grade", GRADER_WORKERS="1")
    server = Server(env, root / "serve.log").start()
    server.data_dir = root / "data"
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; `bash scripts/setup.sh` installs Debian's "
                    "chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def _invite(site: Server) -> str:
    url = run_cli(site.env, "invite", "create", "starter", "--cohort", "browser",
                  "--allowance", "3").strip().splitlines()[-1]
    return token_of(url)


def _go(site: Server, marker: str, step: int) -> None:
    """Let the staged grading of the submission carrying ``marker`` past its step."""
    folders = [p.parent for p in (site.data_dir / "submissions").glob("*/solution.py")
               if marker in p.read_text()]
    assert len(folders) == 1, f"one submission carries {marker}: {folders}"
    (folders[0] / f"go-{step}").touch()


def _zip(solution: str, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(solution_zip(solution, steps=2))
    return path


def test_invite_page_renders_the_readme_and_a_one_line_upload_label(site, page) -> None:
    page.goto(f"{site.base}/i/{_invite(site)}")
    readme = page.locator(".readme .markdown")
    assert readme.locator("table th").first.inner_text() == "function"
    assert readme.locator("pre code").inner_text().startswith('{"text"')
    assert page.locator("nav.toc a").all_inner_texts() == [
        "What to build", "The data", "Files", "Submitting", "Packages in the sandbox"]
    label = page.locator("label[for=upload-file]")
    line = float(label.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert label.bounding_box()["height"] < 1.5 * line  # one line, not three
    page.screenshot(path=SHOTS / "candidate-1-invite.png", full_page=True)


def test_a_refused_upload_explains_itself_and_its_address_reloads_to_the_invite(
        site, page, tmp_path: Path) -> None:
    token = _invite(site)
    empty = tmp_path / "empty.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "no solution here\n")
    empty.write_bytes(buffer.getvalue())
    page.goto(f"{site.base}/i/{token}")
    page.set_input_files("#upload-file", str(empty))
    page.screenshot(path=SHOTS / "candidate-2-uploading.png", full_page=True)
    page.get_by_role("button", name="Upload and grade").click()
    page.locator("#upload-error").wait_for()
    assert "solution.py" in page.locator("#upload-error").inner_text()
    page.screenshot(path=SHOTS / "candidate-3-rejected.png", full_page=True)
    response = page.goto(f"{site.base}/i/{token}/upload")
    assert response.status == 200 and page.url == f"{site.base}/i/{token}"
    assert page.locator("#upload-error").count() == 0


def test_queued_then_live_progress_without_a_reload_then_graded(site, page,
                                                                 tmp_path: Path) -> None:
    token = _invite(site)
    with site.client() as client:  # takes the only worker slot and holds it at its step 1
        ahead = upload(client, token, solution_zip("# which: ahead", steps=1))
        assert ahead.status_code == 201, ahead.text
    page.goto(f"{site.base}/i/{token}")
    page.set_input_files("#upload-file", str(_zip("# which: mine", tmp_path, "mine.zip")))
    page.get_by_role("button", name="Upload and grade").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    assert page.locator("h1").inner_text() == "Submission 2"  # the invite's second upload
    message = page.locator("#progress-message")
    assert message.get_attribute("aria-live") == "polite"
    message.filter(has_text="yours is next").wait_for()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    page.screenshot(path=SHOTS / "candidate-4-queued.png", full_page=True)

    _go(site, "which: ahead", 1)
    message.filter(has_text="Grading now: step 1.").wait_for(timeout=30_000)
    _go(site, "which: mine", 1)
    message.filter(has_text="Grading now: step 2.").wait_for(timeout=30_000)
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator("#status").inner_text() == "grading"
    assert "Grading for" in page.locator("#progress-timing").inner_text()
    page.screenshot(path=SHOTS / "candidate-5-grading.png", full_page=True)

    _go(site, "which: mine", 2)
    page.locator("#status", has_text="graded").wait_for(timeout=30_000)  # one reload, at the end
    assert page.locator(".total").inner_text() == "80.0"
    assert page.locator("script[src='/static/candidate.js']").count() == 0
    page.screenshot(path=SHOTS / "candidate-6-graded.png", full_page=True)


def test_code_that_failed_is_explained_not_scored(site, page, tmp_path: Path) -> None:
    token = _invite(site)
    page.goto(f"{site.base}/i/{token}")
    failing = tmp_path / "failing.zip"
    failing.write_bytes(solution_zip("# which: failing", steps=1, fail=1))
    page.set_input_files("#upload-file", str(failing))
    page.get_by_role("button", name="Upload and grade").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    page.locator("#progress-message", has_text="Grading now: step 1.").wait_for(timeout=30_000)
    _go(site, "which: failing", 1)
    page.locator("#status", has_text="your code failed").wait_for(timeout=30_000)
    explanation = page.locator("#code-failure").inner_text()
    assert "ValueError" in explanation and "solution.py" in explanation
    page.screenshot(path=SHOTS / "candidate-7-code-failed.png", full_page=True)
    page.goto(f"{site.base}/i/{token}")  # the invite's list says so too
    assert page.locator("table .status").inner_text() == "your code failed"
