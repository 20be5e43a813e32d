"""What a sample is made of: the build recipe (`SampleConfig`), the built result (`SampleRelease`), and the plan
that turns one into the other (which datasets, how many genes each, which release identity).

Everything here is a pure function of the config, so the same seed always plans the same release.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from atlas_drills.store.dataset_id import DatasetId, DatasetIdError

MIN_GENES = 10
# A gene's share of the genome. Small on purpose: the FASTA is as long as the genome, and a drill needs query paths,
# not a realistic gene density. Genes longer than their window overlap their neighbours, as real genes can.
GENE_WINDOW_BASES = 1500


class SampleConfigError(ValueError):
    """A sample recipe that cannot be built; the message lists every problem."""


@dataclass(frozen=True)
class SampleConfig:
    """The recipe of a sample release. The same config always builds byte-identical files."""

    seed: int = 7
    genes: int = 2000  # genes in the newest release of the primary species
    releases: tuple[str, ...] = ("110", "111", "112")  # successive releases of the primary species
    species: str = "homo_sapiens"
    assembly: str = "GRCh38"
    second_species: str | None = "mus_musculus"  # one extra dataset, in the newest release
    second_assembly: str = "GRCm39"

    def problems(self) -> list[str]:
        """Every reason this recipe cannot be built (empty when it can)."""
        found: list[str] = []
        if self.seed < 0:
            found.append(f"seed {self.seed}: expected a non-negative integer")
        if self.genes < MIN_GENES:
            found.append(f"genes {self.genes}: expected at least {MIN_GENES}")
        if len(self.releases) < 2:
            found.append(
                f"releases {list(self.releases)}: expected at least two, so the newest has an earlier release "
                "to roll back to (rollback-policy max_rollback_depth >= 1)"
            )
        for release in self.releases:
            found.extend(_id_problems(release, self.species, self.assembly))
        if self.genes <= 2 * (len(self.releases) - 1):
            # Each release adds and removes a few genes; the universe must hold them all with room to spare.
            found.append(f"genes {self.genes}: expected more than 2 x (releases - 1) = {2 * (len(self.releases) - 1)}")
        numeric = [int(r) for r in self.releases if r.isdigit()]
        if len(numeric) == len(self.releases) and numeric != sorted(set(numeric)):
            found.append(f"releases {list(self.releases)}: expected strictly increasing release numbers")
        if self.second_species is not None:
            found.extend(_id_problems(self.releases[-1] if self.releases else "1", self.second_species, "x"))
            found.extend(_id_problems("1", "x", self.second_assembly))
            if (self.second_species, self.second_assembly) == (self.species, self.assembly):
                found.append("second species/assembly: expected a different dataset than the primary one")
        return sorted(set(found), key=found.index)

    def check(self) -> None:
        problems = self.problems()
        if problems:
            raise SampleConfigError("invalid sample config: " + "; ".join(problems))


def _id_problems(release: str, species: str, assembly: str) -> list[str]:
    try:
        DatasetId(release, species, assembly)
    except DatasetIdError as exc:
        return [str(exc)]
    return []


@dataclass(frozen=True)
class SampleRelease:
    """A built sample: where it lives and which release it is."""

    root: Path  # OUT
    store_root: Path  # OUT/store
    config_file: Path  # OUT/config/atlas.env
    datasets: tuple[DatasetId, ...]  # every catalogued dataset, sorted
    current: DatasetId  # newest release of the primary species (what a rollback removes)
    release_id: str  # ops release id "ops_run-<first 12 hex of git_sha>"
    git_sha: str  # 40 hex, derived deterministically from the seed
    governance_version: str  # "main@<git_sha>"


@dataclass(frozen=True)
class ReleaseIdentity:
    """The ops release identity (`identity.json`): Atlas derives all three values from one git sha."""

    git_sha: str

    @classmethod
    def for_seed(cls, seed: int) -> ReleaseIdentity:
        # A sample has no git history; a digest of the seed stands in for the commit it would be built from.
        return cls(hashlib.sha1(f"atlas-drills-sample:{seed}".encode(), usedforsecurity=False).hexdigest())

    @property
    def release_id(self) -> str:
        return f"ops_run-{self.git_sha[:12]}"

    @property
    def governance_version(self) -> str:
        return f"main@{self.git_sha}"


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset to build: its id, and its place in its species' release history."""

    dataset: DatasetId
    release_index: int  # position among its species' releases (0 = oldest)
    release_count: int  # releases of its species in the sample
    newest_genes: int  # gene count of its species' newest release
    published_at: int  # unix seconds, fixed: the publish sidecars' transition time


def plan_datasets(config: SampleConfig) -> list[DatasetPlan]:
    """The datasets of the sample, primary species first, oldest release first."""
    plans = [
        DatasetPlan(
            DatasetId(release, config.species, config.assembly),
            index,
            len(config.releases),
            config.genes,
            publication_time(index),
        )
        for index, release in enumerate(config.releases)
    ]
    if config.second_species is not None:
        newest = len(config.releases) - 1
        second = DatasetId(config.releases[newest], config.second_species, config.second_assembly)
        plans.append(DatasetPlan(second, 0, 1, second_species_genes(config), publication_time(newest)))
    return plans


def second_species_genes(config: SampleConfig) -> int:
    """The extra species is a tenth of the size: a second dataset to serve, cheap enough not to slow a build."""
    return max(MIN_GENES, config.genes // 10)


def current_dataset(config: SampleConfig) -> DatasetId:
    return DatasetId(config.releases[-1], config.species, config.assembly)


def publication_time(release_index: int) -> int:
    """When a release was published (unix seconds): fixed, never wall-clock, 30 days apart."""
    return 1_750_000_000 + release_index * 30 * 86_400
