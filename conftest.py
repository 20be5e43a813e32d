"""The suite root: lists the fixture and plugin modules, nothing else."""

pytest_plugins = [
    "plugins.options",
    "plugins.run",
    "fixtures.drills",
    "fixtures.restore",
    "fixtures.evidence",
    "plugins.drill_report.plugin",
    "fixtures.atlas",
]
