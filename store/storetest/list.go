package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// matches is the reference implementation of a CaseQuery filter, written
// from models' documentation, that ListCases must agree with.
func matches(q models.CaseQuery, c models.Case, conflicted map[uuid.UUID]bool) bool {
	lower := strings.ToLower
	switch {
	case !q.Scope.Covers(&c),
		!q.IncludeDeleted && c.Deleted,
		len(q.States) > 0 && !slices.Contains(q.States, c.State),
		len(q.Categories) > 0 && !slices.Contains(q.Categories, c.Category),
		q.OrgPath != "" && !models.PathWithin(c.OrgPath, q.OrgPath),
		q.Grid != "" && c.GridCode != q.Grid,
		q.UnitID != "" && c.UnitID != q.UnitID,
		q.ReporterID != uuid.Nil && c.ReporterID != q.ReporterID,
		q.Source != "" && c.Source != q.Source,
		q.RoadSegmentID != "" && c.RoadSegmentID != q.RoadSegmentID,
		q.Disposition != "" && c.Disposition != q.Disposition,
		q.BBox != nil && (c.Location.Lat < q.BBox.MinLat || c.Location.Lat > q.BBox.MaxLat ||
			c.Location.Lon < q.BBox.MinLon || c.Location.Lon > q.BBox.MaxLon),
		q.From != nil && c.CreatedAt.Before(*q.From),
		q.To != nil && !c.CreatedAt.Before(*q.To),
		q.Text != "" && !strings.Contains(lower(c.Description), lower(q.Text)) &&
			!strings.Contains(lower(c.Location.Address), lower(q.Text)) &&
			!strings.Contains(lower(c.Party), lower(q.Text)),
		q.Overdue && !c.Overdue(q.Now),
		q.Rework && c.ReworkCount < 1,
		q.HasConflict && !conflicted[c.ID]:
		return false
	}
	return true
}

