// Package storetest is the contract test suite of models.Store, models.Tx and
// models.JobQueue. Every storage adapter runs the same suite, so SQLite and
// PostgreSQL are held to one behaviour:
//
//	func TestSQLite(t *testing.T) { storetest.Run(t, openSQLite) }
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// Run runs the whole suite. open must return a new, empty store each time it
// is called (migrated or not: the suite migrates it) and arrange with
// t.Cleanup for it to be closed and removed. The job queue tests run when the
// store also implements models.JobQueue.
func Run(t *testing.T, open func(t *testing.T) models.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s models.Store)
	}{
		{"Migrations", testMigrations},
		{"RefData", testRefData},
		{"Users", testUsers},
		{"Devices", testDevices},
		{"Sessions", testSessions},
		{"CaseRoundTrip", testCaseRoundTrip},
		{"UpdateRollsBack", testUpdateRollback},
		{"History", testHistory},
		{"CommentsAndPhotos", testCommentsPhotos},
		{"Conflicts", testConflicts},
		{"Outcomes", testOutcomes},
		{"ListCases", testListCases},
		{"ChangesScope", testChangesScope},
		{"ChangesRemovals", testChangesRemovals},
		{"ChangesPagination", testChangesPagination},
		{"ChangesConcurrent", testChangesConcurrent},
		{"Jobs", testJobs},
		{"JobsConcurrentClaim", testJobsConcurrentClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if tc.name != "Migrations" {
				if err := s.Migrate(context.Background()); err != nil {
					t.Fatalf("Migrate: %v", err)
				}
			}
			tc.fn(t, s)
		})
	}
	runConsole(t, open) // audit log and statistics reads (audit.go)
}

// t0 is a fixed instant with microsecond precision, the finest both
// databases keep.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func at(d time.Duration) time.Time   { return t0.Add(d) }
func atp(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func ctxT(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := Diff(want, got); d != "" {
		t.Errorf("%s differs:\n%s", what, d)
	}
}

func wantCode(t *testing.T, what string, err error, code models.Code) {
	t.Helper()
	if got := models.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !models.IsNotFound(err) || !errors.Is(err, models.ErrNotFound) {
		t.Errorf("%s: %v, want not found", what, err)
	}
}

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s models.Store, fn func(ctx context.Context, tx models.Tx) error) {
	t.Helper()
	ctx := ctxT(t)
	must(t, s.Update(ctx, func(tx models.Tx) error { return fn(ctx, tx) }))
}

// putCases writes new cases and returns them with their sequence numbers.
func putCases(t *testing.T, s models.Store, cs ...models.Case) []models.Case {
	t.Helper()
	update(t, s, func(ctx context.Context, tx models.Tx) error { return tx.PutCases(ctx, cs, nil) })
	return cs
}

// change rewrites stored case c after mutate, passing the stored version as
// prev, and returns the new version.
func change(t *testing.T, s models.Store, c models.Case, mutate func(c *models.Case)) models.Case {
	t.Helper()
	var out models.Case
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		got, err := tx.CasesByID(ctx, []uuid.UUID{c.ID})
		if err != nil {
			return err
		}
		old, ok := got[c.ID]
		if !ok {
			return models.ErrNotFound
		}
		n := old
		mutate(&n)
		n.Version++
		cs := []models.Case{n}
		if err := tx.PutCases(ctx, cs, []*models.Case{&old}); err != nil {
			return err
		}
		out = cs[0]
		return nil
	})
	return out
}

// Org paths of the fixtures. townB's code starts with townA's, so a prefix
// match that forgets the slash shows.
const (
	district = "370402"
	townA    = "370402/37040210"
	villA1   = "370402/37040210/37040210001"
	townB    = "370402/370402101"
	villB1   = "370402/370402101/370402101001"
	gridA    = "37040210001001"
	gridB    = "37040210100101"
)

// fullCase is a case with every field set to a non-zero value.
func fullCase(reporter, device uuid.UUID) models.Case {
	q := 12.5
	return models.Case{
		ID: newID(), Category: "E0504", Description: "占道经营 Stall on the pavement, 100% blocked",
		Location: models.Location{Lat: 36.81234567, Lon: 117.98765432, Accuracy: 8.25, Address: "人民路12号"},
		Party:    "张三 Bakery", Quantity: &q, Source: models.SourceDevice,
		OrgPath: villA1, TownCode: "37040210", VillageCode: "37040210001", GridCode: gridA,
		RoadSegmentID: "RS-7", UnitID: "unit-env", AssigneeID: newID(), RefVersion: 3,
		State: models.StateExtensionPending, Deadline: atp(48 * time.Hour), Disposition: "劝导整改",
		ReworkCount: 2, Escalated: true, Pending: models.PendingExtension, PendingDeadline: atp(96 * time.Hour),
		HandledBy: newID(), ForceClosed: true, LinkedCase: newID(),
		ReporterID: reporter, ReporterRole: models.RoleInspector, DeviceID: device,
		ClientCreatedAt: at(-90 * time.Second), CreatedAt: t0, UpdatedAt: at(time.Hour),
		DispatchedAt: atp(2 * time.Hour), HandledAt: atp(3 * time.Hour), ClosedAt: atp(4 * time.Hour),
		Deleted: false, Version: 7,
	}
}

// simpleCase is an open case at an org path and grid.
func simpleCase(orgPath, grid string) models.Case {
	return models.Case{
		ID: newID(), Category: "E0101", Description: "case", State: models.StateReported,
		Source: models.SourceDevice, OrgPath: orgPath, GridCode: grid, Version: 1,
		CreatedAt: t0, UpdatedAt: t0, ClientCreatedAt: t0,
	}
}
