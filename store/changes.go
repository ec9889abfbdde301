package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// defaultChangeLimit is the page size of Changes when the query names none.
const defaultChangeLimit = 200

// Changes returns one page of the change feed of q.Scope after q.After, read
// in one snapshot (REPEATABLE READ on PostgreSQL, one WAL read transaction on
// SQLite).
//
// The page ends at E: the sequence of the last upsert when the page is full,
// else the counter's committed value S. Because sequence numbers are handed
// out in commit order (see PutCases), every change numbered at most S is in
// the snapshot, so resuming from E never skips a change that commits later.
// Removals are the exits in (After, E] whose previous attributes were in
// scope, except for cases that are in scope again (and not deleted) in this
// snapshot: those come back as upserts, now or on a later page. Both reads
// are index ranges on change_seq and exits.seq, so a pull costs what changed
// since the cursor, not the size of the table. Comments, photos and conflicts
// are those of the upserted cases.
func (d *DB) Changes(ctx context.Context, q models.ChangeQuery) (models.ChangePage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultChangeLimit
	}
	page := models.ChangePage{Next: q.After}
	if q.Scope.Empty() {
		// Nothing is visible; the cursor stays where it is.
		return page, nil
	}
	err := d.snapshot(ctx, func(tx *gorm.DB) error {
		var s int64
		if err := tx.Raw("SELECT value FROM counters WHERE name = 'change'").Row().Scan(&s); err != nil {
			return dbErr(err)
		}
		if s <= q.After {
			return nil
		}
		sqlText, args, ps := d.changesSQL(q.Scope, q.After, s, limit+1)
		rows, err := queryCases(ctx, tx, ps, sqlText, args...)
		if err != nil {
			return err
		}
		end := s
		if len(rows) > limit {
			rows = rows[:limit]
			end = rows[limit-1].ChangeSeq
			page.HasMore = true
		}
		page.Upserts = caseModels(rows)
		page.Next = end

		removals, err := removals(tx, q, end)
		if err != nil {
			return err
		}
		page.Removals = removals

		if len(rows) == 0 {
			return nil
		}
		rng := d.pageRangeOf(q, end, rows)
		if page.Photos, err = d.photosInRange(tx.Statement.Context, tx, rng); err != nil {
			return err
		}
		var cms []commentRow
		if err := rng.join(tx.Table("comments AS x")).Select("x.*").Order("x.created_at, x.id").Find(&cms).Error; err != nil {
			return dbErr(err)
		}
		for i := range cms {
			page.Comments = append(page.Comments, cms[i].model())
		}
		var cfs []conflictRow
		if err := rng.join(tx.Table("conflicts AS x")).Select("x.*").Order("x.created_at, x.id").Find(&cfs).Error; err != nil {
			return dbErr(err)
		}
		page.Conflicts, err = conflictModels(cfs)
		return err
	})
	if err != nil {
		return models.ChangePage{}, err
	}
	return page, nil
}

// changesSQL returns the query of a pull page's upserts: the cases in scope
// whose change_seq is in (after, upTo], in that order, at most limit of them,
// with its arguments and packed scanner (nil on PostgreSQL).
func (d *DB) changesSQL(scope models.Scope, after, upTo int64, limit int) (string, []any, *packedSelect) {
	sel, ps := d.caseSelect("")
	sqlText := "SELECT " + sel + " FROM " + d.casesBySeq("") + " WHERE change_seq > ? AND change_seq <= ? AND NOT deleted"
	args := []any{after, upTo}
	if cond, cargs, ok := scopeSQL(scope, ""); ok {
		sqlText += " AND " + cond
		args = append(args, cargs...)
	}
	sqlText += " ORDER BY change_seq LIMIT ?"
	args = append(args, limit)
	if d.pg {
		sqlText = rebindPG(sqlText)
	}
	return sqlText, args, ps
}

// casesBySeq names the cases table, with alias when it is not "", for a read
// by change_seq range. SQLite plans without statistics (fieldsync never runs
// ANALYZE), and for a scope of grids or units it chose the grid, reporter or
// unit index and sorted every case in scope on every page, so a grid
// worker's pull cost grew with their grids' cases rather than with what
// changed since the cursor. On SQLite the
// range is therefore forced through the change_seq index; PostgreSQL keeps
// statistics and picks the range itself.
func (d *DB) casesBySeq(alias string) string {
	t := "cases"
	if alias != "" {
		t += " AS " + alias
	}
	if !d.pg {
		t += " INDEXED BY cases_change_seq"
	}
	return t
}

