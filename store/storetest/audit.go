package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// runConsole runs the contract tests of the console's ports (models.AuditLog
// and models.StatsStore) when the store implements them.
func runConsole(t *testing.T, open func(t *testing.T) models.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s models.Store)
	}{
		{"AuditAppendList", testAuditAppendList},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditScope", testAuditScope},
		{"CasesByIDFilter", testCasesByIDFilter},
		{"StatsCases", testStatsCases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			must(t, s.Migrate(context.Background()))
			tc.fn(t, s)
		})
	}
}

func auditLog(t *testing.T, s models.Store) models.AuditLog {
	al, ok := s.(models.AuditLog)
	if !ok {
		t.Skip("the store has no audit log")
	}
	return al
}

func statsStore(t *testing.T, s models.Store) models.StatsStore {
	st, ok := s.(models.StatsStore)
	if !ok {
		t.Skip("the store has no statistics reads")
	}
	return st
}

// verifyChain reads the whole chain page by page and verifies it.
func verifyChain(t *testing.T, al models.AuditLog, page int) int64 {
	t.Helper()
	v := models.NewAuditVerifier()
	var after int64
	for {
		es, err := al.AuditChain(ctxT(t), after, page)
		must(t, err)
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if err := v.Check(e); err != nil {
				t.Fatalf("chain broken: %v", err)
			}
		}
		after = es[len(es)-1].Seq
	}
	return v.Checked()
}

func testAuditAppendList(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	al := auditLog(t, s)
	got, err := al.AuditChain(ctx, 0, 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("a new database has %d audit entries", len(got))
	}
	clerk, sup := newID(), newID()
	c1, c2 := newID(), newID()
	mk := func(actor uuid.UUID, a models.AuditAction, c uuid.UUID, d time.Duration, detail string) models.AuditEntry {
		return models.AuditEntry{At: at(d).Add(789 * time.Nanosecond), ActorID: actor, ActorName: "名" + actor.String()[:4],
			Role: models.RoleClerk, Action: a, CaseID: c, Detail: detail, RequestID: "r"}
	}
	first, err := al.AppendAudit(ctx, []models.AuditEntry{
		mk(clerk, models.AuditView, c1, 0, `{}`),
		mk(clerk, models.AuditTransition, c1, time.Minute, `{"action":"register"}`),
	})
	must(t, err)
	second, err := al.AppendAudit(ctx, []models.AuditEntry{
		mk(sup, models.AuditView, c2, 2*time.Minute, "{\"bad\":\"\xff\x00\"}"),
		mk(clerk, models.AuditExport, uuid.Nil, 3*time.Minute, `{"format":"csv","filter":"category=E0504"}`),
		mk(sup, models.AuditTransition, c2, 4*time.Minute, `{"action":"escalate"}`),
	})
	must(t, err)
	all := append(first, second...)
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d numbered %d", i, e.Seq)
		}
		if i == 0 && e.PrevHash != models.AuditGenesis {
			t.Errorf("first entry links to %s", e.PrevHash)
		}
		if i > 0 && e.PrevHash != all[i-1].Hash {
			t.Errorf("entry %d does not link to entry %d", e.Seq, e.Seq-1)
		}
		if e.At.Nanosecond()%1000 != 0 {
			t.Errorf("entry %d keeps nanoseconds the databases drop: %v", e.Seq, e.At)
		}
	}
	if all[2].Detail != "{\"bad\":\"\uFFFD\"}" {
		t.Errorf("detail not cleaned: %q", all[2].Detail)
	}
	if n, err := al.AuditLength(ctx); err != nil || n != 5 {
		t.Errorf("AuditLength = %d, %v; want 5", n, err)
	}
	if n := verifyChain(t, al, 2); n != 5 {
		t.Errorf("verified %d entries, want 5", n)
	}
	// What is read back is what was returned, hash for hash.
	chain, err := al.AuditChain(ctx, 0, 100)
	must(t, err)
	same(t, "AuditChain", all, chain)

	ids := func(es []models.AuditEntry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	from, to := at(time.Minute), at(3*time.Minute)
	for _, c := range []struct {
		name string
		q    models.AuditQuery
		want []int64
	}{
		{"all", models.AuditQuery{}, []int64{5, 4, 3, 2, 1}},
		{"case", models.AuditQuery{CaseID: c1}, []int64{2, 1}},
		{"actor", models.AuditQuery{ActorID: sup}, []int64{5, 3}},
		{"action", models.AuditQuery{Action: models.AuditTransition}, []int64{5, 2}},
		{"from to", models.AuditQuery{From: &from, To: &to}, []int64{3, 2}},
		{"before", models.AuditQuery{Before: 4}, []int64{3, 2, 1}},
		{"limit", models.AuditQuery{Limit: 2}, []int64{5, 4}},
		{"combined", models.AuditQuery{ActorID: clerk, Action: models.AuditView}, []int64{1}},
		{"none", models.AuditQuery{CaseID: newID()}, nil},
	} {
		got, err := al.ListAudit(ctx, c.q)
		must(t, err)
		if !slices.Equal(ids(got), c.want) {
			t.Errorf("ListAudit %s = %v, want %v", c.name, ids(got), c.want)
		}
	}
	// The store refuses nothing it should take: an empty append is a no-op.
	none, err := al.AppendAudit(ctx, nil)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("empty append returned %d entries", len(none))
	}
	if n := verifyChain(t, al, 1000); n != 5 {
		t.Errorf("after an empty append: %d entries", n)
	}
}

