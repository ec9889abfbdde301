package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldsync/fieldsync/models"
)

// txStore is the write side of one Update transaction.
type txStore struct {
	d *DB
	g *gorm.DB
}

func (t *txStore) db(ctx context.Context) *gorm.DB { return t.g.WithContext(stmtCtx(ctx, t.g)) }

// forUpdate locks the rows a query reads until the transaction ends. SQLite
// has no row locks and needs none: an Update holds the database's write lock
// from its first statement.
func forUpdate(g *gorm.DB) *gorm.DB {
	if g.Dialector.Name() == "postgres" {
		return g.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return g
}

// LockDevice reads a device and locks it until the transaction ends. Like
// SaveDeviceSync it is plain SQL: every push runs both, and GORM's builder
// and reflective scan cost more than the statements.
func (t *txStore) LockDevice(ctx context.Context, id uuid.UUID) (models.Device, error) {
	q := cachedSQL("lock_device", 1, t.d.pg, func() string {
		q := "SELECT " + strings.Join(deviceCols, ", ") + " FROM devices WHERE id = ?"
		if t.d.pg {
			q += " FOR UPDATE"
		}
		return q
	})
	var row deviceRow
	if err := conn(t.g).QueryRowContext(stmtCtx(ctx, t.g), q, id.String()).Scan(row.fields()...); err != nil {
		return models.Device{}, lookupErr(err, "device", id)
	}
	return row.model(), nil
}

// SaveDeviceSync stores the device's push-side sync fields.
func (t *txStore) SaveDeviceSync(ctx context.Context, d models.Device) error {
	q := cachedSQL("save_device_sync", 1, t.d.pg, func() string {
		return "UPDATE devices SET last_seq = ?, last_push_at = ?, clock_offset = ?, app_version = ?, " +
			"rejected = ?, conflicted = ? WHERE id = ?"
	})
	res, err := conn(t.g).ExecContext(stmtCtx(ctx, t.g), q, d.LastSeq, driverValue(tsp(d.LastPushAt)),
		int64(d.ClockOffset), d.AppVersion, d.Rejected, d.Conflicted, d.ID.String())
	if err != nil {
		return dbErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(err)
	} else if n == 0 {
		return notFound("device", d.ID)
	}
	return nil
}

// CasesByID returns the cases that exist among ids, locked for update.
func (t *txStore) CasesByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]models.Case, error) {
	out := make(map[uuid.UUID]models.Case, len(ids))
	lock := ""
	if t.d.pg {
		lock = " FOR UPDATE"
	}
	for _, part := range chunks(ids) {
		cond, args := idsIn(t.d.pg, "id", part)
		sel, ps := t.d.caseSelect("")
		q := cachedSQL("cases_by_id", len(args), t.d.pg, func() string {
			// Ordered by id so concurrent transactions lock rows in one order.
			return "SELECT " + sel + " FROM cases WHERE " + cond + " ORDER BY id" + lock
		})
		rows, err := queryCases(ctx, t.g, ps, q, args...)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			out[rows[i].ID] = rows[i].model()
		}
	}
	return out, nil
}

