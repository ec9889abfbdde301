package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func ids(cs []models.Case) []uuid.UUID {
	out := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func sortIDs(xs []uuid.UUID) []uuid.UUID {
	xs = append([]uuid.UUID{}, xs...)
	slices.SortFunc(xs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return xs
}

// pullAll follows the feed from after until it has no more, checking the page
// invariants, and returns the pages.
func pullAll(t *testing.T, s models.Store, scope models.Scope, after int64, limit int) []models.ChangePage {
	t.Helper()
	var pages []models.ChangePage
	for range 1000 {
		p, err := s.Changes(ctxT(t), models.ChangeQuery{Scope: scope, After: after, Limit: limit})
		must(t, err)
		checkPage(t, p, after, limit)
		pages = append(pages, p)
		after = p.Next
		if !p.HasMore {
			return pages
		}
	}
	t.Fatal("the feed never ends")
	return nil
}

func checkPage(t *testing.T, p models.ChangePage, after int64, limit int) {
	t.Helper()
	if p.Next < after {
		t.Errorf("page after %d: Next %d went back", after, p.Next)
	}
	if limit > 0 && len(p.Upserts) > limit {
		t.Errorf("page after %d: %d upserts, limit %d", after, len(p.Upserts), limit)
	}
	if p.HasMore && (len(p.Upserts) == 0 || p.Upserts[len(p.Upserts)-1].ChangeSeq != p.Next) {
		t.Errorf("page after %d: HasMore but Next %d is not the last upsert's seq", after, p.Next)
	}
	prev := after
	for _, c := range p.Upserts {
		if c.ChangeSeq <= prev || c.ChangeSeq > p.Next {
			t.Errorf("page (%d, %d]: upsert seq %d out of order or range", after, p.Next, c.ChangeSeq)
		}
		if c.Deleted {
			t.Errorf("page after %d: deleted case %s upserted", after, c.ID)
		}
		prev = c.ChangeSeq
	}
	seen := map[uuid.UUID]bool{}
	for _, r := range p.Removals {
		if r.Seq <= after || r.Seq > p.Next {
			t.Errorf("page (%d, %d]: removal seq %d out of range", after, p.Next, r.Seq)
		}
		if seen[r.CaseID] {
			t.Errorf("page after %d: case %s removed twice", after, r.CaseID)
		}
		seen[r.CaseID] = true
		if r.Reason != "deleted" && r.Reason != "out_of_scope" {
			t.Errorf("removal reason %q", r.Reason)
		}
	}
}

func testChangesScope(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	r1 := newID()
	a1 := simpleCase(villA1, gridA)
	a1.ReporterID = r1
	a2 := simpleCase(townA, "")
	a2.UnitID = "U1"
	b1 := simpleCase(villB1, gridB)
	b2 := simpleCase(townB, "")
	b2.ReporterID = r1
	d := simpleCase(district, "")
	gone := simpleCase(villA1, gridA)
	gone.Deleted = true
	all := putCases(t, s, a1, a2, b1, b2, d, gone)

	// Comments, photos and conflicts travel with their cases.
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		if err := tx.AddComments(ctx, []models.Comment{{ID: newID(), CaseID: a1.ID, Body: "a1"}, {ID: newID(), CaseID: b1.ID}}); err != nil {
			return err
		}
		if err := tx.PutPhotos(ctx, []models.PhotoRecord{{ID: newID(), CaseID: a1.ID}, {ID: newID(), CaseID: b1.ID}}); err != nil {
			return err
		}
		return tx.PutConflicts(ctx, []models.Conflict{
			{ID: newID(), CaseID: a1.ID, Status: models.ConflictOpen},
			{ID: newID(), CaseID: a1.ID, Status: models.ConflictResolved},
			{ID: newID(), CaseID: b1.ID, Status: models.ConflictOpen},
		})
	})

	scopes := map[string]models.Scope{
		"all":      {All: true},
		"town A":   {OrgPrefixes: []string{townA}},
		"town B":   {OrgPrefixes: []string{townB}},
		"district": {OrgPrefixes: []string{district}},
		"grid A":   {Grids: []string{gridA}},
		"unit U1":  {UnitIDs: []string{"U1"}},
		"reporter": {ReporterID: r1},
		"mixed":    {Grids: []string{gridB}, UnitIDs: []string{"U1"}},
		"empty":    {},
		"nowhere":  {OrgPrefixes: []string{"999"}, Grids: []string{"999"}},
	}
	for name, sc := range scopes {
		var want []uuid.UUID
		for _, c := range all {
			if !c.Deleted && sc.Covers(&c) {
				want = append(want, c.ID)
			}
		}
		p, err := s.Changes(ctx, models.ChangeQuery{Scope: sc, After: 0, Limit: 100})
		must(t, err)
		checkPage(t, p, 0, 100)
		same(t, "upserts of scope "+name, sortIDs(want), sortIDs(ids(p.Upserts)))
		if p.HasMore || len(p.Removals) != 0 {
			t.Errorf("scope %s: HasMore %v, %d removals", name, p.HasMore, len(p.Removals))
		}
		if name == "empty" {
			if p.Next != 0 {
				t.Errorf("empty scope moved the cursor to %d", p.Next)
			}
		} else if p.Next != all[len(all)-1].ChangeSeq {
			t.Errorf("scope %s: Next %d, want %d", name, p.Next, all[len(all)-1].ChangeSeq)
		}
		want1 := map[uuid.UUID]bool{}
		for _, id := range want {
			want1[id] = true
		}
		for _, c := range p.Comments {
			if !want1[c.CaseID] {
				t.Errorf("scope %s: comment of case %s outside the page", name, c.CaseID)
			}
		}
		for _, ph := range p.Photos {
			if !want1[ph.CaseID] {
				t.Errorf("scope %s: photo of case %s outside the page", name, ph.CaseID)
			}
		}
		for _, c := range p.Conflicts {
			if !want1[c.CaseID] {
				t.Errorf("scope %s: conflict of case %s outside the page", name, c.CaseID)
			}
		}
		if name == "grid A" && (len(p.Comments) != 1 || len(p.Photos) != 1 || len(p.Conflicts) != 2) {
			t.Errorf("scope grid A: %d comments, %d photos, %d conflicts; want 1, 1, 2",
				len(p.Comments), len(p.Photos), len(p.Conflicts))
		}
	}
	// A cursor at the head gives an empty page that stays there.
	head, err := s.MaxChangeSeq(ctx)
	must(t, err)
	p, err := s.Changes(ctx, models.ChangeQuery{Scope: models.Scope{All: true}, After: head})
	must(t, err)
	if len(p.Upserts) != 0 || len(p.Removals) != 0 || p.HasMore || p.Next != head {
		t.Errorf("pull at head: %+v", p)
	}
}

