package store

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	gosync "sync"

	"github.com/fieldsync/fieldsync/models"
)

// sqliteWriter is the one connection that writes a SQLite database, held for
// the store's whole life and lent to one caller at a time.
//
// Holding it, rather than borrowing it from a database/sql pool per
// transaction, is what makes prepared statements pay off: GORM's PrepareStmt
// cache prepares a statement first met inside a transaction on that
// transaction, and database/sql closes such statements at commit, so every
// statement of every Update was parsed again (a quarter of a sync push's time
// went to sqlite3_prepare). Statements prepared on a connection that is never
// returned live as long as it does.
type sqliteWriter struct {
	db    *sql.DB
	conn  *sql.Conn
	sem   chan struct{} // one token: whoever holds it may use conn
	shut  chan struct{} // closed by close, which keeps the token for good
	stmts *stmtCache
	once  gosync.Once
	err   error // of close
}

func newSQLiteWriter(ctx context.Context, db *sql.DB) (*sqliteWriter, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// Sorts of small results stay in memory, and the database file is read
	// through a mapping instead of a read call per page. The WAL is copied
	// back into the database every 10,000 pages (40 MB) rather than 1,000:
	// a push rewrites the last page of every table and index it appends to,
	// and a checkpoint copies each page once however often it was rewritten,
	// with two fsyncs, so rarer checkpoints copy fewer pages in all (paired
	// bench runs: 15% less server CPU for eight pushers).
	for _, p := range []string{"PRAGMA temp_store = MEMORY", "PRAGMA mmap_size = 268435456", "PRAGMA wal_autocheckpoint = 10000"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	w := &sqliteWriter{db: db, conn: conn, sem: make(chan struct{}, 1), shut: make(chan struct{})}
	w.stmts = &stmtCache{w: w, max: stmtCacheSize, ll: list.New(), m: map[string]*list.Element{}}
	return w, nil
}

// acquire waits for the connection, for ctx to end or for the store to close.
func (w *sqliteWriter) acquire(ctx context.Context) error {
	select {
	case w.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &models.Error{Code: models.CodeUnavailable, Message: "request cancelled or timed out", Cause: ctx.Err()}
	case <-w.shut:
		return &models.Error{Code: models.CodeUnavailable, Message: "the database is closed", Cause: errStoreClosed}
	}
}

var errStoreClosed = errors.New("store: closed")

func (w *sqliteWriter) release() { <-w.sem }

// tx runs fn between BEGIN IMMEDIATE and COMMIT; the caller holds the
// connection. IMMEDIATE takes the write lock up front, so a transaction never
// has to upgrade a read lock and fail with SQLITE_BUSY halfway (which only
// another process could cause: in this one the token already serialises
// writers).
func (w *sqliteWriter) tx(ctx context.Context, fn func() error) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return dbErr(err)
	}
	done := false
	defer func() {
		if !done {
			// fn failed or panicked. The rollback must run even when ctx
			// has ended (SQLite may already have rolled back an
			// interrupted statement's transaction; that error is moot).
			_, _ = w.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return dbErr(err)
	}
	done = true
	return nil
}

// close waits for the current user of the connection, then closes it. Later
// callers get an error instead of waiting; closing again does nothing.
func (w *sqliteWriter) close() error {
	w.once.Do(func() {
		w.sem <- struct{}{} // never released
		close(w.shut)
		w.stmts.closeAll()
		w.err = errors.Join(w.conn.Close(), w.db.Close())
	})
	return w.err
}

// stmtCacheSize bounds the prepared statements kept. Batch sizes and IN-list
// lengths make distinct statements, so the cache is an LRU rather than
// unbounded.
const stmtCacheSize = 256

// stmtCache is the writer's gorm.ConnPool: it runs every statement on the
// held connection through a prepared statement kept in an LRU. It is used
// only by the holder of the connection token.
type stmtCache struct {
	w   *sqliteWriter
	max int
	mu  gosync.Mutex
	ll  *list.List // front: most recently used *cachedStmt
	m   map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[query]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	stmt, err := c.w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = c.ll.PushFront(&cachedStmt{query: query, stmt: stmt})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		cs := old.Value.(*cachedStmt)
		c.ll.Remove(old)
		delete(c.m, cs.query)
		_ = cs.stmt.Close()
	}
	return stmt, nil
}

func (c *stmtCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.m = map[string]*list.Element{}
	c.ll.Init()
}

// PrepareContext implements gorm.ConnPool.
func (c *stmtCache) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.w.conn.PrepareContext(ctx, query)
}

// ExecContext implements gorm.ConnPool.
func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

// QueryContext implements gorm.ConnPool.
func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	stmt, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.QueryContext(ctx, args...)
}

// QueryRowContext implements gorm.ConnPool.
func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := c.get(ctx, query)
	if err != nil {
		// Let database/sql report the same error through the Row.
		return c.w.conn.QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

// GetDBConn lets gorm.DB.DB return the writer's pool.
func (c *stmtCache) GetDBConn() (*sql.DB, error) { return c.w.db, nil }
