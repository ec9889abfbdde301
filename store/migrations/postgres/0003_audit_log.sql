-- 0003: the audit log. Append-only and hash chained: each row holds the hash
-- of the row before it and its own (see models.AuditEntry). seq is assigned
-- from the 'audit' counter row, whose lock orders concurrent appends across
-- server processes. The triggers refuse UPDATE, DELETE and TRUNCATE, so the
-- application cannot rewrite it; the chain shows it when someone does so
-- outside the application.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    actor_id   UUID NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  UUID NOT NULL,
    action     TEXT NOT NULL,
    case_id    UUID NOT NULL,
    detail     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_case ON audit_log (case_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

INSERT INTO counters (name, value) VALUES ('audit', 0);

-- Statistics read cases by when they last changed and history by time.
CREATE INDEX cases_updated_at ON cases (updated_at);
CREATE INDEX history_at ON history (at);
