"""Safe intake of a candidate's submission zip: validate everything first, then extract atomically.

``check_zip`` writes nothing. It reads the central directory itself (raw name bytes, flags, modes),
walks every local header (names and sizes must agree with the directory; no two entries may share
bytes, as in CVE-2024-0450 and the "better zip bomb"), and counts the bytes each member really
decompresses to as it streams through ``zipfile``, stopping at the first cap passed. Sizes written
in headers are only ever used to reject early, never to allow. ``extract_submission`` runs the same
checks, unpacks into a fresh sibling of the destination with the same caps, and renames it into
place, so a rejected or failed intake leaves nothing behind.

Exceptions:

    IntakeError   the zip breaks an intake rule; ``rule`` is a stable ``Rule`` code for programs,
                  ``message`` is written for the candidate and names the offending entry

Anything else (an ``OSError`` reading the upload, ``FileExistsError`` for an existing destination)
is the host's problem, not the candidate's, and propagates unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import mmap
import os
import re
import shutil
import stat
import struct
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sandbox import format_size as _size
from sandbox import parse_size

__all__ = [
    "IntakeError",
    "IntakeRules",
    "Rule",
    "Submission",
    "ZipMember",
    "check_zip",
    "extract_submission",
]

KiB = 1024
MiB = 1024**2
GiB = 1024**3

Bytes = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


class Rule(StrEnum):
    """Stable machine codes of the intake rules; they appear in API responses and reports."""

    NOT_A_ZIP = "not_a_zip"
    TOO_LARGE = "too_large"
    TOO_MANY_FILES = "too_many_files"
    BAD_NAME_ENCODING = "bad_name_encoding"
    CONTROL_CHARACTER = "control_character"
    ZIP_SLIP = "zip_slip"
    NAME_TOO_LONG = "name_too_long"
    TOO_DEEP = "too_deep"
    SYMLINK = "symlink"
    SPECIAL_FILE = "special_file"
    ENCRYPTED = "encrypted"
    COMPRESSION_METHOD = "compression_method"
    OVERLAP = "overlap"
    HEADER_MISMATCH = "header_mismatch"
    DUPLICATE_NAME = "duplicate_name"
    CASE_COLLISION = "case_collision"
    UNICODE_COLLISION = "unicode_collision"
    MISSING_REQUIRED_FILE = "missing_required_file"
    FILE_TOO_LARGE = "file_too_large"
    TOTAL_TOO_LARGE = "total_too_large"
    RATIO = "ratio"
    NESTED_ARCHIVE = "nested_archive"
    CORRUPT = "corrupt"


class IntakeError(Exception):
    """A submission zip broke an intake rule; nothing was written."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class IntakeRules(BaseModel):
    """Caps on one submission zip. Sizes accept bytes or strings like "50m"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_compressed_bytes: Bytes = Field(50 * MiB, description="size of the uploaded zip itself")
    max_total_bytes: Bytes = Field(200 * MiB, description="all members, decompressed")
    max_file_bytes: Bytes = Field(100 * MiB, description="one member, decompressed")
    max_files: int = Field(2000, gt=0, description="entries: files, folders and macOS junk alike")
    max_ratio: float = Field(200.0, gt=0, description="decompressed / compressed, per member")
    ratio_grace_bytes: Bytes = Field(
        1 * MiB, description="members up to this size are exempt from max_ratio: small repetitive "
                             "files compress far better than 200:1 and cannot be bombs")
    max_depth: int = Field(12, gt=0, description="path components, the file name included")
    max_name_length: int = Field(255, gt=0, description="UTF-8 bytes in one path component")
    max_path_length: int = Field(1024, gt=0, description="UTF-8 bytes in a whole path")
    max_nested_archive_bytes: Bytes = Field(
        1 * MiB, description="largest archive (by name or magic bytes) allowed as a member; "
                             "archives are never expanded")


class ZipMember(BaseModel):
    """One extracted entry, relative to the submission root."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="posix path relative to the submission root, no trailing slash")
    size: int = Field(ge=0, description="decompressed bytes, as counted; 0 for folders")
    is_dir: bool