// EditsSince returns a case's history entries with Version > since, oldest first.
func (t *txStore) EditsSince(ctx context.Context, caseID uuid.UUID, since int64) ([]models.HistoryEntry, error) {
	q := cachedSQL("edits_since", 0, t.d.pg, func() string {
		return "SELECT " + strings.Join(historyCols, ", ") + " FROM history WHERE case_id = ? AND version > ? ORDER BY id"
	})
	rs, err := conn(t.g).QueryContext(stmtCtx(ctx, t.g), q, caseID, since)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rs.Close()
	var rows []historyRow
	for rs.Next() {
		rows = append(rows, historyRow{})
		if err := rs.Scan(rows[len(rows)-1].fields()...); err != nil {
			return nil, dbErr(err)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, dbErr(err)
	}
	return historyModels(rows)
}

// PutCases writes cases with new change sequence numbers (written back into
// the slice) and records an exit for every case that was deleted or whose
// scope attributes (org path, grid, unit, reporter) changed, holding its
// attributes from prev. prev is nil or as long as cases, with nil entries for
// new cases. A case that appears more than once is written once, as its last
// element, and every element gets that write's sequence number.
//
// Sequence numbers come from the 'change' counter row, taken with one
// UPDATE ... RETURNING per call. The point is the row lock, not the number:
// the lock is held until the transaction commits, so a second writer (another
// goroutine or another server process on the same PostgreSQL database) waits
// at its own counter update until the first has committed, and then numbers
// above it. Sequence order is therefore commit order, and when a reader sees
// the counter at S every change numbered up to S is already visible to it. A
// database sequence (nextval) would hand out numbers without that wait, and a
// pull could pass a low number whose transaction commits after the pull, losing
// that change for the device forever. On SQLite the single writer gives the same
// order; the counter keeps the two dialects alike.
func (t *txStore) PutCases(ctx context.Context, cases []models.Case, prev []*models.Case) error {
	if len(cases) == 0 {
		return nil
	}
	if prev != nil && len(prev) != len(cases) {
		return &models.Error{Code: models.CodeInternal, Message: "internal error",
			Cause: errors.New("store: PutCases: prev and cases differ in length")}
	}
	// One write per distinct case: the last element wins, the first previous
	// version is what devices may hold.
	pos := make(map[uuid.UUID]int, len(cases))
	var last []int
	var before []*models.Case
	for i := range cases {
		id := cases[i].ID
		if id == uuid.Nil {
			return models.Errorf(models.CodeInvalidInput, "a case needs an id").WithField("id")
		}
		k, seen := pos[id]
		if !seen {
			k = len(last)
			pos[id] = k
			last = append(last, i)
			before = append(before, nil)
		}
		last[k] = i
		if prev != nil && before[k] == nil {
			before[k] = prev[i]
		}
	}
	n := int64(len(last))
	var hi int64
	q := cachedSQL("bump_change", 0, t.d.pg, func() string {
		return "UPDATE counters SET value = value + ? WHERE name = 'change' RETURNING value"
	})
	err := conn(t.g).QueryRowContext(stmtCtx(ctx, t.g), q, n).Scan(&hi)
	if errors.Is(err, sql.ErrNoRows) {
		return &models.Error{Code: models.CodeInternal, Message: "internal error",
			Cause: errors.New("store: the change counter is missing; run Migrate")}
	}
	if err != nil {
		return dbErr(err)
	}
	first := hi - n + 1
	for i := range cases {
		cases[i].ChangeSeq = first + int64(pos[cases[i].ID])
	}
	rp := caseRows.get(len(last))
	defer caseRows.put(rp)
	rows := *rp
	var exits []exitRow
	for k, i := range last {
		c := &cases[i]
		rows[k] = toCaseRow(c)
		if p := before[k]; p != nil && !p.Deleted {
			reason := ""
			switch {
			case c.Deleted:
				reason = "deleted"
			case p.OrgPath != c.OrgPath || p.GridCode != c.GridCode || p.UnitID != c.UnitID || p.ReporterID != c.ReporterID:
				reason = "out_of_scope"
			}
			if reason != "" {
				exits = append(exits, exitRow{Seq: c.ChangeSeq, CaseID: c.ID, OrgPath: p.OrgPath,
					GridCode: p.GridCode, UnitID: p.UnitID, ReporterID: p.ReporterID, Reason: reason})
			}
		}
	}
	err = batches(len(rows), func(lo, hi int) error {
		ap := anyPool.get((hi - lo) * len(caseCols))
		defer anyPool.put(ap)
		args := (*ap)[:0]
		for i := lo; i < hi; i++ {
			args = rows[i].values(args)
		}
		q, args := rowsSQL("upsert_cases", len(caseCols), args, t.d.pg, func(values string) string {
			return upsertSQL("cases", caseCols, "id", values)
		})
		return exec(ctx, t.g, q, args...)
	})
	if err != nil {
		return err
	}
	return batches(len(exits), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*len(exitCols))
		for i := lo; i < hi; i++ {
			args = exits[i].values(args)
		}
		q, args := rowsSQL("insert_exits", len(exitCols), args, t.d.pg, func(values string) string {
			return "INSERT INTO exits (" + strings.Join(exitCols, ", ") + ") " + values
		})
		return exec(ctx, t.g, q, args...)
	})
}

