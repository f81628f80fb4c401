-- Who may see whom, defined once (named in Python by eros.core.visibility). Every query
-- that shows, recommends or accepts an action on another user filters through these two;
-- a new reason to hide someone is added here, by a later migration, and nowhere else.

-- Accounts in good standing: they may write, and others may be shown them. A reason that
-- concerns the account alone (deactivated today; a ban or a deletion tomorrow) goes here.
CREATE VIEW enabled_accounts AS
    SELECT u.id AS user_id FROM users u WHERE u.is_active;

-- Whom `viewer` may see: enabled accounts that no block separates from the viewer, in
-- either direction (a report blocks too, see eros.core.safety). A reason that concerns a
-- pair of users goes here. The viewer's own account is not consulted: a disabled account
-- is stopped at writes, not at reads.
--
-- A set-returning SQL function, STABLE, not STRICT, without SET or SECURITY DEFINER, so
-- that the planner inlines it: `EXISTS (SELECT 1 FROM visible_users(v) x WHERE
-- x.user_id = t)` becomes index probes for a few targets and a hash join for many
-- (tests/core/test_visibility.py checks that no plan calls it as a function).
CREATE FUNCTION visible_users(viewer uuid) RETURNS TABLE (user_id uuid)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT a.user_id FROM enabled_accounts a
    WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = viewer AND b.blocked_id = a.user_id)
      AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = a.user_id AND b.blocked_id = viewer)
$$;
