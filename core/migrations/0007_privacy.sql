-- Privacy (docs/api.md#privacy): reports outlive the accounts of both parties, and the
-- retention job (eros.core.retention) finds what is past its horizon by an index.

-- A report is safety evidence: when either party deletes their account the report stays,
-- with that party's id set to NULL, so it names nobody who left (a NULL never equals the
-- other id, so the self-report check still holds).
ALTER TABLE reports ALTER COLUMN reporter_id DROP NOT NULL;
ALTER TABLE reports ALTER COLUMN reported_id DROP NOT NULL;
ALTER TABLE reports DROP CONSTRAINT reports_reporter_id_fkey;
ALTER TABLE reports ADD CONSTRAINT reports_reporter_id_fkey
    FOREIGN KEY (reporter_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE reports DROP CONSTRAINT reports_reported_id_fkey;
ALTER TABLE reports ADD CONSTRAINT reports_reported_id_fkey
    FOREIGN KEY (reported_id) REFERENCES users (id) ON DELETE SET NULL;

-- The retention job deletes the oldest rows in batches; without these each batch would
-- scan the whole table.
CREATE INDEX interactions_occurred_idx ON interactions (occurred_at);
CREATE INDEX shown_history_last_shown_idx ON shown_history (last_shown_at);