class Submission(BaseModel):
    """An accepted, extracted submission."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(description="hex digest of the uploaded zip's bytes")
    files: list[ZipMember]
    total_bytes: int = Field(ge=0, description="bytes written, counted while extracting")


_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")

_FLAG_ENCRYPTED = 0x1
_FLAG_DATA_DESCRIPTOR = 0x8
_FLAG_PATCHED = 0x20
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_METHOD_AES = 99
_METHOD_NAMES = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 98: "PPMd"}
_ZIP64_MARK = 0xFFFFFFFF

_DRIVE = re.compile(r"^[A-Za-z]:")
# Bidirectional overrides are printable but let a name display as something else (Trojan Source).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".whl", ".jar",
                     ".zst")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08", b"\x1f\x8b", b"BZh",
                  b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x28\xb5\x2f\xfd")
_TAR_MAGIC_OFFSET = 257

_CHUNK = 256 * KiB
_DIR_MODE = 0o755
_FILE_MODE = 0o644
_RECREATE = "Re-create the zip with a standard zip tool and upload it again."


@dataclass(frozen=True)
class _Record:
    """One central directory entry, as stored."""

    index: int
    name: str
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compress_size: int
    file_size: int
    header_offset: int
    mode: int

    @property
    def path(self) -> str:
        return self.name.removesuffix("/")

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")

    @property
    def is_junk(self) -> bool:
        """macOS Finder's resource forks and folder settings: never the candidate's work."""
        parts = self.path.split("/")
        return parts[0] == "__MACOSX" or parts[-1] == ".DS_Store"


@dataclass(frozen=True)
class _Plan:
    records: list[_Record]
    members: list[tuple[_Record, ZipMember]]


def check_zip(path: Path, *, rules: IntakeRules, required_files: Sequence[str]) -> list[ZipMember]:
    """Validate a submission zip without extracting it; return its members, root-relative.

    ``required_files`` are paths relative to the submission root. When every entry sits under one
    top-level folder (candidates often zip the folder itself), that folder is the root.
    """
    return [member for _, member in _inspect(path, rules, required_files).members]


def extract_submission(zip_path: Path, destination: Path, *, rules: IntakeRules,
                       required_files: Sequence[str]) -> Submission:
    """Validate, then extract into ``destination`` (which must not exist; its parent must).

    Files get mode 0o644 and folders 0o755 whatever the zip says. On any error the staging folder
    is removed and ``destination`` is not created.
    """
    if destination.exists() or destination.is_symlink():
        raise FileExistsError(f"{destination} already exists")
    plan = _inspect(zip_path, rules, required_files)
    digest = _sha256_file(zip_path)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial",
                                    dir=destination.parent))
    try:
        total = _extract(zip_path, plan, staging, rules)
        staging.chmod(_DIR_MODE)
        # rename() would silently replace an empty folder that appeared since the first check.
        if destination.exists():
            raise FileExistsError(f"{destination} appeared while extracting")
        os.rename(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Submission(sha256=digest, files=[member for _, member in plan.members],
                      total_bytes=total)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def _inspect(path: Path, rules: IntakeRules, required_files: Sequence[str]) -> _Plan:
    """Every rule, cheapest first; decompression (the only costly step) comes last."""
    size = path.stat().st_size
    if size > rules.max_compressed_bytes:
        raise IntakeError(Rule.TOO_LARGE,
                          f"Your zip is {_size(size)}; uploads may be at most "
                          f"{_size(rules.max_compressed_bytes)}. Leave out data, model weights, "
                          "caches and virtual environments.")
    if size < _EOCD.size:
        raise _not_a_zip("it is too short to be a zip")
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        records, directory_offset = _read_directory(buf, rules)
        _check_local_headers(buf, records, directory_offset)
    plan = _plan(records, required_files)
    _check_declared_sizes(plan, rules)
    with _open_zip(path, records) as archive:
        meter = _Meter(archive, rules)
        for record, member in plan.members:
            if not member.is_dir:
                for _ in meter.chunks(record):
                    pass
    return plan


# --- the central directory -------------------------------------------------------------------


def _read_directory(buf: mmap.mmap, rules: IntakeRules) -> tuple[list[_Record], int]:
    """Every central directory entry, each checked on its own; and where the directory starts."""
    count, start, end = _find_directory(buf)
    if count > rules.max_files:
        raise IntakeError(Rule.TOO_MANY_FILES,
                          f"Your zip has {count} entries; at most {rules.max_files} files and "
                          "folders are allowed. Leave out data, caches and environments (.git, "
                          ".venv, __pycache__, node_modules).")
    records = []
    offset = start
    for index in range(count):
        record, offset = _read_central_entry(buf, index, offset, end)
        _check_entry(record, rules)
        records.append(record)
    # zipfile reads entries until the directory's byte size runs out, not by count: make both agree.
    if offset != end:
        raise _not_a_zip("its directory size and entry count disagree")
    return records, start


def _find_directory(buf: mmap.mmap) -> tuple[int, int, int]:
    """Entry count, start and end of the central directory; the zip must hold nothing else."""
    position = buf.rfind(b"PK\x05\x06", max(0, len(buf) - _EOCD.size - 0xFFFF))
    if position < 0 or position + _EOCD.size > len(buf):
        raise _not_a_zip("it has no end-of-archive record")
    _, disk, directory_disk, disk_count, count, size, offset, comment_length = (
        _EOCD.unpack_from(buf, position))
    # zipfile tolerates bytes before and after the archive; refusing them keeps one reading only.
    if position + _EOCD.size + comment_length != len(buf):
        raise _not_a_zip("it has extra data after the end of the archive")
    end = position
    locator = position - _ZIP64_LOCATOR.size
    if locator >= 0 and buf[locator:locator + 4] == b"PK\x06\x07":
        _, _, record_offset, _ = _ZIP64_LOCATOR.unpack_from(buf, locator)
        # zipfile assumes the zip64 record sits right before its locator; insist on the same.
        if record_offset != locator - _ZIP64_EOCD.size:
            raise _not_a_zip("its zip64 end record is misplaced")
        (signature, _, _, _, disk, directory_disk, disk_count, count, size,
         offset) = _ZIP64_EOCD.unpack_from(buf, record_offset)
        if signature != b"PK\x06\x06":
            raise _not_a_zip("its zip64 end record is damaged")
        end = record_offset
    if disk or directory_disk or disk_count != count:
        raise _not_a_zip("it is split across several disks")
    if offset + size != end:
        raise _not_a_zip("it has extra data before the archive or a misplaced directory")
    return count, offset, end


def _read_central_entry(buf: mmap.mmap, index: int, offset: int,
                        end: int) -> tuple[_Record, int]:
    if offset + _CENTRAL.size > end:
        raise _not_a_zip("its directory is truncated")
    (signature, _, _, _, _, flags, method, _, _, crc, compress_size, file_size, name_length,
     extra_length, comment_length, disk, _, external_attr, header_offset) = (
        _CENTRAL.unpack_from(buf, offset))
    if signature != b"PK\x01\x02":
        raise _not_a_zip("its directory is damaged")
    name_start = offset + _CENTRAL.size
    extra_start = name_start + name_length
    next_offset = extra_start + extra_length + comment_length
    if next_offset > end:
        raise _not_a_zip("its directory is truncated")
    if disk:
        raise _not_a_zip("it is split across several disks")
    raw_name = bytes(buf[name_start:extra_start])
    extra = bytes(buf[extra_start:extra_start + extra_length])
    file_size, compress_size, header_offset = _resolve_zip64(
        extra, file_size, compress_size, header_offset)
    record = _Record(index=index, name=_decode_name(raw_name, flags), raw_name=raw_name,
                     flags=flags, method=method, crc=crc, compress_size=compress_size,
                     file_size=file_size, header_offset=header_offset, mode=external_attr >> 16)
    return record, next_offset


def _resolve_zip64(extra: bytes, *fields: int) -> list[int]:
    """Replace each field saturated at 0xFFFFFFFF, in order, by the zip64 extra field's value."""
    block = _extra_field(extra, 0x0001)
    values = iter(struct.unpack_from(f"<{len(block) // 8}Q", block)) if block else iter(())
    resolved = []
    for value in fields:
        if value == _ZIP64_MARK:
            found = next(values, None)
            if found is None:
                raise _not_a_zip("a zip64 size or offset is missing")
            value = found
        resolved.append(value)
    return resolved