// removals returns the removals of the page (q.After, end], one per case with
// its highest exit sequence, in sequence order.
func removals(tx *gorm.DB, q models.ChangeQuery, end int64) ([]models.Removal, error) {
	g := tx.Where("seq > ? AND seq <= ?", q.After, end)
	if cond, args, ok := scopeSQL(q.Scope, ""); ok {
		g = g.Where(cond, args...)
	}
	var exits []exitRow
	if err := g.Order("seq").Find(&exits).Error; err != nil {
		return nil, dbErr(err)
	}
	if len(exits) == 0 {
		return nil, nil
	}
	latest := make(map[uuid.UUID]int, len(exits)) // case → index of its last exit
	var ids []uuid.UUID
	for i, e := range exits {
		if _, ok := latest[e.CaseID]; !ok {
			ids = append(ids, e.CaseID)
		}
		latest[e.CaseID] = i
	}
	back := make(map[uuid.UUID]bool)
	for _, part := range chunks(ids) {
		var rows []caseRow
		if err := tx.Select("id", "org_path", "grid_code", "unit_id", "reporter_id", "deleted").
			Where("id IN ?", part).Find(&rows).Error; err != nil {
			return nil, dbErr(err)
		}
		for i := range rows {
			c := rows[i].model()
			if !c.Deleted && q.Scope.Covers(&c) {
				back[c.ID] = true
			}
		}
	}
	var out []models.Removal
	for i, e := range exits {
		if latest[e.CaseID] != i || back[e.CaseID] {
			continue
		}
		out = append(out, models.Removal{CaseID: e.CaseID, Seq: e.Seq, Reason: e.Reason})
	}
	return out, nil
}

// pageRange is the set of cases one pull page carries: exactly those in
// (after, end] within the scope and not deleted, which are the page's rows.
//
// On PostgreSQL their photos, comments and conflicts are found by joining
// the same range, rather than by binding a thousand ids one by one. On
// SQLite the ids travel as one JSON array (idsIn), which spares each of the
// three lookups reading the thousand case rows again to test the range and
// scope: the join was a third of a pull page's server CPU.
type pageRange struct {
	after, end int64
	scope      models.Scope
	ids        []uuid.UUID // the page's case ids, on SQLite; nil on PostgreSQL
}

// pageRangeOf returns the range of the page ending at end whose cases are rows.
func (d *DB) pageRangeOf(q models.ChangeQuery, end int64, rows []caseRow) pageRange {
	r := pageRange{after: q.After, end: end, scope: q.Scope}
	if !d.pg {
		r.ids = make([]uuid.UUID, len(rows))
		for i := range rows {
			r.ids[i] = rows[i].ID
		}
	}
	return r
}

// where returns the condition that a row of a table aliased alias, with a
// case_id column, belongs to the range, with its arguments, and the join it
// needs ("" for none).
func (r pageRange) where(alias string) (join, cond string, args []any) {
	if r.ids != nil {
		cond, args = idsIn(false, alias+".case_id", r.ids)
		return "", cond, args
	}
	cond = "c.change_seq > ? AND c.change_seq <= ? AND NOT c.deleted"
	args = []any{r.after, r.end}
	if sc, sargs, ok := scopeSQL(r.scope, "c"); ok {
		cond += " AND " + sc
		args = append(args, sargs...)
	}
	return "JOIN cases AS c ON c.id = " + alias + ".case_id", cond, args
}

// join restricts g (a table aliased x with a case_id column) to the range.
func (r pageRange) join(g *gorm.DB) *gorm.DB {
	join, cond, args := r.where("x")
	if join != "" {
		g = g.Joins(join)
	}
	return g.Where(cond, args...)
}

// photosInRange returns the photo records of the page's cases, scanned by hand
// (a page carries a thousand of them).
func (d *DB) photosInRange(ctx context.Context, tx *gorm.DB, r pageRange) ([]models.PhotoRecord, error) {
	join, cond, args := r.where("p")
	cols := make([]string, len(photoCols))
	for i, c := range photoCols {
		cols[i] = "p." + c
	}
	sel := strings.Join(cols, ", ")
	if !d.pg {
		sel = photoPacked.list
	}
	q := "SELECT " + sel + " FROM photos AS p " + join + " WHERE " + cond +
		" ORDER BY p.created_at, p.id"
	if d.pg {
		q = rebindPG(q)
	}
	rows, err := conn(tx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []models.PhotoRecord
	sc := photoPacked.scanner()
	for rows.Next() {
		var pr photoRow
		if d.pg {
			err = rows.Scan(pr.fields()...)
		} else {
			err = sc.scan(rows, pr.fields())
		}
		if err != nil {
			return nil, dbErr(err)
		}
		p, err := pr.model()
		if err != nil {
			return nil, corrupt("photo", pr.ID, err)
		}
		out = append(out, p)
	}
	return out, dbErr(rows.Err())
}
