package sync_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

// photoWire is what a case detail and a pull page carry of a photo.
type photoWire struct {
	ID           uuid.UUID `json:"id"`
	CaseID       uuid.UUID `json:"case_id"`
	Deleted      bool      `json:"deleted"`
	DeleteReason string    `json:"delete_reason"`
}

type detailWire struct {
	Case struct {
		Version int64 `json:"version"`
	} `json:"case"`
	Photos  []photoWire `json:"photos"`
	History []struct {
		Kind      string `json:"kind"`
		ActorName string `json:"actor_name"`
		Role      string `json:"role"`
		Comment   string `json:"comment"`
		Note      string `json:"note"`
	} `json:"history"`
}

// TestWithdrawPhoto: a supervisor withdraws an evidence photo with a reason.
// The record is marked, never removed; the case history and the audit log
// say who did it; devices in scope pull the marked record; a retried request
// changes nothing; anyone else, and a second withdrawal, is refused.
func TestWithdrawPhoto(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		caseID := e.Report("inspector1", testenv.InGrid1, "E0504")
		other := e.Report("inspector1", testenv.InGrid1, "E0504")
		var d, otherD detailWire
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, &d).Must(t, http.StatusOK)
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+other.String(), nil, &otherD).Must(t, http.StatusOK)
		if len(d.Photos) != 1 || len(otherD.Photos) != 1 {
			t.Fatalf("reports carry %d and %d photos, want 1 each", len(d.Photos), len(otherD.Photos))
		}
		photo, version := d.Photos[0].ID, d.Case.Version
		cursor := pullAll(t, e, "inspector1", "").Cursor
		path := "/api/v1/cases/" + caseID.String() + "/photos/" + photo.String() + "/withdraw"
		reason := "拍到路人面部，已按规定撤回"

		for _, tc := range []struct {
			user   string
			path   string
			body   map[string]any
			status int
			code   string
		}{
			{"clerk", path, map[string]any{"reason": reason}, http.StatusForbidden, "forbidden"},
			{"inspector1", path, map[string]any{"reason": reason}, http.StatusForbidden, "forbidden"},
			{"supervisor", path, map[string]any{"reason": "  "}, http.StatusUnprocessableEntity, "invalid_input"},
			{"supervisor", path, map[string]any{}, http.StatusUnprocessableEntity, "invalid_input"},
			{"supervisor", path, map[string]any{"reason": strings.Repeat("长", 501)}, http.StatusUnprocessableEntity, "invalid_input"},
			{"supervisor", "/api/v1/cases/" + other.String() + "/photos/" + photo.String() + "/withdraw",
				map[string]any{"reason": reason}, http.StatusNotFound, "not_found"},
			{"supervisor", "/api/v1/cases/" + caseID.String() + "/photos/" + testenv.NewID().String() + "/withdraw",
				map[string]any{"reason": reason}, http.StatusNotFound, "not_found"},
		} {
			r := e.Do(tc.user, http.MethodPost, tc.path, tc.body, nil)
			if r.StatusCode != tc.status || r.Problem() != tc.code {
				t.Errorf("%s %v: %d %s, want %d %s", tc.user, tc.body, r.StatusCode, r.Problem(), tc.status, tc.code)
			}
		}
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, &d).Must(t, http.StatusOK)
		if d.Case.Version != version || d.Photos[0].Deleted {
			t.Fatalf("refused requests changed the case: version %d (was %d), photo %+v", d.Case.Version, version, d.Photos[0])
		}

		cmdID := testenv.NewID()
		var res struct {
			Outcome struct {
				Status  string `json:"status"`
				Version int64  `json:"version"`
			} `json:"outcome"`
		}
		e.Do("supervisor", http.MethodPost, path, map[string]any{"reason": reason, "command_id": cmdID}, &res).Must(t, http.StatusOK)
		if res.Outcome.Status != "applied" || res.Outcome.Version != version+1 {
			t.Fatalf("withdrawal outcome %+v, want applied at version %d", res.Outcome, version+1)
		}
		// A retried request (same command id) answers the same and changes nothing.
		e.Do("supervisor", http.MethodPost, path, map[string]any{"reason": reason, "command_id": cmdID}, &res).Must(t, http.StatusOK)
		if res.Outcome.Version != version+1 {
			t.Fatalf("retried withdrawal: %+v", res.Outcome)
		}
		// A second withdrawal is refused: the first one's reason stands.
		r := e.Do("supervisor", http.MethodPost, path, map[string]any{"reason": "again"}, nil)
		if r.StatusCode != http.StatusConflict || r.Problem() != "already_exists" {
			t.Errorf("second withdrawal: %d %s", r.StatusCode, r.Problem())
		}

		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, &d).Must(t, http.StatusOK)
		if d.Case.Version != version+1 || len(d.Photos) != 1 || !d.Photos[0].Deleted || d.Photos[0].DeleteReason != reason {
			t.Fatalf("after the withdrawal: version %d, photos %+v", d.Case.Version, d.Photos)
		}
		last := d.History[len(d.History)-1]
		if last.Kind != "photo_withdrawn" || last.Role != "supervisor" || last.Comment != reason || !strings.Contains(last.Note, photo.String()) {
			t.Errorf("history entry %+v", last)
		}
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+other.String(), nil, &otherD).Must(t, http.StatusOK)
		if otherD.Photos[0].Deleted {
			t.Errorf("the other case's photo was withdrawn too")
		}

		// The device that took it pulls the marked record with its case.
		var page struct {
			Photos []photoWire `json:"photos"`
		}
		e.Do("inspector1", http.MethodGet, "/api/v1/sync/pull?cursor="+cursor, nil, &page).Must(t, http.StatusOK)
		if len(page.Photos) != 1 || page.Photos[0].ID != photo || !page.Photos[0].Deleted || page.Photos[0].DeleteReason != reason {
			t.Errorf("pulled photos %+v, want %s withdrawn", page.Photos, photo)
		}

		var audit struct {
			Items []struct {
				Action string         `json:"action"`
				CaseID uuid.UUID      `json:"case_id"`
				Detail map[string]any `json:"detail"`
			} `json:"items"`
		}
		e.Do("admin", http.MethodGet, "/api/v1/audit?action=photo.withdraw", nil, &audit).Must(t, http.StatusOK)
		if len(audit.Items) != 1 || audit.Items[0].CaseID != caseID || audit.Items[0].Detail["photo_id"] != photo.String() {
			t.Errorf("audit entries %+v, want one photo.withdraw of %s", audit.Items, photo)
		}

		// A device cannot withdraw evidence through sync either: the push wire
		// has no withdrawal payload, and the kind is refused.
		res2 := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
			cmd("withdraw_photo", 100, other, nil),
		}})
		if o := res2.Outcomes[0]; o.Status != "rejected" || o.Code != "forbidden" {
			t.Errorf("a device's withdraw_photo: %+v", o)
		}
	})
}
