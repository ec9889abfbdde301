package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// execPostgres runs one statement on the database dsn names.
func execPostgres(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// PostgresOnlyEnv, set with FIELDSYNC_TEST_POSTGRES in CI's second pass,
// skips the SQLite variants of the end-to-end tests there: the first pass
// ran them, and running them again doubled the longest packages' time.
const PostgresOnlyEnv = "FIELDSYNC_TEST_POSTGRES_ONLY"

// SkipSQLiteInPostgresPass skips t when PostgresOnlyEnv is set.
func SkipSQLiteInPostgresPass(t testing.TB) {
	t.Helper()
	if os.Getenv(PostgresOnlyEnv) != "" {
		t.Skip(PostgresOnlyEnv + " is set: the SQLite variant runs in the SQLite pass")
	}
}
