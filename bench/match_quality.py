"""Matcher quality on real decisions: the Speed Dating Experiment, waves 1-14.

Data: Fisman, Iyengar, Kamenica and Simonson (QJE 2006), `speed_dating_waves_01-14.csv`
(see its README). Waves 15-21 are held out by the project owner and never read here.

Protocol
--------
* One person (`iid`) = one EROS user. Their profile is built from their own Time-1
  sign-up answers only: interest sliders (1-10 -> 0-100) as interests; what they look
  for (`attr1_1` ... `shar1_1`, points out of 100) as values; self-rated fun and
  sincerity (`fun3_1`, `sinc3_1`, 1-10 -> 0-100) as proxies for the humour and
  directness of their communication style; `goal` as conversation depth; `age` as the
  birth date. No availability or location exists in the data, so those components are
  unknown (neutral). A partner's fields are read from the partner's own rows, never from
  the `*_o` columns.
* Each person's dates are sorted by `order`; the first half (rounded down) is their
  history, turned into like/skip interactions from `dec`; the later half is evaluated.
* The matcher runs through production's own functions, nothing evaluation-only: the
  population model is what the fit job stores (`eros.core.population_training`:
  `training_set` over the history decisions, then `fit`, i.e. `training_examples` ->
  `fit_population_model`, one model for everyone); each viewer gets
  `fit_user_model` shrunk to it, and every candidate scores with the population model,
  as `eros.core.recommendation_inputs.rank` does; then `score_candidates(...,
  use_known_interest=False)`. The viewer's interest ranks `dec`; the reciprocal score
  (geometric mean with the partner's predicted interest) ranks `match`. The production
  path shifts each unfitted candidate's intercept by their leniency (`decider_offsets`,
  their yes-rate in the history halves; production counts it in SQL through the same
  `offsets_from_counts`); "without leniency" is the path before that; "every side
  fitted" gives every candidate their own `fit_user_model` too.
* Reputation is a partner's smoothed like-rate with the scored pair's decision left
  out. "other raters": every decision by everyone else (what the popularity baseline
  uses). "causal": only decisions from the history halves, i.e. made before the
  evaluated dates.
* Never used: ratings made during or after a date (`attr`, `sinc`, `intel`, `fun`,
  `amb`, `shar`, `like`, `prob`, `met`), any `*_o` column, `match`/`dec` of the scored
  pair (except as the label), `int_corr`, `samerace`.
* Metrics, per gender of the deciding person, on the evaluated (later) dates:
  within-person AUC of `dec` (mean over people with both a yes and a no); AUC of
  `match` over pairs whose both decisions are in the evaluated halves, scored by each
  method's reciprocal version (geometric mean of both sides; symmetric scores as is);
  precision@3 of yes among each person's three top-scored later dates. 95% intervals
  from a bootstrap over people (same draws for every method, so the paired difference
  to partner popularity also gets an interval).
* Baselines (the data README's): random; cosine of interest sliders; stated weights
  (`attr1_1`...) x partner's self-ratings (`attr3_1`...); per-person logistic weights
  over the partner's self-ratings, age and interest cosine, learned from the person's
  history only; partner popularity (yes-rate from other raters, the scorer excluded);
  the selectivity-aware reciprocal sqrt(pop(j) sel(i) pop(i) sel(j)), sel = a person's
  yes-rate in their history half (the pair's other side left out). Every matcher row
  gets a paired difference to popularity and to the selectivity-aware baseline.
* Research rows, `dec` only ("likes you", dyadic reciprocity): popularity plus the
  partner's decision about the scorer minus the partner's history yes-rate (0 when
  unknown), weighed by a population logistic fit on the history halves. Decisions are
  simultaneous here, so it is measured with the partner's decision known for every pair
  (upper bound), for a fixed random half (the partner decided first half the time), and
  causally (only history-half decisions). Never used for `match`: the partner's
  decision is half of it, so those rows keep popularity's reciprocal score.

Run: .venv/bin/python -P bench/match_quality.py [--data PATH] [--bootstrap 1000] [--seed 6]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from eros.core import population_training
from eros.core.matching import (
    CandidatePool,
    Interaction,
    InteractionKind,
    InteractionLog,
    MatchProfile,
    MatchVocabulary,
    ModelTable,
    PreferenceModel,
    Reputation,
    decider_offsets,
    fit_user_model,
    pair_features,
    profile_prior_score,
    reciprocal_score,
    score_candidates,
    training_examples,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "../shared/data/speed-dating/speed_dating_waves_01-14.csv"
DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 6
REFERENCE = datetime(2004, 1, 1, tzinfo=UTC)  # "now" of the experiment; only ages depend on it
PRECISION_AT = 3
SLIDER_SCALE = 10.0  # 1-10 answers -> 0-100 sliders
BASELINE_RIDGE = 1.0  # precision of the per-person baseline's weights (standardised features)
NEWTON_STEPS = 25
INTERCEPT_RIDGE = 0.5  # precision of each decider's free intercept (log-odds)
LOGIT_EDGE = 1e-3  # popularities of 0 or 1 clipped before the log-odds
HALF_KNOWN_SEED = 0  # which half of the partners' decisions counts as made first (not tuned)

INTERESTS = (
    "sports", "tvsports", "exercise", "dining", "museums", "art", "hiking", "gaming",
    "clubbing", "reading", "tv", "theater", "movies", "concerts", "music", "shopping", "yoga",
)  # fmt: skip
SOUGHT = ("attr1_1", "sinc1_1", "intel1_1", "fun1_1", "amb1_1", "shar1_1")
VALUE_KEYS = ("attractiveness", "sincerity", "intelligence", "fun", "ambition", "shared_interests")
SELF = ("attr3_1", "sinc3_1", "intel3_1", "fun3_1", "amb3_1")
STYLE = {"humor": "fun3_1", "directness": "sinc3_1"}
# goal: 1 fun night out, 2 meet new people, 3 get a date, 4 serious relationship,
# 5 to say I did it, 6 other -> conversation depth 0-100.
GOAL_DEPTH = {1: 25.0, 2: 50.0, 3: 60.0, 4: 100.0, 5: 0.0, 6: 50.0}
GENDERS = ("woman", "man")  # `gender` 0 and 1
DIFFERENCES = (
    tuple(
        (f"{matcher}{variant}", f"{baseline}{variant}")
        for matcher in (
            "EROS without leniency",
            "EROS production path (with leniency)",
            "EROS, every side fitted",
        )
        for variant in ("", ", causal")
        for baseline in ("partner popularity", "selectivity-aware reciprocal")
    )
    + tuple(
        (f"partner popularity + likes you, {known}", "partner popularity")
        for known in ("every pair known", "half known")
    )
    + (("partner popularity + likes you, causal", "partner popularity, causal"),)
)
# (method, baseline) pairs whose paired difference gets a row

Float = NDArray[np.float64]


def num(text: str) -> float:
    text = text.replace(",", "").strip()
    return float(text) if text else math.nan


@dataclass
class Date:
    """One row: `person` decided `dec` on `partner` at their `order`-th date."""

    person: int
    partner: int
    order: int
    dec: int
    match: int
    history: bool = False


def load(path: Path) -> tuple[dict[int, dict[str, str]], list[Date]]:
    people: dict[int, dict[str, str]] = {}
    dates: list[Date] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if int(row["wave"]) > 14:
                raise SystemExit("held-out waves found in the input; refusing to read them")
            if not row["pid"]:
                continue
            iid = int(row["iid"])
            people.setdefault(iid, row)
            dates.append(
                Date(
                    iid, int(num(row["pid"])), int(row["order"]), int(row["dec"]), int(row["match"])
                )
            )
    by_person: dict[int, list[Date]] = defaultdict(list)
    for d in dates:
        by_person[d.person].append(d)
    for own in by_person.values():
        own.sort(key=lambda d: (d.order, d.partner))
        for d in own[: len(own) // 2]:
            d.history = True
    return people, dates


def profile_of(iid: int, row: dict[str, str], median_age: float) -> MatchProfile:
    age = num(row["age"])
    age = median_age if math.isnan(age) else age
    gender = GENDERS[int(row["gender"])]
    interests = {k: min(100.0, num(row[k]) * SLIDER_SCALE) for k in INTERESTS if row[k]}
    values = {v: min(100.0, num(row[c])) for v, c in zip(VALUE_KEYS, SOUGHT, strict=True) if row[c]}
    style = {k: min(100.0, num(row[c]) * SLIDER_SCALE) for k, c in STYLE.items() if row[c]}
    goal = int(num(row["goal"])) if row["goal"] else None
    return MatchProfile(
        user_id=iid,
        gender=gender,
        genders_sought=frozenset(GENDERS) - {gender},
        birth_date=date(REFERENCE.year - int(age), REFERENCE.month, REFERENCE.day),
        age_min=0,
        age_max=200,
        last_active_at=REFERENCE,
        interests=interests,
        values=values,
        communication_style=style,
        conversation_depth=GOAL_DEPTH.get(goal) if goal else None,
    )


def _events(dates: list[Date]) -> list[Interaction]:
    return [
        Interaction(
            d.person,
            d.partner,
            InteractionKind.LIKE if d.dec else InteractionKind.SKIP,
            REFERENCE + timedelta(minutes=d.order),
        )
        for d in dates
    ]


def history_events(dates: list[Date]) -> list[Interaction]:
    return _events([d for d in dates if d.history])


def decision_log(pool: CandidatePool, dates: list[Date], history_only: bool) -> InteractionLog:
    return InteractionLog.from_events(
        history_events(dates) if history_only else _events(dates), pool
    )


@dataclass
class Study:
    """The people, their dates, and the columns every method scores."""

    people: dict[int, dict[str, str]]
    dates: list[Date]
    pool: CandidatePool
    pool_profiles: list[MatchProfile]  # in pool row order
    evaluated: list[Date]

    def column(self, name: str) -> Float:
        return np.asarray([getattr(d, name) for d in self.evaluated], dtype=np.float64)

    def gender(self, iid: int) -> int:
        return int(self.people[iid]["gender"])


Scores = tuple[Float, Float]  # (one-sided interest, reciprocal) per evaluated date


def _fit_population(study: Study) -> PreferenceModel:
    """The fit job's own path: `training_set` over the history decisions, then `fit`.

    One model for everyone, as production stores it; the replay's "now" is the end of the
    history half, so the fit sees only history decisions and reputation built from them.
    """
    return population_training.fit(
        population_training.training_set(
            study.pool_profiles, history_events(study.dates), REFERENCE
        )
    )


def eros_full(
    study: Study, reputation_log: InteractionLog, *, everyone_fitted: bool, leniency: bool = False
) -> Scores:
    """The production ranking path; reputation counts come from `reputation_log`.

    As `eros.core.recommendation_inputs.rank` does: every candidate scores with the
    population model, the viewer with their own fit shrunk to it. `everyone_fitted`
    gives each candidate their own fit too (what a batch fitting every user would do);
    `leniency` shifts each unfitted candidate's intercept by `decider_offsets` from the
    history decisions (the evaluated answers never enter it).
    """
    pool, now = study.pool, REFERENCE.timestamp()
    population = _fit_population(study)
    history_log = decision_log(pool, study.dates, history_only=True)
    reputation = Reputation.from_log(reputation_log, len(pool))
    models = {
        pool.row_of(iid): fit_user_model(
            *training_examples(pool, pool.row_of(iid), now, reputation, history_log), population
        )
        for iid in study.people
    }
    offsets = decider_offsets(history_log, len(pool)) if leniency else None
    shared = ModelTable.build(
        len(pool), population, models if everyone_fitted else None, default_offsets=offsets
    )
    one, rec = np.zeros(len(study.evaluated)), np.zeros(len(study.evaluated))
    for person, idx in _by_person(study).items():
        row = pool.row_of(person)
        if not everyone_fitted:  # a copy of the row's weights: cheap at this pool size
            table = ModelTable(shared.intercepts.copy(), shared.weights.copy())
            table.intercepts[row], table.weights[row] = models[row].intercept, models[row].weights
        else:
            table = shared
        rows = pool.rows_of(study.evaluated[i].partner for i in idx)
        scored = score_candidates(
            pool, row, rows, now, table, reputation, reputation_log, use_known_interest=False
        )
        one[idx], rec[idx] = scored.viewer_interest, scored.score
    return one, rec


def eros_profile_prior(study: Study) -> Scores:
    """Only the 35/25/20/10/10 profile prior, as a user without history would get."""
    pool, now = study.pool, REFERENCE.timestamp()
    cols = pool.columns
    viewers = pool.rows_of(d.person for d in study.evaluated)
    partners = pool.rows_of(d.partner for d in study.evaluated)
    neutral = np.zeros(len(viewers))
    fwd, _ = pair_features(cols.take(viewers), cols.take(partners), now, neutral)
    back, _ = pair_features(cols.take(partners), cols.take(viewers), now, neutral)
    one = profile_prior_score(fwd)
    return one, reciprocal_score(one, profile_prior_score(back))


def _by_person(study: Study) -> dict[int, NDArray[np.intp]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(study.evaluated):
        groups[d.person].append(i)
    return {p: np.asarray(ix, dtype=np.intp) for p, ix in groups.items()}


def _profile_matrix(study: Study, cols: tuple[str, ...]) -> dict[int, Float]:
    return {iid: np.asarray([num(r[c]) for c in cols]) for iid, r in study.people.items()}


def _cosine(a: Float, b: Float) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    den = float(np.linalg.norm(a[ok]) * np.linalg.norm(b[ok]))
    return float(a[ok] @ b[ok]) / den if den > 0 else math.nan


def _fill(x: Float) -> Float:
    """Unknown scores take the median, i.e. sit in the middle of a person's ranking."""
    return np.where(np.isnan(x), np.nanmedian(x), x)


