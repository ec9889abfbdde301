package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func testCaseRoundTrip(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	full := fullCase(newID(), newID())
	zero := models.Case{ID: newID()}
	deleted := simpleCase(townB, "")
	deleted.Deleted = true
	cs := putCases(t, s, full, zero, deleted)
	if cs[0].ChangeSeq != 1 || cs[1].ChangeSeq != 2 || cs[2].ChangeSeq != 3 {
		t.Fatalf("ChangeSeq written back: %d, %d, %d; want 1, 2, 3", cs[0].ChangeSeq, cs[1].ChangeSeq, cs[2].ChangeSeq)
	}
	for _, want := range cs {
		got, err := s.GetCase(ctx, want.ID)
		must(t, err)
		same(t, "GetCase", want, got)
	}
	_, err := s.GetCase(ctx, newID())
	wantNotFound(t, "GetCase unknown", err)

	// Overwrite the full case with zero values: every column must be written.
	blank := models.Case{ID: full.ID}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		got, err := tx.CasesByID(ctx, []uuid.UUID{full.ID, zero.ID, newID()})
		if err != nil {
			return err
		}
		if len(got) != 2 {
			t.Errorf("CasesByID found %d cases, want 2", len(got))
		}
		same(t, "CasesByID", cs[0], got[full.ID])
		b := []models.Case{blank}
		if err := tx.PutCases(ctx, b, []*models.Case{&cs[0]}); err != nil {
			return err
		}
		blank = b[0]
		return nil
	})
	if blank.ChangeSeq != 4 {
		t.Errorf("ChangeSeq of the rewrite = %d, want 4", blank.ChangeSeq)
	}
	got, err := s.GetCase(ctx, full.ID)
	must(t, err)
	same(t, "case overwritten with zero values", blank, got)
	seq, err := s.MaxChangeSeq(ctx)
	must(t, err)
	if seq != 4 {
		t.Errorf("MaxChangeSeq = %d, want 4", seq)
	}

	// A case named twice in one call is written once, as its last element.
	a := simpleCase(townA, "")
	a2 := a
	a2.Description, a2.Version = "second", 2
	two := putCases(t, s, a, a2)
	if two[0].ChangeSeq != 5 || two[1].ChangeSeq != 5 {
		t.Errorf("duplicate case seqs %d, %d; want 5, 5", two[0].ChangeSeq, two[1].ChangeSeq)
	}
	got, err = s.GetCase(ctx, a.ID)
	must(t, err)
	same(t, "case put twice", two[1], got)
}

