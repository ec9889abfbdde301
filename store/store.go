// Package store is fieldsync's persistence: it implements models.Store,
// models.Tx and models.JobQueue on SQLite (the default, one file) and on
// PostgreSQL, with GORM. It is the only package that imports GORM; every other
// package sees the models ports.
//
// The schema is plain SQL, versioned per dialect and embedded (see Migrate).
// Rows map to models types in this package only; the models types carry no tags.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// Config says which database to open.
type Config struct {
	// DSN selects the database: "" opens the SQLite file fieldsync.db in
	// DataDir; a postgres:// or postgresql:// URL opens PostgreSQL; anything
	// else is a SQLite file path or file: URI.
	DSN string
	// DataDir holds the SQLite file when DSN is empty.
	DataDir string
	// Logger receives migration notices and slow or failed statements; nil
	// discards them.
	Logger *slog.Logger
}

// DB is an open fieldsync database. It implements models.Store and
// models.JobQueue and is safe for concurrent use.
type DB struct {
	pg bool
	w  *gorm.DB // writes and Update transactions
	r  *gorm.DB // reads outside Update; the same pool as w on PostgreSQL
	// sw is SQLite's writer connection; w may be used only while holding it.
	sw  *sqliteWriter
	log *slog.Logger
	// rw and ro are the transaction options of Update and of snapshot reads.
	rw, ro *sql.TxOptions
	// creds is raised after each change to users, grid assignments, device
	// revocations or sessions (see CredentialsEpoch).
	creds atomic.Uint64
}

// CredentialsEpoch returns a counter raised after every committed change this
// store makes to users, their grids, device revocations and sessions.
func (d *DB) CredentialsEpoch() uint64 { return d.creds.Load() }

// credentialsChanged raises the epoch once the change err reports has
// committed (or may have: a failed commit can still have landed).
func (d *DB) credentialsChanged(err error) error {
	d.creds.Add(1)
	return err
}

var (
	_ models.Store    = (*DB)(nil)
	_ models.JobQueue = (*DB)(nil)
	_ models.Tx       = (*txStore)(nil)
)

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	d := strings.ToLower(strings.TrimSpace(dsn))
	return strings.HasPrefix(d, "postgres://") || strings.HasPrefix(d, "postgresql://")
}

// SQLite connection settings. The busy timeout only matters when another
// process writes the same file: inside one process the writer pool's single
// connection already queues writers.
const (
	sqliteBusyMillis = 10000
	sqliteFile       = "fieldsync.db"
)

