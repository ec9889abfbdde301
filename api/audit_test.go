package api_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

type auditItem struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	ActorID   uuid.UUID       `json:"actor_id"`
	ActorName string          `json:"actor_name"`
	Role      string          `json:"role"`
	Action    string          `json:"action"`
	CaseID    *uuid.UUID      `json:"case_id"`
	Detail    json.RawMessage `json:"detail"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

type auditPage struct {
	Items      []auditItem `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

type verification struct {
	OK      bool   `json:"ok"`
	Checked int64  `json:"checked"`
	Head    string `json:"head"`
	Broken  *struct {
		Seq    int64  `json:"seq"`
		Reason string `json:"reason"`
	} `json:"broken"`
}

func TestAuditLog(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { auditE2E(t, pg) })
	}
}

// actions lists the (actor, action) of entries, oldest first.
func actions(items []auditItem) []string {
	var out []string
	for i := len(items) - 1; i >= 0; i-- {
		out = append(out, items[i].ActorName+" "+items[i].Action)
	}
	return out
}

func auditE2E(t *testing.T, pg bool) {
	e := testenv.Start(t, testenv.Options{Postgres: pg})
	get := func(user, q string) auditPage {
		t.Helper()
		var p auditPage
		e.Do(user, http.MethodGet, "/api/v1/audit?"+q, nil, &p).Must(t, http.StatusOK)
		return p
	}
	id := e.Report("inspector1", testenv.InGrid1, "E0504")
	path := "/api/v1/cases/" + id.String()

	// Views: office users are recorded, field users reading the case are not.
	var detail struct {
		Case struct {
			Version int64 `json:"version"`
		} `json:"case"`
	}
	e.Do("clerk", http.MethodGet, path, nil, &detail).Must(t, http.StatusOK)
	e.Do("inspector1", http.MethodGet, path, nil, nil).Must(t, http.StatusOK)
	e.Do("clerk1", http.MethodGet, path, nil, nil).Must(t, http.StatusOK)
	// A refused view (out of scope) is no view.
	other := e.Report("inspector2", testenv.InGrid2, "E0504")
	e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+other.String(), nil, nil).Must(t, http.StatusNotFound)

	// Changes: every console command; a refused one is not recorded.
	e.Do("clerk", http.MethodPatch, path, map[string]any{"base_version": detail.Case.Version,
		"fields": map[string]string{"description": "店外经营（核实）", "address": "君山路1号东"}}, nil).Must(t, http.StatusOK)
	e.Push("inspector1", map[string]any{"kind": "edit_fields", "case_id": id, "base_version": detail.Case.Version,
		"fields": map[string]string{"description": "店外经营，占道"}}).Must(t, http.StatusOK)
	e.Do("clerk", http.MethodPost, path+"/comments", map[string]any{"body": "已电话联系当事人"}, nil).Must(t, http.StatusCreated)
	e.Act("clerk", id, "register", nil)
	e.Do("clerk", http.MethodPost, path+"/transitions", map[string]any{"action": "register"}, nil).Must(t, http.StatusConflict)
	e.Act("clerk", id, "dispatch", map[string]any{"unit_id": testenv.Unit1})
	var conflicts struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	e.Do("clerk", http.MethodGet, "/api/v1/conflicts?case="+id.String(), nil, &conflicts).Must(t, http.StatusOK)
	if len(conflicts.Items) != 1 {
		t.Fatalf("setup: %d conflicts, want 1", len(conflicts.Items))
	}
	e.Do("supervisor", http.MethodPost, "/api/v1/conflicts/"+conflicts.Items[0].ID.String()+"/resolve",
		map[string]any{"take": "new", "value": "店外经营（合并）"}, nil).Must(t, http.StatusOK)
	var created struct {
		Case struct {
			ID uuid.UUID `json:"id"`
		} `json:"case"`
	}
	e.Do("clerk", http.MethodPost, "/api/v1/cases", map[string]any{"category": "E0504", "description": "热线：占道经营", "source": "hotline",
		"location": map[string]any{"lat": 34.8606, "lon": 117.5506}}, &created).Must(t, http.StatusCreated)
	e.Do("clerk", http.MethodGet, "/api/v1/exports/cases.csv?category=E0504", nil, nil).Must(t, http.StatusOK)

	// The case's own trail, oldest first.
	trail := get("supervisor", "case="+id.String()).Items
	want := []string{"clerk case.view", "clerk1 case.view", "clerk case.edit", "clerk case.comment", "clerk case.transition",
		"clerk case.transition", "supervisor conflict.resolve"}
	if got := actions(trail); !slices.Equal(got, want) {
		t.Errorf("trail of the case:\n got %v\nwant %v", got, want)
	}
	byAction := map[string]map[string]any{}
	for _, it := range trail {
		var d map[string]any
		if err := json.Unmarshal(it.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if it.CaseID == nil || *it.CaseID != id {
			t.Errorf("entry %d names case %v", it.Seq, it.CaseID)
		}
		if _, seen := byAction[it.Action+" "+it.ActorName]; !seen { // newest first: the dispatch, not the register
			byAction[it.Action+" "+it.ActorName] = d
		}
	}
	if f := byAction["case.edit clerk"]["fields"]; !slices.Equal(toStrings(f), []string{"description", "address"}) {
		t.Errorf("edit detail fields = %v", f)
	}
	if d := byAction["case.transition clerk"]; d["action"] != "dispatch" || d["unit_id"] != testenv.Unit1 || d["outcome"] != "applied" {
		t.Errorf("dispatch detail = %v", d)
	}
	if d := byAction["conflict.resolve supervisor"]; d["take"] != "new" || d["conflict_id"] != conflicts.Items[0].ID.String() {
		t.Errorf("resolve detail = %v", d)
	}
	if d := byAction["case.view clerk"]; d["state"] != "reported" {
		t.Errorf("view detail = %v", d)
	}
	for _, it := range trail {
		if d := string(it.Detail); strings.Contains(d, "已电话联系") || strings.Contains(d, "合并") || strings.Contains(d, "核实") {
			t.Errorf("entry %d carries free text: %s", it.Seq, it.Detail)
		}
	}

	// Filters and pages.
	all := get("supervisor", "limit=500").Items
	n := len(all)
	if n != 9 { // the 7 above, the create, the export, and nothing for the refused requests
		t.Errorf("%d entries in all: %v", n, actions(all))
	}
	for i, it := range all {
		if i > 0 && it.Seq >= all[i-1].Seq {
			t.Errorf("not newest first at %d", i)
		}
		if i+1 < len(all) && it.PrevHash != all[i+1].Hash {
			t.Errorf("entry %d does not link to entry %d", it.Seq, all[i+1].Seq)
		}
	}
	var walked []int64
	cursor := ""
	for range 20 {
		p := get("supervisor", "limit=3&cursor="+cursor)
		for _, it := range p.Items {
			walked = append(walked, it.Seq)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(walked) != n || walked[0] != all[0].Seq || walked[n-1] != 1 {
		t.Errorf("paging walked %v", walked)
	}
	if got := get("supervisor", "action=export").Items; len(got) != 1 || got[0].CaseID != nil {
		t.Errorf("exports: %+v", got)
	}
	if got := get("supervisor", "action=case.create").Items; len(got) != 1 || *got[0].CaseID != created.Case.ID {
		t.Errorf("creates: %+v", got)
	}
	clerk1 := e.Users["clerk1"].ID
	if got := get("admin", "user="+clerk1.String()).Items; len(got) != 1 || got[0].Action != "case.view" {
		t.Errorf("clerk1's entries: %v", actions(got))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if got := get("supervisor", "from="+future).Items; len(got) != 0 {
		t.Errorf("entries from the future: %d", len(got))
	}
	if got := get("supervisor", "to="+future).Items; len(got) != min(n, 50) {
		t.Errorf("entries before the future: %d", len(got))
	}

	// A clerk sees their own entries and no one else's.
	own := get("clerk1", "").Items
	for _, it := range own {
		if it.ActorID != clerk1 {
			t.Errorf("clerk1 sees an entry of %s", it.ActorName)
		}
	}
	if len(own) != 1 {
		t.Errorf("clerk1 sees %d entries, want 1", len(own))
	}
	if r := e.Do("clerk1", http.MethodGet, "/api/v1/audit?user="+e.Users["clerk"].ID.String(), nil, nil).
		Must(t, http.StatusForbidden); r.Problem() != "forbidden" {
		t.Errorf("clerk asking for another user: %s", r.Problem())
	}
	for _, u := range []string{"inspector1", "uh1", "gw1"} {
		e.Do(u, http.MethodGet, "/api/v1/audit", nil, nil).Must(t, http.StatusForbidden)
	}
	for _, q := range []string{"case=x", "user=1", "action=case.delete", "from=yesterday", "limit=0"} {
		e.Do("supervisor", http.MethodGet, "/api/v1/audit?"+q, nil, nil).Must(t, http.StatusUnprocessableEntity)
	}
	e.Do("supervisor", http.MethodGet, "/api/v1/audit?cursor=abc", nil, nil).Must(t, http.StatusBadRequest)

	// Verification: admins only; an intact chain verifies.
	e.Do("supervisor", http.MethodGet, "/api/v1/audit/verify", nil, nil).Must(t, http.StatusForbidden)
	verify := func() verification {
		t.Helper()
		var v verification
		e.Do("admin", http.MethodGet, "/api/v1/audit/verify", nil, &v).Must(t, http.StatusOK)
		return v
	}
	v := verify()
	total := get("admin", "limit=1").Items[0].Seq
	if !v.OK || v.Checked != total || v.Head != get("admin", "limit=1").Items[0].Hash {
		t.Fatalf("intact log: %+v (%d entries)", v, total)
	}

	// Someone with database access rewrites entry 3 behind the application's
	// back (dropping the triggers that refuse it): verification finds it.
	db := rawDB(t, e, pg)
	if _, err := db.Exec(`UPDATE audit_log SET detail = '{}' WHERE seq = 3`); err == nil {
		t.Fatal("the database let an audit entry be rewritten")
	}
	if pg {
		mustExec(t, db, `ALTER TABLE audit_log DISABLE TRIGGER USER`)
	} else {
		mustExec(t, db, `DROP TRIGGER audit_log_no_update`)
		mustExec(t, db, `DROP TRIGGER audit_log_no_delete`)
	}
	var orig string
	if err := db.QueryRow(`SELECT detail FROM audit_log WHERE seq = 3`).Scan(&orig); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `UPDATE audit_log SET detail = '{"state":"closed"}' WHERE seq = 3`)
	v = verify()
	if v.OK || v.Broken == nil || v.Broken.Seq != 3 || v.Checked != 2 {
		t.Errorf("rewritten entry 3: %+v", v)
	}
	// Put back exactly as it was, it verifies again: the hash covers the content.
	if pg {
		mustExec(t, db, `UPDATE audit_log SET detail = $1 WHERE seq = 3`, orig)
	} else {
		mustExec(t, db, `UPDATE audit_log SET detail = ? WHERE seq = 3`, orig)
	}
	if v = verify(); !v.OK {
		t.Errorf("restored entry: %+v", v)
	}
	// The newest entry removed: the chain ends early, and verification says so.
	if pg {
		mustExec(t, db, `DELETE FROM audit_log WHERE seq = $1`, total)
	} else {
		mustExec(t, db, `DELETE FROM audit_log WHERE seq = ?`, total)
	}
	v = verify()
	if v.OK || v.Broken == nil || v.Broken.Seq != total || v.Checked != total-1 {
		t.Errorf("cut log: %+v", v)
	}
	// And nothing is viewed unrecorded meanwhile: the log refuses to grow
	// over the gap, so the view fails rather than go unrecorded.
	e.Do("clerk", http.MethodGet, path, nil, nil).Must(t, http.StatusServiceUnavailable)
}

func toStrings(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, x := range a {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// rawDB opens the test server's database directly, as someone with access
// to it would.
func rawDB(t *testing.T, e *testenv.Env, pg bool) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if pg {
		db, err = sql.Open("pgx", e.DSN)
	} else {
		db, err = sql.Open("sqlite3", "file:"+filepath.Join(e.Dir, "fieldsync.db")+"?_busy_timeout=10000")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestAuditTownSupervisor: a town's supervisor searches the audit log of the
// town (entries about its cases and by its people), not another town's; the
// district's supervisor sees both.
func TestAuditTownSupervisor(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg})
			e.AddUser("supervisor1", models.RoleSupervisor, testenv.District+"/"+testenv.Town1, "", nil)
			one := e.Report("inspector1", testenv.InGrid1, "E0504")
			two := e.Report("inspector2", testenv.InGrid2, "E0504")
			e.Do("clerk", http.MethodGet, "/api/v1/cases/"+one.String(), nil, nil).Must(t, http.StatusOK)
			e.Do("clerk", http.MethodGet, "/api/v1/cases/"+two.String(), nil, nil).Must(t, http.StatusOK)
			e.Do("clerk1", http.MethodGet, "/api/v1/exports/cases.csv", nil, nil).Must(t, http.StatusOK)
			cases := func(user string) (seen map[uuid.UUID]bool, byClerk1 int, total int) {
				var p auditPage
				e.Do(user, http.MethodGet, "/api/v1/audit?limit=500", nil, &p).Must(t, http.StatusOK)
				seen = map[uuid.UUID]bool{}
				for _, it := range p.Items {
					if it.CaseID != nil {
						seen[*it.CaseID] = true
					}
					if it.ActorName == "clerk1" {
						byClerk1++
					}
				}
				return seen, byClerk1, len(p.Items)
			}
			seen, byClerk1, _ := cases("supervisor1")
			if !seen[one] || seen[two] || byClerk1 == 0 {
				t.Errorf("town supervisor sees case one %v, case two %v, clerk1's export %d: want one, not two, the export",
					seen[one], seen[two], byClerk1)
			}
			seen, _, _ = cases("supervisor")
			if !seen[one] || !seen[two] {
				t.Errorf("district supervisor sees case one %v, case two %v: want both", seen[one], seen[two])
			}
			// Asking for the other town's case by id finds nothing rather than leaking it.
			var p auditPage
			e.Do("supervisor1", http.MethodGet, "/api/v1/audit?case="+two.String(), nil, &p).Must(t, http.StatusOK)
			if len(p.Items) != 0 {
				t.Errorf("town supervisor found %d entries of the other town's case", len(p.Items))
			}
		})
	}
}