def _extra_field(extra: bytes, tag: int) -> bytes | None:
    position = 0
    while position + 4 <= len(extra):
        field_tag, size = struct.unpack_from("<2H", extra, position)
        if field_tag == tag:
            return extra[position + 4:position + 4 + size]
        position += 4 + size
    return None


def _decode_name(raw: bytes, flags: int) -> str:
    # Without the UTF-8 flag a name is in whatever code page the zipping machine used (cp437 by
    # the spec, often not in practice): only ASCII reads the same everywhere.
    try:
        if flags & _FLAG_UTF8:
            return raw.decode("utf-8")
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise IntakeError(
            Rule.BAD_NAME_ENCODING,
            f"Your zip contains a file name that is not stored as UTF-8 "
            f"({_show(raw.decode('utf-8', 'backslashreplace'))}). Rename it with plain ASCII "
            "letters, or zip with a tool that writes UTF-8 names (zip on Linux, 7-Zip).") from None


def _check_entry(record: _Record, rules: IntakeRules) -> None:
    """Rules that one entry's own header decides: its name, type, encryption and compression."""
    name, shown = record.name, _show(record.name)
    if any(unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS for char in name):
        raise IntakeError(Rule.CONTROL_CHARACTER,
                          f"Your zip contains a name with control characters ({shown}). Rename "
                          "the file using printable characters only.")
    parts = record.path.split("/")
    if ("\\" in name or name.startswith("/") or _DRIVE.match(name)
            or any(part in ("", ".", "..") for part in parts)):
        raise IntakeError(Rule.ZIP_SLIP,
                          f"Your zip contains {shown}, which is not a plain relative path: "
                          "absolute paths, drive letters, backslashes and '.' or '..' parts are "
                          "not allowed. Zip the files with paths relative to your submission "
                          "folder.")
    if (len(record.path.encode()) > rules.max_path_length
            or any(len(part.encode()) > rules.max_name_length for part in parts)):
        raise IntakeError(Rule.NAME_TOO_LONG,
                          f"Your zip contains a name that is too long ({shown}); each part of a "
                          f"path may be at most {rules.max_name_length} bytes and the whole path "
                          f"at most {rules.max_path_length}.")
    if len(parts) > rules.max_depth:
        raise IntakeError(Rule.TOO_DEEP,
                          f"Your zip contains {shown}, which is {len(parts)} levels deep; at most "
                          f"{rules.max_depth} are allowed.")
    # Some tools that are not Unix still fill the high bits; read them whatever the host system.
    kind = stat.S_IFMT(record.mode)
    if kind == stat.S_IFLNK:
        raise IntakeError(Rule.SYMLINK,
                          f"Your zip contains a link {shown}; links are not allowed. Zip the "
                          "files themselves.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise IntakeError(Rule.SPECIAL_FILE,
                          f"Your zip contains {shown}, which is a device, pipe or socket rather "
                          "than a regular file. Zip only regular files and folders.")
    if (record.flags & (_FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION)
            or record.method == _METHOD_AES):
        raise IntakeError(Rule.ENCRYPTED,
                          f"Your zip contains {shown}, which is password-protected. Zip your "
                          "files without a password.")
    if record.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or (
            record.flags & _FLAG_PATCHED):
        method = _METHOD_NAMES.get(record.method, f"method {record.method}")
        raise IntakeError(Rule.COMPRESSION_METHOD,
                          f"Your zip stores {shown} with a compression the grader does not read "
                          f"({method}). Re-create the zip with standard (deflate) compression.")


