package sync

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// PullRequest asks for the changes after a cursor.
type PullRequest struct {
	Cursor     string
	Limit      int
	DeviceTime time.Time // zero when unknown
}

// PullResult is one page of changes and the cursor to resume from.
type PullResult struct {
	models.ChangePage
	Cursor string
	// Reset says the caller's scope changed since its cursor was issued: the
	// page starts the feed over, and the client must drop every case it holds
	// that the new feed does not send again.
	Reset       bool
	ServerTime  time.Time
	ClockOffset time.Duration
}

// Pull limits.
const (
	DefaultPullLimit = 500
	MaxPullLimit     = 5000
)

// Pull returns the changes in the actor's scope after the cursor. The cursor
// is built on the server's change sequence, which is allocated in commit
// order, so a page never skips a change committed by a concurrent transaction
// and never repeats one across pages.
func (e *Engine) Pull(ctx context.Context, actor models.Actor, req PullRequest) (PullResult, error) {
	cur, err := DecodeCursor(req.Cursor)
	if err != nil {
		return PullResult{}, err
	}
	limit := req.Limit
	if limit <= 0 {
		limit = DefaultPullLimit
	}
	if limit > MaxPullLimit {
		limit = MaxPullLimit
	}
	scopeHash := ScopeHash(actor.Scope)
	var res PullResult
	if req.Cursor != "" && cur.Scope != scopeHash {
		res.Reset = true
		cur.Seq = 0
	}
	page, err := e.cfg.Store.Changes(ctx, models.ChangeQuery{Scope: actor.Scope, After: cur.Seq, Limit: limit})
	if err != nil {
		return PullResult{}, err
	}
	now := e.cfg.Now().UTC()
	res.ChangePage = page
	res.Cursor = EncodeCursor(Cursor{Seq: page.Next, Scope: scopeHash})
	res.ServerTime = now
	if !req.DeviceTime.IsZero() {
		res.ClockOffset = now.Sub(req.DeviceTime)
	}
	if actor.FromDevice() {
		if err := e.cfg.Store.TouchDevice(ctx, actor.DeviceID, now, res.ClockOffset, page.Next); err != nil {
			e.log.WarnContext(ctx, "record pull", "device", actor.DeviceID, "err", err)
		}
	}
	return res, nil
}
