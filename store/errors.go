package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// dbErr turns a database error into a *models.Error whose message is safe to
// show a client; the driver's error (which may quote SQL) is kept as Cause.
// Errors that already carry a code pass through unchanged.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w", models.ErrNotFound)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &models.Error{Code: models.CodeUnavailable, Message: "request cancelled or timed out", Cause: err}
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch {
		case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			return &models.Error{Code: models.CodeAlreadyExists, Message: "already exists", Cause: err}
		case se.ExtendedCode == sqlite3.ErrConstraintForeignKey:
			return &models.Error{Code: models.CodeInvalidInput, Message: "refers to a record that does not exist", Cause: err}
		case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
			return &models.Error{Code: models.CodeUnavailable, Message: "database busy, retry", Cause: err}
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return &models.Error{Code: models.CodeAlreadyExists, Message: "already exists", Cause: err}
		case "23503": // foreign_key_violation
			return &models.Error{Code: models.CodeInvalidInput, Message: "refers to a record that does not exist", Cause: err}
		case "40001", "40P01", "55P03", "57014": // serialization, deadlock, lock timeout, cancelled
			return &models.Error{Code: models.CodeUnavailable, Message: "database busy, retry", Cause: err}
		}
	}
	return &models.Error{Code: models.CodeInternal, Message: "database error", Cause: err}
}

// notFound returns ErrNotFound wrapped with what was looked for; errors.Is with
// models.ErrNotFound and models.IsNotFound both hold.
func notFound(what string, key any) error {
	return fmt.Errorf("%s %v: %w", what, key, models.ErrNotFound)
}

// exists returns CodeAlreadyExists with a client-safe message when err is a
// unique violation, and the mapped error otherwise.
func exists(err error, msg string) error {
	err = dbErr(err)
	var me *models.Error
	if errors.As(err, &me) && me.Code == models.CodeAlreadyExists {
		return &models.Error{Code: models.CodeAlreadyExists, Message: msg, Cause: me.Cause}
	}
	return err
}