func testUpdateRollback(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	boom := errors.New("boom")
	c := simpleCase(townA, gridA)
	err := s.Update(ctx, func(tx models.Tx) error {
		if err := tx.PutCases(ctx, []models.Case{c}, nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the error of fn", err)
	}
	_, err = s.GetCase(ctx, c.ID)
	wantNotFound(t, "case of a rolled back Update", err)
	seq, err := s.MaxChangeSeq(ctx)
	must(t, err)
	if seq != 0 {
		t.Errorf("MaxChangeSeq after rollback = %d, want 0", seq)
	}
	// A domain error keeps its code.
	err = s.Update(ctx, func(tx models.Tx) error { return models.Errorf(models.CodeVersionConflict, "stale") })
	wantCode(t, "domain error from fn", err, models.CodeVersionConflict)
	// The store still works.
	putCases(t, s, c)
	seq, err = s.MaxChangeSeq(ctx)
	must(t, err)
	if seq != 1 {
		t.Errorf("MaxChangeSeq = %d, want 1", seq)
	}
}

func testHistory(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	c := putCases(t, s, simpleCase(townA, gridA))[0]
	other := putCases(t, s, simpleCase(townA, gridA))[0]
	entries := []models.HistoryEntry{
		{CaseID: c.ID, Version: 1, Kind: models.HistoryCreated, Action: models.ActionSubmit,
			FromState: models.StateNew, ToState: models.StateReported, Comment: "新建", ActorID: newID(),
			ActorName: "王芳", Role: models.RoleInspector, DeviceID: newID(), CommandID: newID(), At: t0,
			ClientAt: atp(-time.Second), Note: "n"},
		{CaseID: c.ID, Version: 2, Kind: models.HistoryEdit,
			Changes: []models.FieldChange{{Field: "description", Old: "a", New: "b"}, {Field: "party", Old: "", New: ""}},
			At:      at(time.Minute), Note: "parallel update"},
		{CaseID: c.ID, Version: 0, Kind: models.HistoryComment, Changes: []models.FieldChange{}, At: at(2 * time.Minute)},
		{CaseID: other.ID}, // zero values
		{CaseID: c.ID, Version: 3, Kind: models.HistoryTransition, Action: models.ActionRegister, At: at(3 * time.Minute)},
	}
	update(t, s, func(ctx context.Context, tx models.Tx) error { return tx.AppendHistory(ctx, entries) })
	for i, e := range entries {
		if e.ID == 0 {
			t.Fatalf("entry %d: id not written back", i)
		}
		if i > 0 && e.ID <= entries[i-1].ID {
			t.Errorf("entry ids not increasing: %d after %d", e.ID, entries[i-1].ID)
		}
	}
	got, err := s.History(ctx, c.ID)
	must(t, err)
	same(t, "History", []models.HistoryEntry{entries[0], entries[1], entries[2], entries[4]}, got)
	got, err = s.History(ctx, other.ID)
	must(t, err)
	same(t, "History of zero entry", []models.HistoryEntry{entries[3]}, got)
	got, err = s.History(ctx, newID())
	must(t, err)
	if len(got) != 0 {
		t.Errorf("History of unknown case: %d entries", len(got))
	}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		edits, err := tx.EditsSince(ctx, c.ID, 1)
		if err != nil {
			return err
		}
		same(t, "EditsSince 1", []models.HistoryEntry{entries[1], entries[4]}, edits)
		edits, err = tx.EditsSince(ctx, c.ID, 3)
		if err != nil {
			return err
		}
		if len(edits) != 0 {
			t.Errorf("EditsSince 3: %d entries", len(edits))
		}
		return nil
	})
}

func testCommentsPhotos(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	c := putCases(t, s, simpleCase(townA, gridA))[0]
	d := putCases(t, s, simpleCase(townB, gridB))[0]
	comments := []models.Comment{
		{ID: newID(), CaseID: c.ID, Body: "请补充照片", AuthorID: newID(), Author: "李四", Role: models.RoleClerk,
			DeviceID: newID(), CreatedAt: t0, ClientAt: atp(-time.Minute), ChangeSeq: 9},
		{ID: newID(), CaseID: d.ID},
		{ID: newID(), CaseID: c.ID, Body: "later", CreatedAt: at(time.Minute)},
	}
	update(t, s, func(ctx context.Context, tx models.Tx) error { return tx.AddComments(ctx, comments) })
	err := s.Update(ctx, func(tx models.Tx) error { return tx.AddComments(ctx, comments[:1]) })
	wantCode(t, "duplicate comment", err, models.CodeAlreadyExists)
	got, err := s.Comments(ctx, []uuid.UUID{c.ID})
	must(t, err)
	same(t, "Comments", []models.Comment{comments[0], comments[2]}, got)
	got, err = s.Comments(ctx, []uuid.UUID{d.ID, c.ID})
	must(t, err)
	if len(got) != 3 {
		t.Errorf("Comments of two cases: %d, want 3", len(got))
	}

	lat, lon, alt := 36.5, 117.5, 40.25
	full := models.PhotoRecord{
		ID: newID(), CaseID: c.ID, Stage: "report", Type: models.PhotoFar, SHA256: "ab12", Size: 123456,
		CapturedAt: atp(-time.Hour),
		GPS: &models.PhotoGPS{Lat: 36.1, Lon: 117.2, Accuracy: 5, Altitude: 30, Bearing: 270, Source: "gps",
			Mock: true, CoordSys: "gcj02"},
		AppVersion: "1.4.2", UploaderID: newID(), DeviceID: newID(), CreatedAt: t0,
		Verified: true, ReceivedAt: atp(time.Minute), ContentType: "image/jpeg", Width: 4032, Height: 3024,
		EXIF: &models.EXIFInfo{Lat: &lat, Lon: &lon, Altitude: &alt, TakenAt: atp(-time.Hour),
			OffsetTime: "+08:00", Orientation: 6, Make: "HUAWEI", Model: "MatePad"},
		Flags:      []string{"far_from_case", "time_skew"},
		ThumbSmall: "s-hash", ThumbLarge: "l-hash", Deleted: true, DeleteReason: "blurred", ChangeSeq: 12,
	}
	zero := models.PhotoRecord{ID: newID(), CaseID: d.ID}
	empty := models.PhotoRecord{ID: newID(), CaseID: d.ID, Flags: []string{}, EXIF: &models.EXIFInfo{},
		GPS: &models.PhotoGPS{}, CreatedAt: at(time.Second)}
	orphan := models.PhotoRecord{ID: newID(), CaseID: newID()} // its case does not exist yet
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		return tx.PutPhotos(ctx, []models.PhotoRecord{full, zero, empty, orphan})
	})
	for _, p := range []models.PhotoRecord{full, zero, empty, orphan} {
		g, err := s.GetPhoto(ctx, p.ID)
		must(t, err)
		same(t, "GetPhoto", p, g)
	}
	_, err = s.GetPhoto(ctx, newID())
	wantNotFound(t, "GetPhoto unknown", err)
	ps, err := s.Photos(ctx, []uuid.UUID{d.ID})
	must(t, err)
	same(t, "Photos", []models.PhotoRecord{zero, empty}, ps)

	// Replace: verified on arrival, then cleared again with zero values.
	full2 := full
	full2.Verified, full2.Flags, full2.EXIF, full2.GPS, full2.Deleted, full2.Width = false, nil, nil, nil, false, 0
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		if err := tx.PutPhotos(ctx, []models.PhotoRecord{full2}); err != nil {
			return err
		}
		m, err := tx.PhotosByID(ctx, []uuid.UUID{full.ID, zero.ID, newID()})
		if err != nil {
			return err
		}
		if len(m) != 2 {
			t.Errorf("PhotosByID found %d, want 2", len(m))
		}
		same(t, "PhotosByID", full2, m[full.ID])
		same(t, "PhotosByID zero", zero, m[zero.ID])
		return nil
	})
}

