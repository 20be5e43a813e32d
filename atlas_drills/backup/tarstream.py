"""A strict, streaming tar reader and a minimal deterministic tar writer.

Why not `tarfile` for reading: restore must hash while it writes, in one pass, over a stream it may not seek, and
refuse anything odd *before* acting on it. tarfile's stream mode copies every block through its own buffers and
quietly accepts forms (global headers, sparse files, v7 headers) this format never writes. This reader parses the
ustar/pax/GNU headers the format and common tools produce, hands file data out as memoryviews of one reusable
buffer (zero copies between the read and the hash/write), and reports everything else with a rule code. A consumer
that hashes and writes on other threads asks for a ring of buffers instead (`lend`), so the next chunk is read while
the last ones are still being hashed and written.

The writer uses `tarfile.TarInfo.tobuf` for headers, so archives stay readable by GNU tar and `tarfile`.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from atlas_drills.backup.errors import WHOLE_ARCHIVE, RestoreRefused, Rule

BLOCK: Final = 512
RECORD: Final = 20 * BLOCK
ZERO_BLOCK: Final = bytes(BLOCK)
DEFAULT_BUFFER: Final = 1 << 20
MAX_EXTENDED_HEADER: Final = 1 << 16  # pax/GNU long-name payloads; real ones are a few hundred bytes

FILE: Final = "file"
DIRECTORY: Final = "directory"
SYMLINK: Final = "symlink"
HARDLINK: Final = "hardlink"
SPECIAL: Final = "special"
UNSUPPORTED: Final = "unsupported"

_KINDS: Final = {
    b"0": FILE,
    b"\0": FILE,
    b"7": FILE,  # contiguous file: GNU tar and tarfile both treat it as a regular file
    b"5": DIRECTORY,
    b"1": HARDLINK,
    b"2": SYMLINK,
    b"3": SPECIAL,
    b"4": SPECIAL,
    b"6": SPECIAL,
}
_OCTAL: Final = re.compile(rb"[0-7]+")
_POSIX_MAGIC: Final = b"ustar\x0000"
_GNU_MAGIC: Final = b"ustar  \x00"


class ByteSource(Protocol):
    """An uncompressed tar byte stream. `compressed_bytes` counts what was read from disk to produce it."""

    def readinto(self, buffer: memoryview) -> int: ...

    @property
    def compressed_bytes(self) -> int: ...


@dataclass(frozen=True)
class Limits:
    """Bounds on what a stream may produce, checked as bytes arrive (decompression bombs are refused early)."""

    max_total_bytes: int
    max_compression_ratio: float
    ratio_grace_bytes: int


@dataclass(frozen=True)
class MemberHeader:
    """One tar member as read: its name exactly as stored (after pax/GNU overrides), type, size and mode."""

    name: str
    kind: str
    typeflag: str
    size: int
    mode: int
    linkname: str
    offset: int


def _text(field: bytes, offset: int) -> str:
    raw = field.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RestoreRefused(
            raw.decode("utf-8", "backslashreplace"), Rule.NON_CANONICAL_PATH, "UTF-8 name", f"offset {offset}: {exc}"
        ) from exc


def _number(field: bytes, what: str, offset: int) -> int:
    if field[0] & 0x80:
        # GNU base-256 for values octal cannot hold; a negative value (0xff lead) is never valid here.
        if field[0] != 0x80:
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, f"non-negative {what}", f"offset {offset}")
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip(b" ")
    if not digits:
        return 0
    # Only octal digits: int(..., 8) would also take '-7', '+7' and '1_0', and a negative size never ends.
    if not _OCTAL.fullmatch(digits):
        raise RestoreRefused(WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, f"octal {what}", f"{digits!r} at offset {offset}")
    return int(digits, 8)


def _check_checksum(block: bytes, offset: int) -> None:
    stored = _number(block[148:156], "header checksum", offset)
    unsigned = sum(block[:148]) + 8 * 0x20 + sum(block[156:])
    if stored == unsigned:
        return
    # Some old writers summed signed bytes; accept that too, as GNU tar does.
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + b" " * 8 + block[156:])
    if stored != signed:
        raise RestoreRefused(
            WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, f"header checksum {unsigned}", f"{stored} at offset {offset}"
        )


_PAX_LENGTH: Final = re.compile(rb"[1-9][0-9]{0,5}")  # a record can never exceed MAX_EXTENDED_HEADER
_DECIMAL: Final = re.compile(r"[0-9]{1,20}")  # what a pax size may be: plain digits, never '-1', '+1', '1_0', ' 1'


def _parse_pax(data: bytes, offset: int) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b" ", pos, pos + 8)
        digits = data[pos:space] if space > pos else b""
        if not _PAX_LENGTH.fullmatch(digits):
            raise RestoreRefused(
                WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, "pax records 'LEN key=value\\n'", f"offset {offset}: bad length"
            )
        length = int(digits)
        end = pos + length
        if end > len(data) or end <= space + 1 or data[end - 1 : end] != b"\n":
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, "pax record ending in newline", offset)
        key, _, value = data[space + 1 : end - 1].partition(b"=")
        try:
            records[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RestoreRefused(
                WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, "UTF-8 pax records", f"offset {offset}: {exc.reason}"
            ) from exc
        pos = end
    return records


class RatioGuard:
    """Refuses a decompression bomb wherever it sits in the stream, not only on average.

    A token bucket: every compressed byte read earns `ratio` bytes of output, the balance is capped, and every byte
    produced spends one. Real backups (ratio 2-20) never run dry; a bomb does soon after its start, even behind
    megabytes of random padding (which, averaged over the whole stream, would hide it). The cap is `grace`, or what
    the latest read earned when that is more: the decoder reads ahead in chunks, and the output of one chunk must
    never be refused for a ratio under the limit. So a bomb gets at most max(grace, ratio x read size) bytes out.
    """

    def __init__(self, limits: Limits) -> None:
        self._ratio = limits.max_compression_ratio
        self._grace = limits.ratio_grace_bytes
        self._balance = float(limits.ratio_grace_bytes)
        self._compressed = 0

    def spend(self, produced: int, compressed: int) -> bool:
        """Record `produced` more bytes, `compressed` bytes read so far in all; False once the bucket is empty."""
        earned = max(compressed - self._compressed, 0) * self._ratio
        self._compressed = max(compressed, self._compressed)
        if earned:
            self._balance = min(self._balance + earned, max(self._grace, earned))
        self._balance -= produced
        return self._balance >= 0


class TarReader:
    """Reads members one at a time from a `ByteSource`, enforcing the stream-level rules and limits."""

    def __init__(self, source: ByteSource, limits: Limits, buffer_size: int = DEFAULT_BUFFER) -> None:
        self._source = source
        self._limits = limits
        self._buffer = bytearray(max(buffer_size, 2 * MAX_EXTENDED_HEADER))
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 0
        self._eof = False
        # Bytes of tar stream consumed so far. Counted as the parser consumes them (not as the buffer fills), so a
        # limit names the member being read and the manifest's own size check gets the first word.
        self.produced = 0
        self.current = WHOLE_ARCHIVE  # the member being read, for refusals raised mid-stream
        self._pending_data = 0
        self._pending_padding = 0
        self._ratio = RatioGuard(limits)
        self._ring = [self._buffer]
        self._turn = 0
        self._before_reuse: Callable[[bytearray], None] = nothing_to_wait_for

    @property
    def compressed_bytes(self) -> int:
        return self._source.compressed_bytes

    def lend(self, buffers: int, before_reuse: Callable[[bytearray], None]) -> None:
        """Hand data out from a ring of `buffers` equal buffers, and call `before_reuse(buffer)` before any of them
        is written again: a consumer that keeps views on other threads waits there until it is done with them.
        Only a region below what was already handed out is ever rewritten, and only after that call."""
        size = len(self._buffer)
        self._ring = [self._buffer] + [bytearray(size) for _ in range(buffers - 1)]
        self._before_reuse = before_reuse

    # -- low level -----------------------------------------------------------------------------------------------
    def _read_more(self) -> int:
        if self._eof:
            return 0
        if self._start == self._end:
            self._next_buffer(0)
        elif self._end == len(self._buffer):
            # Keep the unread tail (< one header) and make room after it.
            self._next_buffer(self._end - self._start)
        count = self._source.readinto(self._view[self._end :])
        if count == 0:
            self._eof = True
            return 0
        self._end += count
        return count

    def _next_buffer(self, carried: int) -> None:
        """Move on to the next buffer of the ring (the same one when there is only one), carrying the unread tail
        to its start. Views handed out from it earlier are overwritten, so their consumers must be done first."""
        self._turn = (self._turn + 1) % len(self._ring)
        following = self._ring[self._turn]
        self._before_reuse(following)
        view = memoryview(following)
        view[:carried] = self._view[self._start : self._end]
        self._buffer, self._view = following, view
        self._start, self._end = 0, carried

    def _consume(self, count: int) -> None:
        self._start += count
        self.produced += count
        limits = self._limits
        if self.produced > limits.max_total_bytes:
            raise RestoreRefused(
                self.current,
                Rule.TOTAL_SIZE_LIMIT,
                f"at most {limits.max_total_bytes} bytes",
                f"{self.produced} bytes so far",
                "Raise RestoreLimits.max_total_bytes if this backup is genuinely that large.",
            )
        compressed = self._source.compressed_bytes
        if not self._ratio.spend(count, compressed):
            raise RestoreRefused(
                self.current,
                Rule.COMPRESSION_RATIO_LIMIT,
                f"at most {limits.max_compression_ratio:g}:1 over every stretch of output",
                f"more ({self.produced} bytes out from {compressed} bytes read in all)",
                "A ratio this high is the signature of a decompression bomb.",
            )

    def _take(self, size: int, what: str) -> bytes:
        while self._end - self._start < size:
            if not self._read_more():
                raise RestoreRefused(
                    self.current, Rule.TRUNCATED_ARCHIVE, f"{size} bytes of {what}", f"{self._end - self._start}"
                )
        data = bytes(self._view[self._start : self._start + size])
        self._consume(size)
        return data

    def _skip(self, size: int, what: str) -> None:
        for _ in self._chunks(size, what):
            pass

    def _chunks(self, size: int, what: str) -> Iterator[memoryview]:
        remaining = size
        while remaining > 0:
            if self._start == self._end and not self._read_more():
                raise RestoreRefused(
                    self.current, Rule.TRUNCATED_ARCHIVE, f"{size} bytes of {what}", f"{size - remaining}"
                )
            step = min(remaining, self._end - self._start)
            self._consume(step)
            yield self._view[self._start - step : self._start]
            remaining -= step

    # -- members -------------------------------------------------------------------------------------------------
    def next_member(self) -> MemberHeader | None:
        """The next member's header, or None at the end-of-archive marker. Unread data of the previous member is
        skipped first."""
        if self._pending_data or self._pending_padding:
            self._skip(self._pending_data + self._pending_padding, "member data")
            self._pending_data = self._pending_padding = 0
        self.current = WHOLE_ARCHIVE
        overrides: dict[str, str] = {}
        while True:
            offset = self.produced
            block = self._take(BLOCK, "a tar header")
            if block == ZERO_BLOCK:
                if overrides:
                    raise RestoreRefused(WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, "a member after pax header", offset)
                # Both blocks must be zero: a header after a single zero block would be hidden from tools that
                # stop at the first one, and seen by those that do not.
                if self._take(BLOCK, "the second end-of-archive block") != ZERO_BLOCK:
                    raise RestoreRefused(
                        WHOLE_ARCHIVE, Rule.TRAILING_DATA, "two zero blocks at the end of the archive", offset + BLOCK
                    )
                return None
            _check_checksum(block, offset)
            typeflag = block[156:157]
            if typeflag in (b"x", b"L", b"K"):
                size = _number(block[124:136], "size", offset)
                if size > MAX_EXTENDED_HEADER:
                    raise RestoreRefused(
                        WHOLE_ARCHIVE, Rule.MALFORMED_HEADER, f"extended header <= {MAX_EXTENDED_HEADER}", size
                    )
                payload = self._take(size, "an extended header")
                self._take(-size % BLOCK, "padding")
                if typeflag == b"x":
                    overrides.update(_parse_pax(payload, offset))
                else:
                    key = "path" if typeflag == b"L" else "linkpath"
                    overrides[key] = _text(payload, offset)
                continue
            return self._member(block, typeflag, overrides, offset)

    def _member(self, block: bytes, typeflag: bytes, overrides: dict[str, str], offset: int) -> MemberHeader:
        magic = block[257:265]
        if magic not in (_POSIX_MAGIC, _GNU_MAGIC):
            raise RestoreRefused(WHOLE_ARCHIVE, Rule.UNSUPPORTED_MEMBER, "ustar or GNU tar header", repr(magic))
        name = _text(block[0:100], offset)
        if magic == _POSIX_MAGIC:
            prefix = _text(block[345:500], offset)
            if prefix:
                name = f"{prefix}/{name}"
        name = overrides.get("path", name)
        linkname = overrides.get("linkpath", _text(block[157:257], offset))
        size = _number(block[124:136], "size", offset)
        if "size" in overrides:
            if not _DECIMAL.fullmatch(overrides["size"]):
                raise RestoreRefused(name, Rule.MALFORMED_HEADER, "pax size of 1-20 decimal digits", overrides["size"])
            size = int(overrides["size"])
        if any(key.startswith("GNU.sparse") for key in overrides):
            typeflag = b"S"
        kind = _KINDS.get(typeflag, UNSUPPORTED)
        if kind == FILE and typeflag == b"\0" and name.endswith("/"):
            kind = DIRECTORY  # pre-POSIX writers marked directories only by the trailing slash
        self.current = name
        # As tarfile and GNU tar do: only regular and unknown members carry data blocks.
        self._pending_data = size if kind in (FILE, UNSUPPORTED) else 0
        self._pending_padding = -self._pending_data % BLOCK
        mode = _number(block[100:108], "mode", offset)
        return MemberHeader(name, kind, typeflag.decode("latin-1"), size, mode, linkname, offset)

    def data(self) -> Iterator[memoryview]:
        """The current member's data as views of the internal buffer. Each view is valid only until the next one
        is requested (with `lend`: until its buffer's `before_reuse`): hash and write it, never keep it."""
        size = self._pending_data
        self._pending_data = 0
        yield from self._chunks(size, "member data")
        padding, self._pending_padding = self._pending_padding, 0
        self._skip(padding, "member padding")

    def finish(self) -> None:
        """After the end-of-archive marker only zero padding may follow, up to the end of the stream."""
        self.current = WHOLE_ARCHIVE
        while True:
            tail = self._view[self._start : self._end].tobytes()
            if tail.count(0) != len(tail):
                raise RestoreRefused(WHOLE_ARCHIVE, Rule.TRAILING_DATA, "only zeros after end of archive", "data")
            self._consume(len(tail))
            if not self._read_more():
                return


def nothing_to_wait_for(buffer: bytearray) -> None:
    """A consumer that hashes and writes each view before asking for the next one has nothing to wait for."""
    del buffer


class TarWriter:
    """Writes regular-file members in the given order: mode 0644 (0755 if executable), uid/gid 0, fixed mtime."""

    def __init__(self, sink: BinaryIO, mtime: int) -> None:
        self._sink = sink
        self._mtime = mtime
        self.position = 0
        self._member_size = 0
        self._written = 0

    def header(self, path: str, size: int, *, executable: bool = False) -> None:
        info = tarfile.TarInfo(path)
        info.size = size
        info.mode = 0o755 if executable else 0o644
        info.mtime = self._mtime
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.type = tarfile.REGTYPE
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))
        self._member_size = size
        self._written = 0

    def data(self, chunk: memoryview | bytes) -> None:
        self._written += len(chunk)
        self._write(chunk)

    def end_member(self) -> None:
        if self._written != self._member_size:
            raise ValueError(f"member data: wrote {self._written} bytes, header says {self._member_size}")
        self._write(bytes(-self._member_size % BLOCK))

    def close(self) -> None:
        """The end-of-archive marker, padded to a whole 10 KiB record as tar itself does."""
        self._write(bytes(2 * BLOCK))
        self._write(bytes(-self.position % RECORD))

    def _write(self, data: memoryview | bytes) -> None:
        self._sink.write(data)
        self.position += len(data)
