package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/client"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// TestCreateOfflineThenSync files a case with no server reachable, shows it
// in the local view, then syncs it: the case and its photo record are on the
// server, and the local view is the server's.
func TestCreateOfflineThenSync(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "tablet.db")

	// A port nobody listens on: the tablet is offline.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	off := open(t, db, dead, e.Users["inspector1"].Token, func(c *client.Config) { c.Attempts = 2 })
	src := photo(t, 320, 240)
	id, err := off.CreateCase(ctx, draft("占道经营 offline"), client.PhotoInput{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	if id.Version() != 7 {
		t.Errorf("case id %s is not a UUIDv7", id)
	}
	v, err := off.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !v.LocalOnly || v.State != models.StateReported || v.Pending != 2 || len(v.Photos) != 1 || v.Description != "占道经营 offline" {
		t.Fatalf("offline view = local %v state %s pending %d photos %d desc %q", v.LocalOnly, v.State, v.Pending, len(v.Photos), v.Description)
	}
	raw, _ := os.ReadFile(src)
	sum := sha256.Sum256(raw)
	if got := v.Photos[0]; got.SHA256 != hex.EncodeToString(sum[:]) || got.Upload != "pending" || !got.Mine {
		t.Fatalf("photo view = %+v, want the capture's sha256, pending upload", got)
	}
	if _, err := off.Sync(ctx); err == nil {
		t.Fatal("sync against a dead server succeeded")
	}
	box, _ := off.Outbox(ctx)
	if len(box) != 2 || box[0].State != "pending" || box[1].State != "pending" || box[0].Kind != models.CmdAddPhoto || box[1].Kind != models.CmdCreateCase {
		t.Fatalf("outbox after failed sync = %+v", box)
	}
	off.Close()

	// Back in coverage: the same store, the real server.
	on := open(t, db, e.URL, "")
	r := mustSync(t, on)
	if r.Applied != 2 || r.Rejected != 0 || r.Pushed != 2 || r.AckedUpTo != 2 || r.Upserted != 1 {
		t.Fatalf("report = %+v", r)
	}
	d := serverCase(t, e, id)
	if d.Case.State != "reported" || d.Case.Description != "占道经营 offline" || len(d.Photos) != 1 || d.Photos[0].ID != v.Photos[0].ID {
		t.Fatalf("server case = %+v", d)
	}
	v, err = on.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.LocalOnly || v.Pending != 0 || v.Version != d.Case.Version || v.GridCode != testenv.Grid1 {
		t.Fatalf("view after sync = local %v pending %d v%d grid %q", v.LocalOnly, v.Pending, v.Version, v.GridCode)
	}
	if uploadsMounted(t, e) {
		if r.Photos.Uploaded != 1 {
			t.Fatalf("photos = %+v, want the photo uploaded", r.Photos)
		}
	} else if r.Photos.WaitingForServer != 1 || len(r.Photos.Failed) != 0 {
		t.Fatalf("photos = %+v, want one waiting for the server's upload endpoint", r.Photos)
	} else if p := v.Photos[0]; p.Upload != "waiting" {
		t.Fatalf("photo upload state = %q, want waiting", p.Upload)
	}
	box, _ = on.Outbox(ctx)
	for _, b := range box {
		if b.State != "acked" || b.Outcome == nil || b.Outcome.Status != models.OutcomeApplied {
			t.Fatalf("outbox entry %+v (outcome %+v), want acked and applied", b, b.Outcome)
		}
	}
	// The server keeps nothing unacknowledged for the device.
	var unacked struct {
		Items []json.RawMessage `json:"items"`
	}
	e.Do("inspector1", http.MethodGet, "/api/v1/sync/outcomes", nil, &unacked).Must(t, http.StatusOK)
	if len(unacked.Items) != 0 {
		t.Fatalf("server still holds %d unacknowledged outcomes", len(unacked.Items))
	}
}

// TestConflictWithClerk: the tablet edits a field offline while a clerk
// edits the same field; after sync the clerk's value stands on the server
// and on the tablet, and the tablet's value is in a conflict record.
func TestConflictWithClerk(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tab := tablet(t, e, "inspector1")
	id, err := tab.CreateCase(ctx, draft("垃圾堆放"), client.PhotoInput{Path: photo(t, 64, 64)})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, tab)
	v, _ := tab.Case(ctx, id)
	base := v.Version

	if err := tab.Edit(ctx, id, map[string]string{"description": "tablet: 垃圾堆放 about 3 m³"}); err != nil {
		t.Fatal(err)
	}
	e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(),
		map[string]any{"base_version": base, "fields": map[string]string{"description": "clerk: 生活垃圾堆放"}}, nil).Must(t, http.StatusOK)

	r := mustSync(t, tab)
	if r.Conflicts != 1 || r.Rejected != 0 {
		t.Fatalf("report = %+v, want one conflict", r)
	}
	if got := serverCase(t, e, id).Case.Description; got != "clerk: 生活垃圾堆放" {
		t.Fatalf("server description = %q, want the clerk's", got)
	}
	v, _ = tab.Case(ctx, id)
	if v.Description != "clerk: 生活垃圾堆放" || v.OpenConflicts() != 1 {
		t.Fatalf("tablet view: description %q, %d open conflicts", v.Description, v.OpenConflicts())
	}
	cfs, err := tab.Conflicts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfs) != 1 {
		t.Fatalf("conflicts = %+v", cfs)
	}
	cf := cfs[0]
	if cf.CaseID != id || cf.Field != "description" || cf.Kept != "clerk: 生活垃圾堆放" || cf.SetAside != "tablet: 垃圾堆放 about 3 m³" ||
		cf.Status != models.ConflictOpen || cf.KeptBy.Name != "clerk" || cf.SetAsideBy.Name != "inspector1" {
		t.Fatalf("conflict = %+v", cf)
	}
	outs, _ := tab.Outcomes(ctx)
	last := outs[len(outs)-1]
	if last.Status != models.OutcomeConflict || !slices.Contains(last.ConflictID, cf.ID) {
		t.Fatalf("last outcome = %+v, want conflict naming %s", last, cf.ID)
	}
}

