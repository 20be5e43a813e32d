"""`atlas-drills sample build OUT`: build the deterministic synthetic release every drill uses by default."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from atlas_drills.sample.atlas_ingest import AtlasIngestError
from atlas_drills.sample.builder import SampleBuildError, build_sample
from atlas_drills.sample.config import SampleConfig, SampleConfigError
from atlas_drills.store.errors import StoreError

EXIT_OK = 0
EXIT_BUILD_FAILED = 1
EXIT_USAGE = 2

_DEFAULTS = SampleConfig()
_LAYOUT = """\
layout of OUT (every path in the release files is relative to OUT):
  store/                      the serving store: catalog.json, catalog.sha256 and, per dataset,
                              release=R/species=S/assembly=A/derived/{manifest.json, gene_summary.sqlite,
                              manifest.lock, immutable.release.json, lifecycle.*.json}
  config/atlas.env            runtime configuration (allowlisted ATLAS_* names; no bind/store/cache roots)
  ops/release/                identity, provenance, evidence manifest + bundle.tar, signing ledger, packet
  ops/datasets/               rollback policy, dataset inventory + manifest.lock, promotion rules, index
  ops/observe/readiness.json  observability readiness
  build/                      the build root (raw GFF3/FASTA/FAI inputs, ingest evidence; with --atlas-cli,
                              build/atlas/ is Atlas's ingest output root): never back it up

The same options always produce byte-identical files.
"""


def register(commands: Any) -> None:
    sample = commands.add_parser(
        "sample",
        help="build the deterministic synthetic Atlas release (the drills' default)",
        description="Synthetic Atlas releases: serving store, runtime config and release evidence.",
    )
    sample_commands = sample.add_subparsers(dest="sample_command", required=True, metavar="SUBCOMMAND")
    build = sample_commands.add_parser(
        "build",
        help="build a sample release into OUT",
        description="Build a synthetic Atlas release into OUT: several releases of one species (so a rollback "
        "has somewhere to go) plus one dataset of a second species, with everything a recovery drill "
        "checks. OUT must not exist or be empty; the build happens in a temporary sibling and is renamed "
        "into place, so OUT never holds a half-built sample.",
        epilog=_LAYOUT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("out", type=Path, metavar="OUT", help="folder to create (absent or empty)")
    build.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="random seed (default: %(default)s)")
    build.add_argument(
        "--genes",
        type=int,
        default=_DEFAULTS.genes,
        help="genes in the newest release of the primary species (default: %(default)s); "
        "the second species gets a tenth as many",
    )
    build.add_argument(
        "--releases",
        type=_release_list,
        default=_DEFAULTS.releases,
        metavar="R1,R2,...",
        help="successive releases of the primary species, oldest first (default: %(default)s)",
    )
    build.add_argument("--species", default=_DEFAULTS.species, help="primary species (default: %(default)s)")
    build.add_argument("--assembly", default=_DEFAULTS.assembly, help="primary assembly (default: %(default)s)")
    build.add_argument(
        "--second-species",
        type=_optional_species,
        default=_DEFAULTS.second_species,
        metavar="NAME|none",
        help="species of the extra dataset in the newest release, or 'none' (default: %(default)s)",
    )
    build.add_argument(
        "--second-assembly", default=_DEFAULTS.second_assembly, help="its assembly (default: %(default)s)"
    )
    build.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per CPU for large samples)"
    )
    build.add_argument(
        "--atlas-cli",
        type=Path,
        metavar="PATH",
        help="a bijux-atlas CLI binary: build every dataset's artifact and manifest with its own `ingest` from "
        "the sample's raw inputs (build/inputs/), instead of this builder",
    )
    build.add_argument("--quiet", action="store_true", help="no progress on stderr")
    build.set_defaults(handler=run_build)


def _release_list(text: str) -> tuple[str, ...]:
    releases = tuple(part.strip() for part in text.split(","))
    if not all(releases):
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated release numbers, e.g. 110,111,112")
    return releases


def _optional_species(text: str) -> str | None:
    return None if text.lower() == "none" else text


def run_build(args: argparse.Namespace) -> int:
    config = SampleConfig(
        seed=args.seed,
        genes=args.genes,
        releases=args.releases,
        species=args.species,
        assembly=args.assembly,
        second_species=args.second_species,
        second_assembly=args.second_assembly,
    )
    problems = config.problems()
    if problems:
        for problem in problems:
            print(f"atlas-drills sample build: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    try:
        release = build_sample(
            args.out,
            config,
            workers=args.workers,
            progress=None if args.quiet else progress,
            atlas_cli=args.atlas_cli.absolute() if args.atlas_cli else None,
        )
    except AtlasIngestError as exc:
        print(f"atlas-drills sample build: failed: {exc}", file=sys.stderr)
        return EXIT_BUILD_FAILED
    except SampleBuildError as exc:
        print(f"atlas-drills sample build: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, StoreError, SampleConfigError) as exc:
        print(f"atlas-drills sample build: failed: {exc}", file=sys.stderr)
        return EXIT_BUILD_FAILED
    if not args.quiet:
        progress(f"done: {release.root}")
    print(release.root)
    return EXIT_OK
