package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
)

// TestOpenAPIDocumentValid loads the embedded document with kin-openapi and
// validates it as OpenAPI 3.1.
func TestOpenAPIDocumentValid(t *testing.T) {
	doc := loadDoc(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Error("kin-openapi does not treat the document as 3.1")
	}
	// The strict variant the tests validate responses with must load too.
	strict, err := testenv.StrictOpenAPI(api.OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := openapi3.NewLoader().LoadFromData(strict)
	if err != nil {
		t.Fatalf("load the strict document: %v", err)
	}
	if err := sd.Validate(context.Background()); err != nil {
		t.Fatalf("the strict document is invalid: %v", err)
	}
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

// route is one route declared in api.go.
type route struct {
	method string // GET, POST, … or ANY
	path   string // the OpenAPI form: /api/v1/cases/{id}
	line   int
}

var (
	groupRE = regexp.MustCompile(`^\s*(\w+)\s*:=\s*(\w+)\.Group\("([^"]*)"`)
	routeRE = regexp.MustCompile(`^\s*(\w+)\.(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|Any)\("([^"]*)"`)
	paramRE = regexp.MustCompile(`:(\w+)`)
)

// notInDocument are api.go routes the document leaves out on purpose.
var notInDocument = map[string]string{
	"GET /*": "the console's static assets",
}

// sourceRoutes parses the routes api.go's routes() declares, following the
// groups (e := a.e; v1 := e.Group("/api/v1"); api := v1.Group("", …)).
func sourceRoutes(t *testing.T) []route {
	t.Helper()
	src, err := os.ReadFile("api.go")
	if err != nil {
		t.Fatal(err)
	}
	prefix := map[string]string{"e": ""}
	var out []route
	for i, line := range strings.Split(string(src), "\n") {
		if m := groupRE.FindStringSubmatch(line); m != nil {
			parent, ok := prefix[m[2]]
			if !ok {
				t.Fatalf("api.go:%d: group of unknown router %q", i+1, m[2])
			}
			prefix[m[1]] = parent + m[3]
			continue
		}
		m := routeRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p, ok := prefix[m[1]]
		if !ok {
			t.Fatalf("api.go:%d: route on unknown router %q", i+1, m[1])
		}
		method := m[2]
		if method == "Any" {
			method = "ANY"
		}
		out = append(out, route{method: method, path: paramRE.ReplaceAllString(p+m[3], "{$1}"), line: i + 1})
	}
	if len(out) < 20 {
		t.Fatalf("found only %d routes in api.go; has the way routes are declared changed?", len(out))
	}
	return out
}

// TestOpenAPICoversRoutes checks that every route api.go declares is in the
// document and that the document names no route api.go lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadDoc(t)
	docOps := map[string]bool{} // "METHOD /path"
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			docOps[method+" "+path] = true
		}
	}
	covered := map[string]bool{}
	seenExempt := map[string]bool{}
	for _, r := range sourceRoutes(t) {
		key := r.method + " " + r.path
		if _, ok := notInDocument[key]; ok {
			seenExempt[key] = true
			continue
		}
		if r.method != "ANY" {
			if !docOps[key] {
				t.Errorf("api.go:%d: %s is not in the OpenAPI document", r.line, key)
			}
			covered[key] = true
			continue
		}
		// Any routes are the tus endpoint: /uploads and /uploads/*, which
		// the document describes as /api/v1/uploads/ and /api/v1/uploads/{upload_id}.
		found := false
		for op := range docOps {
			method, path, _ := strings.Cut(op, " ")
			if anyRouteMatches(r.path, path) {
				found = true
				covered[method+" "+path] = true
			}
		}
		if !found {
			t.Errorf("api.go:%d: %s has no operation in the OpenAPI document", r.line, key)
		}
	}
	for key := range notInDocument {
		if !seenExempt[key] {
			t.Errorf("notInDocument names %s, which api.go no longer declares", key)
		}
	}
	var stale []string
	for op := range docOps {
		if !covered[op] {
			stale = append(stale, op)
		}
	}
	slices.Sort(stale)
	for _, op := range stale {
		t.Errorf("the OpenAPI document has %s, which api.go does not declare", op)
	}
}

// anyRouteMatches reports whether the Echo path of an Any route (which may end
// in a * wildcard) serves the document path.
func anyRouteMatches(echoPath, docPath string) bool {
	if base, ok := strings.CutSuffix(echoPath, "*"); ok {
		rest, ok := strings.CutPrefix(docPath, base)
		return ok && (rest == "" || (strings.HasPrefix(rest, "{") && strings.HasSuffix(rest, "}") && !strings.Contains(rest, "/")))
	}
	return docPath == echoPath || docPath == echoPath+"/"
}

