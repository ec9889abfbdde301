package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// TestEnrolAndRevoke: an admin enrols a device (the token is shown once and
// works), revokes it, and the token is refused from then on.
func TestEnrolAndRevoke(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	id, tok := enrolDevice(t, e, "TAB-0417")
	e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)
	var list struct {
		Items []struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		} `json:"items"`
	}
	e.Do("clerk", http.MethodGet, "/api/v1/devices", nil, &list).Must(t, http.StatusOK)
	for _, d := range list.Items {
		if d.Token != "" {
			t.Fatal("the device list shows a token")
		}
	}
	e.Do("clerk", http.MethodPost, "/api/v1/devices/"+id+"/revoke", nil, nil).Must(t, http.StatusForbidden)
	e.Do("admin", http.MethodPost, "/api/v1/devices/"+id+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	res := e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusUnauthorized)
	if res.Problem() != "device_revoked" {
		t.Errorf("revoked token: code %q, want device_revoked", res.Problem())
	}
	// An office user cannot be given a device.
	r := e.Do("admin", http.MethodPost, "/api/v1/devices", map[string]string{"username": "clerk", "name": "x"}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || r.Problem() != "invalid_input" {
		t.Errorf("enrolling a clerk: %d %s", r.StatusCode, r.Body)
	}
}

// TestCredentialsFollowChanges: a token resolved once is reused, yet a
// revocation or logout made through this server applies to the very next
// request, however long the reuse lasts (here an hour), and a revocation made
// by another server on the same database applies once the reuse ends.
func TestCredentialsFollowChanges(t *testing.T) {
	e := testenv.Start(t, testenv.Options{CredentialTTL: time.Hour})
	id, tok := enrolDevice(t, e, "TAB-0419")
	for range 2 {
		e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)
	}
	e.Do("admin", http.MethodPost, "/api/v1/devices/"+id+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	if r := e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil); r.StatusCode != http.StatusUnauthorized || r.Problem() != "device_revoked" {
		t.Errorf("pull right after the revocation: %d %s", r.StatusCode, r.Body)
	}

	sess := e.Login("clerk", testenv.Password)
	e.DoToken(sess, http.MethodGet, "/api/v1/devices", nil, nil).Must(t, http.StatusOK)
	e.DoToken(sess, http.MethodPost, "/api/v1/auth/logout", nil, nil).Must(t, http.StatusNoContent)
	if r := e.DoToken(sess, http.MethodGet, "/api/v1/devices", nil, nil); r.StatusCode != http.StatusUnauthorized || r.Problem() != "invalid_token" {
		t.Errorf("request right after logout: %d %s", r.StatusCode, r.Body)
	}
}

// TestRevocationOnAnotherServer: a second server on the same database
// revokes a device; this server refuses the device once its reuse of the
// resolved token (CredentialTTL) has run out.
func TestRevocationOnAnotherServer(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e := testenv.Start(t, testenv.Options{CredentialTTL: ttl})
	id, tok := enrolDevice(t, e, "TAB-0418")
	e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)

	other := testenv.Start(t, testenv.Options{Dir: e.Dir, DSN: e.DSN, NoFixture: true})
	other.DoToken(e.Users["admin"].Token, http.MethodPost, "/api/v1/devices/"+id+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	if r := other.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil); r.Problem() != "device_revoked" {
		t.Errorf("the revoking server still accepts the device: %d %s", r.StatusCode, r.Body)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if r := e.DoToken(tok, http.MethodGet, "/api/v1/sync/pull", nil, nil); r.StatusCode != http.StatusUnauthorized || r.Problem() != "device_revoked" {
		t.Errorf("%v after another server revoked the device: %d %s", ttl, r.StatusCode, r.Body)
	}
}

// enrolDevice enrols a device named name for gw1 as the admin and returns its
// id and token.
func enrolDevice(t *testing.T, e *testenv.Env, name string) (id, token string) {
	t.Helper()
	var out struct {
		Device struct {
			ID string `json:"id"`
		} `json:"device"`
		Token string `json:"token"`
	}
	e.Do("admin", http.MethodPost, "/api/v1/devices", map[string]string{"username": "gw1", "name": name}, &out).Must(t, http.StatusCreated)
	if out.Device.ID == "" || out.Token == "" {
		t.Fatalf("enrolment answer without id or token: %+v", out)
	}
	return out.Device.ID, out.Token
}
