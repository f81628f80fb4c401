-- Moderation: report triage with an audit trail, account sanctions, and the visibility
-- rule of 0005 redefined so that a sanctioned account disappears everywhere at once.

-- Triage: open -> reviewed -> actioned | dismissed (eros.core.moderation.next_status).
UPDATE reports SET status = 'reviewed' WHERE status = 'triaged';
ALTER TABLE reports DROP CONSTRAINT reports_status_check;
ALTER TABLE reports ADD CONSTRAINT reports_status_check
    CHECK (status IN ('open', 'reviewed', 'actioned', 'dismissed'));
ALTER TABLE reports ADD COLUMN moderator_note text;
CREATE INDEX reports_status_idx ON reports (status, created_at);

-- One current sanction per account. A suspension ends by itself at `until` (PostgreSQL's
-- clock, the one the view below reads); a ban lasts until an administrator reinstates.
CREATE TABLE account_sanctions (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('suspended', 'banned')),
    until timestamptz,
    reason text NOT NULL,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'banned') = (until IS NULL))
);

-- Who did what, when, and why: every triage step and every sanction.
CREATE TABLE moderation_audit (
    id bigserial PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    report_id uuid REFERENCES reports (id) ON DELETE CASCADE,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    note text
);
CREATE INDEX moderation_audit_report_idx ON moderation_audit (report_id, at);
CREATE INDEX moderation_audit_user_idx ON moderation_audit (user_id, at);

-- The one visibility rule: a suspended or banned account is no longer in good standing,
-- so visible_users (which reads this view) hides it from everyone, and writes, login
-- and refresh refuse it.
CREATE OR REPLACE VIEW enabled_accounts AS
    SELECT u.id AS user_id FROM users u
    WHERE u.is_active
      AND NOT EXISTS (
          SELECT 1 FROM account_sanctions s
          WHERE s.user_id = u.id AND (s.kind = 'banned' OR s.until > now())
      );

-- Lowered exposure: a member reported by at least 3 distinct members in reports still
-- open is shown less until a moderator reviews those reports. Ranking reads it only
-- through this function (named in Python by eros.core.moderation.exposure_lowered_sql).
CREATE FUNCTION exposure_lowered(member uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT count(DISTINCT r.reporter_id) >= 3
    FROM reports r WHERE r.reported_id = member AND r.status = 'open'
$$;
