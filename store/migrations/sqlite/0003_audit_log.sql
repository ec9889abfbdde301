-- 0003: the audit log. Append-only and hash chained: each row holds the hash
-- of the row before it and its own (see models.AuditEntry). seq is assigned
-- from the 'audit' counter row, whose lock orders concurrent appends. The
-- triggers refuse UPDATE and DELETE, so the application cannot rewrite it;
-- the chain shows it when someone does so outside the application.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    action     TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_case ON audit_log (case_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

INSERT INTO counters (name, value) VALUES ('audit', 0);

-- Statistics read cases by when they last changed and history by time.
CREATE INDEX cases_updated_at ON cases (updated_at);
CREATE INDEX history_at ON history (at);