// testAuditConcurrent appends from many goroutines at once: the chain must
// come out whole, without two entries linked to one predecessor.
func testAuditConcurrent(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	al := auditLog(t, s)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				es := []models.AuditEntry{{At: time.Now(), ActorID: newID(), Action: models.AuditView,
					Detail: fmt.Sprintf(`{"w":%d,"i":%d}`, w, i)}}
				if i%3 == 0 {
					es = append(es, es[0]) // batches of two too
				}
				if _, err := al.AppendAudit(ctx, es); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	want := int64(writers * (each + 4)) // i = 0, 3, 6, 9 append two
	if n := verifyChain(t, al, 7); n != want {
		t.Errorf("verified %d entries, want %d", n, want)
	}
}

// testCasesByIDFilter checks ListCasesByID and StatsCases select what
// ListCases selects for the same filter: the console's drill-down and
// statistics must count the cases the list shows.
func testCasesByIDFilter(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	st := statsStore(t, s)
	r1, r2 := newID(), newID()
	orgs := []string{villA1, townA, villB1, townB, district}
	grids := []string{gridA, "", gridB}
	var all []models.Case
	for i := range 24 {
		c := simpleCase(orgs[i%5], grids[i%3])
		c.UnitID = []string{"", "U1", "U2"}[(i/3)%3]
		c.ReporterID = []uuid.UUID{r1, r2}[i%2]
		c.Source = []models.Source{models.SourceDevice, models.SourceHotline}[i%2]
		c.State = models.States[i%len(models.States)]
		c.Category = []string{"E0101", "E0504", "C0101"}[(i/2)%3]
		c.Description = []string{"Stall on the pavement", "占道经营", "100% blocked", "a_b"}[i%4]
		c.Location = models.Location{Lat: 36 + float64(i)*0.01, Lon: 117 + float64(i%10)*0.01, Address: fmt.Sprintf("Road %d", i)}
		c.CreatedAt = at(time.Duration(i) * time.Hour)
		c.UpdatedAt = c.CreatedAt
		if i%3 != 2 {
			c.Deadline = atp(time.Duration(i*2) * time.Hour)
		}
		if i%4 == 0 {
			c.ReworkCount = 1
		}
		c.Deleted = i%7 == 6
		all = append(all, c)
	}
	all = putCases(t, s, all...)
	conflicted := map[uuid.UUID]bool{}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		var cs []models.Conflict
		for i, c := range all {
			if i%5 == 1 {
				conflicted[c.ID] = true
				cs = append(cs, models.Conflict{ID: newID(), CaseID: c.ID, Status: models.ConflictOpen, CreatedAt: t0})
			}
		}
		return tx.PutConflicts(ctx, cs)
	})
	ids := make([]uuid.UUID, 0, len(all)+1)
	for _, c := range all {
		ids = append(ids, c.ID)
	}
	ids = append(ids, newID()) // an id no case has
	everyone := models.Scope{All: true}
	from, to := at(5*time.Hour), at(17*time.Hour)
	queries := map[string]models.CaseQuery{
		"all":          {Scope: everyone},
		"scope town A": {Scope: models.Scope{OrgPrefixes: []string{townA}}},
		"scope mixed":  {Scope: models.Scope{OrgPrefixes: []string{townB}, Grids: []string{gridA}, UnitIDs: []string{"U1"}, ReporterID: r2}},
		"empty scope":  {Scope: models.Scope{}},
		"states":       {Scope: everyone, States: []models.State{models.StateReported, models.StateClosed}},
		"categories":   {Scope: everyone, Categories: []string{"E0504", "C0101"}},
		"org path":     {Scope: everyone, OrgPath: townA},
		"grid":         {Scope: everyone, Grid: gridA},
		"unit":         {Scope: everyone, UnitID: "U1"},
		"reporter":     {Scope: everyone, ReporterID: r2},
		"source":       {Scope: everyone, Source: models.SourceHotline},
		"bbox":         {Scope: everyone, BBox: &models.BBox{MinLon: 117.02, MinLat: 36.05, MaxLon: 117.06, MaxLat: 36.25}},
		"from to":      {Scope: everyone, From: &from, To: &to},
		"text":         {Scope: everyone, Text: "STALL"},
		"text percent": {Scope: everyone, Text: "0%"},
		"text under":   {Scope: everyone, Text: "a_"},
		"overdue":      {Scope: everyone, Overdue: true, Now: at(20 * time.Hour)},
		"rework":       {Scope: everyone, Rework: true},
		"has conflict": {Scope: everyone, HasConflict: true},
		"combined":     {Scope: models.Scope{OrgPrefixes: []string{townA, townB}}, Text: "blocked", States: models.States[:8]},
	}
	for name, q := range queries {
		var want []uuid.UUID
		for _, c := range all {
			if matches(q, c, conflicted) {
				want = append(want, c.ID)
			}
		}
		slices.SortFunc(want, func(a, b uuid.UUID) int { return -strings.Compare(a.String(), b.String()) })
		q.Limit = 1000
		listed, err := s.ListCases(ctx, q)
		must(t, err)
		if d := Diff(want, caseIDs(listed)); d != "" && len(want)+len(listed) > 0 {
			t.Errorf("%s: the reference and ListCases disagree:\n%s", name, d)
		}
		// By id, all at once and in pages of 3 through the cursor.
		byID, err := st.ListCasesByID(ctx, q, ids)
		must(t, err)
		if d := Diff(want, caseIDs(byID)); d != "" && len(want)+len(byID) > 0 {
			t.Errorf("ListCasesByID %s:\n%s", name, d)
		}
		var paged []uuid.UUID
		pq := q
		pq.Limit = 3
		for range 20 {
			cs, err := st.ListCasesByID(ctx, pq, ids)
			must(t, err)
			paged = append(paged, caseIDs(cs)...)
			if len(cs) < 3 {
				break
			}
			pq.After = cs[len(cs)-1].ID
		}
		if d := Diff(want, paged); d != "" && len(want)+len(paged) > 0 {
			t.Errorf("ListCasesByID %s in pages:\n%s", name, d)
		}
		// A subset of the ids.
		sub, err := st.ListCasesByID(ctx, q, ids[:5])
		must(t, err)
		for _, c := range sub {
			if !slices.Contains(ids[:5], c.ID) || !slices.Contains(want, c.ID) {
				t.Errorf("ListCasesByID %s: %s is not among the ids asked for and the filter", name, c.ID)
			}
		}
		// Statistics read the same cases (deleted ones never).
		sc, err := st.StatsCases(ctx, q, at(-time.Hour), at(1000*time.Hour))
		must(t, err)
		var stat []uuid.UUID
		for _, c := range sc {
			stat = append(stat, c.Case.ID)
		}
		slices.SortFunc(stat, func(a, b uuid.UUID) int { return -strings.Compare(a.String(), b.String()) })
		if d := Diff(want, stat); d != "" && len(want)+len(stat) > 0 {
			t.Errorf("StatsCases %s:\n%s", name, d)
		}
	}
	// Beyond one IN list: more ids than a chunk holds.
	many := make([]uuid.UUID, 0, 1200)
	for range 1200 {
		many = append(many, newID())
	}
	many = append(many, ids...)
	got, err := st.ListCasesByID(ctx, models.CaseQuery{Scope: everyone, Limit: 1000}, many)
	must(t, err)
	n := 0
	for _, c := range all {
		if !c.Deleted {
			n++
		}
	}
	if len(got) != n {
		t.Errorf("ListCasesByID over 1,200+ ids: %d cases, want %d", len(got), n)
	}
}

