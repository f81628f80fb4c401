-- The population model (eros.core.population_model): one row per fitted version, the
-- newest being the one every ranking path scores with. Redis caches the newest row; this
-- table is the truth. `last_decision_id` is the newest like or skip the fit could see, so
-- the fit job counts the decisions that arrived since without a scan of the whole table.
CREATE TABLE population_models (
    version integer PRIMARY KEY CHECK (version > 0),
    model text NOT NULL,
    examples integer NOT NULL CHECK (examples >= 0),
    users integer NOT NULL CHECK (users >= 0),
    last_decision_id bigint NOT NULL,
    fitted_at timestamptz NOT NULL,
    fit_seconds double precision NOT NULL CHECK (fit_seconds >= 0)
);
