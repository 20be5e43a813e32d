"""pytest plugins of the drill suite (the drill report)."""
