package store

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// explain returns SQLite's query plan for q, one detail line per step.
func explain(t *testing.T, d *DB, q string, args ...any) string {
	t.Helper()
	rows, err := d.r.Raw("EXPLAIN QUERY PLAN "+q, args...).Rows()
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, " | ")
}

// TestSyncQueryPlans: on SQLite, which plans without statistics, a pull page
// is read by the change_seq range for every kind of scope, never by sorting
// every case in scope; its photos, comments and conflicts by their case_id
// index, without reading the cases again; and a replay's outcome lookup uses
// the (device, seq) index rather than scanning every outcome stored.
func TestSyncQueryPlans(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reporter := uuid.Must(uuid.NewV7())
	scopes := map[string]models.Scope{
		"all":          {All: true},
		"grid worker":  {Grids: []string{"37040210300101", "37040210300102"}, ReporterID: reporter},
		"unit handler": {UnitIDs: []string{"U01"}},
		"inspector":    {OrgPrefixes: []string{"370402/370402103"}, ReporterID: reporter},
		"town clerk":   {OrgPrefixes: []string{"370402/370402103"}},
	}
	for name, sc := range scopes {
		q, args, _ := d.changesSQL(sc, 19500, 20500, 1001)
		if plan := explain(t, d, q, args...); !strings.Contains(plan, "USING INDEX cases_change_seq (change_seq>? AND change_seq<?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: pull page plan %q", name, plan)
		}
		rng := d.pageRangeOf(models.ChangeQuery{After: 19500, Scope: sc}, 20500, make([]caseRow, 1000))
		for _, table := range []string{"comments", "conflicts", "photos"} {
			var rows []map[string]any
			st := rng.join(d.r.Session(&gorm.Session{DryRun: true}).Table(table + " AS x")).Select("x.*").Find(&rows).Statement
			plan := explain(t, d, st.SQL.String(), st.Vars...)
			if !strings.Contains(plan, "USING INDEX "+table+"_case (case_id=?)") || strings.Contains(plan, " c ") {
				t.Errorf("%s: %s of a page: plan %q", name, table, plan)
			}
		}
	}
	var rows []outcomeRow
	st := d.r.Session(&gorm.Session{DryRun: true}).Where(outcomesBySeqWhere, reporter, []int64{3, 4, 5}).Find(&rows).Statement
	if plan := explain(t, d, st.SQL.String(), st.Vars...); !strings.Contains(plan, "USING INDEX outcomes_device_seq") {
		t.Errorf("outcomes by seq: plan %q", plan)
	}
}