// TestDroppedResponseAppliesOnce loses the push response after the server
// applied the batch; the retry sends the same commands and changes nothing
// more.
func TestDroppedResponseAppliesOnce(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	drop := &dropOnce{base: http.DefaultTransport}
	tab := tablet(t, e, "inspector1", func(c *client.Config) { c.HTTP = &http.Client{Transport: drop} })

	id, err := tab.CreateCase(ctx, draft("乱贴小广告"), client.PhotoInput{Path: photo(t, 64, 64)})
	if err != nil {
		t.Fatal(err)
	}
	drop.armed.Store(true)
	r := mustSync(t, tab)
	if r.Applied != 2 || r.Rejected != 0 {
		t.Fatalf("first sync = %+v", r)
	}
	if h := len(serverCase(t, e, id).History); h != 1 {
		t.Fatalf("history after the replayed create has %d entries, want 1", h)
	}

	if err := tab.Edit(ctx, id, map[string]string{"party": "李记水果店"}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Comment(ctx, id, "店主已口头警告"); err != nil {
		t.Fatal(err)
	}
	drop.pushes = nil
	drop.armed.Store(true)
	r = mustSync(t, tab)
	if r.Applied != 2 || r.Rejected != 0 || r.Pushed != 2 {
		t.Fatalf("second sync = %+v", r)
	}
	if drop.armed.Load() {
		t.Fatal("the response was never dropped: the test proves nothing")
	}
	if len(drop.pushes) != 2 || !sameCommands(t, drop.pushes[0], drop.pushes[1]) {
		t.Fatalf("the retry did not resend the same commands:\n%s\n%s", drop.pushes[0], drop.pushes[1])
	}
	d := serverCase(t, e, id)
	if len(d.History) != 3 || len(d.Comments) != 1 || d.Case.Party != "李记水果店" || d.Case.Version != 3 {
		t.Fatalf("server: history %d, comments %d, party %q, v%d; want 3, 1, the edit, v3", len(d.History), len(d.Comments), d.Case.Party, d.Case.Version)
	}
	v, _ := tab.Case(ctx, id)
	if len(v.Comments) != 1 || v.Version != 3 || v.Pending != 0 {
		t.Fatalf("view: comments %d, v%d, pending %d", len(v.Comments), v.Version, v.Pending)
	}
}

// sameCommands compares the commands of two push bodies, ignoring the
// device time, which is stamped per attempt.
func sameCommands(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y struct {
		Commands json.RawMessage `json:"commands"`
	}
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x.Commands, y.Commands)
}

