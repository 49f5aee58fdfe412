"""The submission zip intake: every crafted zip is built here, by zipfile or byte by byte."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from grader import intake
from grader.intake import IntakeError, IntakeRules, Submission, check_zip, extract_submission

MiB = 1024**2
DEFAULT_RULES = IntakeRules()
SOLUTION = b"def index(corpus_path, work_dir):\n    pass\n"


# --- building zips by hand ---------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """One entry of a hand-written zip; every field can lie."""

    name: bytes
    data: bytes = SOLUTION
    flags: int = 0
    mode: int = stat.S_IFREG | 0o644
    method: int = zipfile.ZIP_STORED
    declared_size: int | None = None
    local_name: bytes | None = None
    zip64: bool = False

    @property
    def stored(self) -> bytes:
        if self.method == zipfile.ZIP_DEFLATED:
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
            return deflate.compress(self.data) + deflate.flush()
        return self.data

    @property
    def usize(self) -> int:
        return len(self.data) if self.declared_size is None else self.declared_size


def local_header(entry: Raw) -> bytes:
    name = entry.name if entry.local_name is None else entry.local_name
    usize, csize, extra = entry.usize, len(entry.stored), b""
    if entry.zip64:
        extra = struct.pack("<2H2Q", 1, 16, usize, csize)
        usize = csize = 0xFFFFFFFF
    header = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 45, 0, entry.flags, entry.method, 0,
                         0x21, zlib.crc32(entry.data), csize, usize, len(name), len(extra))
    return header + name + extra + entry.stored


def central_header(entry: Raw, offset: int) -> bytes:
    usize, csize, extra = entry.usize, len(entry.stored), b""
    if entry.zip64:
        extra = struct.pack("<2H3Q", 1, 24, usize, csize, offset)
        usize = csize = offset = 0xFFFFFFFF
    header = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 45, 3, 45, 0, entry.flags,
                         entry.method, 0, 0x21, zlib.crc32(entry.data), csize, usize,
                         len(entry.name), len(extra), 0, 0, 0, entry.mode << 16, offset)
    return header + entry.name + extra


def end_records(count: int, directory: bytes, offset: int, *, zip64: bool = False) -> bytes:
    if not zip64:
        return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory),
                           offset, 0)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                         len(directory), offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                      0)
    return record + locator + end


def raw_zip(*entries: Raw, zip64: bool = False) -> bytes:
    body, directory = b"", b""
    for entry in entries:
        directory += central_header(entry, len(body))
        body += local_header(entry)
    return body + directory + end_records(len(entries), directory, len(body), zip64=zip64)


def std_zip(*entries: tuple[str | zipfile.ZipInfo, bytes],
            compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def noise(size: int) -> bytes:
    return random.Random(size).randbytes(size)


# --- fixtures and the rejection check ------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The destination's parent: it must stay empty whenever a zip is rejected."""
    path = tmp_path / "store"
    path.mkdir()
    return path


@pytest.fixture
def upload(tmp_path: Path) -> Callable[[bytes], Path]:
    uploads = tmp_path / "uploads"
    uploads.mkdir()

    def write(data: bytes) -> Path:
        path = uploads / f"upload-{len(list(uploads.iterdir()))}.zip"
        path.write_bytes(data)
        return path

    return write


def rejected(path: Path, store: Path, *, rules: IntakeRules = DEFAULT_RULES,
             required: Sequence[str] = ()) -> IntakeError:
    """Both doors refuse the zip with the same rule, a message, and nothing written."""
    with pytest.raises(IntakeError) as checked:
        check_zip(path, rules=rules, required_files=required)
    with pytest.raises(IntakeError) as extracted:
        extract_submission(path, store / "submission", rules=rules, required_files=required)
    assert extracted.value.rule == checked.value.rule
    assert checked.value.message.strip()
    assert str(checked.value) == checked.value.message
    assert list(store.iterdir()) == []
    return checked.value


