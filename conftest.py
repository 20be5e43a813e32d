"""The suite root: lists the fixture and plugin modules, nothing else."""

pytest_plugins: list[str] = []
