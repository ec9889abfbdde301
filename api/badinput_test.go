package api_test

import (
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// TestBadInput sends every kind of bad input the issue names (and a few more)
// and checks each answers a problem body with its stable code and leaves the
// database exactly as it was.
func TestBadInput(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { badInput(t, pg) })
	}
}

func badInput(t *testing.T, pg bool) {
	e := testenv.Start(t, testenv.Options{Postgres: pg})
	caseID := e.Report("inspector1", testenv.InGrid1, "E0504")
	good := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"category": "E0504", "description": "店外经营", "source": "hotline",
			"location": map[string]any{"lat": 34.8605, "lon": 117.5505, "address": "君山路1号"}}
		if mut != nil {
			mut(m)
		}
		return m
	}
	cases := []struct {
		name   string
		user   string
		token  string // overrides user
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{name: "malformed JSON", user: "clerk", method: "POST", path: "/api/v1/cases", body: `{"category": "E0504",`, status: 400, code: "invalid_json"},
		{name: "not JSON at all", user: "clerk", method: "POST", path: "/api/v1/cases", body: `category=E0504`, status: 400, code: "invalid_json"},
		{name: "trailing data", user: "clerk", method: "POST", path: "/api/v1/cases", body: `{"category":"E0504"} {}`, status: 400, code: "invalid_json"},
		{name: "unknown field", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: good(func(m map[string]any) { m["colour"] = "red" }), status: 400, code: "unknown_field"},
		{name: "wrong type", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: good(func(m map[string]any) { m["quantity"] = "six" }), status: 422, code: "invalid_input"},
		{name: "unknown category", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: good(func(m map[string]any) { m["category"] = "E9999" }), status: 422, code: "unknown_category"},
		{name: "latitude 91", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: good(func(m map[string]any) { m["location"] = map[string]any{"lat": 91, "lon": 117.5} }), status: 422, code: "invalid_location"},
		{name: "longitude -181", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: good(func(m map[string]any) { m["location"] = map[string]any{"lat": 34, "lon": -181} }), status: 422, code: "invalid_location"},
		{name: "oversized body", user: "clerk", method: "POST", path: "/api/v1/cases",
			body: `{"description":"` + strings.Repeat("很", 3<<20) + `"}`, status: 413, code: "body_too_large"},
		{name: "wrong session token", token: "fss_not-a-real-token", method: "GET", path: "/api/v1/cases", status: 401, code: "invalid_token"},
		{name: "wrong device token", token: "fsd_not-a-real-token", method: "POST", path: "/api/v1/sync/push",
			body: `{"commands":[]}`, status: 401, code: "invalid_token"},
		{name: "garbage token", token: "hello", method: "GET", path: "/api/v1/me", status: 401, code: "invalid_token"},
		{name: "no token", method: "GET", path: "/api/v1/cases", status: 401, code: "unauthenticated"},
		{name: "unknown action", user: "clerk", method: "POST", path: "/api/v1/cases/" + caseID.String() + "/transitions",
			body: map[string]any{"action": "teleport"}, status: 422, code: "invalid_input"},
		{name: "illegal transition", user: "clerk", method: "POST", path: "/api/v1/cases/" + caseID.String() + "/transitions",
			body: map[string]any{"action": "check_pass"}, status: 409, code: "illegal_transition"},
		{name: "guard: ask_more without comment", user: "clerk", method: "POST", path: "/api/v1/cases/" + caseID.String() + "/transitions",
			body: map[string]any{"action": "ask_more"}, status: 422, code: "guard_failed"},
		{name: "edit unknown field", user: "clerk", method: "PATCH", path: "/api/v1/cases/" + caseID.String(),
			body: map[string]any{"base_version": 1, "fields": map[string]string{"state": "closed"}}, status: 400, code: "unknown_field"},
		{name: "edit latitude 91", user: "clerk", method: "PATCH", path: "/api/v1/cases/" + caseID.String(),
			body: map[string]any{"base_version": 1, "fields": map[string]string{"lat": "91"}}, status: 422, code: "invalid_location"},
		{name: "edit from a future version", user: "clerk", method: "PATCH", path: "/api/v1/cases/" + caseID.String(),
			body: map[string]any{"base_version": 99, "fields": map[string]string{"party": "x"}}, status: 409, code: "version_conflict"},
		{name: "malformed case id", user: "clerk", method: "GET", path: "/api/v1/cases/not-a-uuid", status: 404, code: "not_found"},
		{name: "bad list filter", user: "clerk", method: "GET", path: "/api/v1/cases?state=sleeping", status: 422, code: "invalid_input"},
		{name: "bad bbox", user: "clerk", method: "GET", path: "/api/v1/cases?bbox=1,2,3", status: 422, code: "invalid_input"},
		{name: "bad list cursor", user: "clerk", method: "GET", path: "/api/v1/cases?cursor=zzz", status: 400, code: "invalid_cursor"},
		{name: "bad pull cursor", user: "inspector1", method: "GET", path: "/api/v1/sync/pull?cursor=zzz", status: 400, code: "invalid_cursor"},
		{name: "push with duplicate seq", user: "inspector1", method: "POST", path: "/api/v1/sync/push",
			body:   `{"commands":[{"id":"0190c8a0-0000-7000-8000-000000000001","seq":50,"kind":"add_comment","case_id":"` + caseID.String() + `","client_time":"2026-01-01T00:00:00Z","comment":"a"},{"id":"0190c8a0-0000-7000-8000-000000000002","seq":50,"kind":"add_comment","case_id":"` + caseID.String() + `","client_time":"2026-01-01T00:00:00Z","comment":"b"}]}`,
			status: 422, code: "invalid_input"},
		{name: "login with a wrong password", method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"username": "clerk", "password": "nope"}, status: 401, code: "invalid_credentials"},
		{name: "field role cannot create from the console", user: "inspector1", method: "POST", path: "/api/v1/cases", body: good(nil), status: 403, code: "forbidden"},
		{name: "non-admin adds a category", user: "clerk", method: "POST", path: "/api/v1/categories",
			body: map[string]any{"code": "E0570", "name_zh": "测试"}, status: 403, code: "forbidden"},
		{name: "empty body", user: "clerk", method: "POST", path: "/api/v1/cases", body: nil, status: 400, code: "invalid_json"},
		{name: "unknown route", user: "clerk", method: "GET", path: "/api/v1/nothing-here", status: 404, code: "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.Dump()
			tok := tc.token
			if tok == "" && tc.user != "" {
				tok = e.Users[tc.user].Token
			}
			res := e.DoToken(tok, tc.method, tc.path, tc.body, nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if got := res.Problem(); got != tc.code {
				t.Errorf("code %q, want %q: %s", got, tc.code, res.Body)
			}
			if after := e.Dump(); after != before {
				t.Errorf("the database changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}