func testChangesRemovals(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	r1 := newID()
	mk := func() models.Case { c := simpleCase(villA1, gridA); c.ReporterID = r1; return c }
	cs := putCases(t, s, mk(), mk(), mk(), mk(), mk(), mk())
	x, y, z, w, v, u := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5]
	scopeA := models.Scope{OrgPrefixes: []string{townA}}
	scopeB := models.Scope{OrgPrefixes: []string{townB}}
	first := pullAll(t, s, scopeA, 0, 100)
	if n := len(first[0].Upserts); n != 6 {
		t.Fatalf("first pull: %d upserts, want 6", n)
	}
	c0 := first[len(first)-1].Next

	toB := func(c *models.Case) { c.OrgPath, c.GridCode = townB, "" }
	toA := func(c *models.Case) { c.OrgPath, c.GridCode = villA1, gridA }
	x = change(t, s, x, toB)                                                            // leaves A
	y = change(t, s, y, func(c *models.Case) { c.Deleted = true })                      // deleted in A
	z = change(t, s, change(t, s, z, toB), toA)                                         // leaves and comes back
	w = change(t, s, change(t, s, w, toB), func(c *models.Case) { c.OrgPath = villB1 }) // leaves, moves within B
	v1 := change(t, s, v, toB)                                                          // leaves A three times over
	v = change(t, s, change(t, s, v1, toA), toB)
	u = change(t, s, u, func(c *models.Case) { c.Description = "edited" }) // stays

	pagesA := pullAll(t, s, scopeA, c0, 100)
	pA := pagesA[0]
	same(t, "scope A upserts", sortIDs([]uuid.UUID{z.ID, u.ID}), sortIDs(ids(pA.Upserts)))
	wantRemovals := map[uuid.UUID]models.Removal{
		x.ID: {CaseID: x.ID, Seq: x.ChangeSeq, Reason: "out_of_scope"},
		y.ID: {CaseID: y.ID, Seq: y.ChangeSeq, Reason: "deleted"},
		w.ID: {CaseID: w.ID, Seq: w.ChangeSeq - 1, Reason: "out_of_scope"}, // the move out; the move within B is no exit from A
		v.ID: {CaseID: v.ID, Seq: v.ChangeSeq, Reason: "out_of_scope"},     // the latest exit only
	}
	gotRemovals := map[uuid.UUID]models.Removal{}
	for _, r := range pA.Removals {
		gotRemovals[r.CaseID] = r
	}
	same(t, "scope A removals", wantRemovals, gotRemovals)
	if pA.Next != u.ChangeSeq {
		t.Errorf("scope A Next %d, want the head %d", pA.Next, u.ChangeSeq)
	}

	// Scope B sees the cases that arrived, and loses z, which went back to A.
	pB := pullAll(t, s, scopeB, c0, 100)[0]
	same(t, "scope B upserts", sortIDs([]uuid.UUID{x.ID, w.ID, v.ID}), sortIDs(ids(pB.Upserts)))
	if len(pB.Removals) != 1 || pB.Removals[0].CaseID != z.ID || pB.Removals[0].Seq != z.ChangeSeq {
		t.Errorf("scope B removals %+v, want z at %d", pB.Removals, z.ChangeSeq)
	}

	// A reporter scope still covers every moved case but loses the deleted one.
	pR := pullAll(t, s, models.Scope{ReporterID: r1}, c0, 100)[0]
	if len(pR.Removals) != 1 || pR.Removals[0].CaseID != y.ID || pR.Removals[0].Reason != "deleted" {
		t.Errorf("reporter scope removals %+v, want only y deleted", pR.Removals)
	}

	// A page that ends before a case came back: z's exit is withheld because z
	// is in scope now, and its return follows on a later page.
	seen := map[uuid.UUID]int{}
	for _, p := range pullAll(t, s, scopeA, c0, 1) {
		for _, r := range p.Removals {
			seen[r.CaseID]++
			if r.CaseID == z.ID {
				t.Errorf("z removed although it is back in scope")
			}
		}
	}
	for id := range wantRemovals {
		if seen[id] != 1 {
			t.Errorf("case %s removed %d times over the pages, want once", id, seen[id])
		}
	}

	// Nothing is removed again after the cursor passed.
	last := pagesA[len(pagesA)-1].Next
	p, err := s.Changes(ctx, models.ChangeQuery{Scope: scopeA, After: last, Limit: 100})
	must(t, err)
	if len(p.Removals) != 0 || len(p.Upserts) != 0 {
		t.Errorf("after the cursor: %d removals, %d upserts", len(p.Removals), len(p.Upserts))
	}
	// A case deleted while outside the scope is no removal there.
	x = change(t, s, x, func(c *models.Case) { c.Deleted = true })
	p, err = s.Changes(ctx, models.ChangeQuery{Scope: scopeA, After: last, Limit: 100})
	must(t, err)
	if len(p.Removals) != 0 {
		t.Errorf("deleting a case outside the scope removed it: %+v", p.Removals)
	}
	p, err = s.Changes(ctx, models.ChangeQuery{Scope: scopeB, After: last, Limit: 100})
	must(t, err)
	if len(p.Removals) != 1 || p.Removals[0].CaseID != x.ID || p.Removals[0].Reason != "deleted" {
		t.Errorf("scope B after deleting x: %+v", p.Removals)
	}
}

