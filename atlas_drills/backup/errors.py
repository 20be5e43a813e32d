"""What can be wrong with a backup: findings, refusals and unusable input, each naming member, rule and values.

Rules are stable short codes (plain strings, so they travel through reports and xdist untouched). A refusal
during restore and a finding during verify use the same codes, so a report reads the same either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final


class Rule:
    """The stable rule codes. `verify` reports them as findings; `restore` raises the first as `RestoreRefused`."""

    ABSOLUTE_PATH: Final = "absolute-path"
    PARENT_TRAVERSAL: Final = "parent-traversal"
    NON_CANONICAL_PATH: Final = "non-canonical-path"
    # The format never writes links, so every link member is refused: `link-escape` when its target leaves the
    # staging folder, `symbolic-link` when it would stay inside (still refused: nothing legitimate needs one).
    LINK_ESCAPE: Final = "link-escape"
    SYMBOLIC_LINK: Final = "symbolic-link"
    HARD_LINK: Final = "hard-link"
    SPECIAL_FILE: Final = "special-file"
    SETUID_BIT: Final = "setuid-bit"
    UNSUPPORTED_MEMBER: Final = "unsupported-member"
    MALFORMED_HEADER: Final = "malformed-header"
    DUPLICATE_MEMBER: Final = "duplicate-member"
    UNLISTED_MEMBER: Final = "unlisted-member"
    SIZE_MISMATCH: Final = "size-mismatch"
    DIGEST_MISMATCH: Final = "digest-mismatch"
    MISSING_MEMBER: Final = "missing-member"
    TOTAL_SIZE_LIMIT: Final = "total-size-limit"
    COMPRESSION_RATIO_LIMIT: Final = "compression-ratio-limit"
    TRUNCATED_ARCHIVE: Final = "truncated-archive"
    CORRUPT_COMPRESSION: Final = "corrupt-compression"
    TRAILING_DATA: Final = "trailing-data"
    MANIFEST_INVALID: Final = "manifest-invalid"
    MANIFEST_NOT_FIRST: Final = "manifest-not-first"
    SQLITE_INTEGRITY: Final = "sqlite-integrity"
    NOT_A_SERVING_STORE: Final = "not-a-serving-store"


# Where a finding is about the archive as a whole rather than one member.
WHOLE_ARCHIVE: Final = "<archive>"

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text (bidi overrides,
# zero-width marks): a member name carrying them could forge lines or terminal sequences when printed.
_UNPRINTABLE: Final = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u2028-\\u202e\\u2066-\\u2069\\ufeff]")
# Anything longer is cut in messages (a 64 KiB pax path or a 1 MB observed value must not flood a terminal).
MAX_SHOWN: Final = 300
PATH_SHOWN: Final = 4096  # a path on the command line is shown whole (PATH_MAX), only escaped


def printable(value: Any, limit: int = MAX_SHOWN) -> str:
    """`value` as one safe line: control and invisible format characters escaped (`\\n`, `\\x1b`, `\\u202e`), and
    cut to `limit` characters with the number of characters left out."""
    text = value if isinstance(value, str) else str(value)
    text = _UNPRINTABLE.sub(_escape, text.replace("\\", "\\\\")) if _UNPRINTABLE.search(text) else text
    if len(text) > limit:
        text = f"{text[:limit]}...({len(text) - limit} more characters)"
    return text


def member_name(name: str) -> str:
    """A member name as printed: escaped, and visible even when empty (a pax `path=` record can empty it)."""
    return printable(name) if name else "<empty name>"


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    if named:
        return named
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


@dataclass(frozen=True)
class Finding:
    """One broken rule: which member, which rule, what was expected and what was observed."""

    member: str
    rule: str
    expected: Any
    observed: Any

    def __str__(self) -> str:
        """One line, whatever the member name or values hold (escaped and cut by `printable`)."""
        return (
            f"{member_name(self.member)}: {self.rule} (expected {printable(self.expected)}, "
            f"observed {printable(self.observed)})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "rule": self.rule, "expected": self.expected, "observed": self.observed}


class BackupError(Exception):
    """Base of every backup problem this package raises on purpose."""


class BackupUnusable(BackupError):
    """The input cannot be read as a backup at all (missing path, unknown extension): fix the command line."""


class BackupCreateError(BackupError):
    """`backup create` cannot produce a faithful backup of this source (symlink, missing identity, file changed)."""


class BackupEnvironmentError(BackupError):
    """The machine, not the backup: a permission denied, a full disk, a folder that cannot be made. The backup may
    be fine; fix the environment and run again (exit 3)."""

    def __init__(self, path: object, action: str, error: OSError) -> None:
        self.path = str(path)
        self.action = action
        self.error = error
        reason = error.strerror or type(error).__name__
        super().__init__(f"{printable(self.path, PATH_SHOWN)}: cannot {action}: {reason} (errno {error.errno})")


class RestoreRefused(BackupError):
    """A backup that must not be restored (or, during verify, a member that stops the stream).

    Carries the finding so callers can assert on `member` and `rule` rather than on message text.
    """

    def __init__(self, member: str, rule: str, expected: Any, observed: Any, hint: str = "") -> None:
        self.finding = Finding(member, rule, expected, observed)
        self.hint = hint
        message = f"restore refused: {self.finding}"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    @property
    def member(self) -> str:
        return self.finding.member

    @property
    def rule(self) -> str:
        return self.finding.rule

    @property
    def expected(self) -> Any:
        return self.finding.expected

    @property
    def observed(self) -> Any:
        return self.finding.observed
