"""Population model fit cost: the fit job's CPU part at its decision cap.

Builds `--users` synthetic profiles (two genders seeking each other, 20 interests,
8 values) and `--decisions` likes and skips (newest wins per pair), then times
`training_set` (the ranking's own `training_examples` per decider) and `fit` (the
population fit), single-threaded as on a worker, and prints peak memory.

Run: .venv/bin/python -P bench/model_fit.py [--users 20000] [--decisions 200000]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import resource
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import numpy as np

from eros.core.matching import Interaction, InteractionKind
from eros.core.population_training import TRAINING_DECISION_CAP, fit, training_set
from eros.core.profiles import Gender, Profile
from eros.core.recommendation_inputs import to_match_profile

NOW = datetime(2026, 12, 7, tzinfo=UTC)
INTERESTS = [f"interest{i}" for i in range(20)]
VALUES = [f"value{i}" for i in range(8)]


def _profiles(n: int, rng: np.random.Generator) -> list[Profile]:
    people = []
    for i in range(n):
        woman = i % 2 == 0
        people.append(
            Profile(
                user_id=uuid4(),
                display_name="P",
                birth_date=date(1970 + int(rng.integers(0, 35)), 1 + int(rng.integers(0, 12)), 1),
                gender=Gender.WOMAN if woman else Gender.MAN,
                genders_sought=(Gender.MAN if woman else Gender.WOMAN,),
                latitude=52.5 + float(rng.normal(0, 0.2)),
                longitude=13.4 + float(rng.normal(0, 0.2)),
                max_distance_km=50,
                interests={k: int(rng.integers(0, 101)) for k in rng.choice(INTERESTS, 5)},
                values={k: int(rng.integers(0, 101)) for k in rng.choice(VALUES, 3)},
            )
        )
    return people


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=TRAINING_DECISION_CAP)
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    people = _profiles(args.users, rng)
    profiles = [to_match_profile(p, NOW - timedelta(days=1), True) for p in people]
    women, men = people[0::2], people[1::2]
    decisions = []
    for k in range(args.decisions):
        a, b = women[int(rng.integers(len(women)))], men[int(rng.integers(len(men)))]
        actor, target = (a, b) if k % 2 else (b, a)
        kind = InteractionKind.LIKE if rng.random() < 0.35 else InteractionKind.SKIP
        decisions.append(
            Interaction(actor.user_id, target.user_id, kind, NOW - timedelta(seconds=k))
        )
    decisions.reverse()
    tracemalloc.start()
    started = time.perf_counter()
    examples = training_set(profiles, decisions, NOW)
    built = time.perf_counter()
    model = fit(examples)
    done = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    print(f"users {args.users}, decisions {args.decisions}")
    print(f"examples {examples.examples}, deciders {examples.users}")
    print(f"training_set {built - started:.2f} s, fit {done - built:.2f} s")
    print(f"peak traced memory {peak / 2**20:.0f} MiB (process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")  # fmt: skip
    print("weights", np.round(model.weights, 3).tolist())


if __name__ == "__main__":
    main()