def pairwise(study: Study, f: Callable[[int, int], float], symmetric: bool) -> Scores:
    one = _fill(np.asarray([f(d.person, d.partner) for d in study.evaluated]))
    back = _fill(np.asarray([f(d.partner, d.person) for d in study.evaluated]))
    return one, one if symmetric else reciprocal_score(one, back)


def baseline_random(study: Study, rng: np.random.Generator) -> Scores:
    draws = {(p, q): float(rng.random()) for p in study.people for q in study.people}
    return pairwise(study, lambda p, q: draws[p, q], symmetric=False)


def baseline_interest_cosine(study: Study) -> Scores:
    interests = _profile_matrix(study, INTERESTS)
    return pairwise(study, lambda p, q: _cosine(interests[p], interests[q]), symmetric=True)


def baseline_stated_weights(study: Study) -> Scores:
    weights, selves = _profile_matrix(study, SOUGHT[:5]), _profile_matrix(study, SELF)
    max_score = 100.0 * 10.0  # 100 points x a 1-10 self-rating
    return pairwise(study, lambda p, q: float(weights[p] @ selves[q]) / max_score, symmetric=False)


def baseline_popularity(study: Study, history_only: bool) -> Scores:
    """Partner's yes-rate among other raters (the scorer's own decision excluded).

    Its reciprocal side, the scorer's own yes-rate, leaves out every evaluated partner
    of the scorer (as `score_candidates` does), so it is one number per scorer.
    """
    yes: dict[int, float] = defaultdict(float)
    seen: dict[int, float] = defaultdict(float)
    said: dict[tuple[int, int], int] = {}
    for d in study.dates:
        if d.history or not history_only:
            yes[d.partner] += d.dec
            seen[d.partner] += 1
            said[d.person, d.partner] = d.dec
    overall = sum(yes.values()) / max(1.0, sum(seen.values()))

    def rate(target: int, raters: list[int]) -> float:
        own = [said[r, target] for r in raters if (r, target) in said]
        n = seen[target] - len(own)
        return (yes[target] - sum(own)) / n if n > 0 else overall

    one = np.asarray([rate(d.partner, [d.person]) for d in study.evaluated])
    back = np.zeros_like(one)
    for person, ix in _by_person(study).items():
        back[ix] = rate(person, [study.evaluated[i].partner for i in ix])
    return one, reciprocal_score(one, back)