func testConflicts(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	inA := putCases(t, s, simpleCase(villA1, gridA))[0]
	inB := putCases(t, s, simpleCase(villB1, gridB))[0]
	full := models.Conflict{
		ID: newID(), CaseID: inA.ID, Kind: models.ConflictField, Field: "description", Base: "base",
		Kept: "kept", SetAside: "set aside",
		KeptBy: models.Authorship{UserID: newID(), Name: "王芳", Role: models.RoleClerk, DeviceID: newID(),
			Version: 4, At: t0},
		SetAsideBy: models.Authorship{UserID: newID(), Name: "张三", Role: models.RoleInspector, DeviceID: newID(),
			Version: 3, At: at(-time.Hour)},
		CommandID: newID(), Payload: json.RawMessage(`{"kind": "edit_fields",  "fields":{"b":"1","a":"2"}}`),
		Status: models.ConflictResolved, Resolution: "new", ResolvedValue: "v", ResolvedBy: newID(),
		ResolvedAt: atp(time.Hour), CreatedAt: t0, ChangeSeq: 17,
	}
	zero := models.Conflict{ID: newID(), CaseID: inB.ID}
	open := models.Conflict{ID: newID(), CaseID: inA.ID, Status: models.ConflictOpen, CreatedAt: at(time.Minute)}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		return tx.PutConflicts(ctx, []models.Conflict{full, zero, open})
	})
	for _, c := range []models.Conflict{full, zero, open} {
		got, err := s.GetConflict(ctx, c.ID)
		must(t, err)
		same(t, "GetConflict", c, got)
		if string(got.Payload) != string(c.Payload) {
			t.Errorf("payload not kept byte for byte: %q", got.Payload)
		}
	}
	_, err := s.GetConflict(ctx, newID())
	wantNotFound(t, "GetConflict unknown", err)

	list := func(q models.ConflictQuery) []uuid.UUID {
		t.Helper()
		cs, err := s.Conflicts(ctx, q)
		must(t, err)
		ids := make([]uuid.UUID, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		return ids
	}
	all := models.Scope{All: true}
	same(t, "all conflicts, newest first", []uuid.UUID{open.ID, full.ID, zero.ID}, list(models.ConflictQuery{Scope: all}))
	same(t, "open conflicts", []uuid.UUID{open.ID}, list(models.ConflictQuery{Scope: all, Status: models.ConflictOpen}))
	same(t, "by case", []uuid.UUID{open.ID, full.ID}, list(models.ConflictQuery{Scope: all, CaseID: inA.ID}))
	same(t, "scope town B", []uuid.UUID{zero.ID}, list(models.ConflictQuery{Scope: models.Scope{OrgPrefixes: []string{townB}}}))
	same(t, "scope grid A", []uuid.UUID{open.ID, full.ID}, list(models.ConflictQuery{Scope: models.Scope{Grids: []string{gridA}}}))
	if ids := list(models.ConflictQuery{}); len(ids) != 0 {
		t.Errorf("empty scope sees %d conflicts", len(ids))
	}
	same(t, "limit", []uuid.UUID{open.ID}, list(models.ConflictQuery{Scope: all, Limit: 1}))

	// Resolve inside a transaction.
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		c, err := tx.GetConflict(ctx, open.ID)
		if err != nil {
			return err
		}
		same(t, "Tx.GetConflict", open, c)
		c.Status, c.Resolution, c.ResolvedAt = models.ConflictResolved, "kept", atp(2*time.Hour)
		open = c
		return tx.PutConflicts(ctx, []models.Conflict{c})
	})
	got, err := s.GetConflict(ctx, open.ID)
	must(t, err)
	same(t, "resolved conflict", open, got)
	err = s.Update(ctx, func(tx models.Tx) error { _, err := tx.GetConflict(ctx, newID()); return err })
	wantNotFound(t, "Tx.GetConflict unknown", err)
}