// AppendHistory inserts history entries in one batch and writes their ids
// back into the slice.
func (t *txStore) AppendHistory(ctx context.Context, entries []models.HistoryEntry) error {
	if len(entries) == 0 {
		return nil
	}
	cols := historyCols[1:] // the database numbers the entries
	return batches(len(entries), func(lo, hi int) error {
		ap, rp := anyPool.get((hi-lo)*len(cols)), historyRows.get(hi-lo)
		defer anyPool.put(ap)
		defer historyRows.put(rp)
		args, rows := (*ap)[:0], *rp // args point into rows
		for i := lo; i < hi; i++ {
			rows[i-lo] = toHistoryRow(&entries[i])
			args = rows[i-lo].values(args)
		}
		if !t.d.pg {
			// The one writer inserts the rows in order, each numbered one
			// above the table's highest id (the column is a rowid without
			// AUTOINCREMENT), so the last id gives them all. RETURNING
			// would cost a temporary table and a scan per row.
			q, args := rowsSQL("insert_history_plain", len(cols), args, false, func(values string) string {
				return "INSERT INTO history (" + strings.Join(cols, ", ") + ") " + values
			})
			res, err := conn(t.g).ExecContext(stmtCtx(ctx, t.g), q, args...)
			if err != nil {
				return dbErr(err)
			}
			last, err := res.LastInsertId()
			if err != nil {
				return dbErr(err)
			}
			for i := lo; i < hi; i++ {
				entries[i].ID = last - int64(hi-1-i)
			}
			return nil
		}
		q, args := rowsSQL("insert_history", len(cols), args, true, func(values string) string {
			return "INSERT INTO history (" + strings.Join(cols, ", ") + ") " + values + " RETURNING id"
		})
		rs, err := conn(t.g).QueryContext(stmtCtx(ctx, t.g), q, args...)
		if err != nil {
			return dbErr(err)
		}
		defer rs.Close()
		ids := make([]int64, 0, hi-lo)
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				return dbErr(err)
			}
			ids = append(ids, id)
		}
		if err := rs.Err(); err != nil {
			return dbErr(err)
		}
		if len(ids) != hi-lo {
			return dbErr(fmt.Errorf("store: history insert returned %d ids for %d rows", len(ids), hi-lo))
		}
		// RETURNING promises no order, but ids grow in the order the
		// VALUES rows are inserted, so the sorted ids match the entries.
		for i, id := range sortedInt64s(ids) {
			entries[lo+i].ID = id
		}
		return nil
	})
}

// AddComments inserts comments; an existing comment id gives CodeAlreadyExists.
func (t *txStore) AddComments(ctx context.Context, comments []models.Comment) error {
	if len(comments) == 0 {
		return nil
	}
	rows := make([]commentRow, len(comments))
	for i := range comments {
		rows[i] = toCommentRow(&comments[i])
	}
	if err := t.db(ctx).CreateInBatches(rows, batchSize).Error; err != nil {
		return exists(err, "a comment with this id already exists")
	}
	return nil
}

// PutPhotos inserts or replaces photo records.
func (t *txStore) PutPhotos(ctx context.Context, photos []models.PhotoRecord) error {
	// Hand-written like the other push-path writes: a report batch records a
	// hundred photos, and GORM's upsert builder cost more than the insert.
	return batches(len(photos), func(lo, hi int) error {
		ap, rp := anyPool.get((hi-lo)*len(photoCols)), photoRows.get(hi-lo)
		defer anyPool.put(ap)
		defer photoRows.put(rp)
		args, rows := (*ap)[:0], *rp // args point into rows
		for i := lo; i < hi; i++ {
			rows[i-lo] = toPhotoRow(&photos[i])
			args = rows[i-lo].values(args)
		}
		q, args := rowsSQL("upsert_photos", len(photoCols), args, t.d.pg, func(values string) string {
			return upsertSQL("photos", photoCols, "id", values)
		})
		return exec(ctx, t.g, q, args...)
	})
}

