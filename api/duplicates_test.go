package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
)

type dupList struct {
	RadiusM float64 `json:"radius_m"`
	Items   []struct {
		Case struct {
			ID uuid.UUID `json:"id"`
		} `json:"case"`
		DistanceM float64 `json:"distance_m"`
	} `json:"items"`
}

type dupDetail struct {
	Case struct {
		State      string     `json:"state"`
		Version    int64      `json:"version"`
		LinkedCase *uuid.UUID `json:"linked_case"`
	} `json:"case"`
	History []struct {
		Kind string `json:"kind"`
		Note string `json:"note"`
	} `json:"history"`
}

// TestDuplicatesSuggestedAndMerged: a clerk is shown the reports of the same
// category near a case and merges one as void-duplicate with a link; the
// case it repeats records the merge; bad links are refused.
func TestDuplicatesSuggestedAndMerged(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg})
			at := func(dLat float64) models.Location {
				return models.Location{Lat: testenv.InGrid1.Lat + dLat, Lon: testenv.InGrid1.Lon, Accuracy: 5}
			}
			a := e.Report("inspector1", at(0), "E0504")
			b := e.Report("gw1", at(0.0003), "E0504") // about 33 m north
			e.Report("inspector1", at(0), "E0101")    // another category
			far := e.Report("inspector1", at(0.004), "E0504")

			var l dupList
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+a.String()+"/duplicates", nil, &l).Must(t, http.StatusOK)
			if len(l.Items) != 1 || l.Items[0].Case.ID != b || l.Items[0].DistanceM < 30 || l.Items[0].DistanceM > 36 || l.RadiusM != 100 {
				t.Fatalf("suggestions for a: %+v", l)
			}
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+a.String()+"/duplicates?radius_m=600", nil, &l).Must(t, http.StatusOK)
			if len(l.Items) != 2 || l.Items[1].Case.ID != far {
				t.Fatalf("suggestions within 600 m: %+v", l)
			}
			for _, tc := range []struct {
				user, query string
				status      int
				code        string
			}{
				{"inspector1", "", http.StatusForbidden, "forbidden"},
				{"clerk1", "?radius_m=5000", http.StatusUnprocessableEntity, "invalid_input"},
				{"clerk1", "?hours=abc", http.StatusUnprocessableEntity, "invalid_input"},
			} {
				r := e.Do(tc.user, http.MethodGet, "/api/v1/cases/"+a.String()+"/duplicates"+tc.query, nil, nil)
				if r.StatusCode != tc.status || r.Problem() != tc.code {
					t.Errorf("%s %s: %d %s", tc.user, tc.query, r.StatusCode, r.Problem())
				}
			}

			void := func(id uuid.UUID, reason string, of uuid.UUID) testenv.Response {
				return e.Do("clerk1", http.MethodPost, "/api/v1/cases/"+id.String()+"/transitions", map[string]any{
					"action": "void", "params": map[string]any{"reason": reason, "duplicate_of": of}}, nil)
			}
			for _, tc := range []struct {
				name   string
				reason string
				of     uuid.UUID
				status int
				code   string
			}{
				{"itself", "duplicate", b, http.StatusUnprocessableEntity, "guard_failed"},
				{"another reason", "not_real", a, http.StatusUnprocessableEntity, "guard_failed"},
				{"an unknown case", "duplicate", testenv.NewID(), http.StatusNotFound, "not_found"},
			} {
				if r := void(b, tc.reason, tc.of); r.StatusCode != tc.status || r.Problem() != tc.code {
					t.Errorf("void linked to %s: %d %s, want %d %s", tc.name, r.StatusCode, r.Problem(), tc.status, tc.code)
				}
			}

			var before, da, db dupDetail
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+a.String(), nil, &before).Must(t, http.StatusOK)
			void(b, "duplicate", a).Must(t, http.StatusOK)
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+b.String(), nil, &db).Must(t, http.StatusOK)
			if db.Case.State != "voided" || db.Case.LinkedCase == nil || *db.Case.LinkedCase != a {
				t.Errorf("the duplicate: %+v", db.Case)
			}
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+a.String(), nil, &da).Must(t, http.StatusOK)
			last := da.History[len(da.History)-1]
			if da.Case.Version != before.Case.Version+1 || last.Kind != "duplicate_merged" || last.Note != "duplicate merged: "+b.String() {
				t.Errorf("the case it repeats: version %d (was %d), last entry %+v", da.Case.Version, before.Case.Version, last)
			}
			e.Do("clerk1", http.MethodGet, "/api/v1/cases/"+a.String()+"/duplicates", nil, &l).Must(t, http.StatusOK)
			if len(l.Items) != 0 {
				t.Errorf("a voided duplicate is still suggested: %+v", l)
			}
			// A duplicate of a voided case is refused: link to the case that stands.
			c := e.Report("inspector1", at(0.0001), "E0504")
			if r := void(c, "duplicate", b); r.StatusCode != http.StatusUnprocessableEntity || r.Problem() != "guard_failed" {
				t.Errorf("void linked to a voided case: %d %s", r.StatusCode, r.Problem())
			}
		})
	}
}