func testOutcomes(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	dev := newID()
	full := models.Outcome{DeviceID: dev, Seq: 2, CommandID: newID(), CaseID: newID(), Status: models.OutcomeMerged,
		Version: 5, Final: map[string]string{"description": "x", "party": ""}, ConflictID: []uuid.UUID{newID(), newID()},
		Code: models.CodeGuardFailed, Reason: "reason", Hint: "hint", Pending: []uuid.UUID{newID()}, At: t0, Acked: false}
	zero := models.Outcome{DeviceID: dev, Seq: 1, CommandID: newID()}
	empty := models.Outcome{DeviceID: dev, Seq: 3, CommandID: newID(), Final: map[string]string{},
		ConflictID: []uuid.UUID{}, Pending: []uuid.UUID{}, Acked: true}
	console1 := models.Outcome{CommandID: newID(), Status: models.OutcomeApplied, At: t0}
	console2 := models.Outcome{CommandID: newID(), Status: models.OutcomeRejected, At: t0}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		return tx.PutOutcomes(ctx, []models.Outcome{full, zero, empty, console1, console2})
	})
	got, err := s.Outcomes(ctx, dev, false)
	must(t, err)
	same(t, "Outcomes", []models.Outcome{zero, full, empty}, got)
	got, err = s.Outcomes(ctx, dev, true)
	must(t, err)
	same(t, "unacked Outcomes", []models.Outcome{zero, full}, got)

	update(t, s, func(ctx context.Context, tx models.Tx) error {
		m, err := tx.OutcomesBySeq(ctx, dev, []int64{1, 2, 9})
		if err != nil {
			return err
		}
		same(t, "OutcomesBySeq", map[int64]models.Outcome{1: zero, 2: full}, m)
		o, err := tx.OutcomeByCommand(ctx, console2.CommandID)
		if err != nil {
			return err
		}
		same(t, "OutcomeByCommand", console2, o)
		_, err = tx.OutcomeByCommand(ctx, newID())
		wantNotFound(t, "OutcomeByCommand unknown", err)
		return nil
	})
	// Another command with a taken (device, seq) is refused.
	err = s.Update(ctx, func(tx models.Tx) error {
		return tx.PutOutcomes(ctx, []models.Outcome{{DeviceID: dev, Seq: 2, CommandID: newID()}})
	})
	wantCode(t, "duplicate device seq", err, models.CodeAlreadyExists)

	must(t, s.AckOutcomes(ctx, dev, 2))
	got, err = s.Outcomes(ctx, dev, true)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("after AckOutcomes(2): %d unacked", len(got))
	}
	got, err = s.Outcomes(ctx, dev, false)
	must(t, err)
	for _, o := range got {
		if !o.Acked {
			t.Errorf("outcome %d not acked", o.Seq)
		}
	}
	got, err = s.Outcomes(ctx, newID(), false)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("outcomes of an unknown device: %d", len(got))
	}
}
