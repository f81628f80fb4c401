"""What the matcher learns from behaviour: per-user preference weights and reputation.

A preference model is a logistic regression P(like) = sigmoid(b + w . x) over
`features.FEATURE_NAMES`. Three levels, each a Gaussian prior for the next:

1. `prior_model()`: the profile-only prior, 35/25/20/10/10 on values, communication,
   interests, depth and availability, small modifiers for proximity, recency and
   completeness, and trust in the crowd's reputation;
2. `fit_population_model()`: shared weights fitted on many users' decisions (one free
   intercept per user, since users differ in how often they like anyone), shrunk to 1;
3. `fit_user_model()`: one user's own likes and skips, shrunk to 2, so a new user gets
   the population's weights and moves away from them as evidence accumulates.

Reputation is a candidate's like-rate among everyone who decided on them, smoothed
towards the global rate, with the scoring viewer's own decision left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from eros.core.matching.features import N_FEATURES, REPUTATION_FEATURE
from eros.core.matching.interactions import NO_DECISION, InteractionLog

__all__ = [
    "CONFIDENCE_HALF_DECISIONS",
    "DEFAULT_POPULATION_PRIOR_PRECISION",
    "DEFAULT_REPUTATION_PRIOR_DECISIONS",
    "DEFAULT_USER_PRIOR_PRECISION",
    "PROFILE_PRIOR_WEIGHTS",
    "ModelTable",
    "PreferenceModel",
    "Reputation",
    "decider_offsets",
    "fit_population_model",
    "fit_user_model",
    "offsets_from_counts",
    "prior_model",
]

Float64 = NDArray[np.float64]
Int64 = NDArray[np.int64]

# Source documents' weights on values, communication, interests, depth, availability,
# then small modifiers for proximity, recency, completeness (FEATURE_NAMES order).
PROFILE_PRIOR_WEIGHTS: tuple[float, ...] = (0.35, 0.25, 0.20, 0.10, 0.10, 0.05, 0.05, 0.05)
PROFILE_PRIOR_SCALE = 1.0
"""Log-odds between a candidate perfect on every component and a neutral one."""
PRIOR_REPUTATION_WEIGHT = 1.0
"""Before any evidence a viewer is assumed to agree with the crowd, log-odds for log-odds."""
PRIOR_LIKE_RATE = 0.3
"""Like-rate assumed before any decision is seen (also the reputation fallback)."""

DEFAULT_POPULATION_PRIOR_PRECISION = 1.0
"""Weight precision of the hand-set prior in the population fit: weak, data-rich fit."""
DEFAULT_USER_PRIOR_PRECISION = 20.0
"""Weight precision of a user's prior, in squared feature units (~decisions x 4)."""
DEFAULT_INTERCEPT_PRECISION = 0.5
CONFIDENCE_HALF_DECISIONS = 20
"""A user with this many decisions has a model confidence of one half."""
DEFAULT_REPUTATION_PRIOR_DECISIONS = 10.0
"""Reputation counts as this many decisions at the global like-rate before evidence."""
REPUTATION_LOGIT_CLIP = 3.0
NEWTON_ITERATIONS = 25
# Keeps log-odds finite for rates of exactly 0 or 1.
RATE_EPSILON = 1e-6


def _sigmoid(z: Float64) -> Float64:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def _logit(p: Float64 | float) -> Float64:
    q = np.clip(p, RATE_EPSILON, 1 - RATE_EPSILON)
    return np.asarray(np.log(q / (1 - q)))


@dataclass(frozen=True, slots=True, eq=False)
class PreferenceModel:
    intercept: float
    weights: Float64  # (N_FEATURES,)
    n_decisions: int

    @property
    def confidence(self) -> float:
        """Grows from 0 (no evidence, pure prior) towards 1 with the number of decisions."""
        return self.n_decisions / (self.n_decisions + CONFIDENCE_HALF_DECISIONS)

    def predict(self, features: Float64) -> Float64:
        return _sigmoid(self.intercept + features @ self.weights)


def prior_model() -> PreferenceModel:
    weights = np.zeros(N_FEATURES)
    weights[: len(PROFILE_PRIOR_WEIGHTS)] = np.asarray(PROFILE_PRIOR_WEIGHTS) * PROFILE_PRIOR_SCALE
    weights[REPUTATION_FEATURE] = PRIOR_REPUTATION_WEIGHT
    return PreferenceModel(float(_logit(PRIOR_LIKE_RATE)), weights, 0)