def accepted(path: Path, store: Path, *, rules: IntakeRules = DEFAULT_RULES,
             required: Sequence[str] = ("solution.py",)) -> tuple[Submission, Path]:
    destination = store / "submission"
    submission = extract_submission(path, destination, rules=rules, required_files=required)
    assert check_zip(path, rules=rules, required_files=required) == submission.files
    return submission, destination


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "../x.py", "/etc/x.py", "C:\\x.py", "C:x.py", "\\\\server\\share\\x.py", "a\\..\\..\\x.py",
    "a/../../x.py", "./x.py", "a//x.py",
])
def test_zip_slip_is_rejected(name: str, upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(name.encode()))), store)
    assert error.rule == "zip_slip"
    assert name in error.message


def test_symlink_entry_is_rejected(upload, store) -> None:
    link = unix_entry("data", stat.S_IFLNK | 0o777)
    error = rejected(upload(std_zip((link, b"/etc/passwd"), ("solution.py", SOLUTION))), store)
    assert error.rule == "symlink"
    assert "'data'" in error.message and "link" in error.message


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_special_file_is_rejected(kind: int, upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(b"node", b"", mode=kind | 0o644))), store)
    assert error.rule == "special_file"
    assert "'node'" in error.message


@pytest.mark.parametrize("depth, rule", [(12, None), (13, "too_deep")])
def test_depth_is_capped(depth: int, rule: str | None, upload, store) -> None:
    name = "/".join(["d"] * (depth - 1) + ["solution.py"])
    path = upload(std_zip((name, SOLUTION), ("solution.py", SOLUTION)))
    if rule is None:
        check_zip(path, rules=DEFAULT_RULES, required_files=["solution.py"])
    else:
        error = rejected(path, store)
        assert error.rule == rule
        assert name in error.message


@pytest.mark.parametrize("name", ["a" * 256 + ".py", "/".join(["d" * 100] * 11) + "/x.py"])
def test_long_names_are_rejected(name: str, upload, store) -> None:
    error = rejected(upload(std_zip((name, SOLUTION))), store)
    assert error.rule == "name_too_long"
    assert name[:40] in error.message


def test_too_many_files_are_rejected(upload, store) -> None:
    path = upload(std_zip(*((f"f{index}.py", b"") for index in range(4))))
    error = rejected(path, store, rules=IntakeRules(max_files=3))
    assert error.rule == "too_many_files"
    assert "4" in error.message


# --- names ------------------------------------------------------------------------------------


def test_duplicate_names_are_rejected(upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(b"solution.py"), Raw(b"solution.py", b"evil"))), store)
    assert error.rule == "duplicate_name"
    assert "'solution.py'" in error.message


def test_a_name_used_as_file_and_folder_is_rejected(upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(b"lib/util.py"), Raw(b"lib"))), store)
    assert error.rule == "duplicate_name"
    assert "'lib'" in error.message


@pytest.mark.parametrize("first, second", [("A.py", "a.py"), ("Lib/x.py", "lib/y.py")])
def test_case_collisions_are_rejected(first: str, second: str, upload, store) -> None:
    error = rejected(upload(std_zip((first, SOLUTION), (second, SOLUTION))), store)
    assert error.rule == "case_collision"
    assert second.split("/")[0] in error.message


def test_nfc_and_nfd_names_collide(upload, store) -> None:
    composed, decomposed = (unicodedata.normalize(form, "café.py") for form in ("NFC", "NFD"))
    error = rejected(upload(std_zip((composed, SOLUTION), (decomposed, SOLUTION))), store)
    assert error.rule == "unicode_collision"
    assert composed in error.message and decomposed in error.message


@pytest.mark.parametrize("entry", [
    Raw(b"caf\x82.py"),  # cp437 'é' without the UTF-8 flag
    Raw(b"caf\xff.py", flags=0x800),  # flagged UTF-8 that is not UTF-8
], ids=["cp437-unflagged", "invalid-utf8"])
def test_names_must_be_utf8_or_ascii(entry: Raw, upload, store) -> None:
    error = rejected(upload(raw_zip(entry)), store)
    assert error.rule == "bad_name_encoding"
    assert "caf" in error.message


@pytest.mark.parametrize("name, shown", [
    ("bad\x00.py", "bad\\x00.py"), ("bad\x01.py", "bad\\x01.py"),
    ("\x1b[31mred.py", "\\x1b[31mred.py"), ("evil\u202eyp.txt", "evil\\u202eyp.txt"),
])
def test_control_characters_are_rejected(name: str, shown: str, upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(name.encode(), flags=0x800))), store)
    assert error.rule == "control_character"
    assert shown in error.message