func caseIDs(cs []models.Case) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// testStatsCases checks the time window of StatsCases and the events it
// returns with each case.
func testStatsCases(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	st := statsStore(t, s)
	everyone := models.Scope{All: true}
	// old: closed before the window; live: open; late: created after it;
	// closedIn: closed inside it; changed: closed before it but changed
	// inside (it may be kept: never wrongly dropped).
	old, live, late, closedIn := simpleCase(townA, gridA), simpleCase(townA, gridA), simpleCase(townB, gridB), simpleCase(townB, gridB)
	old.State, old.CreatedAt, old.UpdatedAt = models.StateClosed, at(-100*time.Hour), at(-50*time.Hour)
	live.State, live.CreatedAt, live.UpdatedAt = models.StateDispatched, at(-100*time.Hour), at(-90*time.Hour)
	late.CreatedAt, late.UpdatedAt = at(200*time.Hour), at(200*time.Hour)
	closedIn.State, closedIn.CreatedAt, closedIn.UpdatedAt = models.StateVoided, at(-100*time.Hour), at(10*time.Hour)
	cs := putCases(t, s, old, live, late, closedIn)
	old, live, late, closedIn = cs[0], cs[1], cs[2], cs[3]
	hist := []models.HistoryEntry{
		{CaseID: live.ID, Kind: models.HistoryCreated, Action: models.ActionSubmit, FromState: models.StateNew,
			ToState: models.StateReported, At: at(-100 * time.Hour)},
		{CaseID: live.ID, Kind: models.HistoryComment, At: at(-95 * time.Hour)},
		{CaseID: live.ID, Kind: models.HistoryTransition, Action: models.ActionRegister, FromState: models.StateReported,
			ToState: models.StateRegistered, At: at(-94 * time.Hour)},
		{CaseID: live.ID, Kind: models.HistoryFlag, Action: models.ActionDispatch, At: at(-93 * time.Hour), Note: "evidence pending"},
		{CaseID: live.ID, Kind: models.HistoryTransition, Action: models.ActionDispatch, FromState: models.StateRegistered,
			ToState: models.StateDispatched, At: at(-90 * time.Hour)},
		{CaseID: live.ID, Kind: models.HistoryTransition, Action: models.ActionReturn, FromState: models.StateDispatched,
			ToState: models.StateReturned, At: at(150 * time.Hour)}, // after until: left out
		{CaseID: closedIn.ID, Kind: models.HistoryTransition, Action: models.ActionVoid, FromState: models.StateReported,
			ToState: models.StateVoided, At: at(10 * time.Hour)},
	}
	update(t, s, func(ctx context.Context, tx models.Tx) error { return tx.AppendHistory(ctx, hist) })
	got, err := st.StatsCases(ctx, models.CaseQuery{Scope: everyone}, at(0), at(100*time.Hour))
	must(t, err)
	byID := map[uuid.UUID]models.StatsCase{}
	for _, c := range got {
		byID[c.Case.ID] = c
	}
	if _, ok := byID[old.ID]; ok {
		t.Error("a case closed before the window is returned")
	}
	if _, ok := byID[late.ID]; ok {
		t.Error("a case created after the window is returned")
	}
	lc, ok := byID[live.ID]
	if !ok {
		t.Fatal("the open case is missing")
	}
	if _, ok := byID[closedIn.ID]; !ok {
		t.Error("the case voided inside the window is missing")
	}
	same(t, "live case", live, lc.Case)
	want := []models.StatsEvent{
		{Action: models.ActionSubmit, From: models.StateNew, To: models.StateReported, At: at(-100 * time.Hour)},
		{Action: models.ActionRegister, From: models.StateReported, To: models.StateRegistered, At: at(-94 * time.Hour)},
		{Action: models.ActionDispatch, From: models.StateRegistered, To: models.StateDispatched, At: at(-90 * time.Hour)},
	}
	same(t, "events of the live case", want, lc.Events)
	// The scope applies.
	got, err = st.StatsCases(ctx, models.CaseQuery{Scope: models.Scope{OrgPrefixes: []string{townB}}}, at(0), at(100*time.Hour))
	must(t, err)
	if len(got) != 1 || got[0].Case.ID != closedIn.ID || len(got[0].Events) != 1 {
		t.Errorf("town B scope: %d cases", len(got))
	}
	if _, err := st.StatsCases(ctx, models.CaseQuery{Scope: models.Scope{}}, at(0), at(1)); err != nil {
		t.Errorf("empty scope: %v", err)
	}
}

