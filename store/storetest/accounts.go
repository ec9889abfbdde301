package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func testMigrations(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	applied, known, err := s.MigrationState(ctx)
	must(t, err)
	if known < 1 || applied > known {
		t.Fatalf("before Migrate: applied %d of %d", applied, known)
	}
	must(t, s.Migrate(ctx))
	a1, k1, err := s.MigrationState(ctx)
	must(t, err)
	if a1 != k1 || k1 != known {
		t.Fatalf("after Migrate: applied %d of %d, want %d of %d", a1, k1, known, known)
	}
	// A second run is a no-op and keeps the data.
	must(t, s.CreateUser(ctx, models.User{ID: newID(), Username: "keep", CreatedAt: t0}))
	must(t, s.Migrate(ctx))
	a2, k2, err := s.MigrationState(ctx)
	must(t, err)
	if a2 != a1 || k2 != k1 {
		t.Fatalf("after second Migrate: applied %d of %d, want %d of %d", a2, k2, a1, k1)
	}
	if _, err := s.UserByUsername(ctx, "keep"); err != nil {
		t.Fatalf("data lost by second Migrate: %v", err)
	}
	seq, err := s.MaxChangeSeq(ctx)
	must(t, err)
	if seq != 0 {
		t.Errorf("MaxChangeSeq of a new database = %d, want 0", seq)
	}
	must(t, s.Ping(ctx))
}

func testRefData(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	rd, err := s.RefData(ctx)
	must(t, err)
	if rd.Version != 0 || len(rd.Categories)+len(rd.Org)+len(rd.Grids)+len(rd.Segments)+len(rd.Units) != 0 {
		t.Fatalf("empty database has reference data: %+v", rd)
	}
	want := models.RefData{
		Categories: []models.Category{
			{Code: "E0101"}, // zero values everywhere else
			{Code: "E0504", Kind: "event", GroupCode: "E05", GroupZH: "街面秩序", GroupEN: "Street order",
				NameZH: "占道经营", NameEN: "Street vending", Source: "national", Quantity: "area_m2",
				Limit: models.TimeLimit{Value: 4, Unit: models.LimitWorkHours}, Disabled: true},
		},
		Org: []models.OrgUnit{
			{Code: "370402", Level: models.LevelDistrict, Name: "市中区", Path: "370402"},
			{Code: "37040210", ParentCode: "370402", Level: models.LevelTown, Name: "A街道", Path: townA,
				Boundary: [][][2]float64{{{117.1, 36.1}, {117.2, 36.1}, {117.2, 36.2}, {117.1, 36.1}}},
				Center:   [2]float64{117.15, 36.15}},
		},
		Grids: []models.Grid{
			{Code: gridA, Name: "一网格", VillageCode: "37040210001", TownCode: "37040210", OrgPath: villA1 + "/" + gridA,
				Polygon: [][][2]float64{{{117.1, 36.1}, {117.11, 36.1}, {117.11, 36.11}, {117.1, 36.1}}},
				MinLat:  36.1, MinLon: 117.1, MaxLat: 36.11, MaxLon: 117.11, WorkerID: newID()},
			{Code: gridB},
		},
		Segments: []models.RoadSegment{
			{ID: "RS-1", Name: "人民路", TownCode: "37040210", Leader: "李四", Line: [][2]float64{{117.1, 36.1}, {117.2, 36.2}}},
			{ID: "RS-2"},
		},
		Units: []models.Unit{{ID: "U1", Name: "环卫中心", Kind: "sanitation", TownCode: "37040210"}, {ID: "U2"}},
	}
	must(t, s.PutRefData(ctx, want))
	got, err := s.RefData(ctx)
	must(t, err)
	if got.Version != 1 || got.UpdatedAt.IsZero() {
		t.Errorf("after PutRefData: version %d, updated %v; want 1 and a time", got.Version, got.UpdatedAt)
	}
	want.Version, want.UpdatedAt = got.Version, got.UpdatedAt
	same(t, "RefData", want, got)

	// Replacing an item, adding one, keeping the rest.
	c := want.Categories[1]
	c.Disabled, c.Limit.Value, c.NameEN = false, 0, ""
	must(t, s.PutCategory(ctx, c))
	got, err = s.RefData(ctx)
	must(t, err)
	if got.Version != 2 {
		t.Errorf("PutCategory: version %d, want 2", got.Version)
	}
	same(t, "replaced category", c, got.Categories[1])
	if len(got.Grids) != 2 || len(got.Units) != 2 {
		t.Errorf("PutCategory lost other items: %d grids, %d units", len(got.Grids), len(got.Units))
	}
}

