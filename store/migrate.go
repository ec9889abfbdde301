package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// The migrations of each dialect are plain SQL files named NNNN_name.sql.
// A schema change adds a file to both folders with the same number; files are
// never edited once released.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one versioned schema change.
type migration struct {
	Version int
	Name    string
	SQL     string
}

// migrationLockKey is the PostgreSQL advisory lock that serialises Migrate
// across server processes sharing a database ("fieldsyn" in ASCII).
const migrationLockKey = 0x6669656c6473796e

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`

const createMigrationsTablePG = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)`

// migrations returns the dialect's migrations in version order.
func (d *DB) migrations() ([]migration, error) {
	return loadMigrations(d.Dialect())
}

func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_name.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("store: migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{Version: v, Name: rest, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// MigrationState returns how many of the known migrations have been applied.
func (d *DB) MigrationState(ctx context.Context) (applied, known int, err error) {
	ms, err := d.migrations()
	if err != nil {
		return 0, 0, &models.Error{Code: models.CodeInternal, Message: "cannot read migrations", Cause: err}
	}
	done, err := d.appliedVersions(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		if done[m.Version] {
			applied++
		}
	}
	return applied, len(ms), nil
}

func (d *DB) appliedVersions(ctx context.Context) (map[int]bool, error) {
	done := map[int]bool{}
	err := d.raw(ctx, func(q querier) error {
		var exists bool
		var err error
		if d.pg {
			err = q.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
		} else {
			err = q.QueryRowContext(ctx,
				`SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists)
		}
		if err != nil || !exists {
			return dbErr(err)
		}
		rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return dbErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return dbErr(err)
			}
			done[v] = true
		}
		return dbErr(rows.Err())
	})
	return done, err
}

// Migrate applies every pending migration, each in its own transaction
// together with its schema_migrations row, so a failed migration leaves the
// schema at the previous version. It uses the plain connection pool rather
// than GORM's prepared statements because a migration file holds several
// statements. Concurrent Migrate calls are safe: on PostgreSQL they are
// serialised by an advisory lock, on SQLite by the write lock that BEGIN
// IMMEDIATE takes; each re-checks the version inside its transaction.
func (d *DB) Migrate(ctx context.Context) error {
	ms, err := d.migrations()
	if err != nil {
		return &models.Error{Code: models.CodeInternal, Message: "cannot read migrations", Cause: err}
	}
	ddl := createMigrationsTable
	if d.pg {
		ddl = createMigrationsTablePG
	}
	if err := d.migrateStep(ctx, func(tx querier) error {
		_, err := tx.ExecContext(ctx, ddl)
		return err
	}); err != nil {
		return err
	}
	for _, m := range ms {
		applied := false
		err := d.migrateStep(ctx, func(tx querier) error {
			var n int
			if err := tx.QueryRowContext(ctx, d.rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`),
				m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			_, err := tx.ExecContext(ctx,
				d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.Version, m.Name, time.Now().UTC().Truncate(time.Microsecond))
			applied = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if applied {
			d.log.InfoContext(ctx, "store: migration applied", "dialect", d.Dialect(), "version", m.Version, "name", m.Name)
		}
	}
	return nil
}

// querier is what plain SQL needs from a connection, pool or transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// raw runs fn with the writer's plain connection (SQLite) or pool
// (PostgreSQL), outside GORM.
func (d *DB) raw(ctx context.Context, fn func(q querier) error) error {
	if d.sw == nil {
		sqlDB, err := d.w.DB()
		if err != nil {
			return dbErr(err)
		}
		return fn(sqlDB)
	}
	if err := d.sw.acquire(ctx); err != nil {
		return err
	}
	defer d.sw.release()
	return fn(d.sw.conn)
}

// migrateStep runs fn in a plain transaction that holds the migration lock:
// the write lock on SQLite, an advisory lock on PostgreSQL.
func (d *DB) migrateStep(ctx context.Context, fn func(tx querier) error) error {
	if d.sw != nil {
		if err := d.sw.acquire(ctx); err != nil {
			return err
		}
		defer d.sw.release()
		return d.sw.tx(ctx, func() error { return dbErr(fn(d.sw.conn)) })
	}
	sqlDB, err := d.w.DB()
	if err != nil {
		return dbErr(err)
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Commit())
}

// rebind turns ? placeholders into PostgreSQL's $n for SQL run outside GORM.
func (d *DB) rebind(q string) string {
	if !d.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
