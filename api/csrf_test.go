package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// TestConsoleSessionCSRF: the console's cookie session reads freely, but an
// unsafe request with the cookie and without the session's CSRF token is
// refused and changes nothing; with the token it goes through.
func TestConsoleSessionCSRF(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	id := e.Report("inspector1", testenv.InGrid1, "E0504")
	res, err := http.Post(e.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username":"clerk","password":"`+testenv.Password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "fieldsync_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || login.CSRFToken == "" {
		t.Fatalf("login cookie %+v, csrf %q", cookie, login.CSRFToken)
	}
	do := func(method, path, body, csrf string) (int, string) {
		req, _ := http.NewRequest(method, e.URL+path, strings.NewReader(body))
		req.AddCookie(cookie)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := do("GET", "/api/v1/cases/"+id.String(), "", ""); code != 200 {
		t.Fatalf("GET with the cookie: %d %s", code, body)
	}
	before := e.Dump()
	path := "/api/v1/cases/" + id.String() + "/transitions"
	body := `{"action":"ask_more","params":{"comment":"请补充近景照片"}}`
	for _, bad := range []string{"", "not-the-token"} {
		code, resp := do("POST", path, body, bad)
		if code != http.StatusForbidden || !strings.Contains(resp, `"code":"csrf_failed"`) {
			t.Errorf("POST with cookie and csrf %q: %d %s", bad, code, resp)
		}
	}
	if after := e.Dump(); after != before {
		t.Errorf("a refused cross-site request changed the database")
	}
	if code, resp := do("POST", path, body, login.CSRFToken); code != 200 {
		t.Fatalf("POST with the token: %d %s", code, resp)
	}
	// A bearer token needs no CSRF token: it is never sent by a browser on its own.
	e.Do("clerk", http.MethodPost, "/api/v1/cases/"+id.String()+"/comments", map[string]string{"body": "已电话联系"}, nil).Must(t, http.StatusCreated)
}
