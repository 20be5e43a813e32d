"""The four kinds of backup (`.tar`, `.tar.gz`, `.tar.zst`, directory): recognising them, opening them read-only
as one member stream, and compressed frame writers for `create`.

Every kind reads as the same `MemberStream` (a header, then its data as buffer views), so restore and verify have
one code path. Compressed kinds count the bytes read from disk, so the reader can refuse a decompression bomb as
soon as the ratio of produced to consumed bytes gets out of hand.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO, Final, Protocol, cast

import zstandard

from atlas_drills.backup.errors import PATH_SHOWN, WHOLE_ARCHIVE, BackupUnusable, RestoreRefused, Rule, printable
from atlas_drills.backup.manifest import MANIFEST_NAME
from atlas_drills.backup.tarstream import (
    DEFAULT_BUFFER,
    DIRECTORY,
    FILE,
    HARDLINK,
    SPECIAL,
    SYMLINK,
    Limits,
    MemberHeader,
    TarReader,
    nothing_to_wait_for,
)

TAR: Final = "tar"
TAR_GZ: Final = "tar.gz"
TAR_ZST: Final = "tar.zst"
DIRECTORY_KIND: Final = "directory"
ARCHIVE_SUFFIXES: Final = {".tar": TAR, ".tar.gz": TAR_GZ, ".tar.zst": TAR_ZST}
_READ_SIZE: Final = 1 << 20
# What the zstd decoder reads from disk at a time. Small enough that the ratio guard's allowance for one read
# (max_compression_ratio x this, 64 MiB at 1000:1) never exceeds its cap, so no legitimate ratio is cut short.
_COMPRESSED_READ_SIZE: Final = 64 << 10
_WHAT_TO_DO: Final = "Give a .tar, .tar.gz or .tar.zst file, or a backup directory, as written by `backup create`."


class MemberStream(Protocol):
    produced: int
    current: str

    def next_member(self) -> MemberHeader | None: ...

    def data(self) -> Iterator[memoryview]: ...

    def finish(self) -> None: ...

    def lend(self, buffers: int, before_reuse: Callable[[bytearray], None]) -> None: ...

    @property
    def compressed_bytes(self) -> int: ...


def archive_suffix_kind(path: Path) -> str | None:
    name = path.name
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return kind
    return None


def kind_of_existing(path: Path) -> str:
    """The kind of an existing backup; `BackupUnusable` (exit 2) for a missing path or an unknown extension."""
    shown = printable(path, PATH_SHOWN)
    if not os.path.lexists(path):
        raise BackupUnusable(f"{shown}: no such file or directory. {_WHAT_TO_DO}")
    if path.is_dir():
        if not (path / MANIFEST_NAME).is_file():
            raise BackupUnusable(f"{shown}: a directory without {MANIFEST_NAME}, so not a backup. {_WHAT_TO_DO}")
        return DIRECTORY_KIND
    kind = archive_suffix_kind(path)
    if kind is None:
        suffixes = printable("".join(path.suffixes)) or "(none)"
        raise BackupUnusable(f"{shown}: unknown backup extension {suffixes}. {_WHAT_TO_DO}")
    if not path.is_file():
        raise BackupUnusable(f"{shown}: not a regular file. {_WHAT_TO_DO}")
    return kind


def kind_for_output(path: Path) -> str:
    """The kind `create` writes to `path`; refuses to overwrite anything."""
    shown, parent = printable(path, PATH_SHOWN), printable(path.parent, PATH_SHOWN)
    kind = archive_suffix_kind(path)
    if kind is not None:
        if os.path.lexists(path):
            raise BackupUnusable(f"{shown}: already exists; backups are never overwritten. Choose a new name.")
        if not path.parent.is_dir():
            raise BackupUnusable(f"{parent}: folder does not exist. Create it first.")
        return kind
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise BackupUnusable(
            f"{shown}: exists and is not a folder; --out takes a .tar, .tar.gz or .tar.zst name, or a new or empty "
            "folder"
        )
    if path.is_dir() and any(path.iterdir()):
        raise BackupUnusable(f"{shown}: folder is not empty; give a new or empty folder, or an archive name")
    if not path.parent.is_dir():
        raise BackupUnusable(f"{parent}: folder does not exist. Create it first.")
    return DIRECTORY_KIND


class _RawFile:
    """A read-only descriptor read in large chunks straight into the caller's buffer; counts bytes read."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        # The whole archive is read once, front to back: tell the kernel to read ahead aggressively.
        os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        self.count = 0

    def readinto(self, buffer: memoryview) -> int:
        count = os.readv(self.fd, [buffer])
        self.count += count
        return count

    def read(self, size: int = -1) -> bytes:
        data = os.read(self.fd, size if size >= 0 else _READ_SIZE)
        self.count += len(data)
        return data

    @property
    def compressed_bytes(self) -> int:
        return self.count

    def close(self) -> None:
        os.close(self.fd)


class _ZstdSource:
    def __init__(self, raw: _RawFile) -> None:
        self._raw = raw
        # Our own archives are two frames (manifest, then body); read across frame boundaries.
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast(BinaryIO, raw), read_size=_COMPRESSED_READ_SIZE, read_across_frames=True
        )

    def readinto(self, buffer: memoryview) -> int:
        try:
            return int(self._reader.readinto(buffer))
        except zstandard.ZstdError as exc:
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.CORRUPT_COMPRESSION, "a valid zstd stream", str(exc)) from exc

    @property
    def compressed_bytes(self) -> int:
        return self._raw.count