def _newton_step(
    x: Float64, y: Float64, params: Float64, prior: Float64, precision: Float64
) -> Float64:
    p = _sigmoid(x @ params)
    grad = x.T @ (p - y) + precision * (params - prior)
    hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(precision)
    return np.asarray(params - np.linalg.solve(hess, grad))


def fit_user_model(
    features: Float64,
    liked: NDArray[np.bool_] | Float64,
    prior: PreferenceModel,
    precision: float = DEFAULT_USER_PRIOR_PRECISION,
    intercept_precision: float = DEFAULT_INTERCEPT_PRECISION,
) -> PreferenceModel:
    """MAP logistic regression of one user's decisions with a Gaussian prior at `prior`."""
    y = np.asarray(liked, dtype=np.float64)
    if y.shape[0] == 0:
        return prior
    x = np.hstack([np.ones((y.shape[0], 1)), features])
    mean = np.concatenate([[prior.intercept], prior.weights])
    prec = np.concatenate([[intercept_precision], np.full(N_FEATURES, precision)])
    params = mean.copy()
    for _ in range(NEWTON_ITERATIONS):
        params = _newton_step(x, y, params, mean, prec)
    return PreferenceModel(float(params[0]), params[1:], int(y.shape[0]))


def fit_population_model(
    features: Float64,
    liked: NDArray[np.bool_] | Float64,
    user_index: Int64,
    prior: PreferenceModel | None = None,
    precision: float = DEFAULT_POPULATION_PRIOR_PRECISION,
    intercept_precision: float = DEFAULT_INTERCEPT_PRECISION,
) -> PreferenceModel:
    """Shared weights over many users' decisions, with a free intercept per user.

    `user_index` says which user (0..users-1) made each decision. The per-user intercepts
    absorb how liberal each user is, so the shared weights describe what makes a
    candidate more likeable than the user's other candidates. The returned intercept is
    the mean user intercept.
    """
    prior = prior_model() if prior is None else prior
    y = np.asarray(liked, dtype=np.float64)
    if y.shape[0] == 0:
        return prior
    users = int(user_index.max()) + 1
    weights = prior.weights.copy()
    prec = np.full(N_FEATURES, precision)
    offsets = np.full(users, prior.intercept)
    centre = prior.intercept
    for _ in range(NEWTON_ITERATIONS):
        # Alternate exact-enough Newton steps: intercepts (separable per user), then weights.
        p = _sigmoid(offsets[user_index] + features @ weights)
        grad_b = np.bincount(user_index, p - y, users) + intercept_precision * (offsets - centre)
        hess_b = np.bincount(user_index, p * (1 - p), users) + intercept_precision
        offsets -= grad_b / hess_b
        centre = float(offsets.mean())
        shifted = features @ weights + offsets[user_index]
        p = _sigmoid(shifted)
        grad = features.T @ (p - y) + prec * (weights - prior.weights)
        hess = (features * (p * (1 - p))[:, None]).T @ features + np.diag(prec)
        weights = weights - np.linalg.solve(hess, grad)
    return PreferenceModel(centre, weights, int(y.shape[0]))


@dataclass(frozen=True, slots=True, eq=False)
class ModelTable:
    """Every pool row's preference model as arrays, for scoring all candidates at once."""

    intercepts: Float64  # (rows,)
    weights: Float64  # (rows, N_FEATURES)

    @classmethod
    def build(
        cls,
        size: int,
        default: PreferenceModel,
        models: Mapping[int, PreferenceModel] | None = None,
        default_offsets: Float64 | None = None,
    ) -> ModelTable:
        """`default` for every row, overridden by `models` (pool row -> model).

        `default_offsets` (per row, log-odds, from `decider_offsets`) shift the default
        intercept of the rows without a model of their own: how lenient each is.
        """
        intercepts = np.full(size, default.intercept)
        if default_offsets is not None:
            intercepts += default_offsets
        weights = np.tile(default.weights, (size, 1))
        for row, model in (models or {}).items():
            intercepts[row] = model.intercept
            weights[row] = model.weights
        return cls(intercepts, weights)

    def model(self, row: int) -> PreferenceModel:
        return PreferenceModel(float(self.intercepts[row]), self.weights[row], 0)

    def predict(self, rows: Int64, features: Float64) -> Float64:
        """Each row's own model applied to its own feature vector."""
        weights = np.take(self.weights, rows, axis=0)  # faster than fancy indexing
        z = np.take(self.intercepts, rows) + np.einsum("ij,ij->i", weights, features)
        return _sigmoid(z)


