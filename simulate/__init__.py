"""`eros simulate`: a synthetic population replayed through the production decision code.

See docs/simulate.md. The decisions (phase arithmetic, the scheduler's selection rule,
the planner, the off-peak windows) are the production functions, imported, not copied;
only storage (in-memory arrays instead of Redis) and the workers (CPU time drawn from
per-phase distributions) are simulated.
"""
