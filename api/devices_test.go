package api_test

import (
	"net/http"
	"testing"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// TestEnrolAndRevoke: an admin enrols a device (the token is shown once and
// works), revokes it, and the token is refused from then on.
func TestEnrolAndRevoke(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	var enrolled struct {
		Device struct {
			ID string `json:"id"`
		} `json:"device"`
		Token string `json:"token"`
	}
	e.Do("admin", http.MethodPost, "/api/v1/devices", map[string]string{"username": "gw1", "name": "TAB-0417"}, &enrolled).Must(t, http.StatusCreated)
	if enrolled.Token == "" {
		t.Fatal("no token in the enrolment answer")
	}
	e.DoToken(enrolled.Token, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)
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
	e.Do("clerk", http.MethodPost, "/api/v1/devices/"+enrolled.Device.ID+"/revoke", nil, nil).Must(t, http.StatusForbidden)
	e.Do("admin", http.MethodPost, "/api/v1/devices/"+enrolled.Device.ID+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	res := e.DoToken(enrolled.Token, http.MethodGet, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusUnauthorized)
	if res.Problem() != "device_revoked" {
		t.Errorf("revoked token: code %q, want device_revoked", res.Problem())
	}
	// An office user cannot be given a device.
	r := e.Do("admin", http.MethodPost, "/api/v1/devices", map[string]string{"username": "clerk", "name": "x"}, nil)
	if r.StatusCode != http.StatusUnprocessableEntity || r.Problem() != "invalid_input" {
		t.Errorf("enrolling a clerk: %d %s", r.StatusCode, r.Body)
	}
}