def history_yes_rates(study: Study) -> Callable[[int, int], float]:
    """sel(person, left_out): the person's yes-rate over their history half.

    The decision on `left_out` is not counted (it may be the scored pair's answer); a
    person with no other history decision gets the overall history yes-rate.
    """
    yes: dict[int, float] = defaultdict(float)
    seen: dict[int, float] = defaultdict(float)
    said: dict[tuple[int, int], int] = {}
    for d in study.dates:
        if d.history:
            yes[d.person] += d.dec
            seen[d.person] += 1
            said[d.person, d.partner] = d.dec
    overall = sum(yes.values()) / max(1.0, sum(seen.values()))

    def sel(person: int, left_out: int) -> float:
        own = said.get((person, left_out))
        n = seen[person] - (own is not None)
        return (yes[person] - (own or 0)) / n if n > 0 else overall

    return sel


def baseline_selectivity(study: Study, history_only: bool) -> Scores:
    """sqrt(pop(j) sel(i) pop(i) sel(j)): each side's yes-chance as popularity x leniency.

    Popularities follow `baseline_popularity`'s leave-one-out rules; yes-rates (sel) come
    from history halves only, the other side of the pair left out. The one-sided score
    is partner popularity: sel(i) is one number per scorer, and a scorer who said no to
    everyone would otherwise tie all their partners at 0.
    """
    pop_one, pop_rec = baseline_popularity(study, history_only)
    pop_back = np.divide(pop_rec**2, pop_one, out=np.zeros_like(pop_one), where=pop_one > 0)
    sel = history_yes_rates(study)
    mine = np.asarray([sel(d.person, d.partner) for d in study.evaluated])
    theirs = np.asarray([sel(d.partner, d.person) for d in study.evaluated])
    return pop_one, reciprocal_score(pop_one * mine, pop_back * theirs)


