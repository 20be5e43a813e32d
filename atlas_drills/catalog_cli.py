"""`atlas-drills catalog rebuild STORE [--out FILE]`: the catalog Atlas's own commands would build from the store's
sealed datasets. Never writes into STORE unless `--out` names a file there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _rebuild(args: argparse.Namespace) -> int:
    from atlas_drills.store.rebuild import rebuild_catalog, write_rebuilt

    store: Path = args.store
    try:
        rebuild = rebuild_catalog(store)
    except (FileNotFoundError, NotADirectoryError) as exc:
        print(f"atlas-drills catalog rebuild: {exc}; give the serving store's root folder", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"atlas-drills catalog rebuild: {store}: cannot read the store: {exc}", file=sys.stderr)
        return 2
    notes = [f"entered  {f.dataset.canonical} (sealed)" for f in rebuild.folders if f.state == "sealed"]
    notes += [f"left out {f.dataset.canonical} ({f.state}: {'; '.join(f.reasons)})" for f in rebuild.left_out]
    notes += [f"skipped  {name} (not a release=/species=/assembly= dataset folder)" for name in rebuild.skipped]
    if args.out is None:
        sys.stdout.buffer.write(rebuild.catalog.canonical_file_bytes())  # the very bytes, as Atlas writes them
        sys.stdout.flush()
    else:
        try:
            checksum = write_rebuilt(rebuild, args.out)
        except OSError as exc:
            print(f"atlas-drills catalog rebuild: --out {args.out}: cannot write: {exc}", file=sys.stderr)
            return 2
        notes.append(f"wrote    {args.out} and {checksum}")
    notes.append(f"catalog_epoch {rebuild.catalog.epoch} ({len(rebuild.sealed)} datasets)")
    print("\n".join(notes), file=sys.stderr if args.out is None else sys.stdout)
    return 0


def register(commands: Any) -> None:
    catalog = commands.add_parser(
        "catalog",
        help="rebuild a serving store's catalog from its sealed datasets",
        description="Catalog reconstruction, the way Atlas's `catalog promote` builds a catalog.",
    )
    actions = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild",
        help="rebuild catalog.json (and catalog.sha256) from the store's sealed datasets",
        description="Only sealed datasets enter (manifest.json, gene_summary.sqlite, manifest.lock and "
        "immutable.release.json present, no publish temporaries, lock and marker matching the bytes); staged and "
        "quarantined ones are listed as left out, with why. Entries are in Atlas's order, written in Atlas's "
        "canonical form; the checksum file holds the catalog epoch.",
    )
    rebuild.add_argument("store", type=Path, metavar="STORE", help="the serving store's root folder (read only)")
    rebuild.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the catalog here, and its checksum beside it (catalog.sha256 when FILE is named catalog.json, "
        "else FILE.sha256); without it the catalog goes to stdout and nothing is written",
    )
    rebuild.set_defaults(handler=_rebuild)