// TestRebaseOnNewerPull: a pending edit stays visible on top of a newer
// server version, and then merges with the clerk's parallel edit.
func TestRebaseOnNewerPull(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tab := tablet(t, e, "inspector1")
	id, err := tab.CreateCase(ctx, draft("店外经营"), client.PhotoInput{Path: photo(t, 64, 64)})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, tab)

	if err := tab.Edit(ctx, id, map[string]string{"party": "王记早餐"}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Comment(ctx, id, "已拍照取证"); err != nil {
		t.Fatal(err)
	}
	// An action the state does not allow: the replay cannot predict it,
	// and the server will reject it with a hint.
	if err := tab.Act(ctx, id, "report_done", client.Params{Comment: "done"}); err != nil {
		t.Fatal(err)
	}
	e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(),
		map[string]any{"base_version": 1, "fields": map[string]string{"description": "店外经营（早餐摊）"}}, nil).Must(t, http.StatusOK)

	if _, err := tab.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := tab.Case(ctx, id)
	if v.Version != 2 || v.Description != "店外经营（早餐摊）" || v.Party != "王记早餐" || v.Pending != 3 {
		t.Fatalf("rebased view: v%d desc %q party %q pending %d", v.Version, v.Description, v.Party, v.Pending)
	}
	if len(v.Comments) != 1 || v.Comments[0].Body != "已拍照取证" || v.State != models.StateReported ||
		!slices.Equal(v.Unpredicted, []models.Action{models.ActionReportDone}) {
		t.Fatalf("rebased view: comments %+v state %s unpredicted %v", v.Comments, v.State, v.Unpredicted)
	}
	box, _ := tab.Outbox(ctx)
	for _, b := range box {
		if b.Kind == models.CmdEditFields && b.Command.BaseVersion != 1 {
			t.Fatalf("edit base_version = %d, want 1 (what the user saw)", b.Command.BaseVersion)
		}
	}

	r := mustSync(t, tab)
	if r.Merged != 1 || r.Applied != 1 || r.Rejected != 1 {
		t.Fatalf("report = %+v, want merged edit, applied comment, rejected action", r)
	}
	rej := r.Rejections[0]
	if rej.Code != models.CodeIllegalTransition || rej.Reason == "" || rej.Hint == "" {
		t.Fatalf("rejection = %+v, want illegal_transition with reason and hint", rej)
	}
	d := serverCase(t, e, id)
	if d.Case.Description != "店外经营（早餐摊）" || d.Case.Party != "王记早餐" {
		t.Fatalf("server case = %+v", d.Case)
	}
	v, _ = tab.Case(ctx, id)
	if v.Pending != 0 || v.Party != "王记早餐" || len(v.Unpredicted) != 0 || v.Version != d.Case.Version {
		t.Fatalf("view after sync: pending %d party %q unpredicted %v v%d", v.Pending, v.Party, v.Unpredicted, v.Version)
	}
	outs, _ := tab.Outcomes(ctx)
	if !slices.ContainsFunc(outs, func(o models.Outcome) bool { return o.Code == models.CodeIllegalTransition }) {
		t.Fatal("the rejected outcome is not kept for the user")
	}
}