# --- local headers -------------------------------------------------------------------------


def _check_local_headers(buf: mmap.mmap, records: list[_Record], directory_start: int) -> None:
    """Each entry's bytes are its own, and its local header says what the directory says."""
    spans = []
    for record in records:
        if record.header_offset + _LOCAL.size > directory_start:
            raise IntakeError(Rule.OVERLAP,
                              f"Your zip's entry {_show(record.name)} points into the zip's own "
                              f"directory; this is a zip-bomb technique. {_RECREATE}")
        header = _LOCAL.unpack_from(buf, record.header_offset)
        if header[0] != b"PK\x03\x04":
            raise _mismatch(record, "its local header is missing")
        data_start = record.header_offset + _LOCAL.size + header[10] + header[11]
        spans.append((record.header_offset, data_start + record.compress_size, record, header))
    spans.sort(key=lambda span: span[0])
    for (_, end, record, _), (next_start, _, following, _) in itertools.pairwise(spans):
        if end > next_start:
            raise IntakeError(Rule.OVERLAP,
                              f"Your zip has entries that share the same stored bytes "
                              f"({_show(record.name)} and {_show(following.name)}); this is a "
                              f"zip-bomb technique. {_RECREATE}")
    if spans and spans[-1][1] > directory_start:
        raise IntakeError(Rule.OVERLAP,
                          f"Your zip's entry {_show(spans[-1][2].name)} runs into the zip's own "
                          f"directory; this is a zip-bomb technique. {_RECREATE}")
    for start, _, record, header in spans:
        _compare_local(buf, start, record, header)