def likes_you(study: Study, known: Callable[[Date], bool]) -> Callable[[int, int], float]:
    """r(i, j) = j's decision about i minus sel(j), j's yes-rate without i; 0 when unknown.

    Dyadic reciprocity (Kenny's social relations model): after j's general leniency is
    removed, j's yes to i is the part of the like that is about i. `known(d)` says whether
    the scorer could see decision d (j decided first); in the data both decide at once.
    """
    sel = history_yes_rates(study)
    said = {(d.person, d.partner): d for d in study.dates}

    def r(person: int, partner: int) -> float:
        theirs = said.get((partner, person))
        if theirs is None or not known(theirs):
            return 0.0
        return theirs.dec - sel(partner, person)

    return r


def _logit(p: Float) -> Float:
    q = np.clip(p, LOGIT_EDGE, 1 - LOGIT_EDGE)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


def popularity_and_likes_you(
    study: Study, history_only: bool, known: Callable[[Date], bool]
) -> tuple[Scores, float]:
    """Popularity plus `likes_you`, weighed by a population logistic fit on history halves.

    One free intercept per decider (their leniency), shared slopes, as the production
    population model. Research row for `dec` only: the reciprocal (match) score stays
    popularity's, since j's decision is half of `match`. Returns the scores and the
    share of evaluated pairs whose feature is known.
    """
    r = likes_you(study, known)
    pop_one, pop_rec = baseline_popularity(study, history_only)
    train = [d for d in study.dates if d.history]
    pop_train = _leave_one_out_popularity(study, history_only, train)
    x = np.column_stack([_logit(pop_train), [r(d.person, d.partner) for d in train]])
    y = np.asarray([d.dec for d in train], dtype=np.float64)
    deciders = {p: k for k, p in enumerate(sorted({d.person for d in train}))}
    u = np.asarray([deciders[d.person] for d in train], dtype=np.intp)
    w = _fit_with_intercepts(x, y, u, len(deciders))
    feature = np.asarray([r(d.person, d.partner) for d in study.evaluated])
    one = w[0] * _logit(pop_one) + w[1] * feature
    return (one, pop_rec), float(np.mean(feature != 0))


