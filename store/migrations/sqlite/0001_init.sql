-- fieldsync schema, SQLite dialect. Times are stored by the driver as UTC text
-- ("2006-01-02 15:04:05.999999999+00:00"), which sorts in time order; columns
-- holding them are declared TIMESTAMP so the driver parses them back.
-- UUIDs are canonical lower-case text, which sorts like the UUID bytes.
-- JSON columns are TEXT; NULL stands for a nil Go value.

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
    limit_value INTEGER NOT NULL,
    limit_unit  TEXT NOT NULL,
    disabled    BOOLEAN NOT NULL
);

CREATE TABLE org_units (
    code        TEXT PRIMARY KEY,
    parent_code TEXT NOT NULL,
    level       TEXT NOT NULL,
    name        TEXT NOT NULL,
    path        TEXT NOT NULL,
    boundary    TEXT,
    center_lon  REAL NOT NULL,
    center_lat  REAL NOT NULL
);
CREATE INDEX org_units_path ON org_units (path);

CREATE TABLE grids (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    village_code TEXT NOT NULL,
    town_code    TEXT NOT NULL,
    org_path     TEXT NOT NULL,
    polygon      TEXT,
    min_lat      REAL NOT NULL,
    min_lon      REAL NOT NULL,
    max_lat      REAL NOT NULL,
    max_lon      REAL NOT NULL,
    worker_id    TEXT NOT NULL
);
CREATE INDEX grids_bbox ON grids (min_lat, max_lat, min_lon, max_lon);

CREATE TABLE road_segments (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    town_code TEXT NOT NULL,
    leader    TEXT NOT NULL,
    line      TEXT
);

CREATE TABLE units (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    town_code TEXT NOT NULL
);

CREATE TABLE refdata_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    updated_at TIMESTAMP
);
INSERT INTO refdata_version (id, version, updated_at) VALUES (1, 0, NULL);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    org_path      TEXT NOT NULL,
    unit_id       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE user_grids (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grid_code TEXT NOT NULL,
    PRIMARY KEY (user_id, grid_code)
);
CREATE INDEX user_grids_grid ON user_grids (grid_code);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP,
    last_seq      INTEGER NOT NULL,
    last_push_at  TIMESTAMP,
    last_pull_at  TIMESTAMP,
    clock_offset  INTEGER NOT NULL,
    app_version   TEXT NOT NULL,
    rejected      INTEGER NOT NULL,
    conflicted    INTEGER NOT NULL,
    last_pull_seq INTEGER NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE cases (
    id                TEXT PRIMARY KEY,
    category          TEXT NOT NULL,
    description       TEXT NOT NULL,
    lat               REAL NOT NULL,
    lon               REAL NOT NULL,
    accuracy          REAL NOT NULL,
    address           TEXT NOT NULL,
    party             TEXT NOT NULL,
    quantity          REAL,
    source            TEXT NOT NULL,
    org_path          TEXT NOT NULL,
    town_code         TEXT NOT NULL,
    village_code      TEXT NOT NULL,
    grid_code         TEXT NOT NULL,
    road_segment_id   TEXT NOT NULL,
    unit_id           TEXT NOT NULL,
    assignee_id       TEXT NOT NULL,
    ref_version       INTEGER NOT NULL,
    state             TEXT NOT NULL,
    deadline          TIMESTAMP,
    disposition       TEXT NOT NULL,
    rework_count      INTEGER NOT NULL,
    escalated         BOOLEAN NOT NULL,
    pending           TEXT NOT NULL,
    pending_deadline  TIMESTAMP,
    handled_by        TEXT NOT NULL,
    force_closed      BOOLEAN NOT NULL,
    linked_case       TEXT NOT NULL,
    reporter_id       TEXT NOT NULL,
    reporter_role     TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    client_created_at TIMESTAMP NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    dispatched_at     TIMESTAMP,
    handled_at        TIMESTAMP,
    closed_at         TIMESTAMP,
    deleted           BOOLEAN NOT NULL,
    version           INTEGER NOT NULL,
    change_seq        INTEGER NOT NULL
);
CREATE UNIQUE INDEX cases_change_seq ON cases (change_seq);
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_org_path ON cases (org_path);
CREATE INDEX cases_grid_code ON cases (grid_code);
CREATE INDEX cases_unit_id ON cases (unit_id);
CREATE INDEX cases_reporter_id ON cases (reporter_id);
CREATE INDEX cases_created_at ON cases (created_at);

CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    version    INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    changes    TEXT,
    comment    TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    command_id TEXT NOT NULL,
    at         TIMESTAMP NOT NULL,
    client_at  TIMESTAMP,
    note       TEXT NOT NULL
);
CREATE INDEX history_case_version ON history (case_id, version);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases (id),
    body       TEXT NOT NULL,
    author_id  TEXT NOT NULL,
    author     TEXT NOT NULL,
    role       TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    client_at  TIMESTAMP,
    change_seq INTEGER NOT NULL
);
CREATE INDEX comments_case ON comments (case_id, created_at);

-- Photos have no foreign key to cases: a photo's record may be stored before
-- the command that creates its case arrives.
CREATE TABLE photos (
    id            TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL,
    stage         TEXT NOT NULL,
    type          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    captured_at   TIMESTAMP,
    gps           TEXT,
    app_version   TEXT NOT NULL,
    uploader_id   TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    verified      BOOLEAN NOT NULL,
    received_at   TIMESTAMP,
    content_type  TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    exif          TEXT,
    flags         TEXT,
    thumb_small   TEXT NOT NULL,
    thumb_large   TEXT NOT NULL,
    deleted       BOOLEAN NOT NULL,
    delete_reason TEXT NOT NULL,
    change_seq    INTEGER NOT NULL
);
CREATE INDEX photos_case ON photos (case_id, created_at);

CREATE TABLE conflicts (
    id             TEXT PRIMARY KEY,
    case_id        TEXT NOT NULL REFERENCES cases (id),
    kind           TEXT NOT NULL,
    field          TEXT NOT NULL,
    base           TEXT NOT NULL,
    kept           TEXT NOT NULL,
    set_aside      TEXT NOT NULL,
    kept_by        TEXT NOT NULL,
    set_aside_by   TEXT NOT NULL,
    command_id     TEXT NOT NULL,
    payload        TEXT,
    status         TEXT NOT NULL,
    resolution     TEXT NOT NULL,
    resolved_value TEXT NOT NULL,
    resolved_by    TEXT NOT NULL,
    resolved_at    TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    change_seq     INTEGER NOT NULL
);
CREATE INDEX conflicts_case ON conflicts (case_id, status);
CREATE INDEX conflicts_status ON conflicts (status, created_at);

CREATE TABLE outcomes (
    command_id   TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    case_id      TEXT NOT NULL,
    status       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    final        TEXT,
    conflict_ids TEXT,
    code         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    hint         TEXT NOT NULL,
    pending      TEXT,
    at           TIMESTAMP NOT NULL,
    acked        BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX outcomes_device_seq ON outcomes (device_id, seq) WHERE seq > 0;

-- exits is the removal feed: one row each time a case leaves the attributes a
-- scope matches on, or is deleted, holding the attributes it had before.
CREATE TABLE exits (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL,
    case_id     TEXT NOT NULL,
    org_path    TEXT NOT NULL,
    grid_code   TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    reporter_id TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX exits_seq ON exits (seq);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change', 0);

CREATE TABLE jobs (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    payload    BLOB,
    attempts   INTEGER NOT NULL,
    run_after  TIMESTAMP NOT NULL,
    lease_till TIMESTAMP,
    last_error TEXT NOT NULL,
    done       BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX jobs_pending_key ON jobs (kind, key) WHERE NOT done AND key <> '';
CREATE INDEX jobs_runnable ON jobs (kind, run_after) WHERE NOT done;
