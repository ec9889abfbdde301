package client

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // the local store is SQLite
)

// schema is the local store. Server state is kept as the server sent it (case
// JSON and version); local work lives in the outbox until the server answers.
// Photos are one table for both: rows with a path are photos taken on this
// tablet, rows with a server body are photos as pulled, and a photo of ours
// that was pulled has both.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS cases (
		id TEXT PRIMARY KEY,
		version INTEGER NOT NULL,
		body TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS comments (
		id TEXT PRIMARY KEY,
		case_id TEXT NOT NULL,
		body TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS comments_case ON comments(case_id)`,
	`CREATE TABLE IF NOT EXISTS photos (
		id TEXT PRIMARY KEY,
		case_id TEXT NOT NULL,
		command_id TEXT NOT NULL DEFAULT '',
		stage TEXT NOT NULL DEFAULT '',
		type TEXT NOT NULL DEFAULT '',
		sha256 TEXT NOT NULL DEFAULT '',
		size INTEGER NOT NULL DEFAULT 0,
		path TEXT NOT NULL DEFAULT '',
		server TEXT NOT NULL DEFAULT '',
		upload TEXT NOT NULL DEFAULT '',
		upload_url TEXT NOT NULL DEFAULT '',
		upload_code TEXT NOT NULL DEFAULT '',
		upload_error TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS photos_case ON photos(case_id)`,
	`CREATE TABLE IF NOT EXISTS conflicts (
		id TEXT PRIMARY KEY,
		case_id TEXT NOT NULL,
		status TEXT NOT NULL,
		body TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS conflicts_case ON conflicts(case_id)`,
	`CREATE TABLE IF NOT EXISTS outbox (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		kind TEXT NOT NULL,
		case_id TEXT NOT NULL,
		command TEXT NOT NULL,
		state TEXT NOT NULL,
		outcome TEXT NOT NULL DEFAULT '',
		created_at TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state, seq)`,
	`CREATE TABLE IF NOT EXISTS reset_seen (case_id TEXT PRIMARY KEY)`,
}

// Outbox states. A command is pending until the server's outcome for it is
// recorded (done); it is acked once the server was told it may forget it.
const (
	statePending = "pending"
	stateDone    = "done"
	stateAcked   = "acked"
)

// Photo upload states.
const (
	uploadNone     = ""         // not a photo of this tablet
	uploadPending  = "pending"  // bytes still to send
	uploadWaiting  = "waiting"  // the server has no upload endpoint yet
	uploadDone     = "uploaded" // the server has the bytes
	uploadRejected = "failed"   // the server refused the bytes for good
)

// Meta keys.
const (
	metaServer    = "server_url"
	metaToken     = "device_token"
	metaNextSeq   = "next_seq"
	metaCursor    = "pull_cursor"
	metaAckedSeq  = "acked_seq"
	metaReset     = "reset_in_progress"
	metaUserID    = "user_id"
	metaUsername  = "username"
	metaRole      = "role"
	metaDeviceID  = "device_id"
	metaPushedYet = "pushed_once"
)

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// openDB opens (creating if needed) the SQLite file at path in WAL mode.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	// The file holds the device token: create it private, and SQLite gives
	// its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("client: local store %s: %w", path, err)
	}
	f.Close()
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "5000")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: the store is small, and a single writer never meets
	// SQLITE_BUSY inside its own process.
	db.SetMaxOpenConns(1)
	for _, s := range schema {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("client: prepare local store %s: %w", path, err)
		}
	}
	return db, nil
}

func getMeta(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMeta(ctx context.Context, q querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func getMetaInt(ctx context.Context, q querier, key string) (int64, error) {
	s, err := getMeta(ctx, q, key)
	if err != nil || s == "" {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

func setMetaInt(ctx context.Context, q querier, key string, v int64) error {
	return setMeta(ctx, q, key, strconv.FormatInt(v, 10))
}

// inTx runs fn in a transaction and commits it when fn returns nil.
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// outboxRow is one command of the outbox.
type outboxRow struct {
	Seq       int64
	ID        uuid.UUID
	Kind      string
	CaseID    uuid.UUID
	Cmd       wireCommand
	State     string
	Outcome   *wireOutcome
	CreatedAt string
}

func scanOutbox(rows *sql.Rows) ([]outboxRow, error) {
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var id, caseID, cmd, outcome string
		if err := rows.Scan(&r.Seq, &id, &r.Kind, &caseID, &cmd, &r.State, &outcome, &r.CreatedAt); err != nil {
			return nil, err
		}
		r.ID, _ = uuid.Parse(id)
		r.CaseID, _ = uuid.Parse(caseID)
		if err := json.Unmarshal([]byte(cmd), &r.Cmd); err != nil {
			return nil, fmt.Errorf("client: outbox command %d: %w", r.Seq, err)
		}
		r.Cmd.Seq = r.Seq
		if outcome != "" {
			var o wireOutcome
			if err := json.Unmarshal([]byte(outcome), &o); err != nil {
				return nil, fmt.Errorf("client: outbox outcome %d: %w", r.Seq, err)
			}
			r.Outcome = &o
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const outboxCols = `seq, id, kind, case_id, command, state, outcome, created_at`

func loadOutbox(ctx context.Context, q querier, where string, args ...any) ([]outboxRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+outboxCols+` FROM outbox `+where, args...)
	if err != nil {
		return nil, err
	}
	return scanOutbox(rows)
}

// photoRow is one row of the photos table.
type photoRow struct {
	ID, CaseID          uuid.UUID
	CommandID           uuid.UUID
	Stage, Type, SHA256 string
	Size                int64
	Path                string
	Server              *wirePhoto
	Upload, UploadURL   string
	UploadCode, UploadE string
	CreatedAt           string
}

const photoCols = `id, case_id, command_id, stage, type, sha256, size, path, server, upload, upload_url, upload_code, upload_error, created_at`

func loadPhotos(ctx context.Context, q querier, where string, args ...any) ([]photoRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+photoCols+` FROM photos `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []photoRow
	for rows.Next() {
		var p photoRow
		var id, caseID, cmdID, server string
		if err := rows.Scan(&id, &caseID, &cmdID, &p.Stage, &p.Type, &p.SHA256, &p.Size, &p.Path, &server,
			&p.Upload, &p.UploadURL, &p.UploadCode, &p.UploadE, &p.CreatedAt); err != nil {
			return nil, err
		}
		p.ID, _ = uuid.Parse(id)
		p.CaseID, _ = uuid.Parse(caseID)
		p.CommandID, _ = uuid.Parse(cmdID)
		if server != "" {
			var w wirePhoto
			if err := json.Unmarshal([]byte(server), &w); err != nil {
				return nil, fmt.Errorf("client: photo %s: %w", id, err)
			}
			p.Server = &w
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
