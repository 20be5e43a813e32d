"""The sample: a deterministic synthetic Atlas release, the embedded default every drill runs against.

    release = build_sample(tmp / "sample", SampleConfig(genes=300))
    release.store_root, release.config_file, release.current, release.release_id

Standard library and the store model only.
"""

from atlas_drills.sample.builder import SampleBuildError, build_sample, load_sample
from atlas_drills.sample.config import SampleConfig, SampleConfigError, SampleRelease

__all__ = ["SampleBuildError", "SampleConfig", "SampleConfigError", "SampleRelease", "build_sample", "load_sample"]
