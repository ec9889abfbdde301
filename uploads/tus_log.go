package uploads

import (
	"context"
	"log/slog"

	expslog "golang.org/x/exp/slog"
)

// tusd v2 logs through golang.org/x/exp/slog, a type distinct from log/slog.
// tusdLogHandler forwards its records to our logger. tusd logs every request
// and chunk at Info; those become Debug here, so a busy upload endpoint does
// not drown the server log, while tusd's warnings and errors keep their level.

func newTusdLogger(l *slog.Logger) *expslog.Logger {
	return expslog.New(tusdLogHandler{h: l.Handler()})
}

type tusdLogHandler struct{ h slog.Handler }

func tusdLevel(l expslog.Level) slog.Level {
	if l <= expslog.LevelInfo {
		return slog.LevelDebug
	}
	return slog.Level(l)
}

// recordLevel is tusdLevel, except that a request body cut short (a mobile
// link dropping mid-chunk, which is what resumable uploads are for) is Info.
func recordLevel(r expslog.Record) slog.Level {
	if r.Message == "BodyReadError" {
		return slog.LevelInfo
	}
	return tusdLevel(r.Level)
}

func (t tusdLogHandler) Enabled(ctx context.Context, l expslog.Level) bool {
	return t.h.Enabled(ctx, tusdLevel(l))
}

func (t tusdLogHandler) Handle(ctx context.Context, r expslog.Record) error {
	rec := slog.NewRecord(r.Time, recordLevel(r), "tusd: "+r.Message, r.PC)
	r.Attrs(func(a expslog.Attr) bool {
		rec.AddAttrs(convertAttr(a))
		return true
	})
	return t.h.Handle(ctx, rec)
}

func (t tusdLogHandler) WithAttrs(as []expslog.Attr) expslog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = convertAttr(a)
	}
	return tusdLogHandler{h: t.h.WithAttrs(out)}
}

func (t tusdLogHandler) WithGroup(name string) expslog.Handler {
	return tusdLogHandler{h: t.h.WithGroup(name)}
}

func convertAttr(a expslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == expslog.KindGroup {
		g := v.Group()
		args := make([]any, len(g))
		for i, ga := range g {
			args[i] = convertAttr(ga)
		}
		return slog.Group(a.Key, args...)
	}
	return slog.Any(a.Key, v.Any())
}
