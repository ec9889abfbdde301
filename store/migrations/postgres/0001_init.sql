-- fieldsync schema, PostgreSQL dialect. Times are timestamptz (microseconds),
-- ids are uuid, structured values are jsonb (NULL stands for a nil Go value).
-- The org_path indexes use text_pattern_ops so "org_path LIKE 'p/%'" can use
-- them whatever the database collation.

CREATE TABLE categories (
    code        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    group_code  TEXT NOT NULL,
    group_zh    TEXT NOT NULL,
    group_en    TEXT NOT NULL,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    source      TEXT NOT NULL,
    quantity    TEXT NOT NULL,
    limit_value BIGINT NOT NULL,
    limit_unit  TEXT NOT NULL,
    disabled    BOOLEAN NOT NULL
);

CREATE TABLE org_units (
    code        TEXT PRIMARY KEY,
    parent_code TEXT NOT NULL,
    level       TEXT NOT NULL,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    boundary    JSONB,
    center_lon  DOUBLE PRECISION NOT NULL,
    center_lat  DOUBLE PRECISION NOT NULL
);
CREATE INDEX org_units_path ON org_units (path text_pattern_ops);

CREATE TABLE grids (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    village_code TEXT NOT NULL,
    town_code    TEXT NOT NULL,
    org_path     TEXT NOT NULL,
    polygon      JSONB,
    min_lat      DOUBLE PRECISION NOT NULL,
    min_lon      DOUBLE PRECISION NOT NULL,
    max_lat      DOUBLE PRECISION NOT NULL,
    max_lon      DOUBLE PRECISION NOT NULL,
    worker_id    UUID NOT NULL
);
CREATE INDEX grids_bbox ON grids (min_lat, max_lat, min_lon, max_lon);

CREATE TABLE road_segments (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    town_code TEXT NOT NULL,
    leader    TEXT NOT NULL,
    line      JSONB
);

CREATE TABLE units (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    town_code TEXT NOT NULL
);

CREATE TABLE refdata_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    updated_at TIMESTAMPTZ
);
INSERT INTO refdata_version (id, version, updated_at) VALUES (1, 0, NULL);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    org_path      TEXT NOT NULL,
    unit_id       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_grids (
    user_id   UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grid_code TEXT NOT NULL,
    PRIMARY KEY (user_id, grid_code)
);
CREATE INDEX user_grids_grid ON user_grids (grid_code);

