"""`atlas-drills conformance`: the stand-in against itself (no difference), and against a deliberately divergent
server (a small proxy written here, in front of a stand-in) whose changes must be found and classified.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from atlas_drills.cli import main
from atlas_drills.conformance.compare import COSMETIC, VERDICT
from atlas_drills.conformance.run import ServerUnderTest, run_conformance
from atlas_drills.sandbox.target import load_target

# A server that answers what the stand-in behind it answers, except for one deliberate change (DIVERGE).
PROXY = """#!{python}
import json, os, socket, subprocess, sys, time
import urllib.request, urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

host, port = os.environ["ATLAS_BIND"].rsplit(":", 1)
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); inner = probe.getsockname()[1]; probe.close()
child = subprocess.Popen([sys.executable, "-m", "atlas_drills.standin"],
                         env={{**os.environ, "ATLAS_BIND": f"127.0.0.1:{{inner}}"}})
for _ in range(200):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{{inner}}/readyz", timeout=1); break
    except Exception:
        time.sleep(0.05)
change = os.environ.get("DIVERGE", "")

class Proxy(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        try:
            answer = urllib.request.urlopen(f"http://127.0.0.1:{{inner}}{{self.path}}", timeout=10)
        except urllib.error.HTTPError as error:
            answer = error
        status, headers, body = answer.status, dict(answer.headers), answer.read()
        if change == "transcript-order" and "/transcripts" in self.path and status == 200:
            document = json.loads(body)
            document["data"]["rows"].reverse()
            body = json.dumps(document).encode()
        if change == "ready-body" and self.path == "/readyz":
            body = b"READY"
        if change == "extra-header":
            headers["x-divergent"] = "yes"
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = ThreadingHTTPServer((host, int(port)), Proxy)
print(json.dumps({{"event_id": "startup", "message": "divergent proxy listening"}}), flush=True)
try:
    server.serve_forever()
finally:
    child.terminate()
"""


def _divergent(tmp_path: Path, change: str) -> tuple[Path, Path]:
    """The proxy script and a target file that runs it locally with DIVERGE=change."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "divergent-server"
    script.write_text(PROXY.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    target = tmp_path / "divergent.toml"
    standin = (Path(load_target("standin").source)).read_text()
    target.write_text(
        standin.replace('name = "stand-in"', 'name = "divergent"').replace(
            "[target.env]", f'[target.env]\nDIVERGE = "{change}"\nPYTHONPATH = "{Path.cwd()}"'
        )
    )
    return script, target


def test_the_standin_conforms_to_itself(sample_backup: Path, tmp_path: Path) -> None:
    result = run_conformance(sample_backup, ServerUnderTest(load_target("standin")), tmp_path)
    assert result.requests > 50, "every drill request of every dataset is asked"
    assert result.differences == [], "\n".join(d.render() for d in result.differences)


@pytest.mark.parametrize(
    ("change", "kind", "probe_part"),
    [
        ("transcript-order", VERDICT, "response"),  # the baseline replay compares rows in order
        ("ready-body", VERDICT, "body"),
        ("extra-header", COSMETIC, "header x-divergent"),
    ],
)
def test_a_divergent_server_is_caught_and_classified(
    sample_backup: Path, tmp_path: Path, change: str, kind: str, probe_part: str
) -> None:
    script, target_file = _divergent(tmp_path, change)
    server = ServerUnderTest(load_target(target_file).with_command(str(script)))
    result = run_conformance(sample_backup, server, tmp_path / "run")
    assert result.differences, f"{change}: no difference found"
    assert {d.kind for d in result.differences} == {kind}, "\n".join(d.render() for d in result.differences)
    assert any(d.part == probe_part for d in result.differences), [d.part for d in result.differences]


def test_the_command_exits_by_verdict_differences(
    sample_backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script, target_file = _divergent(tmp_path / "cosmetic", "extra-header")
    argv = ["conformance", "--command", str(script), "--target", str(target_file), "--backup", str(sample_backup)]
    assert main(argv) == 0, "cosmetic differences alone pass"
    assert "[cosmetic]" in capsys.readouterr().out
    script, target_file = _divergent(tmp_path / "verdict", "ready-body")
    argv = ["conformance", "--command", str(script), "--target", str(target_file), "--backup", str(sample_backup)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "[verdict] readyz: GET /readyz: body" in out
    assert '"ready"' in out
    assert '"READY"' in out


def test_an_unreachable_server_is_reported_not_compared(
    sample_backup: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "exits-at-once"
    broken.write_text("#!/bin/sh\necho 'no such server' >&2\nexit 3\n")
    broken.chmod(0o755)
    assert main(["conformance", "--command", str(broken), "--backup", str(sample_backup)]) == 2
    assert "could not compare" in capsys.readouterr().err
