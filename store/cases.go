package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// Default and largest page sizes of list reads.
const (
	defaultLimit = 50
	maxLimit     = 1000
)

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// GetCase returns one case, deleted or not, or ErrNotFound.
func (d *DB) GetCase(ctx context.Context, id uuid.UUID) (models.Case, error) {
	var row caseRow
	if err := d.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Case{}, lookupErr(err, "case", id)
	}
	return row.model(), nil
}

// ListCases returns up to q.Limit (default 50, at most 1000) cases matching
// every filter of q and within q.Scope, newest first by id, after q.After.
// From is inclusive and To exclusive. Text matches a case-insensitive
// substring of description, address or party. Overdue uses q.Now, or the
// current time when it is zero.
func (d *DB) ListCases(ctx context.Context, q models.CaseQuery) ([]models.Case, error) {
	conds, args := caseFilter(q, "c", d.pg)
	order := "c.id DESC"
	if q.After != uuid.Nil {
		conds = append(conds, "c.id < ?")
		args = append(args, q.After)
	}
	if q.Sort == models.SortDeadline {
		// The queue view: soonest deadline first, cases without one last. Keyset
		// paging follows id, so this order holds within a page.
		order = "CASE WHEN c.deadline IS NULL THEN 1 ELSE 0 END, c.deadline, c.id DESC"
	}
	sel, ps := d.caseSelect("c")
	qs := d.bind("SELECT " + sel + " FROM cases AS c WHERE " + where(conds) +
		" ORDER BY " + order + " LIMIT ?")
	rows, err := queryCases(ctx, d.read(ctx), ps, qs, append(args, pageLimit(q.Limit))...)
	if err != nil {
		return nil, err
	}
	return caseModels(rows), nil
}

func caseModels(rows []caseRow) []models.Case {
	out := make([]models.Case, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out
}

func stringsOf[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// History returns a case's history, oldest first.
func (d *DB) History(ctx context.Context, caseID uuid.UUID) ([]models.HistoryEntry, error) {
	var rows []historyRow
	if err := d.read(ctx).Where("case_id = ?", caseID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbErr(err)
	}
	return historyModels(rows)
}

func historyModels(rows []historyRow) ([]models.HistoryEntry, error) {
	out := make([]models.HistoryEntry, len(rows))
	for i := range rows {
		h, err := rows[i].model()
		if err != nil {
			return nil, corrupt("history", rows[i].ID, err)
		}
		out[i] = h
	}
	return out, nil
}

// Comments returns the comments of the cases, oldest first.
func (d *DB) Comments(ctx context.Context, caseIDs []uuid.UUID) ([]models.Comment, error) {
	return commentsOf(d.read(ctx), caseIDs)
}

func commentsOf(g *gorm.DB, caseIDs []uuid.UUID) ([]models.Comment, error) {
	var out []models.Comment
	for _, ids := range chunks(caseIDs) {
		var rows []commentRow
		if err := g.Where("case_id IN ?", ids).Order("created_at, id").Find(&rows).Error; err != nil {
			return nil, dbErr(err)
		}
		for i := range rows {
			out = append(out, rows[i].model())
		}
	}
	return out, nil
}

// Photos returns the photo records of the cases, deleted ones included, oldest first.
func (d *DB) Photos(ctx context.Context, caseIDs []uuid.UUID) ([]models.PhotoRecord, error) {
	return photosOf(d.read(ctx), "case_id", caseIDs)
}

func photosOf(g *gorm.DB, col string, ids []uuid.UUID) ([]models.PhotoRecord, error) {
	return photosOfLocked(g, col, ids, false)
}

// photosOfLocked is photosOf that, with lock on PostgreSQL, locks the rows
// until the transaction ends (SQLite's single writer needs no row locks).
func photosOfLocked(g *gorm.DB, col string, ids []uuid.UUID, lock bool) ([]models.PhotoRecord, error) {
	// Hand-written SQL and scanning: a pull page carries a thousand photo
	// records, and GORM's reflection cost a third of the page's server time.
	var out []models.PhotoRecord
	pg := g.Dialector.Name() == "postgres"
	for _, part := range chunks(ids) {
		kind := "photos_by_" + col
		suffix := ""
		if lock && pg {
			kind, suffix = kind+"_locked", " FOR UPDATE"
		}
		cond, args := idsIn(pg, col, part)
		q := cachedSQL(kind, len(args), pg, func() string {
			return "SELECT " + strings.Join(photoCols, ", ") + " FROM photos WHERE " + cond + " ORDER BY created_at, id" + suffix
		})
		rows, err := conn(g).QueryContext(g.Statement.Context, q, args...)
		if err != nil {
			return nil, dbErr(err)
		}
		for rows.Next() {
			var r photoRow
			if err := rows.Scan(r.fields()...); err != nil {
				rows.Close()
				return nil, dbErr(err)
			}
			p, err := r.model()
			if err != nil {
				rows.Close()
				return nil, corrupt("photo", r.ID, err)
			}
			out = append(out, p)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, dbErr(err)
		}
	}
	return out, nil
}

// GetPhoto returns one photo record or ErrNotFound.
func (d *DB) GetPhoto(ctx context.Context, id uuid.UUID) (models.PhotoRecord, error) {
	var row photoRow
	if err := d.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.PhotoRecord{}, lookupErr(err, "photo", id)
	}
	p, err := row.model()
	if err != nil {
		return p, corrupt("photo", id, err)
	}
	return p, nil
}

// Conflicts returns conflict records of cases within q.Scope, newest first,
// filtered by case and status, up to q.Limit (default 50, at most 1000).
func (d *DB) Conflicts(ctx context.Context, q models.ConflictQuery) ([]models.Conflict, error) {
	g := d.read(ctx).Model(&conflictRow{}).Select("conflicts.*")
	if cond, args, ok := scopeSQL(q.Scope, "c"); ok {
		g = g.Joins("JOIN cases c ON c.id = conflicts.case_id").Where(cond, args...)
	}
	if q.CaseID != uuid.Nil {
		g = g.Where("conflicts.case_id = ?", q.CaseID)
	}
	if q.Status != "" {
		g = g.Where("conflicts.status = ?", string(q.Status))
	}
	var rows []conflictRow
	if err := g.Order("conflicts.created_at DESC, conflicts.id DESC").Limit(pageLimit(q.Limit)).Find(&rows).Error; err != nil {
		return nil, dbErr(err)
	}
	return conflictModels(rows)
}

func conflictModels(rows []conflictRow) ([]models.Conflict, error) {
	out := make([]models.Conflict, len(rows))
	for i := range rows {
		c, err := rows[i].model()
		if err != nil {
			return nil, corrupt("conflict", rows[i].ID, err)
		}
		out[i] = c
	}
	return out, nil
}

// GetConflict returns one conflict record or ErrNotFound.
func (d *DB) GetConflict(ctx context.Context, id uuid.UUID) (models.Conflict, error) {
	return getConflict(d.read(ctx), id, false)
}

func getConflict(g *gorm.DB, id uuid.UUID, lock bool) (models.Conflict, error) {
	var row conflictRow
	if lock {
		g = forUpdate(g)
	}
	if err := g.Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Conflict{}, lookupErr(err, "conflict", id)
	}
	c, err := row.model()
	if err != nil {
		return c, corrupt("conflict", id, err)
	}
	return c, nil
}

