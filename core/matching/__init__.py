"""The reciprocal matcher: pure, NumPy-vectorised, no I/O.

Typical worker flow, once per batch::

    pool = CandidatePool.from_profiles(profiles, vocabulary)
    log = InteractionLog.from_events(events, pool)
    blocks = BlockGraph.from_pairs(block_pairs, pool)
    reputation = Reputation.from_log(log, len(pool))
    population = fit_population_model(x, liked, user_index)   # from training_examples
    models = ModelTable.build(len(pool), population, {row: fit_user_model(...), ...})
    ctx = MatchContext(pool, models, reputation, log, blocks)
    ledger = ExposureLedger.fresh(len(pool))   # one per batch: the per-day exposure cap
    matches = {v: rank_for_viewer(ctx, v, now, exposure=ledger)
               for v in daily_order(viewer_rows, day)}

See docs/matching.md for the model and its evaluation.
"""

from eros.core.matching.components import COMPONENT_NAMES, component_pairs
from eros.core.matching.features import FEATURE_NAMES, pair_features
from eros.core.matching.filters import FilterRules, candidate_rows, distance_km
from eros.core.matching.interactions import (
    BlockGraph,
    Interaction,
    InteractionKind,
    InteractionLog,
)
from eros.core.matching.learning import (
    ModelTable,
    PreferenceModel,
    Reputation,
    decider_offsets,
    fit_population_model,
    fit_user_model,
    offsets_from_counts,
    prior_model,
)
from eros.core.matching.pool import CandidatePool, ProfileColumns
from eros.core.matching.profile import (
    AvailabilityWindow,
    MatchProfile,
    MatchVocabulary,
    NonNegotiable,
    NonNegotiableKind,
    UserId,
)
from eros.core.matching.ranking import (
    ExposureLedger,
    Match,
    MatchContext,
    Reason,
    daily_order,
    rank_for_viewer,
)
from eros.core.matching.scoring import (
    ScoredCandidates,
    profile_prior_score,
    reciprocal_score,
    score_candidates,
    training_examples,
)

__all__ = [
    "COMPONENT_NAMES",
    "FEATURE_NAMES",
    "AvailabilityWindow",
    "BlockGraph",
    "CandidatePool",
    "ExposureLedger",
    "FilterRules",
    "Interaction",
    "InteractionKind",
    "InteractionLog",
    "Match",
    "MatchContext",
    "MatchProfile",
    "MatchVocabulary",
    "ModelTable",
    "NonNegotiable",
    "NonNegotiableKind",
    "PreferenceModel",
    "ProfileColumns",
    "Reason",
    "Reputation",
    "ScoredCandidates",
    "UserId",
    "candidate_rows",
    "component_pairs",
    "daily_order",
    "decider_offsets",
    "distance_km",
    "fit_population_model",
    "fit_user_model",
    "offsets_from_counts",
    "pair_features",
    "prior_model",
    "profile_prior_score",
    "rank_for_viewer",
    "reciprocal_score",
    "score_candidates",
    "training_examples",
]
