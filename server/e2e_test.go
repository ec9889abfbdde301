package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// TestServeHealthLoginList is the README's promise: the server starts, answers
// /healthz and /readyz, a clerk logs in through the API and lists cases.
func TestServeHealthLoginList(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg})
			e.Do("", http.MethodGet, "/healthz", nil, nil).Must(t, http.StatusOK)
			e.Do("", http.MethodGet, "/readyz", nil, nil).Must(t, http.StatusOK)
			id := e.Report("inspector1", testenv.InGrid1, "E0504")
			tok := e.Login("clerk", testenv.Password)
			var list struct {
				Items []struct {
					ID    string `json:"id"`
					State string `json:"state"`
				} `json:"items"`
			}
			e.DoToken(tok, http.MethodGet, "/api/v1/cases", nil, &list).Must(t, http.StatusOK)
			if len(list.Items) != 1 || list.Items[0].ID != id.String() || list.Items[0].State != "reported" {
				t.Fatalf("list = %+v, want the one reported case %s", list.Items, id)
			}
			m := e.Do("", http.MethodGet, "/metrics", nil, nil).Must(t, http.StatusOK)
			if !contains(m.Body, `fieldsync_http_requests_total{code="200",method="GET",route="/api/v1/cases"}`) {
				t.Errorf("metrics lack the per-route counter:\n%s", m.Body)
			}
		})
	}
}

func dbName(pg bool) string {
	if pg {
		return "postgres"
	}
	return "sqlite"
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestDemoDistrict: the demo mode loads the district through the write path,
// its clerk logs in with the printed password and sees the cases.
func TestDemoDistrict(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Demo: true, NoFixture: true})
	info := e.Server.DemoInfo
	if info == nil || !info.Loaded || info.Cases < 190 || len(info.Devices) == 0 {
		t.Fatalf("demo info = %+v", info)
	}
	roles := map[string]bool{}
	var clerk, clerkPW string
	for _, l := range info.Logins {
		roles[l.Role] = true
		if l.Role == "clerk" && clerk == "" {
			clerk, clerkPW = l.Username, l.Password
		}
	}
	if len(roles) != 6 {
		t.Errorf("demo roles = %v, want all six", roles)
	}
	tok := e.Login(clerk, clerkPW)
	var list struct {
		Items []struct {
			State string `json:"state"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	e.DoToken(tok, http.MethodGet, "/api/v1/cases?limit=500", nil, &list).Must(t, http.StatusOK)
	states := map[string]bool{}
	for _, c := range list.Items {
		states[c.State] = true
	}
	if len(list.Items) < 150 || len(states) < 10 {
		t.Errorf("the demo clerk sees %d cases in %d states", len(list.Items), len(states))
	}
	var org struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	e.DoToken(tok, http.MethodGet, "/api/v1/org", nil, &org).Must(t, http.StatusOK)
	found := false
	for _, o := range org.Items {
		found = found || o.Name == "孟庄镇"
	}
	if !found {
		t.Error("孟庄镇 is missing from the demo org tree")
	}
}