def test_local_name_must_match_the_directory(upload, store) -> None:
    path = upload(raw_zip(Raw(b"safe.py", local_name=b"evil.py")))
    error = rejected(path, store)
    assert error.rule == "header_mismatch"
    assert "'safe.py'" in error.message and "'evil.py'" in error.message


def test_local_size_must_match_the_directory(upload, store) -> None:
    entry = Raw(b"solution.py")
    local = local_header(replace(entry, declared_size=5))
    directory = central_header(entry, 0)
    error = rejected(upload(local + directory + end_records(1, directory, len(local))), store)
    assert error.rule == "header_mismatch"
    assert "'solution.py'" in error.message


# --- bombs ------------------------------------------------------------------------------------


def test_entries_sharing_one_local_record_are_rejected(upload, store) -> None:
    entry = Raw(b"a.txt", bytes(64 * 1024), method=zipfile.ZIP_DEFLATED)
    local = local_header(entry)
    directory = b"".join(central_header(replace(entry, name=name), 0)
                         for name in (b"a.txt", b"b.txt", b"c.txt"))
    error = rejected(upload(local + directory + end_records(3, directory, len(local))), store)
    assert error.rule == "overlap"
    assert "'a.txt'" in error.message and "'b.txt'" in error.message


def test_an_entry_inside_another_entrys_data_is_rejected(upload, store) -> None:
    inner = Raw(b"b.txt", b"x" * 100)
    outer = Raw(b"a.txt", local_header(inner))
    local = local_header(outer)
    directory = central_header(outer, 0) + central_header(inner, len(local) - len(outer.data))
    error = rejected(upload(local + directory + end_records(2, directory, len(local))), store)
    assert error.rule == "overlap"
    assert "'a.txt'" in error.message and "'b.txt'" in error.message


def test_an_entry_running_into_the_directory_is_rejected(upload, store) -> None:
    entry = Raw(b"a.txt", b"x" * 100)
    local = local_header(entry)
    directory = central_header(replace(entry, data=b"x" * 140), 0)  # claims 40 bytes too many
    error = rejected(upload(local + directory + end_records(1, directory, len(local))), store)
    assert error.rule == "overlap"
    assert "'a.txt'" in error.message


def test_high_ratio_member_is_rejected(upload, store) -> None:
    path = upload(std_zip(("zeros.bin", bytes(50 * MiB)), ("solution.py", SOLUTION)))
    error = rejected(path, store)
    assert error.rule == "ratio"
    assert "'zeros.bin'" in error.message


@pytest.mark.parametrize("data, rules, rule", [
    (noise(MiB), IntakeRules(max_file_bytes=64 * 1024), "file_too_large"),
    (noise(MiB), IntakeRules(max_total_bytes=64 * 1024), "total_too_large"),
    (bytes(8 * MiB), DEFAULT_RULES, "ratio"),
    (b"x = 1\n" * 1000, DEFAULT_RULES, "header_mismatch"),
])
def test_lying_size_is_caught_by_the_counter(data: bytes, rules: IntakeRules, rule: str,
                                             upload, store) -> None:
    entry = Raw(b"model.py", data, method=zipfile.ZIP_DEFLATED, declared_size=100)
    error = rejected(upload(raw_zip(entry)), store, rules=rules)
    assert error.rule == rule
    assert "'model.py'" in error.message


def test_declared_sizes_over_the_caps_are_rejected_early(upload, store) -> None:
    entry = Raw(b"huge.bin", b"tiny", declared_size=200 * MiB)
    error = rejected(upload(raw_zip(entry)), store)
    assert error.rule == "file_too_large"
    assert "'huge.bin'" in error.message


def test_too_large_upload_is_rejected(upload, store) -> None:
    path = upload(std_zip(("solution.py", noise(4096)), compression=zipfile.ZIP_STORED))
    error = rejected(path, store, rules=IntakeRules(max_compressed_bytes=1024))
    assert error.rule == "too_large"
    assert "1 KiB" in error.message


def inner_zip(size: int) -> bytes:
    return std_zip(("secret.py", noise(size)), compression=zipfile.ZIP_STORED)


