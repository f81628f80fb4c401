-- Profiles, interactions, safety (blocks and reports), idempotency keys, shown history.

-- One row per user with a profile. Sliders (interests, values, communication style) and
-- structured lists are jsonb: they are always read and written as a whole, never queried
-- by key, and their key sets differ per user.
CREATE TABLE profiles (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name text NOT NULL,
    bio text NOT NULL DEFAULT '',
    photo_urls text[] NOT NULL DEFAULT '{}',
    birth_date date NOT NULL,
    gender text NOT NULL,
    genders_sought text[] NOT NULL,
    age_min smallint NOT NULL CHECK (age_min >= 18),
    age_max smallint NOT NULL CHECK (age_max <= 100 AND age_min <= age_max),
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    city text,
    max_distance_km double precision CHECK (max_distance_km > 0),
    interest_scores jsonb NOT NULL DEFAULT '{}',
    value_scores jsonb NOT NULL DEFAULT '{}',
    communication_style jsonb NOT NULL DEFAULT '{}',
    conversation_depth text,
    availability jsonb NOT NULL DEFAULT '[]',
    off_limits_topics text[] NOT NULL DEFAULT '{}',
    non_negotiables jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- The re-analysis flag: set on every profile update, cleared by the pipeline once it
    -- has analysed the profile as of that time (see eros.core.profiles.clear_reanalysis).
    analysis_requested_at timestamptz,
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX profiles_analysis_requested_idx ON profiles (analysis_requested_at)
    WHERE analysis_requested_at IS NOT NULL;

-- What users did to each other: an append-only event log (likes, skips, views, messages,
-- calls, blocks, reports). The matcher's "already acted on" and the phase jobs' learning
-- read it. A like on a delivered daily match is linked to its prediction by
-- (actor_id, target_id, occurred_at >= delivered_at).
CREATE TABLE interactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN (
        'view', 'like', 'skip', 'report', 'block', 'message_sent', 'message_replied', 'call'
    )),
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL CHECK (source IN ('action', 'batch', 'block', 'report')),
    CHECK (actor_id <> target_id)
);
CREATE INDEX interactions_actor_target_idx ON interactions (actor_id, target_id, occurred_at);
CREATE INDEX interactions_target_kind_idx ON interactions (target_id, kind);

-- A block either way separates a pair everywhere. Kept long for abuse investigations.
CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source text NOT NULL CHECK (source IN ('manual', 'interaction', 'report')),
    reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_blocked_idx ON blocks (blocked_id);

CREATE TABLE reports (
    id uuid PRIMARY KEY,
    reporter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reported_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    details text,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'triaged', 'actioned', 'dismissed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (reporter_id <> reported_id)
);
CREATE INDEX reports_reported_idx ON reports (reported_id, created_at);
CREATE INDEX reports_open_idx ON reports (severity, created_at) WHERE status = 'open';

-- Stored responses of idempotent writes, per user so that keys never collide across
-- users (nor leak one user's response to another).
CREATE TABLE idempotency_keys (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status_code integer,
    response_body jsonb,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, scope, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Who was shown to whom in recommendations: feeds "already shown recently" and the
-- per-day exposure cap (viewers a candidate was shown to since midnight UTC).
CREATE TABLE shown_history (
    viewer_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    candidate_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_shown_at timestamptz NOT NULL,
    last_shown_at timestamptz NOT NULL,
    times_shown integer NOT NULL DEFAULT 1,
    PRIMARY KEY (viewer_id, candidate_id)
);
CREATE INDEX shown_history_candidate_idx ON shown_history (candidate_id, last_shown_at);
