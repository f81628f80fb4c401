-- What the idle-phase jobs learn about each user, and the daily matches they deliver.

-- Phase 2: per user, kind and feature, how much the user favours it. `weight` is in
-- [-1, 1] (positive: liked or messaged more than the contrast group; for blocks:
-- over-represented among blocked people), `evidence` the number of people it was
-- learned from and `confidence` = evidence / (evidence + k). A rerun replaces the
-- user's rows of a kind in one transaction.
CREATE TABLE learned_patterns (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('favourite', 'message', 'block')),
    feature text NOT NULL,
    weight double precision NOT NULL CHECK (weight BETWEEN -1 AND 1),
    evidence integer NOT NULL CHECK (evidence >= 0),
    confidence double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    learned_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind, feature)
);

-- Phase 3: the synthesis of the patterns and the profile (from Claude or the rules).
-- `basis_ms` names the idle period it was computed in, so that a rerun of that
-- period's job reuses it instead of asking again (the daily Claude budget is spent).
CREATE TABLE ultimate_preferences (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    source text NOT NULL CHECK (source IN ('claude', 'rules')),
    preferences jsonb NOT NULL,
    basis_ms bigint NOT NULL,
    computed_at timestamptz NOT NULL
);

-- One row per user and UTC day that has daily matches. `delivered_at` is set when the
-- user first receives them; likes and skips after it are the predictions' outcomes
-- (linked by user, candidate and time; see eros.core.analysis.feedback).
CREATE TABLE daily_match_sets (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    match_date date NOT NULL,
    source text NOT NULL CHECK (source IN ('analysis', 'computed')),
    preferences_source text NOT NULL CHECK (preferences_source IN ('claude', 'rules', 'none')),
    generated_at timestamptz NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (user_id, match_date)
);
CREATE INDEX daily_match_sets_delivered_idx ON daily_match_sets (delivered_at)
    WHERE delivered_at IS NOT NULL;

-- The predictions: rank 1..10 of a user's day, with the score and reasons shown.
CREATE TABLE daily_matches (
    user_id uuid NOT NULL,
    match_date date NOT NULL,
    rank smallint NOT NULL CHECK (rank BETWEEN 1 AND 10),
    candidate_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    score double precision NOT NULL,
    reasons jsonb NOT NULL,
    PRIMARY KEY (user_id, match_date, rank),
    UNIQUE (user_id, match_date, candidate_id),
    FOREIGN KEY (user_id, match_date) REFERENCES daily_match_sets (user_id, match_date)
        ON DELETE CASCADE
);
