"""The recovery drills: one module per success criterion of Atlas's recovery page."""
