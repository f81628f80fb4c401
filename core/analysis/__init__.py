"""What the idle-phase jobs compute: learned patterns, ultimate preferences, daily matches.

Pure parts (`patterns`, `preferences`, `daily`) are separate from storage (`store`) and
from serving (`delivery`, `feedback`). The pipeline's work that runs them is in
`eros.worker.phases`. See docs/analysis.md.
"""
