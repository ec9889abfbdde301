package testenv

import (
	"context"
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
