package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// EvidenceJob is the job kind of commands waiting for their photos.
const EvidenceJob = "evidence"

// errRollback ends an Update without committing and without being an error.
var errRollback = errors.New("rollback")

// waitingCmd is a command that waits for evidence, as kept in the job queue.
type waitingCmd struct {
	V        int            `json:"v"`
	UserID   uuid.UUID      `json:"user_id"`
	DeviceID uuid.UUID      `json:"device_id"`
	Cmd      models.Command `json:"cmd"`
}

func (e *Engine) gated() bool { return e.cfg.Jobs != nil && !e.cfg.AssumeEvidence }

// queueWaits keeps the waiting commands in the durable queue, in the
// transaction that stores their evidence_pending outcomes when the store can,
// so a crash can never leave an outcome waiting with nothing to apply it. It
// returns those that still need enqueueWaits after the commit.
func (e *Engine) queueWaits(ctx context.Context, tx models.Tx, waits []waitingCmd) (later []waitingCmd, err error) {
	if len(waits) == 0 || e.cfg.Jobs == nil {
		return nil, nil
	}
	q, ok := tx.(models.TxEnqueuer)
	if !ok {
		return waits, nil
	}
	jobs, err := e.waitJobs(waits)
	if err != nil {
		return nil, err
	}
	return nil, q.Enqueue(ctx, jobs)
}

// enqueueWaits queues the waiting commands after the commit, for a store
// whose transactions cannot: a crash in between leaves the outcome
// evidence_pending until the device resends the command or a clerk acts.
func (e *Engine) enqueueWaits(ctx context.Context, waits []waitingCmd) {
	if len(waits) == 0 || e.cfg.Jobs == nil {
		return
	}
	jobs, err := e.waitJobs(waits)
	if err != nil {
		e.log.ErrorContext(ctx, "encode waiting commands", "err", err)
		return
	}
	if err := e.cfg.Jobs.Enqueue(ctx, jobs); err != nil {
		e.log.ErrorContext(ctx, "queue commands waiting for evidence", "err", err)
	}
}

// waitJobs makes the queue's jobs of waiting commands, one per command id.
func (e *Engine) waitJobs(waits []waitingCmd) ([]models.Job, error) {
	jobs := make([]models.Job, 0, len(waits))
	now := e.cfg.Now().UTC()
	for _, w := range waits {
		w.V = 1
		b, err := json.Marshal(w)
		if err != nil {
			return nil, &models.Error{Code: models.CodeInternal, Message: "internal error", Cause: err}
		}
		jobs = append(jobs, models.Job{ID: uuid.Must(uuid.NewV7()), Kind: EvidenceJob, Key: w.Cmd.ID.String(), Payload: b,
			RunAfter: now, CreatedAt: now})
	}
	return jobs, nil
}

// EvidenceArrived is called when a photo's bytes were verified. Every
// command waiting for evidence whose photos are now all verified applies,
// as its sender, and its stored outcome is replaced by the final one (the
// device reads it from /sync/outcomes or by replaying its push).
func (e *Engine) EvidenceArrived(ctx context.Context, _ models.PhotoRecord) {
	if err := e.ApplyWaiting(ctx); err != nil && ctx.Err() == nil {
		e.log.WarnContext(ctx, "apply commands waiting for evidence", "err", err)
	}
}