def decider_offsets(
    log: InteractionLog,
    size: int,
    prior_decisions: float = DEFAULT_REPUTATION_PRIOR_DECISIONS,
) -> Float64:
    """Per pool row, how much more often than everyone it says yes, as log-odds.

    The row's own like-rate as a decider, smoothed towards the global rate with
    `prior_decisions` pseudo-decisions, minus the global rate's log-odds (0 for a row
    without decisions). A stand-in for the per-user intercept of `fit_user_model` that
    costs two bincounts, for candidates who are not fitted themselves: a lenient
    candidate is likelier to say yes back.
    """
    actor = log.decision_actor
    in_pool = actor < size
    liked = log.decision_liked[in_pool].astype(np.float64)
    likes = np.bincount(actor[in_pool], liked, size).astype(np.float64)
    decisions = np.bincount(actor[in_pool], None, size).astype(np.float64)
    return offsets_from_counts(likes, decisions, prior_decisions)


def offsets_from_counts(
    likes: Float64,
    decisions: Float64,
    prior_decisions: float = DEFAULT_REPUTATION_PRIOR_DECISIONS,
) -> Float64:
    """`decider_offsets` from each row's likes and decisions given (production counts
    them in SQL, over everything each candidate decided, not only what the log holds)."""
    total = decisions.sum()
    rate = float(likes.sum() / total) if total > 0 else PRIOR_LIKE_RATE
    own = (likes + prior_decisions * rate) / (decisions + prior_decisions)
    return np.asarray(_logit(own) - _logit(rate))


@dataclass(frozen=True, slots=True, eq=False)
class Reputation:
    """Likes and decisions received per pool row, and the global like-rate to smooth with."""

    likes: Float64
    decisions: Float64
    prior_rate: float = PRIOR_LIKE_RATE
    prior_decisions: float = DEFAULT_REPUTATION_PRIOR_DECISIONS

    @classmethod
    def from_log(
        cls,
        log: InteractionLog,
        size: int,
        prior_decisions: float = DEFAULT_REPUTATION_PRIOR_DECISIONS,
    ) -> Reputation:
        """Counts from each pair's latest decision; `size` is the pool size."""
        target = log.decision_target
        in_pool = target < size
        liked = log.decision_liked[in_pool].astype(np.float64)
        likes = np.bincount(target[in_pool], liked, size).astype(np.float64)
        decisions = np.bincount(target[in_pool], None, size).astype(np.float64)
        total = decisions.sum()
        rate = float(likes.sum() / total) if total > 0 else PRIOR_LIKE_RATE
        return cls(likes, decisions, rate, prior_decisions)

    def logit(
        self,
        rows: Int64,
        left_out_likes: Float64 | float = 0.0,
        left_out_decisions: Float64 | float = 0.0,
    ) -> Float64:
        """Centred, clipped log-odds of each row's smoothed like-rate.

        The `left_out_*` counts are removed first: the scoring side's own decisions, so
        that nobody's opinion of a candidate echoes back to them as the crowd's.
        """
        likes = self.likes[rows] - left_out_likes
        decisions = self.decisions[rows] - left_out_decisions
        rate = (likes + self.prior_decisions * self.prior_rate) / (decisions + self.prior_decisions)
        centred = _logit(rate) - _logit(self.prior_rate)
        return np.asarray(np.clip(centred, -REPUTATION_LOGIT_CLIP, REPUTATION_LOGIT_CLIP))

    def logit_leaving_out(self, rows: Int64, decisions: NDArray[np.int8]) -> Float64:
        """`logit` with one decision per row left out (1 like, 0 skip, `NO_DECISION`)."""
        liked = (decisions == 1).astype(np.float64)
        decided = (decisions != NO_DECISION).astype(np.float64)
        return self.logit(rows, liked, decided)

    def rate(self, rows: Int64) -> Float64:
        likes, decisions = self.likes[rows], self.decisions[rows]
        return np.asarray(
            (likes + self.prior_decisions * self.prior_rate) / (decisions + self.prior_decisions)
        )