func testUsers(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	full := models.User{ID: newID(), Username: "wang.fang", Name: "王芳", Role: models.RoleInspector,
		OrgPath: townA, UnitID: "U1", PasswordHash: "$argon2id$v=19$...", Disabled: true, CreatedAt: t0}
	zero := models.User{ID: newID(), Username: "z"}
	must(t, s.CreateUser(ctx, full))
	must(t, s.CreateUser(ctx, zero))
	for _, u := range []models.User{full, zero} {
		got, err := s.UserByID(ctx, u.ID)
		must(t, err)
		same(t, "UserByID "+u.Username, u, got)
		got, err = s.UserByUsername(ctx, u.Username)
		must(t, err)
		same(t, "UserByUsername "+u.Username, u, got)
	}
	dup := models.User{ID: newID(), Username: "wang.fang", CreatedAt: t0}
	wantCode(t, "duplicate username", s.CreateUser(ctx, dup), models.CodeAlreadyExists)
	err := s.CreateUser(ctx, models.User{ID: full.ID, Username: "other"})
	wantCode(t, "duplicate id", err, models.CodeAlreadyExists)
	if e, ok := err.(*models.Error); ok && e.Cause == nil {
		t.Errorf("duplicate id: the database error is not kept as Cause")
	}
	_, err = s.UserByID(ctx, newID())
	wantNotFound(t, "UserByID unknown", err)
	_, err = s.UserByUsername(ctx, "WANG.FANG")
	wantNotFound(t, "UserByUsername is exact", err)

	users, err := s.ListUsers(ctx)
	must(t, err)
	same(t, "ListUsers", []models.User{full, zero}, users)

	grids, err := s.UserGrids(ctx, full.ID)
	must(t, err)
	if len(grids) != 0 {
		t.Errorf("UserGrids of a new user = %v", grids)
	}
	must(t, s.SetUserGrids(ctx, full.ID, []string{gridB, gridA, gridA}))
	grids, err = s.UserGrids(ctx, full.ID)
	must(t, err)
	same(t, "UserGrids", []string{gridA, gridB}, grids)
	must(t, s.SetUserGrids(ctx, full.ID, []string{gridB}))
	grids, err = s.UserGrids(ctx, full.ID)
	must(t, err)
	same(t, "UserGrids replaced", []string{gridB}, grids)
	must(t, s.SetUserGrids(ctx, full.ID, nil))
	grids, err = s.UserGrids(ctx, full.ID)
	must(t, err)
	if len(grids) != 0 {
		t.Errorf("UserGrids after clearing = %v", grids)
	}
	wantNotFound(t, "SetUserGrids unknown user", s.SetUserGrids(ctx, newID(), []string{gridA}))
}

