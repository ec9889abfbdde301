package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm/schema"

	"github.com/fieldsync/fieldsync/models"
)

// openAuditTest opens a migrated store on SQLite or, with pg, on a schema of
// its own on the test PostgreSQL (skipped without FIELDSYNC_TEST_POSTGRES).
func openAuditTest(t *testing.T, pg bool) *DB {
	t.Helper()
	ctx := context.Background()
	cfg := Config{DataDir: t.TempDir()}
	if pg {
		base := os.Getenv("FIELDSYNC_TEST_POSTGRES")
		if base == "" {
			t.Skip("FIELDSYNC_TEST_POSTGRES is not set")
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "t_" + hex.EncodeToString(b)
		pgExec(t, base, "CREATE SCHEMA "+schema)
		t.Cleanup(func() { pgExec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		cfg = Config{DSN: u.String()}
	}
	d, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func pgExec(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// rawExec runs a statement behind the store's back, as someone with access
// to the database would.
func rawExec(d *DB, sql string) error {
	return d.raw(context.Background(), func(q querier) error {
		_, err := q.ExecContext(context.Background(), sql)
		return err
	})
}

func verifyStored(t *testing.T, d *DB) error {
	t.Helper()
	es, err := d.AuditChain(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	v := models.NewAuditVerifier()
	for _, e := range es {
		if err := v.Check(e); err != nil {
			return err
		}
	}
	return nil
}

// TestAuditAppendOnly shows the two defences: the database refuses to change
// or remove an entry, and when someone disables that refusal and rewrites
// one anyway, verification finds the entry.
func TestAuditAppendOnly(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			d := openAuditTest(t, pg)
			ctx := context.Background()
			var es []models.AuditEntry
			for i := range 3 {
				es = append(es, models.AuditEntry{At: time.Now(), ActorID: uuid.New(), Action: models.AuditView,
					CaseID: uuid.New(), Detail: `{"i":` + string(rune('0'+i)) + `}`})
			}
			if _, err := d.AppendAudit(ctx, es); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{
				"UPDATE audit_log SET detail = '{}' WHERE seq = 2",
				"DELETE FROM audit_log WHERE seq = 3",
			} {
				if err := rawExec(d, s); err == nil {
					t.Errorf("%s: the database allowed it", s)
				}
			}
			if pg {
				if err := rawExec(d, "TRUNCATE audit_log"); err == nil {
					t.Error("TRUNCATE: the database allowed it")
				}
			}
			if err := verifyStored(t, d); err != nil {
				t.Fatalf("intact log: %v", err)
			}

			// Someone with database access drops the guard and rewrites entry 2.
			if pg {
				must(t, rawExec(d, "ALTER TABLE audit_log DISABLE TRIGGER USER"))
			} else {
				must(t, rawExec(d, "DROP TRIGGER audit_log_no_update"))
				must(t, rawExec(d, "DROP TRIGGER audit_log_no_delete"))
			}
			must(t, rawExec(d, `UPDATE audit_log SET detail = '{"i":9}' WHERE seq = 2`))
			err := verifyStored(t, d)
			var br *models.AuditBreak
			if !errors.As(err, &br) || br.Seq != 2 {
				t.Errorf("rewritten entry 2: verification says %v", err)
			}
			// Removing the newest entry leaves a chain that verifies but is
			// shorter than the log's length, and cannot be hidden by appending.
			must(t, rawExec(d, "DELETE FROM audit_log WHERE seq = 3"))
			if n, err := d.AuditLength(ctx); err != nil || n != 3 {
				t.Errorf("AuditLength after the cut = %d, %v; want 3", n, err)
			}
			if _, err := d.AppendAudit(ctx, es[:1]); err == nil {
				t.Error("appended after the newest entry was removed")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditColumns keeps auditCols in step with auditRow as GORM maps it.
func TestAuditColumns(t *testing.T) {
	s, err := schema.Parse(&auditRow{}, &gosync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.DBNames, auditCols) || s.Table != "audit_log" {
		t.Errorf("%s: GORM columns %v, auditCols %v", s.Table, s.DBNames, auditCols)
	}
	var r auditRow
	if len(r.fields()) != len(auditCols) || len(r.values(nil)) != len(auditCols) {
		t.Errorf("auditRow fields/values do not match auditCols")
	}
}
