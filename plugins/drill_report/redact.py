"""One redaction function for every string that leaves the drill report: files, event log, terminal, saved logs.

Replaced by `<redacted>`: values of keys named like Atlas's redaction keys (password, secret, token, api_key) or
credentials (bearer, passphrase, credential, private_key, authorization, ...), `Bearer ...`/`Basic ...` tokens, URLs
with userinfo, PEM blocks, AWS access key ids, JWTs and GitHub/Slack tokens. Redaction is also by value: a value
once seen under a secret key, and every secret value of a runtime configuration this process parsed (the restored
`config/atlas.env`, see `runtime_config.remembered_secrets`), is scrubbed wherever it appears, under any name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from atlas_drills.runtime_config import SECRET_KEY_WORDS, remembered_secrets

REDACTED = "<redacted>"
SECRET_WORDS = (*SECRET_KEY_WORDS, "authorization")

# `api_key` also matches `api-key` (`X-Api-Key: ...`), `private_key` also `private-key`.
_WORDS = "|".join(re.escape(w).replace("_", "[_-]") for w in SECRET_WORDS)
_KEY = r"(?<![A-Za-z0-9_.\-])[A-Za-z0-9_.\-]*?(?:" + _WORDS + r")[A-Za-z0-9_.\-]*"
# NAME=value, NAME: value, "NAME": "value", 'NAME': 'value' (env lines, headers, JSON and Python reprs)
_KEY_VALUE = re.compile(
    r"(?P<key>['\"]?" + _KEY + r"['\"]?)(?P<sep>\s*[:=]\s*)(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;}\])'\"]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=\-]{4,}", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)[^/\s@:]*(?::[^/\s@]*)?@", re.IGNORECASE)
# Secrets recognised by their form alone, under any name or none.
_TOKEN_FORMS = re.compile(
    r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"  # AWS access key ids
    r"|\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"  # JWTs
    r"|\bgh[pousr]_[A-Za-z0-9]{16,}"  # GitHub tokens
    r"|\bxox[abprs]-[A-Za-z0-9-]{8,}"  # Slack tokens
)
# A PEM block, or its start when the end was cut off (a log tail): everything up to the END line, or to the end.
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|\Z)")


def is_secret_key(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return any(word in lowered for word in SECRET_WORDS)


def _replace_key_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in {"'", '"'} else ""
    if not value.strip("'\"") or value.lower() in {"bearer", "basic", "token", REDACTED}:
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{quote}{REDACTED}{quote}"


# Structures whose JSON is at least this long are redacted once and then served from a memo: a drill's context and
# findings arrive on every report of every check (three phases each), and walking them again is most of the
# controller's time in a run of many drills.
_MEMO_MIN_CHARS = 512
_MEMO_MAX_ENTRIES = 512


class Redactor:
    """Redacts strings and primitive structures; remembers secret values it met under secret keys."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self._learned: set[str] = set()  # structures already learned from, by their repr
        self._redacted: dict[tuple[str, int, int], str] = {}  # (repr, what was known then) -> redacted JSON
        self._sorted: list[str] = []
        self._sorted_state = (-1, -1)

    def remember(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= 4 and value != REDACTED:
            self.known.add(value)

    def _secrets(self) -> list[str]:
        """Every secret value known, longest first (a secret holding another is replaced whole); sorted again only
        when a new one was learned."""
        remembered = remembered_secrets()
        state = (len(self.known), len(remembered))
        if self._sorted_state != state:
            self._sorted = sorted(self.known | remembered, key=len, reverse=True)
            self._sorted_state = state
        return self._sorted

    def text(self, value: str) -> str:
        for secret in self._secrets():
            if secret in value:
                value = value.replace(secret, REDACTED)
        if "-----BEGIN " in value:
            value = _PEM.sub(REDACTED, value)
        if not _suspicious(value):
            return value
        # Line by line: the patterns are only worth running where a secret word or a URL with userinfo appears.
        return "".join(_redact_line(line) if _suspicious(line) else line for line in value.splitlines(keepends=True))

    def learn(self, value: Any) -> None:
        """Remember every value found under a secret key in `value` (dicts nested in lists, env-like text)."""
        key = _memo_key(value)
        if key is not None and key in self._learned:
            return  # the same structure again: nothing new to learn
        self._learn(value)
        if key is not None:
            if len(self._learned) >= _MEMO_MAX_ENTRIES:
                self._learned.clear()
            self._learned.add(key)

    def _learn(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if is_secret_key(str(key)) and not isinstance(item, dict | list):
                    self.remember(item if isinstance(item, str) else None)
                else:
                    self._learn(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self._learn(item)
        elif isinstance(value, str):
            for match in _KEY_VALUE.finditer(value):
                self.remember(match.group("value").strip("'\""))

    def value(self, value: Any) -> Any:
        """A copy of a primitive structure with secret values and secret-looking text replaced."""
        key = _memo_key(value)
        if key is None:
            return self._value(value)
        # Keyed by what was known too: a secret learned since must be scrubbed from a structure seen before.
        memo = (key, len(self.known), len(remembered_secrets()))
        cached = self._redacted.get(memo)
        if cached is not None:
            return json.loads(cached)  # a fresh copy every time: callers may change what they get
        redacted = self._value(value)
        try:  # what JSON cannot hold (a Path, say) is not kept: it is walked every time
            text = json.dumps(redacted)
        except (TypeError, ValueError):
            return redacted
        if len(self._redacted) >= _MEMO_MAX_ENTRIES:
            self._redacted.clear()
        self._redacted[memo] = text
        return redacted

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                str(key): (REDACTED if is_secret_key(str(key)) and _has_content(item) else self.value(item))
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):  # through `value`: a large part seen before (a context) is not walked
            return [self.value(item) for item in value]
        return value


def _memo_key(value: Any) -> str | None:
    """A large structure's repr, or None (a small one is walked every time). Unlike JSON, a repr tells a tuple from a
    list and a key True or 1 from "true" or "1": equal reprs of plain data are equal data."""
    if not isinstance(value, dict | list | tuple):
        return None
    text = repr(value)
    return text if len(text) >= _MEMO_MIN_CHARS else None


_TRIGGERS = (*SECRET_WORDS, "api-key", "private-key", "access-key", "bearer", "basic", "token", "@")
_FORM_TRIGGER = re.compile(r"AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA|eyJ|gh[pousr]_|xox[abprs]-")


def _suspicious(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _TRIGGERS) or _FORM_TRIGGER.search(text) is not None


def _redact_line(line: str) -> str:
    line = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", line)
    line = _TOKEN_FORMS.sub(REDACTED, line)
    line = _BEARER.sub(lambda m: f"{m.group('scheme')}{REDACTED}", line)
    return _KEY_VALUE.sub(_replace_key_value, line)


def _has_content(value: Any) -> bool:
    return value not in (None, "", [], {})


def redact(value: Any) -> Any:
    """Redact a primitive structure with no remembered secrets (for callers that hold no `Redactor`)."""
    return Redactor().value(value)


def redact_log(text: str) -> str:
    """A saved log (a target's stdout and stderr) with every secret form and remembered value redacted."""
    return Redactor().text(text)


def scrub_report(report: Any) -> None:
    """Redact a test report in place, where it is made (on the xdist worker that ran the test): the restored
    configuration's secret values are known only in that process, so they must be gone before the report
    travels to the controller, whose own redaction then handles every other form."""
    if not remembered_secrets():
        return
    redactor = Redactor()
    report.user_properties = [(name, redactor.value(value)) for name, value in report.user_properties]
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        # A skip's (path, line, reason): pytest and JUnit XML need the tuple form kept.
        path, line, reason = longrepr
        if (clean := redactor.text(str(reason))) != reason:
            report.longrepr = (path, line, clean)
    elif longrepr is not None:
        text = str(longrepr)
        clean = redactor.text(text)
        if clean != text:
            report.longrepr = clean
    report.sections = [(title, redactor.text(content)) for title, content in report.sections]
