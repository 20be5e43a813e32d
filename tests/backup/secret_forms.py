"""The 22 secret forms every output is checked against: how each is written into a runtime configuration
(`config/atlas.env`) and how a target might echo it into a log, with the secret bytes that must never show.

Each secret carries a random tag, so a grep for it cannot match anything but the planted value. Names are chosen
so that Atlas (and the stand-in) start on the configuration: `ATLAS_*` names are on the allowlist, the others are
not Atlas-guarded. Several forms sit under names that do not look secret at all; only their form, or the value
remembered from the configuration, gives them away.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretForm:
    name: str
    config_line: str  # a NAME=value line of config/atlas.env
    log_line: str  # how a target (or a check) might print it
    secret: str  # the bytes that must never reach an output


def _tag() -> str:
    return secrets.token_hex(6)


def secret_forms() -> list[SecretForm]:
    """A fresh set of planted secrets (new random values on every call)."""
    t = [_tag() for _ in range(22)]
    akid = "AKIA" + secrets.token_hex(8).upper()[:16]
    jwt = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{t[18]}.sig{t[18]}"
    pem_body = f"MIIEpAIBAAKCAQEA{t[16]}"
    forms = [
        ("name *_PASSWORD", f"ATLAS_REDIS_PASSWORD=pw{t[0]}", f"ATLAS_REDIS_PASSWORD=pw{t[0]}", f"pw{t[0]}"),
        ("name *_SECRET", f"OIDC_CLIENT_SECRET=cs{t[1]}", f"client_secret: cs{t[1]}", f"cs{t[1]}"),
        ("name *_TOKEN", f"DEPLOY_TOKEN=tk{t[2]}", f'{{"DEPLOY_TOKEN": "tk{t[2]}"}}', f"tk{t[2]}"),
        ("name *_API_KEY", f"SEARCH_API_KEY=ak{t[3]}", f"search_api_key=ak{t[3]}", f"ak{t[3]}"),
        ("name *_BEARER", f"ATLAS_STORE_S3_BEARER=br{t[4]}", f"'ATLAS_STORE_S3_BEARER': 'br{t[4]}'", f"br{t[4]}"),
        ("name *_PASSPHRASE", f"BACKUP_PASSPHRASE=pp{t[5]}", f"BACKUP_PASSPHRASE=pp{t[5]}", f"pp{t[5]}"),
        ("name *_CREDENTIALS", f"DEPLOY_CREDENTIALS=cr{t[6]}", f"DEPLOY_CREDENTIALS=cr{t[6]}", f"cr{t[6]}"),
        ("name *_PRIVATE_KEY", f"SIGNING_PRIVATE_KEY=pk{t[7]}", f"SIGNING_PRIVATE_KEY: pk{t[7]}", f"pk{t[7]}"),
        ("name *_ACCESS_KEY", f"AWS_SECRET_ACCESS_KEY=sa{t[8]}", f"aws_secret_access_key = sa{t[8]}", f"sa{t[8]}"),
        ("JSON password", f'DB_JSON={{"password":"js{t[9]}"}}', f'{{"db": {{"password": "js{t[9]}"}}}}', f"js{t[9]}"),
        (
            "Authorization: Bearer",
            f"PROBE_HEADER=Authorization: Bearer hb{t[10]}",
            f"GET /v1 Authorization: Bearer hb{t[10]}",
            f"hb{t[10]}",
        ),
        (
            "Authorization: Basic",
            f"UPSTREAM_AUTH=Basic YmFz{t[11]}",
            f"Authorization: Basic YmFz{t[11]}",
            f"YmFz{t[11]}",
        ),
        ("X-Api-Key header", f"EXTRA_HEADER=X-Api-Key: xk{t[12]}", f"X-Api-Key: xk{t[12]}", f"xk{t[12]}"),
        (
            "URL user:password",
            f"ATLAS_REDIS_URL=redis://atlas:up{t[13]}@127.0.0.1:6390/0",
            f"connecting to redis://atlas:up{t[13]}@127.0.0.1:6390/0",
            f"up{t[13]}",
        ),
        (
            "URL :password only",
            f"ATLAS_STORE_S3_BASE_URL=https://:po{t[14]}@s3.invalid/bucket",
            f"store at https://:po{t[14]}@s3.invalid/bucket",
            f"po{t[14]}",
        ),
        (
            "URL query token",
            f"WEBHOOK=https://hooks.invalid/x?token=qt{t[15]}",
            f"POST https://hooks.invalid/x?token=qt{t[15]}",
            f"qt{t[15]}",
        ),
        (
            "PEM block",
            f"TLS_KEY=-----BEGIN RSA PRIVATE KEY-----\\n{pem_body}\\n-----END RSA PRIVATE KEY-----",
            f"-----BEGIN RSA PRIVATE KEY-----\n{pem_body}\n-----END RSA PRIVATE KEY-----",
            pem_body,
        ),
        ("AWS access key id", f"STORE_KEY_ID={akid}", f"using key {akid} for s3", akid),
        ("JWT", f"SESSION={jwt}", f"session {jwt} expired", jwt),
        ("GitHub token", f"CI_PUSH=ghp_{t[19]}{t[19]}{t[19]}", f"push with ghp_{t[19]}{t[19]}{t[19]}", f"ghp_{t[19]}"),
        ("Slack token", f"NOTIFY=xoxb-{t[20]}-{t[20]}", f"posting with xoxb-{t[20]}-{t[20]}", f"xoxb-{t[20]}"),
        # By value: a secret under a secret name, echoed later with no name at all.
        ("value echoed bare", f"ATLAS_STORE_HTTP_BEARER=bv{t[21]}", f"retrying with bv{t[21]} after 401", f"bv{t[21]}"),
    ]
    return [SecretForm(*form) for form in forms]
