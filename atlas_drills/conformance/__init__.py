"""Conformance: the stand-in and a given Atlas server, side by side, on every request the drills make."""
