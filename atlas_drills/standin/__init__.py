"""The stand-in: a standard-library HTTP server that follows Atlas's serving contract, so drills can run where the
real Atlas server cannot be built. It is not Atlas; the drills' target image stays configurable.

Standard library only (plus `atlas_drills.store` and `atlas_drills.runtime_config`, also stdlib-only), so it runs
in any image that has `python3`: `python -m atlas_drills.standin --store-root /store --cache-root /cache`.
"""
