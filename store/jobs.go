package store

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldsync/fieldsync/models"
)

// Enqueue adds jobs. A job whose (Kind, Key) is already pending (not done) is
// skipped; an empty Key never dedupes. A zero ID is filled with a new UUIDv7
// and a zero CreatedAt with the current time, both written back into the
// slice; a zero RunAfter makes the job runnable at once.
func (d *DB) Enqueue(ctx context.Context, jobs []models.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	return d.write(ctx, func(g *gorm.DB) error { return enqueue(g, jobs) })
}

// Enqueue adds jobs in the transaction, as DB.Enqueue does: they exist when
// and only when the transaction's other writes do, so work that follows a
// commit (applying a command once its photos arrive, making a verified
// photo's thumbnails) cannot be lost to a crash right after it.
func (t *txStore) Enqueue(ctx context.Context, jobs []models.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	return enqueue(t.db(ctx), jobs)
}

func enqueue(g *gorm.DB, jobs []models.Job) error {
	now := time.Now()
	rows := make([]jobRow, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.ID == uuid.Nil {
			id, err := uuid.NewV7()
			if err != nil {
				return &models.Error{Code: models.CodeInternal, Message: "internal error", Cause: err}
			}
			j.ID = id
		}
		if j.CreatedAt.IsZero() {
			j.CreatedAt = ts(now)
		}
		rows[i] = jobRow{ID: j.ID, Kind: j.Kind, Key: j.Key, Payload: j.Payload, Attempts: j.Attempts,
			RunAfter: ts(j.RunAfter), LeaseTill: tsp(j.LeaseTill), LastError: j.LastError, Done: j.Done,
			CreatedAt: ts(j.CreatedAt)}
	}
	// ON CONFLICT without a target skips a row that violates any unique
	// index: the pending (kind, key) index, or an id enqueued before.
	return dbErr(g.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, batchSize).Error)
}

// Claim leases up to n runnable jobs of kind until now+lease and counts an
// attempt on each. A job is runnable when it is not done, its RunAfter has
// come and it has no lease or its lease has run out, so the jobs of a worker
// that died are claimed again. On PostgreSQL the candidates are locked with
// FOR UPDATE SKIP LOCKED, so concurrent claimers take different jobs without
// waiting; on SQLite the single writer serialises claims. Jobs come back
// oldest RunAfter first.
func (d *DB) Claim(ctx context.Context, kind string, n int, now time.Time, lease time.Duration) ([]models.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	now = ts(now)
	till := ts(now.Add(lease))
	var rows []jobRow
	err := d.writeTx(ctx, func(tx *gorm.DB) error {
		q := tx.Model(&jobRow{}).
			Where("kind = ? AND NOT done AND run_after <= ? AND (lease_till IS NULL OR lease_till <= ?)", kind, now, now).
			Order("run_after, created_at, id").Limit(n)
		if d.pg {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var ids []uuid.UUID
		if err := q.Pluck("id", &ids).Error; err != nil {
			return dbErr(err)
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.Model(&jobRow{}).Where("id IN ?", ids).Updates(map[string]any{
			"lease_till": till,
			"attempts":   gorm.Expr("attempts + 1"),
		}).Error; err != nil {
			return dbErr(err)
		}
		return dbErr(tx.Where("id IN ?", ids).Find(&rows).Error)
	})
	if err != nil {
		return nil, err
	}
	out := make([]models.Job, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	slices.SortFunc(out, func(a, b models.Job) int {
		if c := a.RunAfter.Compare(b.RunAfter); c != 0 {
			return c
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// Complete marks a job done and drops its lease; ErrNotFound when it does not exist.
func (d *DB) Complete(ctx context.Context, id uuid.UUID) error {
	return d.write(ctx, func(g *gorm.DB) error {
		return affected(g.Model(&jobRow{}).Where("id = ?", id).Updates(map[string]any{
			"done":       true,
			"lease_till": nil,
		}), "job", id)
	})
}

// Fail records msg as the job's last error and drops its lease. With retryAt
// the job is runnable again from then. Without it the job is given up: it is
// marked done with its error kept, so it no longer counts as pending and a new
// job with the same key may be enqueued.
func (d *DB) Fail(ctx context.Context, id uuid.UUID, msg string, retryAt *time.Time) error {
	set := map[string]any{"last_error": msg, "lease_till": nil}
	if retryAt != nil {
		set["run_after"] = ts(*retryAt)
	} else {
		set["done"] = true
	}
	return d.write(ctx, func(g *gorm.DB) error {
		return affected(g.Model(&jobRow{}).Where("id = ?", id).Updates(set), "job", id)
	})
}

// Pending counts the jobs of kind that are not done.
func (d *DB) Pending(ctx context.Context, kind string) (int, error) {
	var n int64
	err := d.read(ctx).Model(&jobRow{}).Where("kind = ? AND NOT done", kind).Count(&n).Error
	return int(n), dbErr(err)
}