def _compare_local(buf: mmap.mmap, start: int, record: _Record, header: tuple[Any, ...]) -> None:
    (_, _, _, flags, method, _, _, crc, compress_size, file_size, name_length,
     extra_length) = header
    name_start = start + _LOCAL.size
    local_name = bytes(buf[name_start:name_start + name_length])
    if local_name != record.raw_name:
        raise IntakeError(
            Rule.HEADER_MISMATCH,
            f"Your zip is inconsistent: the entry {_show(record.name)} is called "
            f"{_show(local_name.decode('utf-8', 'backslashreplace'))} in its local header, so "
            f"different tools would unpack different files. {_RECREATE}")
    if method != record.method or (flags ^ record.flags) & _FLAG_ENCRYPTED:
        raise _mismatch(record, "its headers disagree about compression or encryption")
    # With a data descriptor the sizes and checksum come after the data; the counter checks them.
    if not flags & _FLAG_DATA_DESCRIPTOR:
        extra = bytes(buf[name_start + name_length:name_start + name_length + extra_length])
        sizes = _resolve_zip64(extra, file_size, compress_size)
        if (crc, *sizes) != (record.crc, record.file_size, record.compress_size):
            raise _mismatch(record, "its headers disagree about its size or checksum")


def _mismatch(record: _Record, why: str) -> IntakeError:
    return IntakeError(Rule.HEADER_MISMATCH,
                       f"Your zip is inconsistent at {_show(record.name)}: {why}. {_RECREATE}")


# --- the tree --------------------------------------------------------------------------------


def _plan(records: list[_Record], required_files: Sequence[str]) -> _Plan:
    """Drop macOS junk, refuse clashing names, find the root, and look for the required files."""
    kept = [record for record in records if not record.is_junk]
    _check_collisions(kept)
    prefix = _single_top_folder(kept)
    members = [
        (record, ZipMember(path=record.path.removeprefix(prefix), is_dir=record.is_dir,
                           size=0 if record.is_dir else record.file_size))
        for record in kept if record.path + "/" != prefix
    ]
    files = {member.path: record.name for record, member in members if not member.is_dir}
    for required in required_files:
        if required not in files:
            raise _missing(required, files)
    return _Plan(records=records, members=members)