CREATE TABLE devices (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    last_seq      BIGINT NOT NULL,
    last_push_at  TIMESTAMPTZ,
    last_pull_at  TIMESTAMPTZ,
    clock_offset  BIGINT NOT NULL,
    app_version   TEXT NOT NULL,
    rejected      BIGINT NOT NULL,
    conflicted    BIGINT NOT NULL,
    last_pull_seq BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE cases (
    id                UUID PRIMARY KEY,
    category          TEXT NOT NULL,
    description       TEXT NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    lon               DOUBLE PRECISION NOT NULL,
    accuracy          DOUBLE PRECISION NOT NULL,
    address           TEXT NOT NULL,
    party             TEXT NOT NULL,
    quantity          DOUBLE PRECISION,
    source            TEXT NOT NULL,
    org_path          TEXT NOT NULL,
    town_code         TEXT NOT NULL,
    village_code      TEXT NOT NULL,
    grid_code         TEXT NOT NULL,
    road_segment_id   TEXT NOT NULL,
    unit_id           TEXT NOT NULL,
    assignee_id       UUID NOT NULL,
    ref_version       BIGINT NOT NULL,
    state             TEXT NOT NULL,
    deadline          TIMESTAMPTZ,
    disposition       TEXT NOT NULL,
    rework_count      BIGINT NOT NULL,
    escalated         BOOLEAN NOT NULL,
    pending           TEXT NOT NULL,
    pending_deadline  TIMESTAMPTZ,
    handled_by        UUID NOT NULL,
    force_closed      BOOLEAN NOT NULL,
    linked_case       UUID NOT NULL,
    reporter_id       UUID NOT NULL,
    reporter_role     TEXT NOT NULL,
    device_id         UUID NOT NULL,
    client_created_at TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    dispatched_at     TIMESTAMPTZ,
    handled_at        TIMESTAMPTZ,
    closed_at         TIMESTAMPTZ,
    deleted           BOOLEAN NOT NULL,
    version           BIGINT NOT NULL,
    change_seq        BIGINT NOT NULL
);
CREATE UNIQUE INDEX cases_change_seq ON cases (change_seq);
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_org_path ON cases (org_path text_pattern_ops);
CREATE INDEX cases_grid_code ON cases (grid_code);
CREATE INDEX cases_unit_id ON cases (unit_id);
CREATE INDEX cases_reporter_id ON cases (reporter_id);
CREATE INDEX cases_created_at ON cases (created_at);

CREATE TABLE history (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    case_id    UUID NOT NULL REFERENCES cases (id),
    version    BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    changes    JSONB,
    comment    TEXT NOT NULL,
    actor_id   UUID NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  UUID NOT NULL,
    command_id UUID NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    client_at  TIMESTAMPTZ,
    note       TEXT NOT NULL
);
CREATE INDEX history_case_version ON history (case_id, version);

CREATE TABLE comments (
    id         UUID PRIMARY KEY,
    case_id    UUID NOT NULL REFERENCES cases (id),
    body       TEXT NOT NULL,
    author_id  UUID NOT NULL,
    author     TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    client_at  TIMESTAMPTZ,
    change_seq BIGINT NOT NULL
);
CREATE INDEX comments_case ON comments (case_id, created_at);

-- Photos have no foreign key to cases: a photo's record may be stored before
-- the command that creates its case arrives.
CREATE TABLE photos (
    id            UUID PRIMARY KEY,
    case_id       UUID NOT NULL,
    stage         TEXT NOT NULL,
    type          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    captured_at   TIMESTAMPTZ,
    gps           JSONB,
    app_version   TEXT NOT NULL,
    uploader_id   UUID NOT NULL,
    device_id     UUID NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    verified      BOOLEAN NOT NULL,
    received_at   TIMESTAMPTZ,
    content_type  TEXT NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    exif          JSONB,
    flags         JSONB,
    thumb_small   TEXT NOT NULL,
    thumb_large   TEXT NOT NULL,
    deleted       BOOLEAN NOT NULL,
    delete_reason TEXT NOT NULL,
    change_seq    BIGINT NOT NULL
);
CREATE INDEX photos_case ON photos (case_id, created_at);

-- payload is TEXT, not jsonb, so the set-aside command is kept byte for byte.
CREATE TABLE conflicts (
    id             UUID PRIMARY KEY,
    case_id        UUID NOT NULL REFERENCES cases (id),
    kind           TEXT NOT NULL,
    field          TEXT NOT NULL,
    base           TEXT NOT NULL,
    kept           TEXT NOT NULL,
    set_aside      TEXT NOT NULL,
    kept_by        JSONB NOT NULL,
    set_aside_by   JSONB NOT NULL,
    command_id     UUID NOT NULL,
    payload        TEXT,
    status         TEXT NOT NULL,
    resolution     TEXT NOT NULL,
    resolved_value TEXT NOT NULL,
    resolved_by    UUID NOT NULL,
    resolved_at    TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    change_seq     BIGINT NOT NULL
);
CREATE INDEX conflicts_case ON conflicts (case_id, status);
CREATE INDEX conflicts_status ON conflicts (status, created_at);

CREATE TABLE outcomes (
    command_id   UUID PRIMARY KEY,
    device_id    UUID NOT NULL,
    seq          BIGINT NOT NULL,
    case_id      UUID NOT NULL,
    status       TEXT NOT NULL,
    version      BIGINT NOT NULL,
    final        JSONB,
    conflict_ids JSONB,
    code         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    hint         TEXT NOT NULL,
    pending      JSONB,
    at           TIMESTAMPTZ NOT NULL,
    acked        BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX outcomes_device_seq ON outcomes (device_id, seq) WHERE seq > 0;

-- exits is the removal feed: one row each time a case leaves the attributes a
-- scope matches on, or is deleted, holding the attributes it had before.
CREATE TABLE exits (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    seq         BIGINT NOT NULL,
    case_id     UUID NOT NULL,
    org_path    TEXT NOT NULL,
    grid_code   TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    reporter_id UUID NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX exits_seq ON exits (seq);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change', 0);

CREATE TABLE jobs (
    id         UUID PRIMARY KEY,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    payload    BYTEA,
    attempts   BIGINT NOT NULL,
    run_after  TIMESTAMPTZ NOT NULL,
    lease_till TIMESTAMPTZ,
    last_error TEXT NOT NULL,
    done       BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, key) WHERE NOT done AND key <> '';
CREATE INDEX jobs_runnable ON jobs (kind, run_after) WHERE NOT done;