func testChangesPagination(t *testing.T, s models.Store) {
	scope := models.Scope{OrgPrefixes: []string{townA}}
	var cases []models.Case
	for i := range 23 {
		org := villA1
		if i%4 == 3 {
			org = villB1
		}
		cases = append(cases, simpleCase(org, ""))
		if i%5 == 4 {
			putCases(t, s, cases[len(cases)-5:]...)
		}
	}
	putCases(t, s, cases[20:]...)
	got, err := s.ListCases(ctxT(t), models.CaseQuery{Scope: models.Scope{All: true}, Limit: 100})
	must(t, err)
	byID := map[uuid.UUID]models.Case{}
	for _, c := range got {
		byID[c.ID] = c
	}
	// Move some out and some in, so removals fall on several pages.
	for i, c := range cases {
		if i%6 == 1 {
			change(t, s, byID[c.ID], func(c *models.Case) { c.OrgPath = villB1 })
		}
		if i%8 == 3 {
			change(t, s, byID[c.ID], func(c *models.Case) { c.OrgPath = villA1 })
		}
	}
	final, err := s.ListCases(ctxT(t), models.CaseQuery{Scope: scope, Limit: 100})
	must(t, err)
	head, err := s.MaxChangeSeq(ctxT(t))
	must(t, err)
	for _, limit := range []int{1, 4, 7, 100} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) {
			pages := pullAll(t, s, scope, 0, limit)
			seen := map[uuid.UUID]int64{}
			for _, p := range pages {
				for _, c := range p.Upserts {
					if _, dup := seen[c.ID]; dup {
						t.Errorf("case %s twice in one pass", c.ID)
					}
					seen[c.ID] = c.ChangeSeq
				}
			}
			if len(seen) != len(final) {
				t.Errorf("%d cases seen, want %d", len(seen), len(final))
			}
			for _, c := range final {
				if seen[c.ID] != c.ChangeSeq {
					t.Errorf("case %s seen at %d, want %d", c.ID, seen[c.ID], c.ChangeSeq)
				}
			}
			if n := pages[len(pages)-1].Next; n != head {
				t.Errorf("feed ends at %d, want %d", n, head)
			}
			// Resuming in the middle of the moves reports each departure once.
			mid := head - 4
			removed := map[uuid.UUID]int{}
			for _, p := range pullAll(t, s, scope, mid, limit) {
				for _, r := range p.Removals {
					removed[r.CaseID]++
				}
			}
			for id, n := range removed {
				if n != 1 {
					t.Errorf("case %s removed %d times", id, n)
				}
				if c, ok := seen[id]; ok && c > mid {
					t.Errorf("case %s removed and upserted", id)
				}
			}
		})
	}
}