// Open connects to the database cfg names and checks it answers. It does not
// migrate: call Migrate.
//
// On SQLite it opens two pools on one file. The writer is exactly one
// connection, held for the store's life and lent to one caller at a time (see
// sqliteWriter); its transactions start with BEGIN IMMEDIATE, so a writer
// takes the write lock before it reads anything and two Updates can never
// deadlock upgrading read locks. The reader pool has several query-only
// connections with deferred transactions; in WAL mode they read the last
// committed snapshot while the writer works, so pulls and lists never wait for
// a sync push.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gcfg := func() *gorm.Config {
		return &gorm.Config{
			PrepareStmt:            true,
			SkipDefaultTransaction: true,
			Logger:                 newGormLogger(log),
			NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		}
	}
	d := &DB{log: log}
	if IsPostgres(cfg.DSN) {
		d.pg = true
		// pgx already prepares each statement once per connection and
		// caches it. GORM's PrepareStmt would add a server round trip per
		// statement inside transactions: it prepares those on the
		// transaction, and they are dropped at commit.
		pcfg := gcfg()
		pcfg.PrepareStmt = false
		g, err := gorm.Open(postgres.Open(cfg.DSN), pcfg)
		if err != nil {
			return nil, openErr(err)
		}
		sqlDB, err := g.DB()
		if err != nil {
			return nil, openErr(err)
		}
		sqlDB.SetMaxOpenConns(max(8, 4*runtime.NumCPU()))
		sqlDB.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		d.w, d.r = g, g
		d.rw = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
		d.ro = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	} else {
		path, query, err := sqlitePath(cfg)
		if err != nil {
			return nil, err
		}
		wq := cloneValues(query)
		wq.Set("_journal_mode", "WAL")
		wq.Set("_synchronous", "NORMAL")
		wq.Set("_foreign_keys", "1")
		wq.Set("_busy_timeout", fmt.Sprint(sqliteBusyMillis))
		wq.Set("_txlock", "immediate")
		// No per-connection mutex: database/sql hands a connection to one
		// goroutine at a time, and the writer's own connection is held
		// under its semaphore, which is all SQLite's multi-thread mode
		// asks. The serialized mode's lock and unlock around every bind,
		// step and column call were 1.3% of a push's server CPU.
		wq.Set("_mutex", "no")
		// The writer's page cache is small on purpose. A push touches the
		// right edge of each table and index it appends to, a few hundred
		// KB, and reads older pages through the file mapping. A large cache
		// only kept every page ever written: each new page was fresh memory
		// (a page fault, costly on a virtual machine) and a colder hash
		// walk, until the cache filled. 64 MB against 4 MB, paired bench
		// runs: 7,700 page faults against 30 for 10,000 reports pushed, and
		// about a fifth less server CPU.
		wq.Set("_cache_size", "-4096")
		wdb, err := sql.Open(sqlite.DriverName, path+"?"+wq.Encode())
		if err != nil {
			return nil, openErr(err)
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		wdb.SetConnMaxIdleTime(0)
		// Taking the connection sets WAL mode (persistent in the file)
		// before any reader connects; readers do not ask for it because
		// they may not write.
		sw, err := newSQLiteWriter(ctx, wdb)
		if err != nil {
			_ = wdb.Close()
			return nil, openErr(err)
		}
		// The writer's statements are cached by its own pool (see
		// sqliteWriter), so GORM's PrepareStmt is off for it.
		wcfg := gcfg()
		wcfg.PrepareStmt = false
		w, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sw.stmts}), wcfg)
		if err != nil {
			_ = sw.close()
			return nil, openErr(err)
		}
		rq := cloneValues(query)
		rq.Set("_foreign_keys", "1")
		rq.Set("_busy_timeout", fmt.Sprint(sqliteBusyMillis))
		rq.Set("_query_only", "1")
		rq.Set("_txlock", "deferred")
		rq.Set("_mutex", "no") // as the writer's
		rq.Set("_cache_size", "-16384")
		r, err := gorm.Open(sqlite.Open(path+"?"+rq.Encode()), gcfg())
		if err != nil {
			_ = sw.close()
			return nil, openErr(err)
		}
		rdb, err := r.DB()
		if err != nil {
			_ = sw.close()
			return nil, openErr(err)
		}
		n := max(4, 2*runtime.NumCPU())
		rdb.SetMaxOpenConns(n)
		rdb.SetMaxIdleConns(n)
		rdb.SetConnMaxLifetime(0)
		d.w, d.r, d.sw = w, r, sw
	}
	if err := d.Ping(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// sqlitePath turns cfg into a file: URI without query and the query
// parameters the caller gave, so ours can be added.
func sqlitePath(cfg Config) (string, url.Values, error) {
	dsn := cfg.DSN
	if dsn == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = "."
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", nil, openErr(err)
		}
		dsn = filepath.Join(dir, sqliteFile)
	}
	var query url.Values
	if strings.HasPrefix(dsn, "file:") {
		raw := ""
		if i := strings.IndexByte(dsn, '?'); i >= 0 {
			dsn, raw = dsn[:i], dsn[i+1:]
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			return "", nil, &models.Error{Code: models.CodeInvalidInput, Message: "invalid SQLite DSN", Cause: err}
		}
		query = q
	} else {
		// A plain path: escape it so '?', '#' and '%' in a file name stay part of it.
		dsn = "file:" + (&url.URL{Path: dsn}).EscapedPath()
		query = url.Values{}
	}
	if strings.Contains(dsn, ":memory:") || query.Get("mode") == "memory" {
		return "", nil, models.Errorf(models.CodeInvalidInput,
			"an in-memory SQLite database cannot be shared by the reader and writer pools; use a file")
	}
	return dsn, query, nil
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v)+5)
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func openErr(err error) error {
	return &models.Error{Code: models.CodeUnavailable, Message: "cannot open the database", Cause: err}
}