// ApplyWaiting applies the waiting commands whose evidence is complete. It is
// also run periodically (RunEvidence), which covers a photo verified by
// another server process.
func (e *Engine) ApplyWaiting(ctx context.Context) error {
	if e.cfg.Jobs == nil {
		return nil
	}
	now := e.cfg.Now().UTC()
	jobs, err := e.cfg.Jobs.Claim(ctx, EvidenceJob, 200, now, time.Minute)
	if err != nil {
		return err
	}
	// Commands apply in the order they were sent (job ids are UUIDv7s minted
	// in that order), and passes repeat while one unblocks another: a report
	// applies first, then the commands that waited behind it.
	slices.SortFunc(jobs, func(a, b models.Job) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	left := jobs
	for progress := true; progress && len(left) > 0; {
		progress = false
		var still []models.Job
		for _, j := range left {
			var w waitingCmd
			if err := json.Unmarshal(j.Payload, &w); err != nil {
				_ = e.cfg.Jobs.Fail(ctx, j.ID, "undecodable: "+err.Error(), nil)
				continue
			}
			done, err := e.applyWaiting(ctx, w)
			switch {
			case err != nil:
				_ = e.cfg.Jobs.Fail(ctx, j.ID, err.Error(), ptr(now.Add(time.Minute)))
			case done:
				_ = e.cfg.Jobs.Complete(ctx, j.ID)
				progress = true
			default:
				still = append(still, j)
			}
		}
		left = still
	}
	for _, j := range left {
		// Still waiting: runnable again at once, so the next photo or sweep
		// looks at it; the lease keeps two processes from doing it twice.
		_ = e.cfg.Jobs.Fail(ctx, j.ID, "waiting for photos", ptr(now))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// applyWaiting applies one waiting command if all its photos are verified.
func (e *Engine) applyWaiting(ctx context.Context, w waitingCmd) (bool, error) {
	named := w.Cmd.Params.Photos
	if w.Cmd.Create != nil {
		named = append(append([]uuid.UUID{}, w.Cmd.Create.Photos...), idsOf(w.Cmd.Create.PhotoRecords)...)
	}
	if w.Cmd.Kind != models.CmdCreateCase && w.Cmd.CaseID != uuid.Nil {
		// A command that waits behind its case's report: not before the report.
		if _, err := e.cfg.Store.GetCase(ctx, w.Cmd.CaseID); models.IsNotFound(err) {
			list, err := e.cfg.Store.Photos(ctx, []uuid.UUID{w.Cmd.CaseID})
			if err != nil {
				return false, err
			}
			for _, p := range list {
				if !p.Verified && !p.Deleted {
					return false, nil
				}
			}
		} else if err != nil {
			return false, err
		}
	}
	for _, id := range named {
		p, err := e.cfg.Store.GetPhoto(ctx, id)
		if models.IsNotFound(err) {
			continue // judged when applied: evidence_missing
		} else if err != nil {
			return false, err
		}
		if !p.Verified && !p.Deleted {
			return false, nil
		}
	}
	u, err := e.cfg.Store.UserByID(ctx, w.UserID)
	if err != nil {
		return false, err
	}
	var grids []string
	if u.Role == models.RoleGridWorker {
		if grids, err = e.cfg.Store.UserGrids(ctx, u.ID); err != nil {
			return false, err
		}
	}
	actor := models.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, DeviceID: w.DeviceID, Scope: models.ScopeFor(u, grids)}
	now := e.cfg.Now().UTC()
	var changed []caseChange
	err = e.update(ctx, func(tx models.Tx) error {
		b := e.newBatch(ctx, tx, actor, now, 0)
		b.evidenceArrived = true
		if err := b.load([]models.Command{w.Cmd}); err != nil {
			return err
		}
		o := b.apply(w.Cmd)
		o.DeviceID, o.Seq, o.CommandID, o.At = w.DeviceID, w.Cmd.Seq, w.Cmd.ID, now
		if o.CaseID == uuid.Nil {
			o.CaseID = w.Cmd.CaseID
		}
		b.outcomes = append(b.outcomes, o)
		if b.fatal != nil {
			return b.fatal
		}
		if err := b.flush(); err != nil {
			return err
		}
		changed = b.changes()
		return nil
	})
	if err != nil {
		return false, err
	}
	e.publish(changed)
	return true, nil
}

func idsOf(ps []models.PhotoRecord) []uuid.UUID {
	out := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// RunEvidence sweeps the waiting commands every interval until ctx ends.
func (e *Engine) RunEvidence(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.ApplyWaiting(ctx); err != nil && ctx.Err() == nil {
				e.log.WarnContext(ctx, "evidence sweep", "err", err)
			}
		}
	}
}
