package models

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// oct returns a time in October 2026, China time.
func oct(day, hour, min int) time.Time { return time.Date(2026, 10, day, hour, min, 0, 0, chinaTime) }
func sep(day, hour, min int) time.Time { return time.Date(2026, 9, day, hour, min, 0, 0, chinaTime) }
func nov(day, hour, min int) time.Time { return time.Date(2026, 11, day, hour, min, 0, 0, chinaTime) }

func tp(t time.Time) *time.Time { return &t }
func fp(f float64) *float64     { return &f }

// ev is shorthand for a transition.
func ev(a Action, from, to State, at time.Time) StatsEvent {
	return StatsEvent{Action: a, From: from, To: to, At: at}
}

// statsFixture is a small district month whose figures are worked out by hand
// in TestComputeStatsFixture. Each case's story is in its comment.
func statsFixture() (cases []StatsCase, ids map[string]uuid.UUID) {
	ids = map[string]uuid.UUID{}
	mk := func(name, cat string, created time.Time, deadline *time.Time, qty *float64, evs ...StatsEvent) {
		id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) // stable ids, so failures name the same case
		ids[name] = id
		all := append([]StatsEvent{ev(ActionSubmit, StateNew, StateReported, created)}, evs...)
		cases = append(cases, StatsCase{Case: Case{ID: id, Category: cat, CreatedAt: created.UTC(), Deadline: deadline,
			Quantity: qty, TownCode: "t" + name}, Events: all})
	}
	// A: registered, dispatched, done and closed within its deadline (Oct 5 17:30).
	mk("A", "E0504", oct(2, 9, 0), tp(oct(5, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, oct(2, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, oct(2, 11, 0)),
		ev(ActionReportDone, StateDispatched, StateHandled, oct(4, 9, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, oct(4, 10, 0)),
		ev(ActionCheckPass, StateChecking, StateClosed, oct(4, 15, 0)))
	// B: done and closed after its deadline (Oct 6 12:00).
	mk("B", "E0504", oct(3, 9, 0), tp(oct(6, 12, 0)), nil,
		ev(ActionRegister, StateReported, StateRegistered, oct(3, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, oct(3, 11, 0)),
		ev(ActionReportDone, StateDispatched, StateHandled, oct(8, 9, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, oct(8, 10, 0)),
		ev(ActionCheckPass, StateChecking, StateClosed, oct(9, 10, 0)))
	// C: reported and returned in September, dispatched again on Oct 8, open
	// at the end of October; deadline Oct 20.
	mk("C", "E0504", sep(25, 9, 0), tp(oct(20, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, sep(25, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, sep(25, 11, 0)),
		ev(ActionReturn, StateDispatched, StateReturned, sep(26, 9, 0)),
		ev(ActionDispatch, StateReturned, StateDispatched, oct(8, 10, 0)))
	// D: suspended (挂账) with its deadline (Oct 15) in October: counted apart.
	mk("D", "E0504", oct(10, 9, 0), tp(oct(15, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, oct(10, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, oct(10, 11, 0)),
		ev(ActionRequestSuspend, StateDispatched, StateExtensionPending, oct(12, 9, 0)),
		ev(ActionApprove, StateExtensionPending, StateSuspended, oct(13, 9, 0)))
	// E: self-handled on the spot, the check failed (rework), the inspector
	// fixed it again and it closed within the rework deadline (Oct 14 17:30).
	mk("E", "E0504", oct(11, 9, 0), tp(oct(14, 17, 30)), nil,
		ev(ActionSelfHandle, StateReported, StateHandled, oct(11, 10, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, oct(11, 11, 0)),
		ev(ActionCheckFail, StateChecking, StateDispatched, oct(12, 9, 0)),
		ev(ActionReportDone, StateDispatched, StateHandled, oct(13, 9, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, oct(13, 10, 0)),
		ev(ActionCheckPass, StateChecking, StateClosed, oct(14, 10, 0)))
	// F: voided as a duplicate the day it came in.
	mk("F", "E0504", oct(20, 9, 0), nil, nil,
		ev(ActionVoid, StateReported, StateVoided, oct(20, 10, 0)))
	// G: dispatched and returned by the unit in October; deadline Nov 3.
	mk("G", "E0504", oct(28, 9, 0), tp(nov(3, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, oct(28, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, oct(28, 11, 0)),
		ev(ActionReturn, StateDispatched, StateReturned, oct(30, 9, 0)))
	// H: all in September.
	mk("H", "E0504", sep(10, 9, 0), tp(sep(20, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, sep(10, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, sep(10, 11, 0)),
		ev(ActionReportDone, StateDispatched, StateHandled, sep(15, 9, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, sep(15, 10, 0)),
		ev(ActionCheckPass, StateChecking, StateClosed, sep(16, 9, 0)))
	// I: due Oct 31, done Nov 1 and closed Nov 2: open at the end of October.
	mk("I", "E0504", oct(5, 9, 0), tp(oct(31, 17, 30)), nil,
		ev(ActionRegister, StateReported, StateRegistered, oct(5, 10, 0)),
		ev(ActionDispatch, StateRegistered, StateDispatched, oct(6, 9, 0)),
		ev(ActionReportDone, StateDispatched, StateHandled, nov(1, 9, 0)),
		ev(ActionSendCheck, StateHandled, StateChecking, nov(1, 10, 0)),
		ev(ActionCheckPass, StateChecking, StateClosed, nov(2, 9, 0)))
	// J: registered, never dispatched, due Oct 18; 12.5 m² of E0101.
	mk("J", "E0101", oct(15, 9, 0), tp(oct(18, 17, 30)), fp(12.5),
		ev(ActionRegister, StateReported, StateRegistered, oct(15, 10, 0)))
	// K: force-closed by a supervisor before registration; 3 m² of E0101.
	mk("K", "E0101", oct(16, 9, 0), nil, fp(3),
		ev(ActionForceClose, StateReported, StateClosed, oct(17, 9, 0)))
	// L: November.
	mk("L", "E0504", nov(1, 9, 0), nil, nil)
	return cases, ids
}

func TestComputeStatsFixture(t *testing.T) {
	cases, id := statsFixture()
	set := func(names ...string) []uuid.UUID {
		out := make([]uuid.UUID, 0, len(names))
		for _, n := range names {
			out = append(out, id[n])
		}
		slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		return out
	}
	type want struct {
		num, den       int64
		numIDs, denIDs []uuid.UUID
		apart          []uuid.UUID
	}
	oct2026, _ := ParsePeriod("2026-10")
	checks := map[MetricKind]want{
		// Closed in October: A (Oct 4), B (Oct 9), E (Oct 14), K (Oct 17).
		// Due: those, plus registered cases due in October and open at its
		// end: C (Oct 20), I (Oct 31), J (Oct 18). D is suspended: apart.
		// G is due in November, F voided, H closed in September.
		MetricClosureRate: {4, 7, set("A", "B", "E", "K"), set("A", "B", "C", "E", "I", "J", "K"), set("D")},
		// On time: A (Oct 4 15:00 ≤ Oct 5 17:30), E (Oct 14 10:00 ≤ 17:30),
		// K (no deadline). B closed Oct 9 after Oct 6 12:00.
		MetricOnTimeClosure: {3, 7, set("A", "E", "K"), set("A", "B", "C", "E", "I", "J", "K"), set("D")},
		// Reported done in October: A (on time), B (Oct 8 > Oct 6: late),
		// E (Oct 13 ≤ Oct 14: on time). Waiting for handling at the end,
		// due in October: C, I (done only on Nov 1). D suspended: apart.
		MetricOnTimeHandling: {2, 5, set("A", "E"), set("A", "B", "C", "E", "I"), set("D")},
		// Handled in October (report_done or self_handle): A, B, E; E was
		// sent back by a check.
		MetricReworkRate: {1, 3, set("E"), set("A", "B", "E"), nil},
		// Returns in October: G. Dispatches in October: A, B, C (again on
		// Oct 8), D, G, I. C's return was in September.
		MetricReturnRate: {1, 6, set("G"), set("A", "B", "C", "D", "G", "I"), nil},
		// Reported in October: A B D E F G I J K. Registered by the end: all
		// but F (voided) and K (force-closed unregistered); E self-handled.
		MetricRegistrationRate: {7, 9, set("A", "B", "D", "E", "G", "I", "J"), set("A", "B", "D", "E", "F", "G", "I", "J", "K"), nil},
		// Done in October after a dispatch: A 46 h (Oct 2 11:00 → Oct 4
		// 09:00) = 165600 s, B 118 h (Oct 3 11:00 → Oct 8 09:00) = 424800 s.
		// E was never dispatched (self-handled, then reworked).
		MetricMeanHandling: {590400, 2, set("A", "B"), set("A", "B"), nil},
	}
	// Shuffled input must give the same figures.
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 4 {
		in := slices.Clone(cases)
		if round > 0 {
			rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		}
		if round == 3 {
			// History out of time order (transactions that committed out of
			// step) is read in time order, and the caller's slice is left alone.
			for i := range in {
				in[i].Events = slices.Clone(in[i].Events)
				slices.Reverse(in[i].Events)
			}
			defer func(first StatsEvent, evs []StatsEvent) {
				if evs[0] != first {
					t.Error("ComputeStats reordered the caller's events")
				}
			}(in[0].Events[0], in[0].Events)
		}
		s := ComputeStats(in, oct2026)
		if len(s.Metrics) != len(MetricKinds) {
			t.Fatalf("%d metrics, want %d", len(s.Metrics), len(MetricKinds))
		}
		for i, k := range MetricKinds {
			if s.Metrics[i].Kind != k {
				t.Errorf("metric %d is %s, want %s", i, s.Metrics[i].Kind, k)
			}
			w, ok := checks[k]
			if !ok {
				t.Fatalf("no expectation for %s", k)
			}
			m := s.Metric(k)
			if m.Numerator != w.num || m.Denominator != w.den {
				t.Errorf("%s = %d/%d, want %d/%d", k, m.Numerator, m.Denominator, w.num, w.den)
			}
			if !slices.Equal(m.NumeratorIDs, w.numIDs) {
				t.Errorf("%s numerator ids = %v, want %v", k, names(id, m.NumeratorIDs), names(id, w.numIDs))
			}
			if !slices.Equal(m.DenominatorIDs, w.denIDs) {
				t.Errorf("%s denominator ids = %v, want %v", k, names(id, m.DenominatorIDs), names(id, w.denIDs))
			}
			if len(m.Apart) != len(w.apart) || !slices.Equal(m.Apart, w.apart) {
				t.Errorf("%s apart = %v, want %v", k, names(id, m.Apart), names(id, w.apart))
			}
		}
		if v, ok := s.Metric(MetricMeanHandling).Value(); !ok || v != 295200 {
			t.Errorf("mean handling = %v s, want 295200 s (82 h)", v)
		}
		if v, ok := s.Metric(MetricClosureRate).Value(); !ok || v != 4.0/7 {
			t.Errorf("closure rate value = %v, want 4/7", v)
		}
		// Volumes: created in October and not voided: A B D E G I (E0504,
		// no quantity) and J K (E0101, 12.5 + 3 m²).
		wantVols := []Volume{
			{Category: "E0101", Cases: 2, Quantity: 15.5, WithoutQuantity: 0, CaseIDs: set("J", "K")},
			{Category: "E0504", Cases: 6, Quantity: 0, WithoutQuantity: 6, CaseIDs: set("A", "B", "D", "E", "G", "I")},
		}
		if len(s.Volumes) != len(wantVols) {
			t.Fatalf("volumes = %+v", s.Volumes)
		}
		for i, w := range wantVols {
			g := s.Volumes[i]
			if g.Category != w.Category || g.Cases != w.Cases || g.Quantity != w.Quantity ||
				g.WithoutQuantity != w.WithoutQuantity || !slices.Equal(g.CaseIDs, w.CaseIDs) {
				t.Errorf("volume %d = %+v, want %+v", i, g, w)
			}
		}
	}

	// September, the previous month: H closed on time (1/1); dispatches C
	// and H, C returned (1/2); C and H reported and registered (2/2). C is
	// due in October, so it is not due in September.
	s := ComputeStats(cases, oct2026.Previous())
	for _, c := range []struct {
		k        MetricKind
		num, den int64
	}{
		{MetricClosureRate, 1, 1}, {MetricOnTimeClosure, 1, 1}, {MetricOnTimeHandling, 1, 1},
		{MetricReworkRate, 0, 1}, {MetricReturnRate, 1, 2}, {MetricRegistrationRate, 2, 2},
		{MetricMeanHandling, 5*86400 - 2*3600, 1}, // Sep 10 11:00 → Sep 15 09:00
	} {
		m := s.Metric(c.k)
		if m.Numerator != c.num || m.Denominator != c.den {
			t.Errorf("September %s = %d/%d, want %d/%d", c.k, m.Numerator, m.Denominator, c.num, c.den)
		}
	}

	// November: I closed Nov 2, after its deadline (Oct 31); L reported.
	s = ComputeStats(cases, MonthPeriod(2026, time.November))
	if m := s.Metric(MetricClosureRate); m.Numerator != 1 || !slices.Equal(m.NumeratorIDs, set("I")) {
		t.Errorf("November closure = %d %v, want I", m.Numerator, names(id, m.NumeratorIDs))
	}
	if m := s.Metric(MetricOnTimeClosure); m.Numerator != 0 {
		t.Errorf("November on-time closure numerator = %d, want 0 (I was late)", m.Numerator)
	}
}

func names(ids map[string]uuid.UUID, list []uuid.UUID) []string {
	var out []string
	for _, x := range list {
		found := false
		for n, id := range ids {
			if id == x {
				out = append(out, n)
				found = true
			}
		}
		if !found {
			out = append(out, x.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestMetricValueUndefined(t *testing.T) {
	if _, ok := (Metric{Numerator: 0, Denominator: 0}).Value(); ok {
		t.Error("0/0 is defined")
	}
	if v, ok := (Metric{Numerator: 1, Denominator: 4}).Value(); !ok || v != 0.25 {
		t.Errorf("1/4 = %v %v", v, ok)
	}
}

func TestParsePeriod(t *testing.T) {
	for _, c := range []struct {
		in         string
		ok         bool
		start, end time.Time
		prev       string
	}{
		{"2026-10", true, oct(1, 0, 0), nov(1, 0, 0), "2026-09"},
		{"2026-01", true, time.Date(2026, 1, 1, 0, 0, 0, 0, chinaTime), time.Date(2026, 2, 1, 0, 0, 0, 0, chinaTime), "2025-12"},
		{"2026", true, time.Date(2026, 1, 1, 0, 0, 0, 0, chinaTime), time.Date(2027, 1, 1, 0, 0, 0, 0, chinaTime), "2025"},
		{"2026-13", false, time.Time{}, time.Time{}, ""},
		{"2026-1", false, time.Time{}, time.Time{}, ""},
		{"1999", false, time.Time{}, time.Time{}, ""},
		{"26-10", false, time.Time{}, time.Time{}, ""},
		{"", false, time.Time{}, time.Time{}, ""},
		{"2026-10-01", false, time.Time{}, time.Time{}, ""},
	} {
		p, err := ParsePeriod(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParsePeriod(%q) err = %v, want ok %v", c.in, err, c.ok)
			continue
		}
		if !c.ok {
			if ErrorCode(err) != CodeInvalidInput {
				t.Errorf("ParsePeriod(%q) code %s", c.in, ErrorCode(err))
			}
			continue
		}
		if !p.Start.Equal(c.start) || !p.End.Equal(c.end) || p.Label != c.in || p.Previous().Label != c.prev {
			t.Errorf("ParsePeriod(%q) = %v..%v %q prev %q", c.in, p.Start, p.End, p.Label, p.Previous().Label)
		}
	}
	// Midnight China time is 16:00 UTC the day before.
	p, _ := ParsePeriod("2026-10")
	if !p.Contains(time.Date(2026, 9, 30, 16, 0, 0, 0, time.UTC)) || p.Contains(time.Date(2026, 9, 30, 15, 59, 59, 0, time.UTC)) {
		t.Error("the period does not start at midnight China time")
	}
}

func TestTrailingMonths(t *testing.T) {
	p, _ := ParsePeriod("2026-03")
	got := p.TrailingMonths(4)
	var labels []string
	for _, m := range got {
		labels = append(labels, m.Label)
	}
	if !slices.Equal(labels, []string{"2025-12", "2026-01", "2026-02", "2026-03"}) {
		t.Errorf("TrailingMonths = %v", labels)
	}
	y, _ := ParsePeriod("2026")
	ms := y.TrailingMonths(12)
	if ms[0].Label != "2026-01" || ms[11].Label != "2026-12" {
		t.Errorf("a year's twelve months = %s..%s", ms[0].Label, ms[11].Label)
	}
	if s := StatsSince(p, CutMonth); !s.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, chinaTime)) {
		t.Errorf("StatsSince by month = %v, want 2025-03-01 (the month before April 2025)", s)
	}
	if s := StatsSince(y, CutMonth); !s.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, chinaTime)) {
		t.Errorf("StatsSince of a year by month = %v, want 2025-01-01 (the year before, for its totals)", s)
	}
	if s := StatsSince(p, CutTown); !s.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, chinaTime)) {
		t.Errorf("StatsSince = %v, want 2026-02-01", s)
	}
}

func TestParseCut(t *testing.T) {
	for _, s := range []string{"", "category", "town", "month"} {
		if _, err := ParseCut(s); err != nil {
			t.Errorf("ParseCut(%q): %v", s, err)
		}
	}
	if _, err := ParseCut("grid"); ErrorCode(err) != CodeInvalidInput {
		t.Errorf("ParseCut(grid): %v", err)
	}
}

// randomTimeline walks the workflow table from a new case with random legal
// actions at random times, as the engine would record them.
func randomTimeline(rng *rand.Rand, start time.Time) []StatsEvent {
	at := start
	evs := []StatsEvent{ev(ActionSubmit, StateNew, StateReported, at)}
	state := StateReported
	pending := PendingNone
	for n := rng.IntN(10); n > 0 && !state.Terminal(); n-- {
		var legal []Action
		for _, a := range Actions {
			if r := workflow[a]; a != ActionSubmit && slices.Contains(r.from, state) {
				legal = append(legal, a)
			}
		}
		a := legal[rng.IntN(len(legal))]
		to := workflow[a].to
		switch a {
		case ActionRequestExtension:
			pending = PendingExtension
		case ActionRequestSuspend:
			pending = PendingSuspend
		case ActionApprove:
			to = StateDispatched
			if pending == PendingSuspend {
				to = StateSuspended
			}
		case ActionEscalate:
			to = state
		}
		at = at.Add(time.Duration(rng.IntN(96)+1) * time.Hour)
		evs = append(evs, ev(a, state, to, at))
		state = to
	}
	return evs
}

// FuzzComputeStats checks invariants that hold for any history: numerators
// within denominators, ids matching counts, apart disjoint from the
// denominator, input order irrelevant, and groups adding up to the total.
func FuzzComputeStats(f *testing.F) {
	f.Add(uint64(1), uint8(20))
	f.Add(uint64(370402), uint8(200))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		base := sep(1, 0, 0)
		var cases []StatsCase
		for i := 0; i < int(n); i++ {
			created := base.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
			c := Case{ID: uuid.UUID{byte(i >> 8), byte(i), 1}, Category: []string{"E0101", "E0504", "E0302"}[rng.IntN(3)],
				CreatedAt: created, TownCode: []string{"t1", "t2", ""}[rng.IntN(3)]}
			if rng.IntN(4) > 0 {
				c.Deadline = tp(created.Add(time.Duration(rng.IntN(40*24)) * time.Hour))
			}
			if rng.IntN(2) == 0 {
				c.Quantity = fp(float64(rng.IntN(100)))
			}
			cases = append(cases, StatsCase{Case: c, Events: randomTimeline(rng, created)})
		}
		p := MonthPeriod(2026, time.October)
		s := ComputeStats(cases, p)
		for _, m := range s.Metrics {
			switch m.Kind {
			case MetricReturnRate:
				if m.Numerator < int64(len(m.NumeratorIDs)) || m.Denominator < int64(len(m.DenominatorIDs)) {
					t.Errorf("%s: %d/%d transitions behind %d/%d cases", m.Kind, m.Numerator, m.Denominator,
						len(m.NumeratorIDs), len(m.DenominatorIDs))
				}
			case MetricMeanHandling:
				if m.Denominator != int64(len(m.DenominatorIDs)) || m.Numerator < 0 {
					t.Errorf("%s: %d/%d over %d cases", m.Kind, m.Numerator, m.Denominator, len(m.DenominatorIDs))
				}
			default:
				if m.Numerator != int64(len(m.NumeratorIDs)) || m.Denominator != int64(len(m.DenominatorIDs)) {
					t.Errorf("%s: counts %d/%d, ids %d/%d", m.Kind, m.Numerator, m.Denominator, len(m.NumeratorIDs), len(m.DenominatorIDs))
				}
				for _, id := range m.NumeratorIDs {
					if _, ok := slices.BinarySearchFunc(m.DenominatorIDs, id, cmpID); !ok {
						t.Errorf("%s: %s in the numerator but not the denominator", m.Kind, id)
					}
				}
			}
			for _, id := range m.Apart {
				if _, ok := slices.BinarySearchFunc(m.DenominatorIDs, id, cmpID); ok {
					t.Errorf("%s: %s both apart and in the denominator", m.Kind, id)
				}
			}
		}
		if a, b := s.Metric(MetricClosureRate), s.Metric(MetricOnTimeClosure); !slices.Equal(a.DenominatorIDs, b.DenominatorIDs) ||
			b.Numerator > a.Numerator {
			t.Errorf("on-time closure %d/%d against closure %d/%d", b.Numerator, b.Denominator, a.Numerator, a.Denominator)
		}
		// Order does not matter.
		shuffled := slices.Clone(cases)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if d := diffSlices(s, ComputeStats(shuffled, p)); d != "" {
			t.Errorf("shuffled input: %s", d)
		}
		// Groups add up to the total.
		for _, cut := range []StatsCut{CutCategory, CutTown} {
			keys, groups := GroupCases(cases, cut)
			sum := map[MetricKind][2]int64{}
			var vols int64
			for _, k := range keys {
				g := ComputeStats(groups[k], p)
				for _, m := range g.Metrics {
					v := sum[m.Kind]
					sum[m.Kind] = [2]int64{v[0] + m.Numerator, v[1] + m.Denominator}
				}
				for _, v := range g.Volumes {
					vols += v.Cases
				}
			}
			for _, m := range s.Metrics {
				if v := sum[m.Kind]; v != [2]int64{m.Numerator, m.Denominator} {
					t.Errorf("by %s: %s groups add up to %d/%d, total %d/%d", cut, m.Kind, v[0], v[1], m.Numerator, m.Denominator)
				}
			}
			var total int64
			for _, v := range s.Volumes {
				total += v.Cases
			}
			if vols != total {
				t.Errorf("by %s: volumes add up to %d, total %d", cut, vols, total)
			}
		}
	})
}

func cmpID(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }

func diffSlices(a, b StatsSlice) string {
	for i := range a.Metrics {
		x, y := a.Metrics[i], b.Metrics[i]
		if x.Numerator != y.Numerator || x.Denominator != y.Denominator || !slices.Equal(x.NumeratorIDs, y.NumeratorIDs) ||
			!slices.Equal(x.DenominatorIDs, y.DenominatorIDs) || !slices.Equal(x.Apart, y.Apart) {
			return string(x.Kind) + " differs"
		}
	}
	if len(a.Volumes) != len(b.Volumes) {
		return "volumes differ"
	}
	for i := range a.Volumes {
		if a.Volumes[i].Cases != b.Volumes[i].Cases || a.Volumes[i].Quantity != b.Volumes[i].Quantity {
			return "volume " + a.Volumes[i].Category + " differs"
		}
	}
	return ""
}

// BenchmarkComputeStats measures a district-sized month: 100,000 cases with
// random histories, the totals and the previous month.
func BenchmarkComputeStats(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	base := sep(1, 0, 0)
	cases := make([]StatsCase, 0, 100000)
	for i := range 100000 {
		created := base.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		c := Case{ID: uuid.UUID{byte(i >> 16), byte(i >> 8), byte(i), 2}, Category: "E0504", CreatedAt: created,
			Deadline: tp(created.Add(72 * time.Hour))}
		cases = append(cases, StatsCase{Case: c, Events: randomTimeline(rng, created)})
	}
	p := MonthPeriod(2026, time.October)
	b.ResetTimer()
	for b.Loop() {
		ComputeStats(cases, p)
		ComputeStats(cases, p.Previous())
	}
}