@pytest.mark.parametrize("name, payload", [
    ("inner.zip", inner_zip(8192)),
    ("weights.bin", inner_zip(8192)),
    ("data.csv.gz", gzip.compress(noise(8192))),
    ("blob", gzip.compress(noise(8192))),
], ids=["zip-by-name", "zip-by-magic", "gzip-by-name", "gzip-by-magic"])
def test_nested_archive_over_the_cap_is_rejected(name: str, payload: bytes, upload,
                                                 store) -> None:
    path = upload(std_zip((name, payload), ("solution.py", SOLUTION)))
    error = rejected(path, store, rules=IntakeRules(max_nested_archive_bytes=4096))
    assert error.rule == "nested_archive"
    assert f"'{name}'" in error.message


def test_small_nested_zip_is_kept_but_not_expanded(upload, store) -> None:
    path = upload(std_zip(("solution.py", SOLUTION), ("data/inner.zip", inner_zip(100))))
    submission, destination = accepted(path, store)
    assert (destination / "data" / "inner.zip").read_bytes() == inner_zip(100)
    assert [member.path for member in submission.files] == ["solution.py", "data/inner.zip"]
    assert list(destination.rglob("secret.py")) == []


# --- archive-level problems -------------------------------------------------------------------


def test_encrypted_entry_is_rejected(upload, store) -> None:
    error = rejected(upload(raw_zip(Raw(b"secret.py", flags=0x1))), store)
    assert error.rule == "encrypted"
    assert "'secret.py'" in error.message


def test_unsupported_compression_is_rejected(upload, store) -> None:
    path = upload(std_zip(("solution.py", SOLUTION), compression=zipfile.ZIP_BZIP2))
    error = rejected(path, store)
    assert error.rule == "compression_method"
    assert "'solution.py'" in error.message and "bzip2" in error.message


def test_damaged_data_is_rejected(upload, store) -> None:
    data = bytearray(raw_zip(Raw(b"solution.py")))
    data[30 + len(b"solution.py")] ^= 0xFF  # first stored byte: the CRC no longer matches
    error = rejected(upload(bytes(data)), store)
    assert error.rule == "corrupt"
    assert "'solution.py'" in error.message


VALID = std_zip(("solution.py", SOLUTION))


def with_directory_size(data: bytes, size: int) -> bytes:
    end = len(data) - 22
    return data[:end + 12] + struct.pack("<L", size) + data[end + 16:]


@pytest.mark.parametrize("data", [
    b"", b"not a zip at all", b"\x89PNG\r\n\x1a\n" + noise(200), VALID[:-10], VALID + b"tail",
    b"#!/bin/sh\n" + VALID,
    with_directory_size(VALID, struct.unpack_from("<L", VALID, len(VALID) - 10)[0] - 1),
], ids=["empty", "text", "png", "truncated", "trailing-data", "prepended-data", "size-lies"])
def test_not_a_zip_is_rejected(data: bytes, upload, store) -> None:
    error = rejected(upload(data), store)
    assert error.rule == "not_a_zip"


@pytest.mark.parametrize("names, found", [
    (["main.py", "README.md"], None), (["src/Solution.py"], "src/Solution.py"),
    (["README.md", "src/solution.py"], "src/solution.py"),
], ids=["absent", "wrong-case", "wrong-folder"])
def test_missing_required_file_is_rejected(names: list[str], found: str | None, upload,
                                           store) -> None:
    path = upload(std_zip(*((name, SOLUTION) for name in names)))
    error = rejected(path, store, required=["solution.py"])
    assert error.rule == "missing_required_file"
    assert "'solution.py'" in error.message
    assert found is None or f"'{found}'" in error.message