// TestResetDropsCasesOutOfScope: the grid worker's grids change; the server
// restarts the feed and the tablet drops what it no longer sees, across
// several pages. A cursor the server does not understand starts over too.
func TestResetDropsCasesOutOfScope(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	a1 := e.Report("inspector1", testenv.InGrid1, "E0504")
	a2 := e.Report("inspector1", testenv.InGrid1, "E0201")
	db := filepath.Join(t.TempDir(), "gw.db")
	tab := open(t, db, e.URL, e.Users["gw1"].Token, func(c *client.Config) { c.PullLimit = 1 })
	r := mustSync(t, tab)
	if got := ids(t, tab); !sameSet(got, a1, a2) || r.Pages < 2 {
		t.Fatalf("first pull: cases %v in %d pages, want %s and %s in ≥ 2", got, r.Pages, a1, a2)
	}

	if err := e.Server.Store.SetUserGrids(ctx, e.Users["gw1"].ID, []string{testenv.Grid2}); err != nil {
		t.Fatal(err)
	}
	b1 := e.Report("inspector2", testenv.InGrid2, "E0504")
	b2 := e.Report("inspector2", testenv.InGrid2, "E0201")
	r = mustSync(t, tab)
	if !r.Reset || r.Removed != 2 {
		t.Fatalf("report = %+v, want a reset removing 2 cases", r)
	}
	if got := ids(t, tab); !sameSet(got, b1, b2) {
		t.Fatalf("after reset: cases %v, want %s and %s", got, b1, b2)
	}

	// Corrupt the cursor behind the client's back: invalid_cursor → start over.
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE meta SET value = 'garbage' WHERE key = 'pull_cursor'`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	r = mustSync(t, tab)
	if !r.Reset || r.Removed != 0 {
		t.Fatalf("report = %+v, want a restart that removes nothing", r)
	}
	if got := ids(t, tab); !sameSet(got, b1, b2) {
		t.Fatalf("after restart: cases %v", got)
	}
}

func ids(t *testing.T, c *client.Client) []uuid.UUID {
	t.Helper()
	vs, err := c.Cases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []uuid.UUID
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func sameSet(got []uuid.UUID, want ...uuid.UUID) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// TestPhotoUploadResumesAfterCut: the connection drops in the middle of a
// PATCH; the client asks the server how far it got and sends only the rest.
func TestPhotoUploadResumesAfterCut(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tus := newTusServer()
	tus.cuts, tus.cutAfter = 1, 40_000
	tab := open(t, filepath.Join(t.TempDir(), "t.db"), withTus(t, e, tus), e.Users["inspector1"].Token,
		func(c *client.Config) { c.ChunkSize = 1 << 20 })
	src := photo(t, 640, 480)
	id, err := tab.CreateCase(ctx, draft("井盖缺失"), client.PhotoInput{Path: src})
	if err != nil {
		t.Fatal(err)
	}
	r := mustSync(t, tab)
	if r.Photos.Uploaded != 1 || r.Photos.Pending != 0 || len(r.Photos.Failed) != 0 {
		t.Fatalf("photos = %+v", r.Photos)
	}
	v, _ := tab.Case(ctx, id)
	up := tus.upload(v.Photos[0].ID)
	raw, _ := os.ReadFile(src)
	if up == nil || !bytes.Equal(up.data, raw) || !up.done {
		t.Fatal("the tus server does not hold the photo's exact bytes")
	}
	if up.meta["case_id"] != id.String() || up.meta["stage"] != "report" || up.meta["type"] != "far" || up.meta["filename"] == "" {
		t.Fatalf("metadata = %v", up.meta)
	}
	posts, heads, patches := tus.stats()
	if posts != 1 || heads < 1 || len(patches) != 2 || patches[0] != 0 || patches[1] != 40_000 {
		t.Fatalf("posts %d heads %d patch offsets %v; want 1 creation, a HEAD, PATCH at 0 then at 40000", posts, heads, patches)
	}
	if int64(len(raw)) <= 40_000 {
		t.Fatalf("photo of %d bytes is too small for the cut to matter", len(raw))
	}
	if v.Photos[0].Upload != "uploaded" {
		t.Fatalf("photo upload state = %q", v.Photos[0].Upload)
	}
	// Nothing left to do: the next sync sends nothing.
	mustSync(t, tab)
	if p2, _, _ := tus.stats(); p2 != 1 {
		t.Fatalf("a second upload was created")
	}
}

// TestPhotoUploadResumesAfterRestart: the upload URL outlives the client; a
// new process HEADs it and continues where the old one stopped.
func TestPhotoUploadResumesAfterRestart(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	tus := newTusServer()
	tus.cuts, tus.cutAfter = 100, 25_000
	srv := withTus(t, e, tus)
	db := filepath.Join(t.TempDir(), "t.db")
	small := func(c *client.Config) { c.Attempts, c.ChunkSize = 2, 1<<20 }
	first := open(t, db, srv, e.Users["inspector1"].Token, small)
	if _, err := first.CreateCase(ctx, draft("破损护栏"), client.PhotoInput{Path: photo(t, 640, 480)}); err != nil {
		t.Fatal(err)
	}
	r := mustSync(t, first) // push and pull succeed; the photo does not
	if r.Applied != 2 || r.Photos.Uploaded != 0 || r.Photos.Pending != 1 || len(r.Photos.Errors) == 0 {
		t.Fatalf("first sync = %+v", r)
	}
	first.Close()
	_, _, before := tus.stats()

	tus.mu.Lock()
	tus.cuts = 0
	tus.mu.Unlock()
	second := open(t, db, "", "", small)
	r = mustSync(t, second)
	if r.Photos.Uploaded != 1 {
		t.Fatalf("second sync photos = %+v", r.Photos)
	}
	posts, _, patches := tus.stats()
	resumed := patches[len(before)]
	if posts != 1 || resumed != 50_000 {
		t.Fatalf("posts %d, resumed at %d; want the one upload continued at 50000 (patches %v)", posts, resumed, patches)
	}
}

// TestReinstalledTabletRenumbers: a fresh store with a device token that
// already pushed must not reuse its sequence numbers.
func TestReinstalledTabletRenumbers(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	old := tablet(t, e, "inspector1")
	a, err := old.CreateCase(ctx, draft("old install"), client.PhotoInput{Path: photo(t, 64, 64)})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, old)

	fresh := tablet(t, e, "inspector1")
	b, err := fresh.CreateCase(ctx, draft("new install"), client.PhotoInput{Path: photo(t, 64, 64)})
	if err != nil {
		t.Fatal(err)
	}
	r := mustSync(t, fresh)
	if r.Renumbered != 2 || r.Applied != 2 || r.Rejected != 0 {
		t.Fatalf("report = %+v, want both commands renumbered and applied", r)
	}
	if serverCase(t, e, b).Case.Description != "new install" || serverCase(t, e, a).Case.Description != "old install" {
		t.Fatal("a case is missing on the server")
	}
	box, _ := fresh.Outbox(ctx)
	if box[0].Seq != 3 || box[1].Seq != 4 {
		t.Fatalf("outbox seqs %d, %d; want 3, 4", box[0].Seq, box[1].Seq)
	}
}

// TestWatchWakesOnChange: a clerk's change in the tablet's scope reaches
// the tablet as a "changed" event.
func TestWatchWakesOnChange(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	id := e.Report("inspector1", testenv.InGrid1, "E0504")
	tab := tablet(t, e, "inspector1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woke := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- tab.Watch(ctx, func() { woke <- struct{}{} }) }()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-woke:
			break wait
		case <-tick.C:
			e.Do("clerk", http.MethodPost, "/api/v1/cases/"+id.String()+"/comments", map[string]string{"body": "请尽快处理"}, nil).Must(t, http.StatusCreated)
		case <-deadline:
			t.Fatal("no change notification within 10 s")
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Watch returned %v, want context.Canceled", err)
	}

	bad := open(t, filepath.Join(t.TempDir(), "bad.db"), e.URL, "fsd_not-a-token")
	if err := bad.Watch(context.Background(), func() {}); models.ErrorCode(err) != models.CodeInvalidToken {
		t.Fatalf("Watch with a bad token = %v, want invalid_token", err)
	}
}

// TestLocalRefusals: what the client refuses before anything is queued.
func TestLocalRefusals(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "t.db")
	tab := open(t, db, e.URL, e.Users["inspector1"].Token)
	unknown := testenv.NewID()
	cases := []struct {
		name string
		err  error
		code models.Code
	}{
		{"edit unknown case", tab.Edit(ctx, unknown, map[string]string{"party": "x"}), models.CodeNotFound},
		{"comment unknown case", tab.Comment(ctx, unknown, "x"), models.CodeNotFound},
		{"act unknown case", tab.Act(ctx, unknown, "return", client.Params{Reason: "x"}), models.CodeNotFound},
		{"unknown action", tab.Act(ctx, unknown, "teleport", client.Params{}), models.CodeInvalidInput},
		{"uneditable field", tab.Edit(ctx, unknown, map[string]string{"state": "closed"}), models.CodeUnknownField},
		{"empty comment", tab.Comment(ctx, unknown, "  "), models.CodeInvalidInput},
	}
	_, noPhoto := tab.CreateCase(ctx, draft("no photo"))
	cases = append(cases, struct {
		name string
		err  error
		code models.Code
	}{"create without site photo", noPhoto, models.CodeGuardFailed})
	_, noFix := tab.CreateCase(ctx, client.Draft{Category: "E0504"}, client.PhotoInput{Path: photo(t, 8, 8)})
	cases = append(cases, struct {
		name string
		err  error
		code models.Code
	}{"create without GPS", noFix, models.CodeGuardFailed})
	_, badType := tab.CreateCase(ctx, draft("x"), client.PhotoInput{Path: photo(t, 8, 8), Type: "selfie"})
	cases = append(cases, struct {
		name string
		err  error
		code models.Code
	}{"unknown photo type", badType, models.CodeInvalidInput})
	for _, c := range cases {
		if got := models.ErrorCode(c.err); got != c.code {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.code)
		}
	}
	box, _ := tab.Outbox(ctx)
	if len(box) != 0 {
		t.Fatalf("refused operations queued %d commands", len(box))
	}
	if st, err := os.Stat(db); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the store holding the device token is not private: %v %v", st.Mode(), err)
	}
	if left, _ := os.ReadDir(db + ".photos"); len(left) != 0 {
		t.Fatalf("refused operations left %d photo copies behind", len(left))
	}
}