class _GzipSource:
    def __init__(self, raw: _RawFile) -> None:
        self._raw = raw
        self._reader = gzip.GzipFile(fileobj=cast(BinaryIO, raw), mode="rb")

    def readinto(self, buffer: memoryview) -> int:
        try:
            return int(self._reader.readinto(buffer))
        except EOFError as exc:
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.TRUNCATED_ARCHIVE, "a complete gzip stream", str(exc)) from exc
        except (OSError, zlib.error) as exc:
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.CORRUPT_COMPRESSION, "a valid gzip stream", str(exc)) from exc

    @property
    def compressed_bytes(self) -> int:
        return self._raw.count


class DirectoryReader:
    """A backup directory read as a member stream: the manifest first, then every entry in sorted order, so the
    same rules catch links, special files, setuid bits and unlisted files. Nothing is followed or written."""

    def __init__(self, root: Path, limits: Limits, buffer_size: int = DEFAULT_BUFFER) -> None:
        self._root = root
        self._limits = limits
        self._ring = [bytearray(buffer_size)]
        self._turn = 0
        self._before_reuse: Callable[[bytearray], None] = nothing_to_wait_for
        self.produced = 0
        self.current = WHOLE_ARCHIVE
        self._entries = iter(self._listing())
        self._size = 0

    def lend(self, buffers: int, before_reuse: Callable[[bytearray], None]) -> None:
        """As `TarReader.lend`: data comes from a ring of buffers, each waited for before it is read into again."""
        self._ring += [bytearray(len(self._ring[0])) for _ in range(buffers - 1)]
        self._before_reuse = before_reuse

    def _listing(self) -> list[str]:
        names: list[str] = []
        # os.walk skips a folder it cannot read; raising instead names the folder (an environment error), where
        # skipping made every file under it look like a missing member.
        for folder, dirs, files in os.walk(self._root, followlinks=False, onerror=_raise):
            relative = os.path.relpath(folder, self._root)
            prefix = "" if relative == "." else f"{relative}/"
            names.extend(f"{prefix}{name}" for name in dirs + files)
        names.sort()
        if MANIFEST_NAME in names:
            names.remove(MANIFEST_NAME)
            names.insert(0, MANIFEST_NAME)
        return names

    def next_member(self) -> MemberHeader | None:
        name = next(self._entries, None)
        if name is None:
            self.current = WHOLE_ARCHIVE
            return None
        self.current = name
        info = os.lstat(self._root / name)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            # A second name for a file that may live outside the backup folder (`ln /etc/shadow store/x`): the
            # format never writes one, and reading it would copy whatever it points at.
            self._size = 0
            return MemberHeader(name, HARDLINK, "1", 0, mode, f"<inode {info.st_ino}, {info.st_nlink} links>", 0)
        if stat.S_ISREG(info.st_mode):
            self._size = info.st_size
            return MemberHeader(name, FILE, "0", info.st_size, mode, "", 0)
        self._size = 0
        if stat.S_ISDIR(info.st_mode):
            return MemberHeader(name, DIRECTORY, "5", 0, mode, "", 0)
        if stat.S_ISLNK(info.st_mode):
            return MemberHeader(name, SYMLINK, "2", 0, mode, os.readlink(self._root / name), 0)
        typeflag = "3" if stat.S_ISCHR(info.st_mode) else "4" if stat.S_ISBLK(info.st_mode) else "6"
        if stat.S_ISSOCK(info.st_mode):
            typeflag = "socket"
        return MemberHeader(name, SPECIAL, typeflag, 0, mode, "", 0)

    def _next_buffer(self) -> memoryview:
        self._turn = (self._turn + 1) % len(self._ring)
        following = self._ring[self._turn]
        self._before_reuse(following)
        return memoryview(following)

    def data(self) -> Iterator[memoryview]:
        fd = os.open(self._root / self.current, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while count := _read_member(fd, view := self._next_buffer(), self._root / self.current):
                self.produced += count
                if self.produced > self._limits.max_total_bytes:
                    raise RestoreRefused(
                        self.current,
                        Rule.TOTAL_SIZE_LIMIT,
                        f"at most {self._limits.max_total_bytes} bytes",
                        f"{self.produced} bytes so far",
                    )
                yield view[:count]
        finally:
            os.close(fd)

    def finish(self) -> None:
        return None

    @property
    def compressed_bytes(self) -> int:
        return self.produced


def _raise(error: OSError) -> None:
    raise error


def _read_member(fd: int, view: memoryview, path: Path) -> int:
    try:
        return os.readv(fd, [view])
    except OSError as exc:
        exc.filename = str(path)  # readv names no file; the environment error must
        raise


@contextmanager
def open_member_stream(path: Path, limits: Limits, buffer_size: int = DEFAULT_BUFFER) -> Iterator[MemberStream]:
    """Open an existing backup read-only as a member stream."""
    kind = kind_of_existing(path)
    if kind == DIRECTORY_KIND:
        yield DirectoryReader(path, limits, buffer_size)
        return
    with ExitStack() as stack:
        raw = _RawFile(path)
        stack.callback(raw.close)
        source: _RawFile | _ZstdSource | _GzipSource = raw
        if kind == TAR_ZST:
            source = _ZstdSource(raw)
        elif kind == TAR_GZ:
            source = _GzipSource(raw)
        yield TarReader(source, limits, buffer_size)


def compressed_frame(kind: str, sink: BinaryIO) -> BinaryIO:
    """A writer that compresses into `sink` as one self-contained frame (zstd) or member (gzip). Frames written
    one after another decompress as one continuous stream, which lets `create` put the manifest frame first."""
    if kind == TAR_ZST:
        compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
        writer: BinaryIO = compressor.stream_writer(sink, closefd=False)
        return writer
    if kind == TAR_GZ:
        return cast(BinaryIO, gzip.GzipFile(filename="", fileobj=sink, mode="wb", compresslevel=6, mtime=0))
    raise ValueError(f"not a compressed kind: {kind}")