func testListCases(t *testing.T, s models.Store) {
	ctx := ctxT(t)
	r1, r2 := newID(), newID()
	orgs := []string{villA1, townA, villB1, townB, district}
	grids := []string{gridA, "", gridB}
	units := []string{"", "U1", "U2"}
	sources := []models.Source{models.SourceDevice, models.SourceHotline, models.SourceWalkIn}
	cats := []string{"E0101", "E0504", "C0101"}
	descs := []string{"Stall on the pavement", "占道经营", "STALL again", "100% blocked", "100x blocked", "a_b", "plain"}
	var all []models.Case
	for i := range 30 {
		c := simpleCase(orgs[i%5], grids[i%3])
		c.UnitID = units[(i/3)%3]
		c.ReporterID = []uuid.UUID{r1, r2}[i%2]
		c.Source = sources[i%3]
		c.State = models.States[i%len(models.States)]
		c.Category = cats[(i/2)%3]
		c.Description = descs[i%len(descs)]
		c.Location = models.Location{Lat: 36 + float64(i)*0.01, Lon: 117 + float64(i%10)*0.01,
			Address: fmt.Sprintf("Renmin Road %d", i)}
		if i%6 == 0 {
			c.Party = "Wang's Bakery"
		}
		c.CreatedAt = at(time.Duration(i) * time.Hour)
		if i%3 != 2 {
			c.Deadline = atp(time.Duration(i*2) * time.Hour)
		}
		if i%4 == 0 {
			c.ReworkCount = 1 + i%3
		}
		c.Deleted = i%7 == 6
		c.RoadSegmentID = []string{"", "seg-1", "seg-2"}[(i/2)%3]
		c.Disposition = []string{"", "劝导整改", "责令限期改正", ""}[i%4]
		all = append(all, c)
	}
	all = putCases(t, s, all...)
	conflicted := map[uuid.UUID]bool{}
	update(t, s, func(ctx context.Context, tx models.Tx) error {
		var cs []models.Conflict
		for i, c := range all {
			switch i % 5 {
			case 1:
				conflicted[c.ID] = true
				cs = append(cs, models.Conflict{ID: newID(), CaseID: c.ID, Status: models.ConflictOpen, CreatedAt: t0})
			case 2:
				cs = append(cs, models.Conflict{ID: newID(), CaseID: c.ID, Status: models.ConflictResolved, CreatedAt: t0})
			}
		}
		return tx.PutConflicts(ctx, cs)
	})

	everyone := models.Scope{All: true}
	from, to := at(5*time.Hour), at(17*time.Hour)
	queries := map[string]models.CaseQuery{
		"all":               {Scope: everyone},
		"scope town A":      {Scope: models.Scope{OrgPrefixes: []string{townA}}},
		"scope village B":   {Scope: models.Scope{OrgPrefixes: []string{villB1}}},
		"scope grid B":      {Scope: models.Scope{Grids: []string{gridB}}},
		"scope unit U2":     {Scope: models.Scope{UnitIDs: []string{"U2"}}},
		"scope reporter":    {Scope: models.Scope{ReporterID: r1}},
		"scope mixed":       {Scope: models.Scope{OrgPrefixes: []string{townB}, Grids: []string{gridA}, UnitIDs: []string{"U1"}, ReporterID: r2}},
		"empty scope":       {Scope: models.Scope{}},
		"states":            {Scope: everyone, States: []models.State{models.StateReported, models.StateDispatched, models.StateClosed}},
		"categories":        {Scope: everyone, Categories: []string{"E0504", "C0101"}},
		"org path":          {Scope: everyone, OrgPath: townA},
		"org path district": {Scope: everyone, OrgPath: district},
		"grid":              {Scope: everyone, Grid: gridA},
		"unit":              {Scope: everyone, UnitID: "U1"},
		"reporter":          {Scope: everyone, ReporterID: r2},
		"source":            {Scope: everyone, Source: models.SourceHotline},
		"bbox":              {Scope: everyone, BBox: &models.BBox{MinLon: 117.02, MinLat: 36.05, MaxLon: 117.06, MaxLat: 36.25}},
		"from":              {Scope: everyone, From: &from},
		"to":                {Scope: everyone, To: &to},
		"from to":           {Scope: everyone, From: &from, To: &to},
		"text ascii":        {Scope: everyone, Text: "stall"},
		"text chinese":      {Scope: everyone, Text: "占道"},
		"text percent":      {Scope: everyone, Text: "0%"},
		"text underscore":   {Scope: everyone, Text: "a_"},
		"text address":      {Scope: everyone, Text: "road 1"},
		"text party":        {Scope: everyone, Text: "BAKERY"},
		"overdue":           {Scope: everyone, Overdue: true, Now: at(20 * time.Hour)},
		"rework":            {Scope: everyone, Rework: true},
		"has conflict":      {Scope: everyone, HasConflict: true},
		"road segment":      {Scope: everyone, RoadSegmentID: "seg-1"},
		"disposition":       {Scope: everyone, Disposition: "劝导整改"},
		"include deleted":   {Scope: everyone, IncludeDeleted: true},
		"combined":          {Scope: models.Scope{OrgPrefixes: []string{townA, townB}}, Text: "blocked", IncludeDeleted: true, States: models.States[:8]},
	}
	for name, q := range queries {
		var want []uuid.UUID
		for _, c := range all {
			if matches(q, c, conflicted) {
				want = append(want, c.ID)
			}
		}
		slices.SortFunc(want, func(a, b uuid.UUID) int { return -strings.Compare(a.String(), b.String()) })
		if name != "empty scope" && name != "all" && name != "include deleted" && (len(want) == 0 || len(want) == len(all)) {
			t.Errorf("%s: the fixture does not exercise the filter (%d of %d match)", name, len(want), len(all))
		}
		for _, limit := range []int{0, 3} {
			q := q
			q.Limit = limit
			var got []uuid.UUID
			for page := 0; ; page++ {
				cs, err := s.ListCases(ctx, q)
				must(t, err)
				if limit > 0 && len(cs) > limit {
					t.Fatalf("%s: page of %d, limit %d", name, len(cs), limit)
				}
				for _, c := range cs {
					got = append(got, c.ID)
				}
				if len(cs) == 0 || limit == 0 || page > 40 {
					break
				}
				q.After = cs[len(cs)-1].ID
			}
			if d := Diff(want, got); d != "" && !(len(want) == 0 && len(got) == 0) {
				t.Errorf("ListCases %s (limit %d):\n%s", name, limit, d)
			}
		}
	}
	// The queue order: soonest deadline first, cases without one last.
	byDeadline, err := s.ListCases(ctx, models.CaseQuery{Scope: everyone, Sort: models.SortDeadline, Limit: 1000})
	must(t, err)
	seenNone := false
	for i, c := range byDeadline {
		switch {
		case c.Deadline == nil:
			seenNone = true
		case seenNone:
			t.Fatalf("deadline order: case %d has a deadline after one without", i)
		case i > 0 && byDeadline[i-1].Deadline != nil && c.Deadline.Before(*byDeadline[i-1].Deadline):
			t.Fatalf("deadline order broken at %d", i)
		}
	}
	if !seenNone || len(byDeadline) < 10 {
		t.Fatalf("deadline order: the fixture does not exercise it (%d cases)", len(byDeadline))
	}
	// Rows come back whole.
	cs, err := s.ListCases(ctx, models.CaseQuery{Scope: everyone, Limit: 1})
	must(t, err)
	if len(cs) != 1 {
		t.Fatalf("ListCases limit 1 gave %d", len(cs))
	}
	got, err := s.GetCase(ctx, cs[0].ID)
	must(t, err)
	same(t, "listed case", got, cs[0])
}