// testAuditScope: a scoped search finds the entries about a case the scope
// covers and those by a user whose org path lies within its org prefixes.
func testAuditScope(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	al := auditLog(t, s)
	cs := putCases(t, s, simpleCase(townA, gridA), simpleCase(townB, gridB))
	caseA, caseB := cs[0].ID, cs[1].ID
	clerkA := models.User{ID: newID(), Username: "clerk-a", Role: models.RoleClerk, OrgPath: townA, CreatedAt: t0}
	clerkB := models.User{ID: newID(), Username: "clerk-b", Role: models.RoleClerk, OrgPath: townB, CreatedAt: t0}
	admin := models.User{ID: newID(), Username: "admin", Role: models.RoleAdmin, OrgPath: district, CreatedAt: t0}
	for _, u := range []models.User{clerkA, clerkB, admin} {
		must(t, s.CreateUser(ctx, u))
	}
	mk := func(u models.User, a models.AuditAction, c uuid.UUID) models.AuditEntry {
		return models.AuditEntry{At: t0, ActorID: u.ID, ActorName: u.Username, Role: u.Role, Action: a, CaseID: c,
			Detail: "{}", RequestID: "r"}
	}
	_, err := al.AppendAudit(ctx, []models.AuditEntry{
		mk(clerkA, models.AuditView, caseA),      // 1: town A's case, town A's clerk
		mk(clerkB, models.AuditView, caseB),      // 2: town B's
		mk(clerkB, models.AuditExport, uuid.Nil), // 3: town B's clerk, no case
		mk(clerkA, models.AuditExport, uuid.Nil), // 4: town A's clerk, no case
		mk(admin, models.AuditView, caseA),       // 5: the district's admin on town A's case
		mk(admin, models.AuditExport, uuid.Nil),  // 6: the district's admin, no case
		mk(clerkB, models.AuditView, caseA),      // 7: town B's clerk on town A's case
	})
	must(t, err)
	seqs := func(es []models.AuditEntry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		scope *models.Scope
		want  []int64
	}{
		{"no scope", nil, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"all", &models.Scope{All: true}, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"town A", &models.Scope{OrgPrefixes: []string{townA}}, []int64{7, 5, 4, 1}},
		{"town B", &models.Scope{OrgPrefixes: []string{townB}}, []int64{7, 3, 2}},
		{"grid B", &models.Scope{Grids: []string{gridB}}, []int64{2}},
		{"empty", &models.Scope{}, nil},
	} {
		got, err := al.ListAudit(ctx, models.AuditQuery{Scope: c.scope})
		must(t, err)
		if !slices.Equal(seqs(got), c.want) {
			t.Errorf("ListAudit scoped to %s = %v, want %v", c.name, seqs(got), c.want)
		}
	}
	got, err := al.ListAudit(ctx, models.AuditQuery{Scope: &models.Scope{OrgPrefixes: []string{townA}}, Action: models.AuditExport})
	must(t, err)
	if !slices.Equal(seqs(got), []int64{4}) {
		t.Errorf("town A's exports = %v, want [4]", seqs(got))
	}
}