def _check_collisions(records: list[_Record]) -> None:
    """No path twice, no path as file and folder, no two paths equal up to case or Unicode form.

    Folders implied by a file's path count too: 'a' and 'a/b.py' clash, and so do 'A/x.py' and
    'a/y.py', which would merge on a case-insensitive disk.
    """
    explicit: set[str] = set()
    is_folder: dict[str, bool] = {}
    by_form: dict[str, str] = {}
    by_case: dict[str, str] = {}
    for record in records:
        if record.path in explicit:
            raise IntakeError(Rule.DUPLICATE_NAME,
                              f"Your zip contains {_show(record.path)} more than once; each path "
                              "may appear only once. Re-create the zip from your folder.")
        explicit.add(record.path)
        parts = record.path.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            folder = record.is_dir or depth < len(parts)
            if path in is_folder:
                if is_folder[path] != folder:
                    raise IntakeError(Rule.DUPLICATE_NAME,
                                      f"Your zip contains {_show(path)} both as a file and as a "
                                      "folder. Rename one of them.")
                continue
            is_folder[path] = folder
            form = unicodedata.normalize("NFC", path)
            if (other := by_form.setdefault(form, path)) != path:
                raise IntakeError(Rule.UNICODE_COLLISION,
                                  f"Your zip contains both {_show(other)} and {_show(path)}: the "
                                  "same name written in two Unicode forms (NFC and NFD), which "
                                  "many systems treat as one file. Rename one of them.")
            case = unicodedata.normalize("NFC", form.casefold())
            if (other := by_case.setdefault(case, path)) != path:
                raise IntakeError(Rule.CASE_COLLISION,
                                  f"Your zip contains both {_show(other)} and {_show(path)}, "
                                  "names that differ only in upper and lower case; they clash on "
                                  "macOS and Windows. Rename one of them.")


def _single_top_folder(records: list[_Record]) -> str:
    """'name/' when every entry sits in one folder (the candidate zipped the folder), else ''."""
    tops = {record.path.split("/")[0] for record in records}
    if len(tops) != 1:
        return ""
    prefix = tops.pop() + "/"
    # A lone top-level file is not a folder; a file named like the folder was refused as a clash.
    return prefix if any(record.path.startswith(prefix) for record in records) else ""


def _missing(required: str, files: dict[str, str]) -> IntakeError:
    """The error for a missing file, pointing at a near miss (wrong case or folder) if any."""
    wanted = required.rsplit("/", 1)[-1].casefold()
    near = sorted(name for path, name in files.items()
                  if path.rsplit("/", 1)[-1].casefold() == wanted)
    hint = (f" (found {_show(near[0])}; names are case-sensitive and the file must sit at the top)"
            if near else "")
    return IntakeError(Rule.MISSING_REQUIRED_FILE,
                       f"Your zip has no {_show(required)} at its top level{hint}. Put "
                       f"{required} at the root of the zip, or in one single top folder.")


# --- bytes -----------------------------------------------------------------------------------


def _check_declared_sizes(plan: _Plan, rules: IntakeRules) -> None:
    """Reject on the headers' word before decompressing anything; the counter has the last say."""
    total = 0
    for record, member in plan.members:
        if not member.is_dir:
            total += record.file_size
            _check_caps(rules, record, record.file_size, total, _archive_name(record.name))


def _check_caps(rules: IntakeRules, record: _Record, size: int, total: int,
                archive: bool) -> None:
    shown = _show(record.name)
    if size > rules.max_file_bytes:
        raise IntakeError(Rule.FILE_TOO_LARGE,
                          f"Your zip contains {shown}, which unpacks to more than "
                          f"{_size(rules.max_file_bytes)}, the limit for one file. Leave large "
                          "data and model files out: the grader provides the data.")
    if total > rules.max_total_bytes:
        raise IntakeError(Rule.TOTAL_TOO_LARGE,
                          f"Your zip unpacks to more than {_size(rules.max_total_bytes)} in total "
                          f"(passed at {shown}). Leave large data and model files out: the "
                          "grader provides the data.")
    if size > rules.ratio_grace_bytes and size > rules.max_ratio * max(1, record.compress_size):
        raise IntakeError(Rule.RATIO,
                          f"Your zip contains {shown}, which unpacks to more than "
                          f"{rules.max_ratio:g} times its compressed size; files like that are "
                          "refused as zip bombs. Leave it out or store it differently.")
    if archive and size > rules.max_nested_archive_bytes:
        raise IntakeError(Rule.NESTED_ARCHIVE,
                          f"Your zip contains {shown}, an archive larger than "
                          f"{_size(rules.max_nested_archive_bytes)}; archives inside a "
                          "submission are never unpacked. Unpack it into your folder before "
                          "zipping, or leave it out.")


