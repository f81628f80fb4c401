"""Reciprocal scoring: each side's predicted interest in the other, combined.

The viewer's interest in a candidate comes from the viewer's preference model over the
viewer-to-candidate features; the candidate's interest in the viewer from the
candidate's model over the candidate-to-viewer features. The match score is their
geometric mean, so a pair only ranks high when both sides are likely to say yes: it never
exceeds the square root of the lower side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.features import N_COMPONENTS, N_FEATURES, mutual_features, pair_features
from eros.core.matching.interactions import NO_DECISION, InteractionLog
from eros.core.matching.learning import PROFILE_PRIOR_WEIGHTS, ModelTable, Reputation
from eros.core.matching.pool import CandidatePool

__all__ = [
    "KNOWN_LIKE_INTEREST",
    "KNOWN_SKIP_INTEREST",
    "ScoredCandidates",
    "profile_prior_score",
    "reciprocal_score",
    "score_candidates",
    "training_examples",
]

KNOWN_LIKE_INTEREST = 1.0
"""A candidate who already liked the viewer is certainly interested."""
KNOWN_SKIP_INTEREST = 0.0
"""A candidate who already skipped the viewer is not."""
# The five main components the source documents weight; the rest only modify.
MAIN_COMPONENTS = 5
CHUNK_ROWS = 4096
"""Candidates scored per pass: temporaries of a few hundred kB stay in cache."""

Float64 = NDArray[np.float64]
Int64 = NDArray[np.int64]


def reciprocal_score(a_interest: Float64, b_interest: Float64) -> Float64:
    """Geometric mean of the two sides' interest, in [0, 1]."""
    return np.asarray(np.sqrt(np.clip(a_interest, 0.0, 1.0) * np.clip(b_interest, 0.0, 1.0)))


def profile_prior_score(components: Float64) -> Float64:
    """The profile-only score in [0, 1] that a user without any history starts from.

    The 35/25/20/10/10 weighted mean of the main components that are known (an unknown
    one neither helps nor hurts), times a small modifier per known proximity, recency
    and completeness: a modifier of weight m scales by (1 - m + m * component). With no
    main component known the score is neutral, 0.5.
    """
    weights = np.asarray(PROFILE_PRIOR_WEIGHTS)
    main = components[:, :MAIN_COMPONENTS]
    known = ~np.isnan(main)
    w = weights[:MAIN_COMPONENTS] * known
    total = w.sum(axis=1)
    base = np.full(components.shape[0], 0.5)
    np.divide((w * np.nan_to_num(main)).sum(axis=1), total, out=base, where=total > 0)
    mod_w = weights[MAIN_COMPONENTS:]
    mods = components[:, MAIN_COMPONENTS:]
    factor = np.where(np.isnan(mods), 1.0, 1.0 - mod_w + mod_w * np.nan_to_num(mods))
    return np.asarray(base * factor.prod(axis=1))


@dataclass(frozen=True, slots=True, eq=False)
class ScoredCandidates:
    rows: Int64
    viewer_interest: Float64  # P(viewer likes candidate)
    candidate_interest: Float64  # P(candidate likes viewer)
    score: Float64  # reciprocal score
    components: Float64  # (rows, components) viewer -> candidate, NaN = unknown
    features: Float64  # (rows, features) viewer -> candidate
    viewer_weights: Float64  # the viewer's model weights
    known_like: NDArray[np.bool_]  # candidate already liked the viewer

    def contributions(self, i: int) -> Float64:
        """Log-odds each feature adds to the viewer's interest in the i-th candidate."""
        return np.asarray(self.features[i] * self.viewer_weights)


def score_candidates(
    pool: CandidatePool,
    viewer: int,
    rows: Int64,
    now: float,
    models: ModelTable,
    reputation: Reputation,
    log: InteractionLog,
    *,
    use_known_interest: bool = True,
) -> ScoredCandidates:
    """Score `rows` for `viewer` from both sides.

    Each candidate's reputation leaves out the viewer's own decision on them. The
    viewer's reputation (which drives the candidates' interest) is one number for the
    whole list. With `use_known_interest`, a candidate's existing like or skip of the
    viewer replaces that candidate's predicted interest. An evaluation on historical
    decisions must turn this off, since that decision is what it predicts; the viewer's
    reputation then also leaves out every listed candidate's decision on the viewer, so
    that no candidate's score carries their own or a rival's answer.
    """
    me = pool.columns.take(np.asarray([viewer]))
    mine_on_them = log.decisions_of(viewer, rows)
    theirs_on_me = log.decisions_toward(viewer, rows)

    forward_rep = reputation.logit_leaving_out(rows, mine_on_them)
    viewer_row = np.asarray([viewer], np.int64)
    if use_known_interest:
        viewer_rep = reputation.logit(viewer_row)
    else:
        viewer_rep = reputation.logit(
            viewer_row,
            float((theirs_on_me == 1).sum()),
            float((theirs_on_me != NO_DECISION).sum()),
        )
    model = models.model(viewer)
    n = rows.shape[0]
    components = np.empty((n, N_COMPONENTS))
    forward = np.empty((n, N_FEATURES))
    viewer_interest = np.empty(n)
    candidate_interest = np.empty(n)
    # In chunks, so that the many temporaries stay in cache and below the allocator's
    # mmap threshold (whole-list temporaries cost page faults on every call).
    for lo in range(0, n, CHUNK_ROWS):
        part = slice(lo, lo + CHUNK_ROWS)
        them = pool.columns.take(rows[part])
        ab, x_ab, x_ba = mutual_features(
            me, them, now, forward_rep[part], np.broadcast_to(viewer_rep, (len(them),))
        )
        components[part], forward[part] = ab, x_ab
        viewer_interest[part] = model.predict(x_ab)
        candidate_interest[part] = models.predict(rows[part], x_ba)
    known_like = theirs_on_me == 1
    if use_known_interest:
        candidate_interest = np.where(known_like, KNOWN_LIKE_INTEREST, candidate_interest)
        candidate_interest = np.where(theirs_on_me == 0, KNOWN_SKIP_INTEREST, candidate_interest)
    else:
        known_like = np.zeros_like(known_like)
    return ScoredCandidates(
        rows=rows,
        viewer_interest=viewer_interest,
        candidate_interest=candidate_interest,
        score=reciprocal_score(viewer_interest, candidate_interest),
        components=components,
        features=forward,
        viewer_weights=model.weights,
        known_like=known_like,
    )


def training_examples(
    pool: CandidatePool, viewer: int, now: float, reputation: Reputation, log: InteractionLog
) -> tuple[Float64, NDArray[np.bool_]]:
    """(features, liked) of the viewer's decisions on people still in the pool.

    Features are computed from current profiles and reputation, with the viewer's own
    decision left out of each target's reputation (else the label leaks into a feature).
    """
    targets, liked = log.decided_by(viewer)
    in_pool = targets < len(pool)
    targets, liked = targets[in_pool], liked[in_pool]
    me = pool.columns.take(np.asarray([viewer]))
    them = pool.columns.take(targets)
    _, x = pair_features(me, them, now, reputation.logit_leaving_out(targets, liked))
    return x, liked == 1