// testChangesConcurrent has writers commit while a puller follows the feed:
// the puller must see every committed change exactly once, in order, and end
// with every case at its final sequence number.
func testChangesConcurrent(t *testing.T, s models.Store) {
	const writers, updates = 8, 50
	ctx := ctxT(t)
	scope := models.Scope{All: true}
	var wg gosync.WaitGroup
	errs := make(chan error, writers+1)
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine models.Case
			for i := range updates {
				err := s.Update(ctx, func(tx models.Tx) error {
					c := simpleCase(villA1, gridA)
					c.Description = fmt.Sprintf("writer %d update %d", w, i)
					batch := []models.Case{c}
					prev := []*models.Case{nil}
					if mine.ID != uuid.Nil {
						got, err := tx.CasesByID(ctx, []uuid.UUID{mine.ID})
						if err != nil {
							return err
						}
						old := got[mine.ID]
						n := old
						n.Version++
						n.Description += "+"
						batch = append(batch, n)
						prev = append(prev, &old)
					}
					if err := tx.PutCases(ctx, batch, prev); err != nil {
						return err
					}
					mine = batch[0]
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
	}
	type key struct {
		id  uuid.UUID
		seq int64
	}
	seen := map[key]int{}
	last := map[uuid.UUID]int64{}
	var after int64
	var pulls int
	pull := func() bool {
		p, err := s.Changes(ctx, models.ChangeQuery{Scope: scope, After: after, Limit: 13})
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		pulls++
		prev := after
		for _, c := range p.Upserts {
			if c.ChangeSeq <= prev {
				t.Errorf("seq %d after %d", c.ChangeSeq, prev)
			}
			prev = c.ChangeSeq
			seen[key{c.ID, c.ChangeSeq}]++
			last[c.ID] = c.ChangeSeq
		}
		after = p.Next
		return p.HasMore
	}
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-done:
			break loop
		default:
			pull()
		}
	}
	for pull() {
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("change (%s, %d) seen %d times", k.id, k.seq, n)
		}
	}
	all, err := s.ListCases(ctx, models.CaseQuery{Scope: scope, Limit: 1000})
	must(t, err)
	if len(all) != writers*updates {
		t.Fatalf("%d cases stored, want %d", len(all), writers*updates)
	}
	for _, c := range all {
		if last[c.ID] != c.ChangeSeq {
			t.Errorf("case %s: puller ended at seq %d, stored %d (a change was skipped)", c.ID, last[c.ID], c.ChangeSeq)
		}
	}
	head, err := s.MaxChangeSeq(ctx)
	must(t, err)
	if after != head {
		t.Errorf("puller ended at %d, head is %d", after, head)
	}
	t.Logf("%d pulls, %d changes seen", pulls, len(seen))
}