// docJSON is the document as plain JSON, for the checks kin-openapi's types
// make awkward.
func docJSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(api.OpenAPIDocument, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dig(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object", k)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array that long", k)
			}
			v = a[k]
		}
	}
	return v
}

func stringList(t *testing.T, v any) []string {
	t.Helper()
	a, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not an array", v)
	}
	out := make([]string, 0, len(a))
	for _, x := range a {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("%v is not a string", x)
		}
		out = append(out, s)
	}
	return out
}

var codeRE = regexp.MustCompile(`^\s*Code\w+\s+Code\s*=\s*"([a-z_]+)"`)

// modelCodes parses the stable codes models/errors.go declares.
func modelCodes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("../models/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, line := range strings.Split(string(src), "\n") {
		if m := codeRE.FindStringSubmatch(line); m != nil {
			codes = append(codes, m[1])
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d codes in models/errors.go", len(codes))
	}
	return codes
}

// TestOpenAPIErrorCodes checks the ErrorCode enum against models/errors.go,
// and that each error response lists exactly the codes api.StatusOf maps to
// its status.
func TestOpenAPIErrorCodes(t *testing.T) {
	m := docJSON(t)
	want := modelCodes(t)
	got := stringList(t, dig(t, m, "components", "schemas", "ErrorCode", "enum"))
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("ErrorCode enum = %v\nmodels/errors.go has %v", got, want)
	}
	byStatus := map[int][]string{}
	for _, c := range want {
		s := api.StatusOf(models.Code(c))
		byStatus[s] = append(byStatus[s], c)
	}
	responses, _ := dig(t, m, "components", "responses").(map[string]any)
	seen := map[int]bool{}
	for name := range responses {
		schema := dig(t, responses, name, "content", "application/problem+json", "schema", "allOf", 1, "properties")
		status, ok := dig(t, schema, "status", "const").(float64)
		if !ok {
			t.Errorf("response %s: no status const", name)
			continue
		}
		seen[int(status)] = true
		codes := stringList(t, dig(t, schema, "code", "enum"))
		if w := byStatus[int(status)]; !slices.Equal(sorted(codes), sorted(w)) {
			t.Errorf("response %s (%d) lists codes %v; api.StatusOf gives %d to %v", name, int(status), codes, int(status), w)
		}
		desc, _ := dig(t, responses, name, "description").(string)
		for _, c := range codes {
			if !strings.Contains(desc, c) {
				t.Errorf("response %s: description does not name code %s", name, c)
			}
		}
	}
	for s, codes := range byStatus {
		if !seen[s] {
			t.Errorf("no error response for status %d (codes %v)", s, codes)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestOpenAPIServed checks that GET /api/v1/openapi.json serves the embedded
// document byte for byte.
func TestOpenAPIServed(t *testing.T) {
	e := testenv.Start(t, testenv.Options{NoFixture: true})
	r := e.Do("", http.MethodGet, "/api/v1/openapi.json", nil, nil).Must(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if !bytes.Equal(r.Body, api.OpenAPIDocument) {
		t.Errorf("served document (%d bytes) differs from the embedded one (%d bytes)", len(r.Body), len(api.OpenAPIDocument))
	}
}

// recorder is a testing.TB that records the hook's failures instead of
// failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestOpenAPIHookCatches feeds the validation hook made-up exchanges and checks
// that it passes the right ones and fails the wrong ones.
func TestOpenAPIHookCatches(t *testing.T) {
	if testenv.Hook == nil {
		t.Fatal("testenv.Hook is not set")
	}
	user := `{"id":"0190a6f4-7e3c-7b4a-9c1d-1234567890ab","username":"clerk","name":"clerk","role":"clerk"}`
	scope := `{"all":false,"org_prefixes":["370402"],"own_reports":false}`
	me := `{"user":` + user + `,"scope":` + scope + `,"roles_actions":["register"]}`
	problem := func(status int, code string) string {
		return fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"detail":"x","code":%q,"request_id":"abc"}`,
			http.StatusText(status), status, code)
	}
	const (
		jsonCT    = "application/json"
		problemCT = "application/problem+json"
	)
	cases := []struct {
		name, method, path string
		status             int
		ct, body           string
		ok                 bool
	}{
		{"valid me", "GET", "/api/v1/me", 200, jsonCT, me, true},
		{"me without scope", "GET", "/api/v1/me", 200, jsonCT, `{"user":` + user + `,"roles_actions":[]}`, false},
		{"me with null actions", "GET", "/api/v1/me", 200, jsonCT, `{"user":` + user + `,"scope":` + scope + `,"roles_actions":null}`, false},
		{"me with an undocumented field", "GET", "/api/v1/me", 200, jsonCT, `{"user":` + user + `,"scope":` + scope + `,"roles_actions":[],"extra":1}`, false},
		{"me with a bad uuid", "GET", "/api/v1/me", 200, jsonCT, strings.Replace(me, "0190a6f4-7e3c", "0190a6f4-7e3x", 1), false},
		{"undocumented status", "GET", "/api/v1/me", 418, problemCT, problem(418, "invalid_input"), false},
		{"documented 401", "GET", "/api/v1/me", 401, problemCT, problem(401, "invalid_token"), true},
		{"401 with a 404 code", "GET", "/api/v1/me", 401, problemCT, problem(401, "not_found"), false},
		{"problem as plain json", "GET", "/api/v1/me", 401, jsonCT, problem(401, "invalid_token"), false},
		{"unknown code", "GET", "/api/v1/cases/0190a6f4-7e3c-7b4a-9c1d-1234567890ab", 404, problemCT, problem(404, "nope"), false},
		{"no such route, problem", "GET", "/api/v1/nowhere", 404, problemCT, problem(404, "not_found"), true},
		{"no such route, 200", "GET", "/api/v1/nowhere", 200, jsonCT, `{}`, false},
		{"wrong method", "DELETE", "/api/v1/me", 404, problemCT, problem(404, "not_found"), true},
		{"thumbnail", "GET", "/api/v1/photos/0190a6f4-7e3c-7b4a-9c1d-1234567890ab/thumbnail?size=large", 200, "image/jpeg", "\xff\xd8\xff", true},
		{"thumbnail as png", "GET", "/api/v1/photos/0190a6f4-7e3c-7b4a-9c1d-1234567890ab/thumbnail?size=large", 200, "image/png", "\x89PNG", false},
		{"ack", "POST", "/api/v1/sync/ack", 204, "", "", true},
		{"ack answering 200", "POST", "/api/v1/sync/ack", 200, jsonCT, `{}`, false},
		{"tus is skipped", "PATCH", "/api/v1/uploads/abc", 460, "text/plain", "x", true},
		{"console assets are skipped", "GET", "/index.html", 200, "text/html", "<html>", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			h := http.Header{}
			if c.ct != "" {
				h.Set("Content-Type", c.ct)
			}
			testenv.Hook(rec, testenv.Response{StatusCode: c.status, Header: h, Body: []byte(c.body),
				Request: httptest.NewRequest(c.method, c.path, nil)})
			if c.ok && len(rec.errs) > 0 {
				t.Errorf("hook refused a valid exchange: %v", rec.errs)
			}
			if !c.ok && len(rec.errs) == 0 {
				t.Error("hook passed an invalid exchange")
			}
			for _, e := range rec.errs {
				t.Log(e)
			}
		})
	}
}

// TestOpenAPIResponses drives every documented route once through a real
// server, so the validation hook checks each route's success response (and a
// few error responses) against the document.
func TestOpenAPIResponses(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	const get, post, patch = http.MethodGet, http.MethodPost, http.MethodPatch

	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"} {
		e.Do("", get, p, nil, nil).Must(t, http.StatusOK)
	}
	for _, u := range []string{"clerk", "inspector1", "gw1", "uh1", "supervisor"} {
		e.Do(u, get, "/api/v1/me", nil, nil).Must(t, http.StatusOK)
	}
	for _, p := range []string{"/api/v1/categories", "/api/v1/org", "/api/v1/grids", "/api/v1/grids?town=" + testenv.Town1,
		"/api/v1/road-segments", "/api/v1/units"} {
		e.Do("inspector1", get, p, nil, nil).Must(t, http.StatusOK)
	}
	e.Do("admin", post, "/api/v1/categories", map[string]any{"code": "E0560", "name_zh": "测试类", "limit_value": 2,
		"limit_unit": "work_days", "quantity": "count"}, nil).Must(t, http.StatusCreated)

	// A device report, then the console's view and workflow.
	caseID := e.Report("inspector1", testenv.InGrid1, "E0504")
	casePath := "/api/v1/cases/" + caseID.String()
	var list struct {
		NextCursor string `json:"next_cursor"`
	}
	e.Do("clerk", get, "/api/v1/cases?state=reported,dispatched&category=E0504&org_path="+testenv.District+
		"&grid="+testenv.Grid1+"&source=device&bbox=117.5,34.8,117.6,34.9&from=2020-01-01&to=2100-01-01T00:00:00Z"+
		"&q=%E6%B5%8B%E8%AF%95&overdue=false&rework=false&has_conflict=false", nil, nil).Must(t, http.StatusOK)
	var detail struct {
		Case struct {
			Version int64 `json:"version"`
		} `json:"case"`
	}
	e.Do("clerk", get, casePath, nil, &detail).Must(t, http.StatusOK)
	e.Do("clerk", post, "/api/v1/cases", map[string]any{"category": "E0504", "description": "热线反映店外经营",
		"source": "hotline", "location": map[string]any{"lat": 34.8606, "lon": 117.5506, "address": "君山路5号", "coord_sys": "wgs84"}},
		nil).Must(t, http.StatusCreated)
	e.Do("clerk", get, "/api/v1/cases?limit=1", nil, &list).Must(t, http.StatusOK)
	if list.NextCursor == "" {
		t.Error("two cases, limit=1: no next_cursor")
	}
	e.Do("clerk", get, "/api/v1/cases?limit=1&cursor="+list.NextCursor, nil, nil).Must(t, http.StatusOK)
	e.Do("clerk", post, casePath+"/comments", map[string]any{"body": "已联系当事人"}, nil).Must(t, http.StatusCreated)

	// The clerk edits the description; the device, which saw the older
	// version, edits it too: a conflict record.
	e.Do("clerk", patch, casePath, map[string]any{"base_version": detail.Case.Version,
		"fields": map[string]string{"description": "店外经营（核实）"}}, nil).Must(t, http.StatusOK)
	e.Push("inspector1", map[string]any{"kind": "edit_fields", "case_id": caseID, "base_version": detail.Case.Version,
		"fields": map[string]string{"description": "店外经营，占道"}}).Must(t, http.StatusOK)
	var conflicts struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Do("clerk", get, "/api/v1/conflicts?status=all", nil, nil).Must(t, http.StatusOK)
	e.Do("clerk", get, "/api/v1/conflicts?case="+caseID.String(), nil, &conflicts).Must(t, http.StatusOK)
	if len(conflicts.Items) == 0 {
		t.Error("the parallel edit made no conflict record")
	} else {
		e.Do("clerk", post, "/api/v1/conflicts/"+conflicts.Items[0].ID+"/resolve", map[string]any{"take": "kept"}, nil).
			Must(t, http.StatusOK)
	}
	e.Do("clerk", get, casePath, nil, nil).Must(t, http.StatusOK)

	e.Act("clerk", caseID, "register", nil)
	e.Act("clerk", caseID, "dispatch", map[string]any{"unit_id": testenv.Unit1})
	e.Do("uh1", get, casePath, nil, nil).Must(t, http.StatusOK)
	// Refusals answer problems the document lists.
	e.Do("clerk", post, casePath+"/transitions", map[string]any{"action": "register"}, nil).Must(t, http.StatusConflict)
	e.Do("inspector2", get, casePath, nil, nil).Must(t, http.StatusNotFound)

	// Sync: a rejected command, pull pages, outcomes and their ack.
	e.Push("inspector1", map[string]any{"kind": "add_comment", "case_id": testenv.NewID(), "comment": "无此案件"}).
		Must(t, http.StatusOK)
	var pull struct {
		Cursor string `json:"cursor"`
	}
	e.Do("inspector1", get, "/api/v1/sync/pull?limit=2&device_time="+time.Now().UTC().Format(time.RFC3339Nano), nil, &pull).
		Must(t, http.StatusOK)
	e.Do("inspector1", get, "/api/v1/sync/pull?cursor="+pull.Cursor, nil, nil).Must(t, http.StatusOK)
	e.Do("gw2", get, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)
	e.Do("inspector1", get, "/api/v1/sync/outcomes?all=true", nil, nil).Must(t, http.StatusOK)
	e.Do("inspector1", get, "/api/v1/sync/outcomes", nil, nil).Must(t, http.StatusOK)
	e.Do("inspector1", post, "/api/v1/sync/ack", map[string]any{"up_to_seq": 1}, nil).Must(t, http.StatusNoContent)
	e.Do("", get, "/api/v1/sync/events", nil, nil).Must(t, http.StatusUnauthorized)

	// Devices.
	var enrolled struct {
		Device struct {
			ID string `json:"id"`
		} `json:"device"`
	}
	e.Do("admin", post, "/api/v1/devices", map[string]any{"username": "gw1", "name": "平板-07"}, &enrolled).
		Must(t, http.StatusCreated)
	e.Do("supervisor", post, "/api/v1/devices/"+enrolled.Device.ID+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	e.Do("clerk", get, "/api/v1/devices", nil, nil).Must(t, http.StatusOK)

	// A session of its own to log out.
	tok := e.Login("clerk", testenv.Password)
	e.DoToken(tok, post, "/api/v1/auth/logout", nil, nil).Must(t, http.StatusNoContent)
	e.DoToken(tok, get, "/api/v1/me", nil, nil).Must(t, http.StatusUnauthorized)
}
