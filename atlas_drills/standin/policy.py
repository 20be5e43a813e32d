"""Atlas's embedded access policy (default decision: deny), as the stand-in applies it.

Atlas 0.2.1 embeds `resources/security/policy.yaml` and asks it about every request: the principal (`operator` for
its admin endpoints, else `user` while auth is disabled), an action and a resource kind derived from the route, and
the route itself (a rule lists route prefixes). A request no rule allows answers 403 `AccessForbidden`, before any
route matching: so `/live`, `/health`, `/ready`, `/` and unknown paths answer 403 there, not 200 or 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas_drills.standin.responses import ApiError

AUTH_EXEMPT = frozenset(
    {"/health", "/healthz", "/healthz/overload", "/ready", "/readyz", "/live", "/metrics", "/v1/version"}
    | {"/v1/openapi.json"}
)
ADMIN_ENDPOINTS = frozenset(
    {
        "/debug/datasets",
        "/debug/dataset-health",
        "/debug/registry-health",
        "/debug/diagnostics",
        "/debug/runtime-stats",
        "/debug/system-info",
        "/debug/build-metadata",
        "/debug/runtime-config",
        "/debug/dataset-registry",
        "/debug/shard-map",
        "/debug/query-planner-stats",
        "/debug/cache-stats",
        "/debug/cluster/nodes",
        "/debug/cluster-status",
        "/debug/cluster/register",
        "/debug/cluster/heartbeat",
        "/debug/cluster/mode",
        "/v1/_debug/echo",
    }
)


@dataclass(frozen=True)
class Rule:
    principals: frozenset[str]
    actions: frozenset[str]
    kinds: frozenset[str]
    routes: tuple[str, ...]  # prefixes


_EVERYONE = frozenset({"user", "service-account", "operator", "ci"})
RULES = (
    Rule(
        _EVERYONE,
        frozenset({"catalog.read"}),
        frozenset({"namespace"}),
        ("/healthz", "/healthz/overload", "/readyz", "/metrics", "/v1/openapi.json", "/v1/version"),
    ),
    Rule(
        _EVERYONE,
        frozenset({"catalog.read", "dataset.read"}),
        frozenset({"dataset-id", "namespace"}),
        (
            "/v1/datasets",
            "/v1/releases",
            "/v1/genes",
            "/v1/query/validate",
            "/v1/sequence",
            "/v1/diff",
            "/v1/transcripts",
        ),
    ),
    Rule(
        frozenset({"operator", "ci"}),
        frozenset({"ops.admin", "dataset.ingest"}),
        frozenset({"namespace", "project"}),
        ("/debug", "/v1/_debug"),
    ),
)


def action_and_kind(path: str) -> tuple[str, str]:
    if path in AUTH_EXEMPT:
        return "catalog.read", "namespace"
    if path in ADMIN_ENDPOINTS:
        return "ops.admin", "namespace"
    return "dataset.read", "dataset-id"


def allows(path: str) -> bool:
    """The first rule matching principal, action, kind and route decides; none matching denies."""
    principal = "operator" if path in ADMIN_ENDPOINTS else "user"
    action, kind = action_and_kind(path)
    for rule in RULES:
        applies = principal in rule.principals and action in rule.actions and kind in rule.kinds
        if applies and any(path.startswith(prefix) for prefix in rule.routes):
            return True
    return False


def check_access(path: str) -> None:
    if not allows(path):
        action, kind = action_and_kind(path)
        raise ApiError(
            403, "AccessForbidden", "request denied by access policy", {"action": action, "resource_kind": kind}
        )