// Outcomes returns a device's stored outcomes in sequence order; with
// unackedOnly, only those not yet acknowledged.
func (d *DB) Outcomes(ctx context.Context, deviceID uuid.UUID, unackedOnly bool) ([]models.Outcome, error) {
	g := d.read(ctx).Where("device_id = ? AND seq > 0", deviceID)
	if unackedOnly {
		g = g.Where("NOT acked")
	}
	var rows []outcomeRow
	if err := g.Order("seq").Find(&rows).Error; err != nil {
		return nil, dbErr(err)
	}
	return outcomeModels(rows)
}

func outcomeModels(rows []outcomeRow) ([]models.Outcome, error) {
	out := make([]models.Outcome, len(rows))
	for i := range rows {
		o, err := rows[i].model()
		if err != nil {
			return nil, corrupt("outcome", rows[i].CommandID, err)
		}
		out[i] = o
	}
	return out, nil
}

// AckOutcomes marks every outcome of the device up to seq acknowledged.
func (d *DB) AckOutcomes(ctx context.Context, deviceID uuid.UUID, upTo int64) error {
	return d.write(ctx, func(g *gorm.DB) error {
		return dbErr(g.Model(&outcomeRow{}).
			Where("device_id = ? AND seq > 0 AND seq <= ? AND NOT acked", deviceID, upTo).
			Update("acked", true).Error)
	})
}

// MaxChangeSeq returns the highest committed change sequence.
func (d *DB) MaxChangeSeq(ctx context.Context) (int64, error) {
	var v int64
	err := d.read(ctx).Raw("SELECT value FROM counters WHERE name = 'change'").Row().Scan(&v)
	return v, dbErr(err)
}

// chunkSize bounds the ids of one IN list.
const chunkSize = 500

// chunks splits ids into IN lists of at most chunkSize, each padded with
// copies of its last id to a rowBuckets length, so that a query's IN lists
// come in a few lengths and their statements stay prepared. A repeated value
// in an IN list matches nothing more.
func chunks[T any](ids []T) [][]T {
	var out [][]T
	for len(ids) > chunkSize {
		out = append(out, ids[:chunkSize])
		ids = ids[chunkSize:]
	}
	if len(ids) > 0 {
		out = append(out, padded(ids))
	}
	return out
}

// padded returns ids lengthened to the smallest rowBuckets length that holds
// them by repeating the last one (ids itself when it has such a length).
func padded[T any](ids []T) []T {
	n := len(ids)
	for i := len(rowBuckets) - 1; i >= 0; i-- {
		if b := rowBuckets[i]; b >= n {
			if b == n {
				return ids
			}
			out := make([]T, b)
			copy(out, ids)
			for j := n; j < b; j++ {
				out[j] = ids[n-1]
			}
			return out
		}
	}
	return ids
}