// PhotosByID returns the photo records that exist among ids, locked for update.
func (t *txStore) PhotosByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]models.PhotoRecord, error) {
	ps, err := photosOfLocked(t.db(ctx), "id", ids, true)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]models.PhotoRecord, len(ps))
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// PutConflicts inserts or replaces conflict records.
func (t *txStore) PutConflicts(ctx context.Context, conflicts []models.Conflict) error {
	rows := make([]conflictRow, len(conflicts))
	for i := range conflicts {
		rows[i] = toConflictRow(&conflicts[i])
	}
	return upsert(t.db(ctx), rows, "id")
}

// GetConflict returns one conflict record, locked for update, or ErrNotFound.
func (t *txStore) GetConflict(ctx context.Context, id uuid.UUID) (models.Conflict, error) {
	return getConflict(t.db(ctx), id, true)
}

// PutOutcomes stores outcomes, replacing one with the same command id. A
// device outcome whose (device, seq) is taken by another command gives
// CodeAlreadyExists.
func (t *txStore) PutOutcomes(ctx context.Context, outcomes []models.Outcome) error {
	err := batches(len(outcomes), func(lo, hi int) error {
		ap, rp := anyPool.get((hi-lo)*len(outcomeCols)), outcomeRows.get(hi-lo)
		defer anyPool.put(ap)
		defer outcomeRows.put(rp)
		args, rows := (*ap)[:0], *rp // args point into rows
		for i := lo; i < hi; i++ {
			rows[i-lo] = toOutcomeRow(&outcomes[i])
			args = rows[i-lo].values(args)
		}
		q, args := rowsSQL("upsert_outcomes", len(outcomeCols), args, t.d.pg, func(values string) string {
			return upsertSQL("outcomes", outcomeCols, "command_id", values)
		})
		return exec(ctx, t.g, q, args...)
	})
	if err != nil {
		return exists(err, "an outcome for this device sequence number already exists")
	}
	return nil
}

// outcomesBySeqWhere selects a device's outcomes by sequence number. Device
// commands are numbered from 1, and the seq > 0 term is what lets SQLite use
// the partial index outcomes_device_seq (WHERE seq > 0) rather than scan
// every outcome ever stored.
const outcomesBySeqWhere = "device_id = ? AND seq > 0 AND seq IN ?"

// OutcomesBySeq returns the stored outcomes of a device for the given seqs.
func (t *txStore) OutcomesBySeq(ctx context.Context, deviceID uuid.UUID, seqs []int64) (map[int64]models.Outcome, error) {
	out := make(map[int64]models.Outcome, len(seqs))
	for _, part := range chunks(seqs) {
		var rows []outcomeRow
		if err := t.db(ctx).Where(outcomesBySeqWhere, deviceID, part).Find(&rows).Error; err != nil {
			return nil, dbErr(err)
		}
		os, err := outcomeModels(rows)
		if err != nil {
			return nil, err
		}
		for _, o := range os {
			out[o.Seq] = o
		}
	}
	return out, nil
}

// OutcomeByCommand returns the stored outcome of a command by id, or ErrNotFound.
func (t *txStore) OutcomeByCommand(ctx context.Context, commandID uuid.UUID) (models.Outcome, error) {
	var row outcomeRow
	if err := t.db(ctx).Where("command_id = ?", commandID).Take(&row).Error; err != nil {
		return models.Outcome{}, lookupErr(err, "outcome", commandID)
	}
	o, err := row.model()
	if err != nil {
		return o, corrupt("outcome", commandID, err)
	}
	return o, nil
}

// UsedCommandIDs returns which of ids already have a stored outcome.
func (t *txStore) UsedCommandIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	for _, part := range chunks(ids) {
		cond, args := idsIn(t.d.pg, "command_id", part)
		q := cachedSQL("used_command_ids", len(args), t.d.pg, func() string {
			return "SELECT command_id FROM outcomes WHERE " + cond
		})
		rs, err := conn(t.g).QueryContext(stmtCtx(ctx, t.g), q, args...)
		if err != nil {
			return nil, dbErr(err)
		}
		for rs.Next() {
			var id uuid.UUID
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return nil, dbErr(err)
			}
			out[id] = true
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, dbErr(err)
		}
	}
	return out, nil
}
