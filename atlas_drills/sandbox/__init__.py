"""Sandboxes: where a target runs on restored state (a Docker container, or a local process as a fallback)."""
