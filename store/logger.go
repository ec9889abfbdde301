package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowStatement is the duration past which a statement is logged as slow.
const slowStatement = 200 * time.Millisecond

// gormLogger sends GORM's statement trace to slog. Statements are logged
// without their parameters, which hold personal data (descriptions, parties,
// addresses). Failed statements are logged at debug level only: the error
// goes back to the caller, who decides whether it matters (a duplicate
// username is not a server fault).
type gormLogger struct {
	log   *slog.Logger
	level logger.LogLevel
}

func newGormLogger(l *slog.Logger) *gormLogger { return &gormLogger{log: l, level: logger.Warn} }

func (g *gormLogger) LogMode(level logger.LogLevel) logger.Interface {
	c := *g
	c.level = level
	return &c
}

func (g *gormLogger) Info(ctx context.Context, msg string, data ...any) {
	if g.level >= logger.Info {
		g.log.InfoContext(ctx, fmt.Sprintf(msg, data...))
	}
}

func (g *gormLogger) Warn(ctx context.Context, msg string, data ...any) {
	if g.level >= logger.Warn {
		g.log.WarnContext(ctx, fmt.Sprintf(msg, data...))
	}
}

func (g *gormLogger) Error(ctx context.Context, msg string, data ...any) {
	if g.level >= logger.Error {
		g.log.ErrorContext(ctx, fmt.Sprintf(msg, data...))
	}
}

func (g *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if g.level <= logger.Silent {
		return
	}
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		if g.log.Enabled(ctx, slog.LevelDebug) {
			sql, rows := fc()
			g.log.DebugContext(ctx, "store: statement failed", "sql", sql, "rows", rows,
				"duration", elapsed, "error", err)
		}
	case elapsed > slowStatement:
		sql, rows := fc()
		g.log.WarnContext(ctx, "store: slow statement", "sql", sql, "rows", rows, "duration", elapsed)
	}
}

// ParamsFilter keeps parameters out of the logged SQL.
func (g *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
