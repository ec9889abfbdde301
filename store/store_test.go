package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/store"
	"github.com/fieldsync/fieldsync/store/storetest"
)

// pgEnv names the environment variable holding a PostgreSQL DSN; the
// PostgreSQL runs skip without it.
const pgEnv = "FIELDSYNC_TEST_POSTGRES"

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) models.Store { return openSQLite(t) })
}

func TestPostgres(t *testing.T) {
	if os.Getenv(pgEnv) == "" {
		t.Skip(pgEnv + " is not set")
	}
	storetest.Run(t, func(t *testing.T) models.Store { return openPostgres(t) })
}

func openSQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openPostgres opens a store in a schema of its own, dropped when the test
// ends, so tests never see each other's rows.
func openPostgres(t testing.TB) *store.DB {
	t.Helper()
	base := os.Getenv(pgEnv)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := store.Open(ctx, store.Config{DSN: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestOpenDSN(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://u@h/db": true, "POSTGRES://u@h/db": true,
		"": false, "file:x.db": false, "/var/lib/fieldsync/fieldsync.db": false, "postgres.db": false,
	} {
		if got := store.IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	// DataDir only: fieldsync.db in it, the directory made if need be.
	dir = filepath.Join(dir, "new", "data")
	db, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, err := os.Stat(filepath.Join(dir, "fieldsync.db")); err != nil {
		t.Errorf("no fieldsync.db in DataDir: %v", err)
	}
	// A path with characters that mean something in a URI, and a file: URI.
	odd := filepath.Join(dir, "a dir?#%", "x.db")
	if err := os.MkdirAll(filepath.Dir(odd), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dsn := range []string{odd, "file:" + filepath.Join(dir, "uri.db") + "?cache=private"} {
		db, err := store.Open(ctx, store.Config{DSN: dsn})
		if err != nil {
			t.Fatalf("Open(%q): %v", dsn, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate(%q): %v", dsn, err)
		}
		_ = db.Close()
	}
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("odd path not used as is: %v", err)
	}
	if _, err := store.Open(ctx, store.Config{DSN: "file::memory:"}); models.ErrorCode(err) != models.CodeInvalidInput {
		t.Errorf("in-memory SQLite: %v, want invalid_input", err)
	}
}

// TestClosed checks that a closed store refuses writes instead of hanging.
func TestClosed(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- db.CreateUser(ctx, models.User{ID: uuid.New(), Username: "late"}) }()
	select {
	case err := <-done:
		if models.ErrorCode(err) != models.CodeUnavailable {
			t.Errorf("write after Close: %v, want unavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write after Close hangs")
	}
}

// TestSQLiteReadersDoNotWait checks that a read outside Update, and a pull,
// finish while an Update holds the write lock.
func TestSQLiteReadersDoNotWait(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	inTx := make(chan struct{})
	release := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- db.Update(ctx, func(tx models.Tx) error {
			c := models.Case{ID: uuid.Must(uuid.NewV7())}
			if err := tx.PutCases(ctx, []models.Case{c}, nil); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := db.Changes(rctx, models.ChangeQuery{Scope: models.Scope{All: true}}); err != nil {
		t.Errorf("Changes during an Update: %v", err)
	}
	if seq, err := db.MaxChangeSeq(rctx); err != nil || seq != 0 {
		t.Errorf("MaxChangeSeq during an Update: %d, %v; want 0 (uncommitted)", seq, err)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if seq, err := db.MaxChangeSeq(ctx); err != nil || seq != 1 {
		t.Errorf("MaxChangeSeq after the Update: %d, %v; want 1", seq, err)
	}
}

// BenchmarkUpdateBatch100 is the transaction of a sync push of 100 commands,
// each editing a different case: lock the device, load the cases, read each
// case's edits since the command's base version, write the cases, 100
// history entries and 100 outcomes, and save the device.
func BenchmarkUpdateBatch100(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchUpdateBatch(b, openSQLite(b)) })
	if os.Getenv(pgEnv) != "" {
		b.Run("postgres", func(b *testing.B) { benchUpdateBatch(b, openPostgres(b)) })
	}
}

func benchUpdateBatch(b *testing.B, db *store.DB) {
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	user := models.User{ID: uuid.Must(uuid.NewV7()), Username: "bench", Role: models.RoleInspector}
	dev := models.Device{ID: uuid.Must(uuid.NewV7()), UserID: user.ID, TokenHash: "bench"}
	if err := db.CreateUser(ctx, user); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateDevice(ctx, dev); err != nil {
		b.Fatal(err)
	}
	const n = 100
	now := time.Now().UTC()
	cases := make([]models.Case, n)
	ids := make([]uuid.UUID, n)
	for i := range cases {
		cases[i] = models.Case{ID: uuid.Must(uuid.NewV7()), Category: "E0504", Description: "stall",
			State: models.StateReported, OrgPath: "370402/37040210/37040210001", GridCode: "37040210001001",
			ReporterID: user.ID, DeviceID: dev.ID, CreatedAt: now, UpdatedAt: now, ClientCreatedAt: now, Version: 1}
		ids[i] = cases[i].ID
	}
	if err := db.Update(ctx, func(tx models.Tx) error { return tx.PutCases(ctx, cases, nil) }); err != nil {
		b.Fatal(err)
	}
	seq := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		err := db.Update(ctx, func(tx models.Tx) error {
			d, err := tx.LockDevice(ctx, dev.ID)
			if err != nil {
				return err
			}
			got, err := tx.CasesByID(ctx, ids)
			if err != nil {
				return err
			}
			put := make([]models.Case, 0, n)
			prev := make([]*models.Case, 0, n)
			hist := make([]models.HistoryEntry, 0, n)
			outs := make([]models.Outcome, 0, n)
			for _, id := range ids {
				old := got[id]
				if _, err := tx.EditsSince(ctx, id, old.Version-1); err != nil {
					return err
				}
				c := old
				c.Version++
				c.Description = fmt.Sprint("stall ", c.Version)
				c.UpdatedAt = now
				put = append(put, c)
				prev = append(prev, &old)
				seq++
				cmd := uuid.Must(uuid.NewV7())
				hist = append(hist, models.HistoryEntry{CaseID: id, Version: c.Version, Kind: models.HistoryEdit,
					Changes: []models.FieldChange{{Field: "description", Old: old.Description, New: c.Description}},
					ActorID: user.ID, Role: models.RoleInspector, DeviceID: dev.ID, CommandID: cmd, At: now})
				outs = append(outs, models.Outcome{DeviceID: dev.ID, Seq: seq, CommandID: cmd, CaseID: id,
					Status: models.OutcomeApplied, Version: c.Version, At: now})
			}
			if err := tx.PutCases(ctx, put, prev); err != nil {
				return err
			}
			if err := tx.AppendHistory(ctx, hist); err != nil {
				return err
			}
			if err := tx.PutOutcomes(ctx, outs); err != nil {
				return err
			}
			d.LastSeq = seq
			d.LastPushAt = &now
			return tx.SaveDeviceSync(ctx, d)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