def _leave_one_out_popularity(study: Study, history_only: bool, dates: list[Date]) -> Float:
    """Partner popularity of arbitrary dates, by `baseline_popularity`'s rules."""
    held = Study(study.people, study.dates, study.pool, study.pool_profiles, dates)
    return baseline_popularity(held, history_only)[0]


def _fit_with_intercepts(x: Float, y: Float, u: NDArray[np.intp], n: int) -> Float:
    """Shared slopes (ridge 1) with one lightly shrunk intercept per decider `u`."""
    w, b = np.zeros(x.shape[1]), np.zeros(n)
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(b[u] + x @ w)))
        b -= (np.bincount(u, p - y, n) + INTERCEPT_RIDGE * b) / (
            np.bincount(u, p * (1 - p), n) + INTERCEPT_RIDGE
        )
        p = 1 / (1 + np.exp(-(b[u] + x @ w)))
        hess = (x * (p * (1 - p))[:, None]).T @ x + BASELINE_RIDGE * np.eye(x.shape[1])
        w -= np.linalg.solve(hess, x.T @ (p - y) + BASELINE_RIDGE * w)
    return w


def _ridge_logistic(x: Float, y: Float) -> Float:
    x1 = np.hstack([np.ones((len(y), 1)), x])
    w = np.zeros(x1.shape[1])
    prec = np.full(x1.shape[1], BASELINE_RIDGE)
    prec[0] = 1e-3  # the intercept is free
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(x1 @ w)))
        hess = (x1 * (p * (1 - p))[:, None]).T @ x1 + np.diag(prec)
        w -= np.linalg.solve(hess, x1.T @ (p - y) + prec * w)
    return w