# --- accepted zips ----------------------------------------------------------------------------


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """A umask that would strip group and world bits, to show the modes are set, not inherited."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("strict_umask")
def test_flat_zip_is_extracted_with_safe_modes(upload, store) -> None:
    path = upload(std_zip(("solution.py", SOLUTION), (unix_entry("run.sh", 0o4755), b"#!/bin/sh"),
                          (unix_entry("pkg/", stat.S_IFDIR | 0o777), b""),
                          ("pkg/__init__.py", b"")))
    submission, destination = accepted(path, store)
    assert [(member.path, member.size, member.is_dir) for member in submission.files] == [
        ("solution.py", len(SOLUTION), False), ("run.sh", 9, False), ("pkg", 0, True),
        ("pkg/__init__.py", 0, False)]
    assert submission.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert submission.total_bytes == len(SOLUTION) + 9
    assert (destination / "solution.py").read_bytes() == SOLUTION
    modes = {item.relative_to(destination).as_posix(): stat.S_IMODE(item.stat().st_mode)
             for item in [destination, *destination.rglob("*")]}
    assert modes == {".": 0o755, "solution.py": 0o644, "run.sh": 0o644, "pkg": 0o755,
                     "pkg/__init__.py": 0o644}
    assert list(store.iterdir()) == [destination]


def test_single_top_folder_is_the_root(upload, store) -> None:
    path = upload(std_zip(("mysub/", b""), ("mysub/solution.py", SOLUTION),
                          ("mysub/lib/util.py", b"")))
    submission, destination = accepted(path, store)
    assert [member.path for member in submission.files] == ["solution.py", "lib/util.py"]
    assert (destination / "lib" / "util.py").is_file()
    assert not (destination / "mysub").exists()


def test_macos_junk_is_skipped(upload, store) -> None:
    path = upload(std_zip(("mysub/solution.py", SOLUTION), ("mysub/.DS_Store", b"junk"),
                          ("__MACOSX/mysub/._solution.py", b"junk"), (".DS_Store", b"junk")))
    submission, destination = accepted(path, store)
    assert [member.path for member in submission.files] == ["solution.py"]
    assert sorted(item.name for item in destination.rglob("*")) == ["solution.py"]


def test_zip64_records_are_read(upload, store) -> None:
    path = upload(raw_zip(Raw(b"solution.py", zip64=True), Raw(b"README.md", b"hi", zip64=True),
                          zip64=True))
    submission, _ = accepted(path, store)
    assert [member.path for member in submission.files] == ["solution.py", "README.md"]


class _Unseekable:
    """A write-only stream, so zipfile writes sizes in data descriptors after each member."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buffer.write(data)

    def flush(self) -> None:
        pass


def test_data_descriptors_are_accepted(upload, store) -> None:
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        archive.writestr("solution.py", SOLUTION)
    data = stream.buffer.getvalue()
    assert struct.unpack_from("<H", data, 6)[0] & 0x8
    _, destination = accepted(upload(data), store)
    assert (destination / "solution.py").read_bytes() == SOLUTION


# --- extraction -------------------------------------------------------------------------------


def test_existing_destination_is_refused(upload, store) -> None:
    (store / "submission").mkdir()
    with pytest.raises(FileExistsError):
        extract_submission(upload(VALID), store / "submission", rules=DEFAULT_RULES,
                           required_files=["solution.py"])
    assert [item.name for item in store.iterdir()] == ["submission"]
    assert list((store / "submission").iterdir()) == []


def test_failed_extraction_leaves_nothing_behind(upload, store, monkeypatch) -> None:
    def refuse(source: object, target: object) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(OSError, match="disk went away"):
        extract_submission(upload(VALID), store / "submission", rules=DEFAULT_RULES,
                           required_files=["solution.py"])
    assert list(store.iterdir()) == []


def test_rules_have_documented_defaults() -> None:
    assert (DEFAULT_RULES.max_compressed_bytes, DEFAULT_RULES.max_total_bytes,
            DEFAULT_RULES.max_file_bytes) == (50 * MiB, 200 * MiB, 100 * MiB)
    assert (DEFAULT_RULES.max_files, DEFAULT_RULES.max_ratio, DEFAULT_RULES.max_depth) == (
        2000, 200, 12)
    assert (DEFAULT_RULES.max_name_length, DEFAULT_RULES.max_path_length,
            DEFAULT_RULES.max_nested_archive_bytes) == (255, 1024, MiB)
    assert IntakeRules(max_total_bytes="300m").max_total_bytes == 300 * MiB


def test_public_names() -> None:
    assert set(intake.__all__) == {"IntakeError", "IntakeRules", "Rule", "Submission",
                                   "ZipMember", "check_zip", "extract_submission"}
