"""`build_sample` and `load_sample`: a whole synthetic Atlas release, built atomically.

The build runs in a temporary sibling of OUT and is renamed into place at the end, so a crash or a kill never
leaves a half sample at OUT. The heavy steps (genomes, datasets) are independent tasks; with more than one worker
they run in separate processes, and since every task writes only its own files the result is byte-identical
whatever the worker count.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from multiprocessing.queues import SimpleQueue
from pathlib import Path
from typing import Any

from atlas_drills.sample.atlas_ingest import ATLAS_OUTPUT_ROOT, publish_atlas_dataset, run_atlas_ingest
from atlas_drills.sample.config import (
    DatasetPlan,
    ReleaseIdentity,
    SampleConfig,
    SampleRelease,
    current_dataset,
    plan_datasets,
)
from atlas_drills.sample.dataset_build import (
    DatasetResult,
    GenomeResult,
    Progress,
    build_genome,
    build_species,
    inputs_dir,
)
from atlas_drills.sample.dataset_manifest import dataset_manifest, publish, write_build_evidence
from atlas_drills.sample.files import ReleaseTree
from atlas_drills.sample.ops_datasets import (
    RUNTIME_CONFIG,
    ServedDataset,
    write_dataset_governance,
    write_observe_readiness,
    write_runtime_config,
)
from atlas_drills.sample.release_evidence import (
    IDENTITY,
    EvidenceInputs,
    toolchain_inventory,
    write_release_evidence,
)
from atlas_drills.store.canonical import canonical_sha256
from atlas_drills.store.catalog import Catalog, read_catalog, write_catalog
from atlas_drills.store.dataset_id import DatasetId

STORE_DIR = "store"
BUILD_POLICY = "build/inputs/policy.json"
PARALLEL_FROM_GENES = 50_000  # below this, starting worker processes costs more than it saves


class SampleBuildError(Exception):
    """The sample cannot be built or read where asked; the message says why and what to do."""


def build_sample(
    out: Path,
    config: SampleConfig = SampleConfig(),  # noqa: B008 - frozen dataclass: a shared default is safe
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    atlas_cli: Path | None = None,
) -> SampleRelease:
    """Build the sample release `config` describes into `out` (absent or empty), atomically.

    `workers`: processes for the heavy steps (default: one per CPU for large samples, in-process for small ones).
    `progress`: called with one human-readable line per step, for a CLI to print.
    `atlas_cli`: a `bijux-atlas` CLI binary; when given, every dataset's artifact and manifest are the ones its
    `ingest` writes from the sample's raw inputs (raises `AtlasIngestError` when it fails).
    """
    config.check()
    out = Path(out).absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SampleBuildError(f"{out}: exists and is not an empty folder; choose a new path or remove it first")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a sample is meant to be read by containers and tools
        _build_into(staging, config, _worker_count(config, workers), progress, atlas_cli)
        staging.rename(out)  # atomic; replaces an empty folder at `out`
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return load_sample(out)


def _worker_count(config: SampleConfig, workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if config.genes < PARALLEL_FROM_GENES or config.second_species is None:
        return 1  # one species is one task: nothing to run side by side
    return min(os.cpu_count() or 1, 2)


def _build_into(
    root: Path, config: SampleConfig, workers: int, progress: Progress | None, atlas_cli: Path | None
) -> None:
    say = progress or (lambda _line: None)
    plans = plan_datasets(config)
    genomes, results = _run_heavy_steps(root, config.seed, plans, workers, progress)
    tree = ReleaseTree(root)
    tree.write_json(BUILD_POLICY, {"schema_version": 1, "min_gene_count": 1, "max_anomalies": 0})
    policy_sha256 = tree.digests[BUILD_POLICY]
    toolchain_hash = canonical_sha256(toolchain_inventory())
    served = []
    for plan in plans:
        genome = genomes[(plan.dataset.species, plan.dataset.assembly)]
        _share_genome(root, plan.dataset, genome)
        result = results[plan.dataset]
        if atlas_cli is not None:
            atlas_derived = run_atlas_ingest(
                atlas_cli, inputs_dir(root, plan.dataset), root / ATLAS_OUTPUT_ROOT, plan.dataset
            )
            manifest = publish_atlas_dataset(atlas_derived, root / STORE_DIR, plan.dataset, plan.published_at)
            say(f"{plan.dataset}: artifact and manifest from {atlas_cli} ingest")
        else:
            manifest = dataset_manifest(
                result,
                genome,
                policy_sha256=policy_sha256,
                toolchain_hash=toolchain_hash,
                evidence_bundle_sha256=write_build_evidence(root, result, genome),
            )
            publish(root / STORE_DIR, manifest, plan.published_at)
        served.append(ServedDataset(manifest))
    write_catalog(root / STORE_DIR, Catalog.of([plan.dataset for plan in plans]))
    say(f"catalog: {len(plans)} datasets published")
    identity = ReleaseIdentity.for_seed(config.seed)
    current = current_dataset(config)
    write_dataset_governance(tree, served, rollback_depth=len(config.releases) - 1)
    write_observe_readiness(tree)
    write_runtime_config(tree, identity)
    write_release_evidence(tree, EvidenceInputs(identity, served, current, results[current].first_gene_id))
    say(f"release {identity.release_id}: evidence, packet and signing ledger written")


def _share_genome(root: Path, dataset: DatasetId, genome: GenomeResult) -> None:
    """Every release of an assembly ships the same genome files (copied, so each input folder stands alone)."""
    target = inputs_dir(root, dataset)
    for source in (genome.fasta, genome.fai):
        if source.parent != target:
            shutil.copyfile(source, target / source.name)


def _run_heavy_steps(
    root: Path, seed: int, plans: list[DatasetPlan], workers: int, progress: Progress | None
) -> tuple[dict[tuple[str, str], GenomeResult], dict[DatasetId, DatasetResult]]:
    """Genomes first (artifacts record their digests), then one task per species/assembly, biggest first."""
    species: dict[tuple[str, str], list[DatasetPlan]] = {}
    for plan in plans:
        species.setdefault((plan.dataset.species, plan.dataset.assembly), []).append(plan)
    by_size = sorted(species.items(), key=lambda item: -item[1][0].newest_genes * len(item[1]))
    say = progress or (lambda _line: None)
    if workers == 1:
        genomes = {key: build_genome(root, seed, group[0]) for key, group in species.items()}
        results: dict[DatasetId, DatasetResult] = {}
        for key, group in by_size:
            for result in build_species(root, seed, group, genomes[key], progress):
                results[result.dataset] = result
                say(f"dataset {len(results)}/{len(plans)} built: {result.dataset}")
        return genomes, results
    return _run_in_processes(
        root, seed, species=dict(by_size), workers=workers, say=say, relay_worker_progress=progress is not None
    )


def _run_in_processes(
    root: Path,
    seed: int,
    *,
    species: dict[tuple[str, str], list[DatasetPlan]],
    workers: int,
    say: Progress,
    relay_worker_progress: bool,
) -> tuple[dict[tuple[str, str], GenomeResult], dict[DatasetId, DatasetResult]]:
    # spawn, not fork: the caller may be a threaded pytest or CLI process, and forked threads can deadlock.
    context = get_context("spawn")
    messages: SimpleQueue[str | None] = context.SimpleQueue()
    relay = threading.Thread(target=_relay, args=(messages, say), daemon=True)
    relay.start()
    channel = messages if relay_worker_progress else None
    try:
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(channel,)) as pool:
            genome_futures = {key: pool.submit(build_genome, root, seed, group[0]) for key, group in species.items()}
            genomes = {key: future.result() for key, future in genome_futures.items()}
            say(f"genomes written: {', '.join(f'{s}/{a}' for s, a in genomes)}")
            futures: dict[tuple[str, str], Future[list[DatasetResult]]] = {
                key: pool.submit(_build_species_in_worker, root, seed, group, genomes[key])
                for key, group in species.items()
            }
            results: dict[DatasetId, DatasetResult] = {}
            total = sum(len(group) for group in species.values())
            for future in as_completed(futures.values()):
                for result in future.result():
                    results[result.dataset] = result
                    say(f"dataset {len(results)}/{total} built: {result.dataset}")
    finally:
        messages.put(None)
        relay.join(timeout=5)
    return genomes, results


_worker_messages: SimpleQueue[str | None] | None = None


def _init_worker(messages: SimpleQueue[str | None] | None) -> None:
    global _worker_messages  # noqa: PLW0603 - per-process channel, set once when the worker starts
    _worker_messages = messages


def _build_species_in_worker(
    root: Path, seed: int, plans: list[DatasetPlan], genome: GenomeResult
) -> list[DatasetResult]:
    messages = _worker_messages
    report: Callable[[str], None] | None = messages.put if messages is not None else None
    return build_species(root, seed, plans, genome, report)


def _relay(messages: SimpleQueue[str | None], say: Progress) -> None:
    while (line := messages.get()) is not None:
        say(line)


def load_sample(root: Path) -> SampleRelease:
    """Read back a built sample folder: release identity from identity.json, datasets from the catalog."""
    root = Path(root).absolute()
    identity_path = root / IDENTITY
    try:
        identity: dict[str, Any] = json.loads(identity_path.read_bytes())
        catalog = read_catalog(root / STORE_DIR)
    except (OSError, ValueError) as exc:
        raise SampleBuildError(
            f"{root}: not a sample folder ({exc}); build one with `atlas-drills sample build {root}`"
        ) from exc
    datasets = tuple(sorted(catalog.dataset_ids()))
    if not datasets:
        raise SampleBuildError(f"{root / STORE_DIR / 'catalog.json'}: lists no datasets")
    return SampleRelease(
        root=root,
        store_root=root / STORE_DIR,
        config_file=root / RUNTIME_CONFIG,
        datasets=datasets,
        current=_current_of(datasets),
        release_id=identity["release_id"],
        git_sha=identity["git_sha"],
        governance_version=identity["governance_version"],
    )


def _current_of(datasets: tuple[DatasetId, ...]) -> DatasetId:
    """The newest release of the primary species: the species/assembly with the most releases in the catalog."""
    groups: dict[tuple[str, str], list[DatasetId]] = {}
    for dataset in datasets:
        groups.setdefault((dataset.species, dataset.assembly), []).append(dataset)
    primary = max(groups.values(), key=len)
    return max(primary, key=lambda d: int(d.release))
