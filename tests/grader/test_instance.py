"""A deployment's instance: one secret, kept in the data dir, every seed and the public data derived
from it; the demo instance is the published seeds."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.authoring import BUNDLE_MANIFEST, build_bundle, new_assignment
from grader.instance import DEMO_ID, Instance, InstanceError, demo_instance, open_instance
from grader.settings import Settings
from grader.spec import load_assignment
from sandbox import Limits

GENERATOR = '''
import json
import random


def _rows(seed, name, count):
    rng = random.Random(f"{name}/{seed}")
    return [{"text": " ".join(rng.choice("abcdefghij") * 3 for _ in range(4)),
             "label": rng.choice(["x", "y"])} for _ in range(count)]


def public_files(seeds):
    rows = _rows(seeds["public"], "train", 8)
    return {"train.jsonl": "".join(json.dumps(r) + "\\n" for r in rows).encode(),
            "nested/readme.txt": f"{len(rows)} rows\\n".encode()}


def hidden_items(seeds):
    return _rows(seeds["hidden"], "hidden", 8)
'''


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaffold whose public data comes from a generator, as the built-in assignments' does."""
    folder = new_assignment(tmp_path_factory.mktemp("assignments"), "generated")
    (folder / "hidden" / "make.py").write_text(GENERATOR)
    spec = yaml.safe_load((folder / "assignment.yaml").read_text())
    spec["instance"] = {"generator": "hidden/make.py"}
    spec["reproducibility"]["seeds"] = {"public": 3, "hidden": 2}
    (folder / "assignment.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def test_the_secret_is_made_once_private_and_reread(tmp_path: Path) -> None:
    first = open_instance(tmp_path / "data")
    secret = tmp_path / "data" / "instance_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(bytes.fromhex(secret.read_text().strip())) == 32
    again = open_instance(tmp_path / "data")
    assert again.id == first.id != DEMO_ID
    assert open_instance(tmp_path / "other").id != first.id


def test_a_secret_given_as_a_setting_wins_and_must_be_long(tmp_path: Path) -> None:
    given = "x" * 40
    assert open_instance(tmp_path, given).id == Instance(given.encode()).id
    assert not (tmp_path / "instance_secret").exists()
    with pytest.raises(InstanceError, match="at least 32"):
        open_instance(tmp_path, "short")


def test_an_unreadable_secret_is_an_error_not_a_new_instance(tmp_path: Path) -> None:
    (tmp_path / "instance_secret").write_text("")
    with pytest.raises(InstanceError, match="restore it"):
        open_instance(tmp_path)
    assert (tmp_path / "instance_secret").read_text() == ""  # nothing overwritten


def test_seeds_derive_per_assignment_and_name_and_demo_is_published(generated: Path) -> None:
    assignment = load_assignment(generated, ceiling=Limits())
    a, b = Instance(b"a" * 32), Instance(b"b" * 32)
    assert Instance.demo().seeds(assignment) == {"public": 3, "hidden": 2}
    seeds = a.seeds(assignment)
    assert seeds == a.seeds(assignment)  # deterministic
    assert set(seeds) == {"public", "hidden"} and seeds["public"] != seeds["hidden"]
    assert all(0 <= value < 2**63 for value in seeds.values())
    assert b.seeds(assignment) != seeds
    other = assignment.model_copy(update={"id": "another"})
    assert a.seeds(other) != seeds


def test_a_private_instance_makes_its_own_public_data_once(generated: Path,
                                                          tmp_path: Path) -> None:
    assignment = load_assignment(generated, ceiling=Limits())
    demo = demo_instance(assignment, generated)
    assert demo.public_data == generated / "candidate" / "data" and demo.demo
    instance = Instance.random()
    prepared = instance.prepare(assignment, generated, tmp_path)
    assert not prepared.demo and prepared.instance_id == instance.id
    assert prepared.public_data is not None and prepared.public_data.is_relative_to(tmp_path)
    train = (prepared.public_data / "train.jsonl").read_bytes()
    assert (prepared.public_data / "nested" / "readme.txt").read_text() == "8 rows\n"
    assert train != (Instance.random().prepare(assignment, generated, tmp_path).public_data
                     / "train.jsonl").read_bytes()
    stamp = (prepared.public_data / "train.jsonl").stat().st_mtime_ns
    again = instance.prepare(assignment, generated, tmp_path)
    assert again == prepared
    assert (again.public_data / "train.jsonl").stat().st_mtime_ns == stamp  # made once
    assert prepared.public_data_sha256 != demo.public_data_sha256


def test_a_broken_generator_is_the_graders_error(generated: Path, tmp_path: Path) -> None:
    broken = tmp_path / "generated"
    shutil.copytree(generated, broken)
    make = broken / "hidden" / "make.py"
    make.write_text("def public_files(seeds):\n    return {'../x': b''}\n")
    with pytest.raises(InstanceError, match="outside the public data"):
        Instance.random().prepare(load_assignment(broken, ceiling=Limits()), broken,
                                  tmp_path / "cache")
    make.write_text("def public_files(seeds):\n    raise KeyError(1)\n")
    with pytest.raises(InstanceError, match="public_files"):
        Instance.random().prepare(load_assignment(broken, ceiling=Limits()), broken,
                                  tmp_path / "cache2")
    unimportable = tmp_path / "unimportable" / "generated"
    shutil.copytree(generated, unimportable)
    (unimportable / "hidden" / "make.py").write_text("def public_files(seeds):\n    return {\n")
    with pytest.raises(InstanceError, match=r"hidden/make.py of generated does not import: "
                                            r"SyntaxError"):
        Instance.random().prepare(load_assignment(unimportable, ceiling=Limits()), unimportable,
                                  tmp_path / "cache3")


EXPOSED = """

def exposure(seeds):
    return [f"The labels follow a public rule ({len(seeds)} seeds)."]
"""


def test_what_public_code_reads_of_a_private_instance_travels_with_it(
        generated: Path, tmp_path: Path) -> None:
    folder = tmp_path / "generated"
    shutil.copytree(generated, folder)
    make = folder / "hidden" / "make.py"
    make.write_text(GENERATOR + EXPOSED)
    assignment = load_assignment(folder, ceiling=Limits())
    prepared = Instance.random().prepare(assignment, folder, tmp_path / "cache")
    assert prepared.exposure == ("The labels follow a public rule (2 seeds).",)
    # The demo instance is public through and through: its reports say so instead.
    assert demo_instance(assignment, folder).exposure == ()
    # An exposure() that fails or answers in another shape is the grader's error, named. (A
    # folder each: a generator is imported once per process and path.)
    for number, (body, error) in enumerate((
            ("    raise KeyError('questions.jsonl')", r"failed in exposure\(\): KeyError"),
            ("    return 'one sentence'", "must return a list of sentences, not str"))):
        broken = tmp_path / f"broken{number}" / "generated"
        shutil.copytree(generated, broken)
        (broken / "hidden" / "make.py").write_text(
            GENERATOR + f"\n\ndef exposure(seeds):\n{body}\n")
        with pytest.raises(InstanceError, match=error):
            Instance.random().prepare(load_assignment(broken, ceiling=Limits()), broken,
                                      tmp_path / "cache")


def test_the_bundle_of_an_instance_ships_its_data(generated: Path, tmp_path: Path) -> None:
    assignment = load_assignment(generated, ceiling=Limits())
    instance = Instance.random().prepare(assignment, generated, tmp_path)
    assert instance.public_data is not None
    zip_path = build_bundle(assignment, generated, tmp_path / "bundle.zip",
                            public_data=instance.public_data, instance_id=instance.instance_id)
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert archive.read("data/train.jsonl") == (instance.public_data / "train.jsonl"
                                                    ).read_bytes()
        manifest = archive.read(BUNDLE_MANIFEST).decode()
    assert "data/nested/readme.txt" in names and "solution.py" in names
    committed = {p.relative_to(generated / "candidate").as_posix()
                 for p in (generated / "candidate" / "data").rglob("*") if p.is_file()}
    assert not (committed - {"data/train.jsonl"}) & names  # the demo's files are replaced
    assert instance.instance_id in manifest


def test_settings_open_the_data_dirs_instance_or_the_demo(tmp_path: Path) -> None:
    private = Settings(data_dir=tmp_path)
    assert private.instance().id == open_instance(tmp_path).id != DEMO_ID
    assert Settings(data_dir=tmp_path, demo=True).instance().is_demo
    assert "secret" not in repr(private.instance()).lower()
    assert os.environ.get("GRADER_INSTANCE_SECRET") is None
