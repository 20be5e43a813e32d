"""Known-bad backups: each injector turns a good backup into one broken in exactly one way.

A drill suite that never fails proves nothing. Every fault declares which success criteria it must break (or, for
archive faults, the restore rule that must refuse it); the detection matrix test proves each is caught by exactly
those criteria and nothing else changes verdict.
"""

from atlas_drills.faults.apply import FaultError, apply_fault
from atlas_drills.faults.catalog import FAULTS, Fault, fault_named

__all__ = ["FAULTS", "Fault", "FaultError", "apply_fault", "fault_named"]
