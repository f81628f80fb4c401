"""What the operator publishes for the other components: the resource's phase configuration.

The scheduler, the API and the workers follow it (`eros.core.phase_config`), so that the
ErosProcessing is the one place where thresholds, queues and off-peak windows are set.
"""

from __future__ import annotations

from eros.core.phase_config import PhaseConfig
from eros.operator.manifests import Owner
from eros.operator.spec import ProcessingSpec


def build_phase_config(spec: ProcessingSpec, owner: Owner, generation: int | None) -> PhaseConfig:
    """The validated spec as the components read it, stamped with the resource's generation."""
    window = spec.off_peak.window
    return PhaseConfig(
        idle_seconds=tuple(phase.idle_after_seconds for phase in spec.phases),
        queues=tuple(phase.queue for phase in spec.phases),
        windows=tuple(window if phase.off_peak_only else None for phase in spec.phases),
        time_zone=spec.off_peak.time_zone,
        cpu_budget_percent=tuple(float(phase.cpu_budget_percent) for phase in spec.phases),
        priority=spec.priority,
        paused=spec.paused,
        source=f"{owner.namespace}/{owner.name}",
        generation=generation,
    )
