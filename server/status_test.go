package server_test

import (
	"net/http"
	"testing"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/uploads"
)

// TestStatusTablesAgree: the tus endpoint writes its own problem bodies, so
// package uploads keeps a copy of the code→status table; every code must map
// to the same status there as in the api package's table.
func TestStatusTablesAgree(t *testing.T) {
	codes := api.Codes() // api's openapi doc test checks this covers every code in models
	if len(codes) < 30 {
		t.Fatalf("found only %d codes", len(codes))
	}
	for _, c := range codes {
		if a, u := api.StatusOf(c), uploads.StatusFor(c); a != u {
			t.Errorf("%s: api %d, uploads %d", c, a, u)
		}
		if c != models.CodeInternal && api.StatusOf(c) == http.StatusInternalServerError {
			t.Errorf("%s has no status in the api table", c)
		}
	}
}
