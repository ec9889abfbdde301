package api_test

import (
	"net/http"
	"testing"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// scopeFixture creates, for one role under test, a case in a state where the
// role has a legal action, once inside the role's scope and once outside.
type scopeRow struct {
	user   string
	role   models.Role
	state  models.State // the state both cases are brought to
	action string
	params map[string]any
	// inStatus is what the in-scope transition answers: 200, or 403 for a
	// role that has no action at all (admin) but does see the case.
	inStatus int
	// seesAll: the role's scope is everything, so "out of scope" is visible too.
	seesAll bool
}

func TestScopeMatrix(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { scopeMatrix(t, pg) })
	}
}

func scopeMatrix(t *testing.T, pg bool) {
	e := testenv.Start(t, testenv.Options{Postgres: pg})
	addOffice(t, e, "supervisor1", models.RoleSupervisor, testenv.District+"/"+testenv.Town1)
	rows := []scopeRow{
		{user: "clerk1", role: models.RoleClerk, state: models.StateReported, action: "ask_more",
			params: map[string]any{"comment": "请补充近景照片"}, inStatus: 200},
		{user: "supervisor1", role: models.RoleSupervisor, state: models.StateDispatched, action: "escalate", inStatus: 200},
		{user: "inspector1", role: models.RoleInspector, state: models.StateDispatched, action: "request_suspend",
			params: map[string]any{"reason": "当事人外出"}, inStatus: 200},
		{user: "gw1", role: models.RoleGridWorker, state: models.StateVerifying, action: "verify",
			params: map[string]any{"result": "true"}, inStatus: 200},
		{user: "uh1", role: models.RoleUnitHandler, state: models.StateDispatched, action: "return",
			params: map[string]any{"reason": "不属于本单位职责"}, inStatus: 200},
		{user: "admin", role: models.RoleAdmin, state: models.StateDispatched, action: "escalate", inStatus: 403, seesAll: true},
	}
	// Every role appears exactly once.
	seen := map[models.Role]bool{}
	for _, r := range rows {
		seen[r.role] = true
	}
	for _, r := range models.Roles {
		if !seen[r] {
			t.Fatalf("role %s is missing from the matrix", r)
		}
	}
	for _, r := range rows {
		t.Run(string(r.role), func(t *testing.T) {
			in := bring(t, e, "inspector1", testenv.InGrid1, testenv.Unit1, r.state)
			out := bring(t, e, "inspector2", testenv.InGrid2, testenv.Unit2, r.state)
			for _, side := range []struct {
				name    string
				id      uuid.UUID
				visible bool
			}{{"in_scope", in, true}, {"out_of_scope", out, r.seesAll}} {
				t.Run(side.name, func(t *testing.T) {
					// list
					var list struct {
						Items []struct {
							ID uuid.UUID `json:"id"`
						} `json:"items"`
					}
					e.Do(r.user, http.MethodGet, "/api/v1/cases?limit=500", nil, &list).Must(t, http.StatusOK)
					listed := false
					for _, it := range list.Items {
						listed = listed || it.ID == side.id
					}
					if listed != side.visible {
						t.Errorf("list: case listed = %v, want %v", listed, side.visible)
					}
					// get
					wantGet := http.StatusNotFound
					if side.visible {
						wantGet = http.StatusOK
					}
					res := e.Do(r.user, http.MethodGet, "/api/v1/cases/"+side.id.String(), nil, nil).Must(t, wantGet)
					if !side.visible && res.Problem() != "not_found" {
						t.Errorf("get out of scope: code %q, want not_found", res.Problem())
					}
					// transition
					before := e.Dump()
					body := map[string]any{"action": r.action}
					if r.params != nil {
						body["params"] = r.params
					}
					want := http.StatusNotFound
					if side.visible {
						want = r.inStatus
					}
					res = e.Do(r.user, http.MethodPost, "/api/v1/cases/"+side.id.String()+"/transitions", body, nil).Must(t, want)
					if want != http.StatusOK {
						if after := e.Dump(); after != before {
							t.Errorf("refused transition changed the database:\nbefore %s\nafter %s", before, after)
						}
					}
					if !side.visible && res.Problem() != "not_found" {
						t.Errorf("transition out of scope: code %q, want not_found", res.Problem())
					}
					if want == http.StatusForbidden && res.Problem() != "role_not_allowed" {
						t.Errorf("admin transition: code %q, want role_not_allowed", res.Problem())
					}
				})
			}
		})
	}
}

// bring reports a case as reporter at loc and moves it to state through the
// API, with the office fixture users.
func bring(t *testing.T, e *testenv.Env, reporter string, loc models.Location, unit string, state models.State) uuid.UUID {
	t.Helper()
	id := e.Report(reporter, loc, "E0504")
	switch state {
	case models.StateReported:
	case models.StateVerifying:
		e.Act("clerk", id, "send_verify", nil)
	case models.StateDispatched:
		e.Act("clerk", id, "register", nil)
		e.Act("clerk", id, "dispatch", map[string]any{"unit_id": unit})
	default:
		t.Fatalf("bring: state %s not supported", state)
	}
	return id
}

func addOffice(t *testing.T, e *testenv.Env, username string, role models.Role, org string) {
	t.Helper()
	e.AddUser(username, role, org, "", nil)
}

func dbName(pg bool) string {
	if pg {
		return "postgres"
	}
	return "sqlite"
}