func testDevices(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	u := models.User{ID: newID(), Username: "inspector", Role: models.RoleInspector, CreatedAt: t0}
	must(t, s.CreateUser(ctx, u))
	full := models.Device{ID: newID(), UserID: u.ID, Name: "Pad 7", TokenHash: "hash-full", CreatedAt: t0,
		RevokedAt: atp(time.Hour), LastSeq: 41, LastPushAt: atp(time.Minute), LastPullAt: atp(2 * time.Minute),
		ClockOffset: -1500 * time.Millisecond, AppVersion: "1.4.2", Rejected: 3, Conflicted: 2, LastPullSeq: 99}
	zero := models.Device{ID: newID(), UserID: u.ID, TokenHash: "hash-zero"}
	must(t, s.CreateDevice(ctx, full))
	must(t, s.CreateDevice(ctx, zero))
	for _, d := range []models.Device{full, zero} {
		got, err := s.DeviceByID(ctx, d.ID)
		must(t, err)
		same(t, "DeviceByID", d, got)
		got, err = s.DeviceByTokenHash(ctx, d.TokenHash)
		must(t, err)
		same(t, "DeviceByTokenHash", d, got)
	}
	_, err := s.DeviceByTokenHash(ctx, "nope")
	wantNotFound(t, "DeviceByTokenHash unknown", err)
	_, err = s.DeviceByID(ctx, newID())
	wantNotFound(t, "DeviceByID unknown", err)
	wantCode(t, "duplicate token hash",
		s.CreateDevice(ctx, models.Device{ID: newID(), UserID: u.ID, TokenHash: "hash-full"}), models.CodeAlreadyExists)

	must(t, s.RevokeDevice(ctx, zero.ID, at(5*time.Hour)))
	wantNotFound(t, "RevokeDevice unknown", s.RevokeDevice(ctx, newID(), t0))
	must(t, s.TouchDevice(ctx, zero.ID, at(6*time.Hour), 2*time.Second, 1234))
	wantNotFound(t, "TouchDevice unknown", s.TouchDevice(ctx, newID(), t0, 0, 0))
	zero.RevokedAt, zero.LastPullAt, zero.ClockOffset, zero.LastPullSeq = atp(5*time.Hour), atp(6*time.Hour), 2*time.Second, 1234
	got, err := s.DeviceByID(ctx, zero.ID)
	must(t, err)
	same(t, "after Revoke and Touch", zero, got)

	// SaveDeviceSync writes its fields, zero values included, and nothing else.
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		d, err := tx.LockDevice(ctx, full.ID)
		if err != nil {
			return err
		}
		same(t, "LockDevice", full, d)
		d.LastSeq, d.LastPushAt, d.ClockOffset, d.AppVersion, d.Rejected, d.Conflicted = 0, nil, 0, "", 0, 0
		d.Name, d.LastPullSeq = "ignored", 5
		return tx.SaveDeviceSync(ctx, d)
	})
	full.LastSeq, full.LastPushAt, full.ClockOffset, full.AppVersion, full.Rejected, full.Conflicted = 0, nil, 0, "", 0, 0
	got, err = s.DeviceByID(ctx, full.ID)
	must(t, err)
	same(t, "after SaveDeviceSync", full, got)
	err = s.Update(ctx, func(tx models.Tx) error {
		_, err := tx.LockDevice(ctx, newID())
		return err
	})
	wantNotFound(t, "LockDevice unknown", err)

	// PendingAcks counts unacknowledged device outcomes.
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		var os []models.Outcome
		for seq := int64(1); seq <= 3; seq++ {
			os = append(os, models.Outcome{DeviceID: full.ID, Seq: seq, CommandID: newID(), Status: models.OutcomeApplied, At: t0})
		}
		return tx.PutOutcomes(ctx, os)
	})
	must(t, s.AckOutcomes(ctx, full.ID, 1))
	list, err := s.ListDevices(ctx)
	must(t, err)
	full.PendingAcks = 2
	byID := map[uuid.UUID]models.Device{}
	for _, d := range list {
		byID[d.ID] = d
	}
	if len(list) != 2 {
		t.Fatalf("ListDevices: %d devices, want 2", len(list))
	}
	same(t, "ListDevices full", full, byID[full.ID])
	same(t, "ListDevices zero", zero, byID[zero.ID])
}

func testSessions(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	u := models.User{ID: newID(), Username: "clerk", Role: models.RoleClerk, CreatedAt: t0}
	must(t, s.CreateUser(ctx, u))
	sess := models.Session{ID: "sha256:abc", UserID: u.ID, CSRFToken: "csrf", CreatedAt: t0, ExpiresAt: at(12 * time.Hour)}
	must(t, s.CreateSession(ctx, sess))
	zero := models.Session{ID: "z", UserID: u.ID}
	must(t, s.CreateSession(ctx, zero))
	wantCode(t, "duplicate session", s.CreateSession(ctx, sess), models.CodeAlreadyExists)
	for _, want := range []models.Session{sess, zero} {
		got, err := s.SessionByID(ctx, want.ID)
		must(t, err)
		same(t, "SessionByID", want, got)
	}
	must(t, s.DeleteSession(ctx, sess.ID))
	_, err := s.SessionByID(ctx, sess.ID)
	wantNotFound(t, "deleted session", err)
	must(t, s.DeleteSession(ctx, sess.ID)) // a repeated logout is fine
}
