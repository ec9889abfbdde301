package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

var _ models.StatsStore = (*DB)(nil)

// caseFilter returns the conditions of q on the cases table under alias, with
// their arguments: scope, deletion and every filter of a case query except
// the keyset cursor and the limit. ListCases, the statistics and the exports
// all select through it.
func caseFilter(q models.CaseQuery, alias string, pg bool) (conds []string, args []any) {
	col := func(name string) string { return alias + "." + name }
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if cond, a, ok := scopeSQL(q.Scope, alias); ok {
		add(cond, a...)
	}
	if !q.IncludeDeleted {
		add("NOT " + col("deleted"))
	}
	if len(q.States) > 0 {
		add(col("state")+" IN ("+placeholders(len(q.States))+")", anys(stringsOf(q.States))...)
	}
	if len(q.Categories) > 0 {
		add(col("category")+" IN ("+placeholders(len(q.Categories))+")", anys(q.Categories)...)
	}
	if q.OrgPath != "" {
		cond, a := pathWithinSQL(col("org_path"), q.OrgPath)
		add(cond, a...)
	}
	if q.Grid != "" {
		add(col("grid_code")+" = ?", q.Grid)
	}
	if q.UnitID != "" {
		add(col("unit_id")+" = ?", q.UnitID)
	}
	if q.RoadSegmentID != "" {
		add(col("road_segment_id")+" = ?", q.RoadSegmentID)
	}
	if q.Disposition != "" {
		add(col("disposition")+" = ?", q.Disposition)
	}
	if q.ReporterID != uuid.Nil {
		add(col("reporter_id")+" = ?", q.ReporterID)
	}
	if q.Source != "" {
		add(col("source")+" = ?", string(q.Source))
	}
	if b := q.BBox; b != nil {
		add(col("lat")+" >= ? AND "+col("lat")+" <= ? AND "+col("lon")+" >= ? AND "+col("lon")+" <= ?",
			b.MinLat, b.MaxLat, b.MinLon, b.MaxLon)
	}
	if q.From != nil {
		add(col("created_at")+" >= ?", ts(*q.From))
	}
	if q.To != nil {
		add(col("created_at")+" < ?", ts(*q.To))
	}
	if q.Text != "" {
		like := "LIKE"
		if pg {
			like = "ILIKE"
		}
		pat := "%" + escapeLike(q.Text) + "%"
		add("("+col("description")+" "+like+` ? ESCAPE '\' OR `+col("address")+" "+like+` ? ESCAPE '\' OR `+
			col("party")+" "+like+` ? ESCAPE '\')`, pat, pat, pat)
	}
	if q.Overdue {
		now := q.Now
		if now.IsZero() {
			now = time.Now()
		}
		add(col("deadline")+" IS NOT NULL AND "+col("deadline")+" < ? AND "+col("state")+" NOT IN (?, ?)", ts(now),
			string(models.StateClosed), string(models.StateVoided))
	}
	if q.Rework {
		add(col("rework_count") + " >= 1")
	}
	if q.HasConflict {
		add("EXISTS (SELECT 1 FROM conflicts k WHERE k.case_id = "+col("id")+" AND k.status = ?)",
			string(models.ConflictOpen))
	}
	return conds, args
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func where(conds []string) string {
	if len(conds) == 0 {
		return "1 = 1"
	}
	return strings.Join(conds, " AND ")
}

// aliasedCaseCols is caseCols qualified by alias, for SELECTs with joins.
func aliasedCaseCols(alias string) string {
	out := make([]string, len(caseCols))
	for i, c := range caseCols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
}

// bind rebinds ? to $n on PostgreSQL; the statements built here carry no ? in
// literals.
func (d *DB) bind(q string) string {
	if d.pg {
		return rebindPG(q)
	}
	return q
}

// StatsCases returns the cases that can count in the statistics of a period
// between since and until, with their created and transition history before
// until, in one snapshot. A case closed or voided before since had no event
// in the window and is left out, which is judged by updated_at (every change
// of a case moves it): this may keep a case that changed after it closed,
// never drop one that counts.
func (d *DB) StatsCases(ctx context.Context, q models.CaseQuery, since, until time.Time) ([]models.StatsCase, error) {
	q.IncludeDeleted = false
	conds, args := caseFilter(q, "c", d.pg)
	conds = append(conds, "c.created_at < ?", "(c.state NOT IN (?, ?) OR c.updated_at >= ?)")
	args = append(args, ts(until), string(models.StateClosed), string(models.StateVoided), ts(since))
	sel, ps := d.caseSelect("c")
	caseSQL := d.bind("SELECT " + sel + " FROM cases c WHERE " + where(conds) + " ORDER BY c.id")
	histSQL := d.bind("SELECT h.case_id, h.action, h.from_state, h.to_state, h.at FROM history h " +
		"JOIN cases c ON c.id = h.case_id WHERE " + where(conds) +
		" AND h.kind IN (?, ?) AND h.at < ? ORDER BY h.case_id, h.id")
	hargs := append(slices.Clone(args), string(models.HistoryCreated), string(models.HistoryTransition), ts(until))

	var out []models.StatsCase
	err := d.snapshot(ctx, func(tx *gorm.DB) error {
		rows, err := queryCases(ctx, tx, ps, caseSQL, args...)
		if err != nil {
			return err
		}
		out = make([]models.StatsCase, len(rows))
		pos := make(map[uuid.UUID]int, len(rows))
		for i := range rows {
			out[i].Case = rows[i].model()
			pos[rows[i].ID] = i
		}
		rs, err := conn(tx).QueryContext(ctx, histSQL, hargs...)
		if err != nil {
			return dbErr(err)
		}
		defer rs.Close()
		for rs.Next() {
			var id uuid.UUID
			var action, from, to string
			var at time.Time
			if err := rs.Scan(&id, &action, &from, &to, &at); err != nil {
				return dbErr(err)
			}
			if i, ok := pos[id]; ok {
				out[i].Events = append(out[i].Events, models.StatsEvent{Action: models.Action(action),
					From: models.State(from), To: models.State(to), At: utc(at)})
			}
		}
		return dbErr(rs.Err())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListCasesByID returns the cases among ids that match q within q.Scope,
// newest first by id, below q.After when it is set, up to q.Limit (default
// 50, at most 1000).
func (d *DB) ListCasesByID(ctx context.Context, q models.CaseQuery, ids []uuid.UUID) ([]models.Case, error) {
	limit := pageLimit(q.Limit)
	var rows []caseRow
	for _, part := range chunks(ids) {
		conds, args := caseFilter(q, "c", d.pg)
		conds = append(conds, "c.id IN ("+placeholders(len(part))+")")
		args = append(args, anys(part)...)
		if q.After != uuid.Nil {
			conds = append(conds, "c.id < ?")
			args = append(args, q.After)
		}
		sel, ps := d.caseSelect("c")
		s := d.bind("SELECT " + sel + " FROM cases c WHERE " + where(conds) +
			" ORDER BY c.id DESC LIMIT " + itoa(limit))
		got, err := queryCases(ctx, d.read(ctx), ps, s, args...)
		if err != nil {
			return nil, err
		}
		rows = append(rows, got...)
	}
	slices.SortFunc(rows, func(a, b caseRow) int { return -slices.Compare(a.ID[:], b.ID[:]) })
	rows = slices.CompactFunc(rows, func(a, b caseRow) bool { return a.ID == b.ID })
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return caseModels(rows), nil
}