def baseline_learned_weights(study: Study) -> Scores:
    """Per-person ridge logistic over the partner's self-ratings, age, interest cosine."""
    selves, interests = _profile_matrix(study, SELF), _profile_matrix(study, INTERESTS)
    ages = {iid: num(r["age"]) for iid, r in study.people.items()}

    def feats(p: int, q: int) -> Float:
        return np.append(selves[q], [ages[q], _cosine(interests[p], interests[q])])

    everyone = np.asarray([feats(d.person, d.partner) for d in study.dates])
    mean, std = np.nanmean(everyone, axis=0), np.nanstd(everyone, axis=0)

    def z(p: int, q: int) -> Float:
        return np.asarray(np.nan_to_num((feats(p, q) - mean) / std), dtype=np.float64)

    weights: dict[int, Float] = {}
    for person in study.people:
        own = [d for d in study.dates if d.person == person and d.history]
        x = np.asarray([z(d.person, d.partner) for d in own]).reshape(len(own), -1)
        weights[person] = _ridge_logistic(x, np.asarray([d.dec for d in own], dtype=np.float64))

    def predict(p: int, q: int) -> float:
        w = weights[p]
        return float(1 / (1 + np.exp(-(w[0] + z(p, q) @ w[1:]))))

    return pairwise(study, predict, symmetric=False)


