"""atlas-drills: recovery drills for Atlas serving stores.

`atlas_drills.store` and `atlas_drills.standin` use the Python standard library only, because the stand-in is
copied into target images that have nothing but `python3`.
"""

__version__ = "0.1.0"
TOOL_NAME = "atlas-drills"
