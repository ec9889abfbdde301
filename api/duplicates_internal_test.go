package api

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func TestDuplicateCandidates(t *testing.T) {
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	mk := func(cat string, dLat float64, dt time.Duration, state models.State) models.Case {
		return models.Case{ID: uuid.Must(uuid.NewV7()), Category: cat, State: state, CreatedAt: at.Add(dt),
			Location: models.Location{Lat: 34.86 + dLat, Lon: 117.55}}
	}
	c := mk("E0504", 0, 0, models.StateReported)
	near := mk("E0504", 0.0003, 2*time.Hour, models.StateReported)       // ≈ 33 m, 2 h later
	nearer := mk("E0504", 0.0001, -30*time.Hour, models.StateDispatched) // ≈ 11 m, a day before
	sameSpot := mk("E0504", 0.0001, time.Hour, models.StateClosed)       // ≈ 11 m, an hour later
	far := mk("E0504", 0.002, time.Hour, models.StateReported)           // ≈ 220 m
	other := mk("E0601", 0, time.Hour, models.StateReported)
	late := mk("E0504", 0, 80*time.Hour, models.StateReported)
	voided := mk("E0504", 0, time.Hour, models.StateVoided)
	deleted := mk("E0504", 0, time.Hour, models.StateReported)
	deleted.Deleted = true
	list := []models.Case{c, near, nearer, sameSpot, far, other, late, voided, deleted}

	for _, tc := range []struct {
		name   string
		radius float64
		window time.Duration
		want   []uuid.UUID
	}{
		{"defaults: nearest first, then closest in time", 100, 72 * time.Hour, []uuid.UUID{sameSpot.ID, nearer.ID, near.ID}},
		{"a wider radius takes the far one", 300, 72 * time.Hour, []uuid.UUID{sameSpot.ID, nearer.ID, near.ID, far.ID}},
		{"a day's window drops the day-old one", 100, 24 * time.Hour, []uuid.UUID{sameSpot.ID, near.ID}},
		{"a longer window takes the late one", 100, 100 * time.Hour, []uuid.UUID{late.ID, sameSpot.ID, nearer.ID, near.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []uuid.UUID
			for _, d := range duplicateCandidates(c, list, tc.radius, tc.window) {
				got = append(got, d.c.ID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d candidates, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("candidate %d is %s, want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}
