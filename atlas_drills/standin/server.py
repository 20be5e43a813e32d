"""Startup, the HTTP listener, and shutdown with drain (contract §1.1).

Startup: settings → `config_loaded` log → initial catalog refresh (ready on Ok, or in cached-only mode) → optional
warmup → bind → `startup` log ("stand-in listening") → background refresh. SIGTERM/SIGINT: stop accepting requests
(`/live` 503, `draining:true`), sleep `ATLAS_SHUTDOWN_DRAIN_MS`, stop the listener, exit 0.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import urlsplit

from atlas_drills.standin import data_handlers as data
from atlas_drills.standin import handlers as ops
from atlas_drills.standin.app import RUNTIME_VERSION, SERVER_SOFTWARE, StandIn
from atlas_drills.standin.config import Settings
from atlas_drills.standin.logs import Logger
from atlas_drills.standin.registry import RefreshLoop
from atlas_drills.standin.responses import ApiError, error_response
from atlas_drills.standin.routes import Request, Router, dispatch, route

MAX_BODY_BYTES = 1 << 20


def build_router() -> Router:
    return Router(
        [
            route("GET", "/", ops.index),
            route("GET", "/health", ops.healthz),
            route("GET", "/healthz", ops.healthz),
            route("GET", "/healthz/overload", ops.overload),
            route("GET", "/ready", ops.readyz),
            route("GET", "/readyz", ops.readyz),
            route("GET", "/live", ops.live),
            route("GET", "/metrics", ops.metrics),
            route("GET", "/v1/version", ops.version),
            route("GET", "/v1/openapi.json", ops.openapi),
            route("GET", "/v1/datasets", data.list_datasets),
            route("GET", "/v1/datasets/{release}/{species}/{assembly}", data.get_dataset),
            route("GET", "/v1/releases/{release}/species/{species}/assemblies/{assembly}", data.release_alias),
            route("GET", "/v1/genes", data.genes),
            route("GET", "/v1/genes/count", data.genes_count),
            route("GET", "/v1/genes/{gene_id}/transcripts", data.gene_transcripts),
            route("GET", "/v1/transcripts/{tx_id}", data.transcript),
            route("POST", "/v1/query/validate", data.validate_query),
            route("GET", "/debug/build-metadata", ops.build_metadata),
            route("GET", "/debug/dataset-health", ops.dataset_health),
            route("GET", "/debug/dataset-registry", ops.dataset_registry),
            route("GET", "/debug/datasets", ops.debug_datasets),
        ]
    )


class StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: StandIn, router: Router) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.router = router
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    # Headers and body go out in two writes; without TCP_NODELAY the second waits for the client's delayed ACK
    # (about 40 ms per response on Linux).
    disable_nagle_algorithm = True
    server_version = SERVER_SOFTWARE
    sys_version = ""
    server: StandInHTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _serve(self) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        request = Request(self.command, url.path or "/", url.query, self.headers)
        length_text = self.headers.get("content-length") or "0"
        length = int(length_text) if length_text.isdigit() else 0
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            error = ApiError(413, "PayloadTooLarge", f"request body over {MAX_BODY_BYTES} bytes", {})
            response = error_response(error, "req-body-too-large")
        else:
            request.body = self.rfile.read(length) if length else b""
            response = dispatch(app, self.server.router, request)
        self.send_response(response.status)
        for name, value in response.header_items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status != 304 and response.body:
            self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        # Requests are logged by the dispatcher as JSON; the stdlib's plain access log would break one-JSON-per-line.
        pass


def serve(settings: Settings, logger: Logger) -> int:
    logger.event(
        "info",
        "config_loaded",
        "runtime configuration loaded",
        release_id=settings.release_id,
        governance_version=settings.governance_version,
        effective_config=settings.effective_config(),
    )
    settings.cache_root.mkdir(parents=True, exist_ok=True)
    app = StandIn.create(settings, logger)
    if not app.refresh():
        logger.event(
            "warn", "initial_catalog_refresh_failed", "initial catalog refresh failed", reason=app.registry.last_error
        )
    app.warmup()
    try:
        server = StandInHTTPServer((settings.bind_host, settings.bind_port), app, build_router())
    except OSError as exc:
        logger.event("error", "bind_failed", "cannot bind", bind_addr=settings.bind_addr, error=str(exc))
        return 1
    host, port = str(server.server_address[0]), int(server.server_address[1])
    bind_addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    logger.event(
        "info",
        "startup",
        "stand-in listening",
        release_id=settings.release_id,
        governance_version=settings.governance_version,
        bind_addr=bind_addr,
        version=RUNTIME_VERSION,
        ready=app.registry.is_ready_for_traffic(),
    )
    loop = RefreshLoop(app.refresh, app.registry.tick_seconds)
    loop.start()
    _install_signal_handlers(app, server)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        loop.stop()
        server.server_close()
    logger.event("info", "shutdown_complete", "stand-in stopped")
    return 0


def _install_signal_handlers(app: StandIn, server: StandInHTTPServer) -> None:
    def finish_drain() -> None:
        time.sleep(app.settings.shutdown_drain_ms / 1000)
        app.logger.event("info", "shutdown_drain_complete", "drain finished; stopping the listener")
        server.shutdown()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if app.draining.is_set():
            app.logger.event("info", "shutdown_signal_repeated", "already draining", signal=name)
            return
        app.begin_drain(name)
        threading.Thread(target=finish_drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
