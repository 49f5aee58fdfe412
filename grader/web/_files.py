"""A submission's stored files, for reviewers: listing, safe path resolution, highlighting."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, guess_lexer_for_filename
from pygments.util import ClassNotFound

SHOW_BYTES = 512 * 1024
MAX_LISTED = 2000


class FileRefused(Exception):
    """The path is not a regular file inside the submission (traversal, link, missing)."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int


def list_files(root: Path) -> list[FileEntry]:
    """Regular files under root, sorted, without following links."""
    entries: list[FileEntry] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            full = Path(folder) / name
            info = full.lstat()
            if stat.S_ISREG(info.st_mode):
                entries.append(FileEntry(full.relative_to(root).as_posix(), info.st_size))
            if len(entries) >= MAX_LISTED:
                return entries
    return entries


def resolve_file(root: Path, relative: str) -> Path:
    """``root/relative`` only if it names a regular file inside root; FileRefused otherwise.

    Refused before touching the disk: empty, absolute, backslashes, NUL, '.' or '..' parts. Then
    every component is checked with lstat, so a symlink anywhere on the way is refused too.
    """
    if not relative or "\\" in relative or "\0" in relative or relative.startswith("/"):
        raise FileRefused("not a relative path")
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("", ".", "..") for part in relative.split("/")):
        raise FileRefused("the path may not contain '.', '..' or empty parts")
    current = root
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = current.lstat()
        except OSError as exc:
            raise FileRefused("no such file") from exc
        last = index == len(parts) - 1
        if stat.S_ISLNK(info.st_mode) or (last and not stat.S_ISREG(info.st_mode)) or (
                not last and not stat.S_ISDIR(info.st_mode)):
            raise FileRefused("not a regular file")
    if not current.resolve().is_relative_to(root.resolve()):
        raise FileRefused("outside the submission")
    return current


def read_text(path: Path) -> tuple[str | None, bool]:
    """(text, truncated); text is None for a binary file."""
    with path.open("rb") as stream:
        data = stream.read(SHOW_BYTES + 1)
    if b"\0" in data[:8192]:
        return None, False
    return data[:SHOW_BYTES].decode("utf-8", "replace"), len(data) > SHOW_BYTES


def highlighted(path: str, text: str) -> Markup:
    try:
        lexer = guess_lexer_for_filename(path, text[:4096])
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(linenos="table", cssclass="highlight", anchorlinenos=True,
                              lineanchors="L")
    return Markup(highlight(text, lexer, formatter))  # pygments escapes the source


def highlight_css() -> str:
    return HtmlFormatter(cssclass="highlight").get_style_defs(".highlight")


def folder_stamp(folder: Path) -> str:
    """A digest of each file's path, size and modification time under ``folder``: it changes when
    any file does, without reading them (a cache key, not a content hash)."""
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = path.stat()
            digest.update(f"{path.relative_to(folder)}\0{info.st_size}\0{info.st_mtime_ns}\n"
                          .encode())
    return digest.hexdigest()
