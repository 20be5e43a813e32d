"""`atlas-drills serve` and `python -m atlas_drills.standin`: the stand-in's command line, with Atlas's flags.

`--config FILE`, `--bind`, `--store-root`, `--cache-root`, `--print-effective-config`, `--validate-config`. The last
two exit before binding. Precedence: CLI > environment > config file > default. A configuration the stand-in refuses
(unknown `ATLAS_*`/`BIJUX_*` name, bad value, relative path) exits with code 2 and says what to fix.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

SERVE_HELP = "serve a store with the stand-in (a server that follows Atlas's serving contract; it is not Atlas)"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="env file of ATLAS_* settings (or JSON/TOML)")
    parser.add_argument("--bind", metavar="IP:PORT", help="listen address (ATLAS_BIND; default 0.0.0.0:8080)")
    parser.add_argument("--store-root", metavar="DIR", help="absolute path of the serving store (ATLAS_STORE_ROOT)")
    parser.add_argument("--cache-root", metavar="DIR", help="absolute path of the disposable cache (ATLAS_CACHE_ROOT)")
    parser.add_argument(
        "--print-effective-config",
        action="store_true",
        help="print the effective configuration (secrets redacted) as JSON and exit",
    )
    parser.add_argument("--validate-config", action="store_true", help="check the configuration and exit")


def run(args: argparse.Namespace) -> int:
    """Load the configuration, then print it, check it, or serve."""
    from atlas_drills.standin.config import CliOverrides, ConfigError, describe_error, load_settings
    from atlas_drills.standin.logs import Logger
    from atlas_drills.standin.server import serve

    overrides = CliOverrides(args.config, args.bind, args.store_root, args.cache_root)
    try:
        settings = load_settings(dict(os.environ), overrides)
    except ConfigError as exc:
        print(f"atlas-drills stand-in: configuration rejected: {describe_error(exc)}", file=sys.stderr)
        return exc.exit_code
    if args.print_effective_config:
        print(json.dumps(settings.effective_config(), indent=2, sort_keys=True))
        return 0
    if args.validate_config:
        print(f"configuration valid; runtime_policy_hash={settings.runtime_policy_hash()}")
        return 0
    return serve(settings, Logger(json_lines=settings.log_json, level=settings.log_level))


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help=SERVE_HELP, description=SERVE_HELP)
    add_serve_arguments(parser)
    parser.set_defaults(handler=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atlas_drills.standin", description=SERVE_HELP)
    add_serve_arguments(parser)
    return run(parser.parse_args(argv))