def auc(scores: Float, labels: Float, weights: Float | None = None) -> float:
    """Weighted ROC AUC with ties counted half (weights: bootstrap multiplicities)."""
    w = np.ones_like(scores) if weights is None else weights
    order = np.argsort(scores, kind="stable")
    s, y, w = scores[order], labels[order], w[order]
    _, group = np.unique(s, return_inverse=True)
    neg = np.bincount(group, w * (1 - y))
    below = np.cumsum(neg) - neg
    pos_w = w * y
    total = pos_w.sum() * neg.sum()
    return (
        float((pos_w * (below[group] + 0.5 * neg[group])).sum() / total) if total > 0 else math.nan
    )


@dataclass
class Metrics:
    """Per-person values and pair columns of one gender, ready for bootstrap replicates."""

    within: Float  # per person, NaN when a person's later dates are all yes or all no
    within_match: Float  # per person, over match-evaluated pairs; NaN without both outcomes
    precision: Float  # per person
    pair_person: NDArray[np.intp]  # person index of each match-evaluated pair
    pair_score: Float
    pair_match: Float

    def values(self, counts: Float) -> tuple[float, ...]:
        def mean(per_person: Float) -> float:
            ok = ~np.isnan(per_person)
            return float((counts[ok] * per_person[ok]).sum() / counts[ok].sum())

        pooled = auc(self.pair_score, self.pair_match, counts[self.pair_person])
        return mean(self.within), pooled, mean(self.within_match), mean(self.precision)


def metrics_of(study: Study, scores: Scores, gender: int) -> Metrics:
    one, rec = scores
    dec, match = study.column("dec"), study.column("match")
    groups = {p: ix for p, ix in _by_person(study).items() if study.gender(p) == gender}
    persons = sorted(groups)
    within, precision = [], []
    for p in persons:
        ix = groups[p]
        within.append(auc(one[ix], dec[ix]))
        partners = np.asarray([study.evaluated[i].partner for i in ix])
        top = np.lexsort((partners, -one[ix]))[:PRECISION_AT]
        precision.append(float(dec[ix][top].mean()))
    evaluated_pairs = {(d.person, d.partner) for d in study.evaluated}
    pos = {p: k for k, p in enumerate(persons)}
    pairs = [
        i
        for i, d in enumerate(study.evaluated)
        if d.person in pos and (d.partner, d.person) in evaluated_pairs
    ]
    pair_person = np.asarray([pos[study.evaluated[i].person] for i in pairs], dtype=np.intp)
    within_match = [
        auc(rec[pairs][pair_person == k], match[pairs][pair_person == k])
        for k in range(len(persons))
    ]
    return Metrics(
        within=np.asarray(within),
        within_match=np.asarray(within_match),
        precision=np.asarray(precision),
        pair_person=pair_person,
        pair_score=rec[pairs],
        pair_match=match[pairs],
    )


def bootstrap(
    results: dict[str, Metrics], reps: int, rng: np.random.Generator
) -> dict[str, NDArray[np.float64]]:
    """(reps, metrics) replicates per method, all methods on the same draws of people."""
    n = len(next(iter(results.values())).precision)
    draws = rng.integers(0, n, size=(reps, n))
    counts = np.stack([np.bincount(d, minlength=n).astype(np.float64) for d in draws])
    return {name: np.asarray([m.values(c) for c in counts]) for name, m in results.items()}