def _archive_name(name: str) -> bool:
    return not name.endswith("/") and name.lower().endswith(_ARCHIVE_SUFFIXES)


def _archive_magic(head: bytes) -> bool:
    return (head.startswith(_ARCHIVE_MAGIC)
            or head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar")


def _open_zip(path: Path, records: list[_Record]) -> zipfile.ZipFile:
    """zipfile's reading of the archive, refused unless it is exactly the one we checked."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise _not_a_zip(str(exc)) from exc
    infos = archive.infolist()
    if len(infos) != len(records) or any(
            (info.orig_filename, info.header_offset, info.compress_size, info.file_size,
             info.flag_bits, info.compress_type)
            != (record.name, record.header_offset, record.compress_size, record.file_size,
                record.flags, record.method)
            for info, record in zip(infos, records, strict=False)):
        archive.close()
        raise IntakeError(Rule.HEADER_MISMATCH,
                          f"Your zip is inconsistent: its directory reads two different ways. "
                          f"{_RECREATE}")
    return archive


class _Meter:
    """Counts the bytes one pass really decompresses, against every cap, as they arrive."""

    def __init__(self, archive: zipfile.ZipFile, rules: IntakeRules) -> None:
        self._archive = archive
        self._rules = rules
        self.total = 0

    def chunks(self, record: _Record) -> Iterator[bytes]:
        info = copy.copy(self._archive.infolist()[record.index])
        # zipfile stops at the declared size and then fails the CRC, hiding how much data there
        # really is; lift the stop so the counter, never the header, decides.
        info.file_size = sys.maxsize
        size = 0
        archive = _archive_name(record.name)
        try:
            with self._archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    archive = archive or (size == 0 and _archive_magic(chunk))
                    size += len(chunk)
                    _check_caps(self._rules, record, size, self.total + size, archive)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise IntakeError(Rule.CORRUPT,
                              f"Your zip is damaged: {_show(record.name)} could not be read "
                              f"({exc}). {_RECREATE}") from exc
        if size != record.file_size:
            raise _mismatch(record, f"it declares {record.file_size} bytes but holds {size}")
        self.total += size


# --- extraction ------------------------------------------------------------------------------


def _extract(path: Path, plan: _Plan, staging: Path, rules: IntakeRules) -> int:
    made = {staging}
    with _open_zip(path, plan.records) as archive:
        meter = _Meter(archive, rules)
        for record, member in plan.members:
            target = staging.joinpath(*member.path.split("/"))
            if member.is_dir:
                _make_dirs(target, made)
                continue
            _make_dirs(target.parent, made)
            # O_EXCL and O_NOFOLLOW: never write through anything already there, even by mistake.
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                 _FILE_MODE)
            with open(descriptor, "wb") as out:
                os.fchmod(out.fileno(), _FILE_MODE)  # the umask may have taken bits away
                for chunk in meter.chunks(record):
                    out.write(chunk)
        return meter.total


def _make_dirs(directory: Path, made: set[Path]) -> None:
    missing = []
    while directory not in made:
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        folder.mkdir()
        folder.chmod(_DIR_MODE)  # the umask may have taken bits away
        made.add(folder)


# --- messages --------------------------------------------------------------------------------


def _not_a_zip(reason: str) -> IntakeError:
    return IntakeError(Rule.NOT_A_ZIP,
                       f"This upload is not a readable zip file ({reason}). Upload a .zip made "
                       "with your system's zip tool.")


def _show(name: str, limit: int = 160) -> str:
    """A name quoted for a message: invisible characters escaped, very long names shortened."""
    shown = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
                    for char in name)
    if len(shown) > limit:
        shown = f"{shown[:limit // 2]}...{shown[-limit // 4:]}"
    return f"'{shown}'"