// Dialect returns "postgres" or "sqlite".
func (d *DB) Dialect() string {
	if d.pg {
		return "postgres"
	}
	return "sqlite"
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.r.DB()
	if err != nil {
		return dbErr(err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return &models.Error{Code: models.CodeUnavailable, Message: "database unavailable", Cause: err}
	}
	return nil
}

// Close waits for the write in progress, if any, and releases the database.
func (d *DB) Close() error {
	var errs []error
	if d.sw != nil {
		errs = append(errs, d.sw.close())
	}
	if sqlDB, err := d.r.DB(); err == nil {
		errs = append(errs, sqlDB.Close())
	}
	return errors.Join(errs...)
}

// Update runs fn in one read-write transaction. On SQLite it is BEGIN
// IMMEDIATE on the single writer connection, so Updates run one at a time and
// never deadlock; fn must not call Update or another write method of the
// store (use tx), since it holds that connection and the call would wait for
// it forever. On PostgreSQL it is READ COMMITTED:
// rows read through CasesByID and LockDevice are locked FOR UPDATE, and the
// change counter row is locked by PutCases until commit. To avoid lock-order
// deadlocks between concurrent Updates, lock the device and the cases first
// and call PutCases after.
func (d *DB) Update(ctx context.Context, fn func(tx models.Tx) error) error {
	return d.writeTx(ctx, func(tx *gorm.DB) error {
		return fn(&txStore{d: d, g: tx})
	})
}

// runTx runs fn in a transaction of g. An error fn returns comes back as it is
// (domain errors keep their code); a failure to begin or commit is mapped.
func runTx(g *gorm.DB, fn func(tx *gorm.DB) error, opts []*sql.TxOptions) error {
	var fnErr error
	err := g.Transaction(func(tx *gorm.DB) error {
		fnErr = fn(tx)
		return fnErr
	}, opts...)
	if fnErr != nil {
		return fnErr
	}
	return dbErr(err)
}

// snapshot runs fn in one read-only transaction that sees a single committed
// snapshot: REPEATABLE READ on PostgreSQL, a deferred transaction on the
// SQLite reader pool (a WAL reader keeps the snapshot of its first read until
// the transaction ends).
func (d *DB) snapshot(ctx context.Context, fn func(tx *gorm.DB) error) error {
	var opts []*sql.TxOptions
	if d.ro != nil {
		opts = append(opts, d.ro)
	}
	return runTx(d.r.WithContext(d.sqliteCtx(ctx)), fn, opts)
}

// sqliteCtx drops the cancellation of ctx for SQLite: mattn/go-sqlite3
// starts a goroutine per row (and per statement) to watch a cancellable
// context, which cost more than the row itself on a thousand-row pull page.
// SQLite statements here are bounded (pages, batches), so they are let run.
func (d *DB) sqliteCtx(ctx context.Context) context.Context {
	if d.pg {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// read returns the pool for reads outside Update.
func (d *DB) read(ctx context.Context) *gorm.DB { return d.r.WithContext(d.sqliteCtx(ctx)) }

// write runs fn with the writer, outside a transaction, for single-statement
// writes.
func (d *DB) write(ctx context.Context, fn func(g *gorm.DB) error) error {
	if d.sw == nil {
		return fn(d.w.WithContext(ctx))
	}
	if err := d.sw.acquire(ctx); err != nil {
		return err
	}
	defer d.sw.release()
	return fn(d.w.WithContext(ctx))
}

// writeTx runs fn in a write transaction: READ COMMITTED on PostgreSQL, BEGIN
// IMMEDIATE on the SQLite writer. An error fn returns comes back as it is.
func (d *DB) writeTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if d.sw == nil {
		return runTx(d.w.WithContext(ctx), fn, []*sql.TxOptions{d.rw})
	}
	if err := d.sw.acquire(ctx); err != nil {
		return err
	}
	defer d.sw.release()
	ctx = d.sqliteCtx(ctx)
	g := d.w.WithContext(ctx)
	return d.sw.tx(ctx, func() error { return fn(g) })
}