def fmt(point: float, reps: Float) -> str:
    lo, hi = np.nanpercentile(reps, [2.5, 97.5])
    return f"{point:.3f} [{lo:.3f}, {hi:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    started = time.perf_counter()

    people, dates = load(args.data)
    ages = [num(r["age"]) for r in people.values() if r["age"]]
    profiles = [profile_of(iid, row, float(np.median(ages))) for iid, row in people.items()]
    vocabulary = MatchVocabulary(GENDERS, INTERESTS, VALUE_KEYS, tuple(STYLE), ())
    pool = CandidatePool.from_profiles(profiles, vocabulary)
    study = Study(people, dates, pool, profiles, [d for d in dates if not d.history])
    rng = np.random.default_rng(args.seed)
    everyone = decision_log(pool, dates, history_only=False)
    history = decision_log(pool, dates, history_only=True)

    methods: dict[str, Scores] = {
        "random": baseline_random(study, rng),
        "interest cosine": baseline_interest_cosine(study),
        "stated weights x self-ratings": baseline_stated_weights(study),
        "per-person learned weights": baseline_learned_weights(study),
        "partner popularity": baseline_popularity(study, history_only=False),
        "partner popularity, causal": baseline_popularity(study, history_only=True),
        "selectivity-aware reciprocal": baseline_selectivity(study, history_only=False),
        "selectivity-aware reciprocal, causal": baseline_selectivity(study, history_only=True),
        "EROS profile prior only": eros_profile_prior(study),
        "EROS without leniency": eros_full(study, everyone, everyone_fitted=False),
        "EROS without leniency, causal": eros_full(study, history, everyone_fitted=False),
        "EROS production path (with leniency)": eros_full(
            study, everyone, everyone_fitted=False, leniency=True
        ),
        "EROS production path (with leniency), causal": eros_full(
            study, history, everyone_fitted=False, leniency=True
        ),
        "EROS, every side fitted": eros_full(study, everyone, everyone_fitted=True),
        "EROS, every side fitted, causal": eros_full(study, history, everyone_fitted=True),
    }
    coin = np.random.default_rng(HALF_KNOWN_SEED).random(len(dates)) < 0.5
    first = {(d.person, d.partner) for d, heads in zip(dates, coin, strict=True) if heads}
    variants: dict[str, tuple[bool, Callable[[Date], bool]]] = {
        "every pair known": (False, lambda d: True),
        "half known": (False, lambda d: (d.person, d.partner) in first),
        "causal": (True, lambda d: d.history),
    }
    for variant, (history_only, known) in variants.items():
        name = f"partner popularity + likes you, {variant}"
        methods[name], share = popularity_and_likes_you(study, history_only, known)
        print(f"{name}: known for {share:.0%} of evaluated pairs")
    print(
        f"{len(people)} people, {len(dates)} dates, {len(study.evaluated)} evaluated (later half)"
    )
    print(f"bootstrap: {args.bootstrap} resamples of people, seed {args.seed}; 95% intervals\n")
    for gender, label in ((0, "women deciding"), (1, "men deciding")):
        results = {name: metrics_of(study, s, gender) for name, s in methods.items()}
        reps = bootstrap(results, args.bootstrap, rng)
        ones = np.ones(len(results["random"].precision))
        some = results["random"]
        print(
            f"## {label}: {int((~np.isnan(some.within)).sum())} people with both answers, "
            f"{len(some.pair_match)} pairs ({int(some.pair_match.sum())} matches)"
        )
        print(
            "| method | within-person AUC of dec | AUC of match (pooled) "
            f"| within-person AUC of match | precision@{PRECISION_AT} of dec |"
        )
        print("| --- | --- | --- | --- | --- |")
        for name, m in results.items():
            point = m.values(ones)
            cells = " | ".join(fmt(point[j], reps[name][:, j]) for j in range(len(point)))
            print(f"| {name} | {cells} |")
        for name, base in DIFFERENCES:
            diff = np.asarray(results[name].values(ones)) - np.asarray(results[base].values(ones))
            d_reps = reps[name] - reps[base]
            cells = " | ".join(fmt(diff[j], d_reps[:, j]) for j in range(len(diff)))
            print(f"| {name} minus {base} | {cells} |")
        print()
    print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
