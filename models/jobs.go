package models

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Job is a unit of background work in the durable queue (thumbnails, evidence
// gating). It survives a restart: a job claimed by a process that died becomes
// claimable again when its lease runs out.
type Job struct {
	ID        uuid.UUID
	Kind      string // e.g. "thumbnail"
	Key       string // dedupe key: one pending job per (Kind, Key)
	Payload   []byte // opaque to the queue
	Attempts  int
	RunAfter  time.Time
	LeaseTill *time.Time
	LastError string
	Done      bool
	CreatedAt time.Time
}

// TxEnqueuer is a Tx that can also queue jobs, committed with the
// transaction's other writes. The store's transactions are (its queue lives
// in the same database); callers fall back to JobQueue.Enqueue after the
// commit for one that is not.
type TxEnqueuer interface {
	Enqueue(ctx context.Context, jobs []Job) error
}

// JobQueue is a durable queue. The storage package implements it.
type JobQueue interface {
	// Enqueue adds jobs; a job whose (Kind, Key) is already pending is skipped.
	Enqueue(ctx context.Context, jobs []Job) error
	// Claim leases up to n runnable jobs of kind until now+lease.
	Claim(ctx context.Context, kind string, n int, now time.Time, lease time.Duration) ([]Job, error)
	// Complete marks a job done.
	Complete(ctx context.Context, id uuid.UUID) error
	// Fail records an error and makes the job runnable again at retryAt
	// (or never again when retryAt is nil).
	Fail(ctx context.Context, id uuid.UUID, msg string, retryAt *time.Time) error
	// Pending counts jobs of kind not done.
	Pending(ctx context.Context, kind string) (int, error)
}
