package models

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// This file computes the figures the district reports (结案率 and the others
// of the domain reference) from cases and their transitions. The domain
// reference gives one line per metric and leaves the edge cases to us; the
// definitions below are the contract, and the console shows them next to the
// figures.
//
// Common rules:
//
//   - A period P is a calendar month or year in China time, [Start, End).
//   - Figures are as at the end of the period: transitions at or after End are
//     ignored, so a month's figures do not move once it is over. For the
//     current month they are provisional (the month is not over yet).
//   - "In P" means at or after Start and before End; times are server times
//     of the transitions (HistoryEntry.At), never device clocks.
//   - The deadline of a case is the one it carries now (Case.Deadline): the
//     history does not keep earlier deadlines, so an extension approved after
//     the period, or a rework deadline, moves the case's deadline for earlier
//     periods too. A case without a deadline was never given a time limit
//     (self-handled on the spot, closed before it was registered) and counts
//     as on time.
//   - The state of a case at the end of P is the target state of its last
//     transition before End.
//   - Every figure carries the ids of the cases behind its numerator and
//     denominator (sorted), for drill-down; cases counted apart (suspended)
//     are listed separately.
//   - The filter (scope, category, area, …) selects the cases before any
//     figure is computed; a cut (by category, town, month) is the same
//     computation on the cases of one group.

// Period is a reporting period: a calendar month or a calendar year in China
// time, from Start (inclusive) to End (exclusive).
type Period struct {
	Label string // "2026-10" for a month, "2026" for a year
	Start time.Time
	End   time.Time
}

// MonthPeriod returns the calendar month in China time.
func MonthPeriod(year int, month time.Month) Period {
	start := time.Date(year, month, 1, 0, 0, 0, 0, chinaTime)
	return Period{Label: start.Format("2006-01"), Start: start, End: start.AddDate(0, 1, 0)}
}

// YearPeriod returns the calendar year in China time.
func YearPeriod(year int) Period {
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, chinaTime)
	return Period{Label: strconv.Itoa(year), Start: start, End: start.AddDate(1, 0, 0)}
}

// ParsePeriod reads "2026-10" (a month) or "2026" (a year). Years outside
// 2000..2999 are refused: they are typing mistakes, not periods anyone reports.
func ParsePeriod(s string) (Period, error) {
	bad := Errorf(CodeInvalidInput, "period must be a month (2026-10) or a year (2026)").WithField("period")
	switch len(s) {
	case 4:
		y, err := strconv.Atoi(s)
		if err != nil || y < 2000 || y > 2999 {
			return Period{}, bad
		}
		return YearPeriod(y), nil
	case 7:
		t, err := time.ParseInLocation("2006-01", s, chinaTime)
		if err != nil || t.Year() < 2000 || t.Year() > 2999 {
			return Period{}, bad
		}
		return MonthPeriod(t.Year(), t.Month()), nil
	}
	return Period{}, bad
}

// IsMonth reports whether p is one calendar month.
func (p Period) IsMonth() bool { return len(p.Label) == 7 }

// Contains reports whether t lies in [Start, End).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Previous returns the period before p of the same length: the month before a
// month (month on month), the year before a year.
func (p Period) Previous() Period {
	s := p.Start.In(chinaTime)
	if p.IsMonth() {
		prev := s.AddDate(0, -1, 0)
		return MonthPeriod(prev.Year(), prev.Month())
	}
	return YearPeriod(s.Year() - 1)
}

// TrailingMonths returns the n calendar months that end with the last month
// of p, oldest first: the rows of a cut by month. A year with n = 12 gives
// its own twelve months.
func (p Period) TrailingMonths(n int) []Period {
	last := p.End.In(chinaTime).AddDate(0, -1, 0)
	out := make([]Period, 0, n)
	for i := n - 1; i >= 0; i-- {
		m := last.AddDate(0, -i, 0)
		out = append(out, MonthPeriod(m.Year(), m.Month()))
	}
	return out
}

// String returns the label.
func (p Period) String() string { return p.Label }

// StatsEvent is one transition of a case as statistics see it: the created
// entry (submit) and every workflow transition, with its server time.
type StatsEvent struct {
	Action Action
	From   State
	To     State
	At     time.Time
}

// StatsCase is a case with its transitions, oldest first: the input of the
// statistics.
type StatsCase struct {
	Case   Case
	Events []StatsEvent
}

// StatsStore is what the statistics and their drill-down need from storage.
// The storage package implements it next to Store.
type StatsStore interface {
	// StatsCases returns the cases matching q (q.Limit and q.After are
	// ignored) within q.Scope, deleted ones excluded, that could count in a
	// period between since and until: created before until and not closed or
	// voided before since. Each comes with its created and transition
	// history entries before until, oldest first. It reads one snapshot.
	StatsCases(ctx context.Context, q CaseQuery, since, until time.Time) ([]StatsCase, error)
	// ListCasesByID returns the cases among ids that match q within q.Scope,
	// newest first, after q.After, up to q.Limit: the drill-down of a figure.
	ListCasesByID(ctx context.Context, q CaseQuery, ids []uuid.UUID) ([]Case, error)
}

// MetricKind names a reported figure.
type MetricKind string

// The figures of the domain reference. Each doc comment is the definition the
// figure is computed by.
const (
	// MetricClosureRate 结案率 = closed / due. Closed: cases whose transition
	// to closed (check_pass or force_close) lies in P. Due: the closed ones,
	// plus cases registered before End whose deadline lies in P and that are
	// still open (not closed, not voided) at End. Of the latter, those
	// suspended (挂账) at End are counted apart: in neither numerator nor
	// denominator, listed as Apart. A case closed before P is not due in P
	// even when its deadline lies in P; a voided case is never due.
	MetricClosureRate MetricKind = "closure_rate"
	// MetricOnTimeClosure 按期结案率 = closed by the deadline / due. Same
	// denominator (and Apart) as MetricClosureRate; the numerator is the
	// closed cases whose close time is at or before their deadline, or that
	// have no deadline.
	MetricOnTimeClosure MetricKind = "on_time_closure_rate"
	// MetricOnTimeHandling 按期处置率 = handled by the deadline / due for
	// handling. Handled: cases with a report_done in P; a case reported done
	// twice in P (rework) counts once, by its last report_done in P. Due for
	// handling: the handled ones, plus cases dispatched before End whose
	// deadline lies in P and that wait for handling at End (dispatched,
	// extension_pending or returned); those suspended at End are counted
	// apart. The numerator is the handled cases whose last report_done in P
	// is at or before their deadline, or that have no deadline. Self-handled
	// cases (自行处置) were never dispatched and are not in this figure.
	MetricOnTimeHandling MetricKind = "on_time_handling_rate"
	// MetricReworkRate 返工率 = cases with rework ≥ 1 / handled. Handled:
	// cases with a report_done or self_handle in P. Rework: of those, the
	// ones with at least one check_fail before End.
	MetricReworkRate MetricKind = "rework_rate"
	// MetricReturnRate 回退率 = returns / dispatches: the number of return
	// transitions in P over the number of dispatch transitions in P
	// (re-dispatches after a return included; check_fail is no dispatch).
	// These count transitions, not cases: the id lists name the distinct
	// cases behind them, so a list may be shorter than its number.
	MetricReturnRate MetricKind = "return_rate"
	// MetricRegistrationRate 立案率 = registered / reported. Reported: cases
	// created (submitted, or entered in the console) in P. Registered: of
	// those, the ones with a register or a self_handle before End (a
	// self-handled case is filed and fixed at once); voided ones stay in the
	// denominator.
	MetricRegistrationRate MetricKind = "registration_rate"
	// MetricMeanHandling 平均处置时长 = the mean of handled_at − dispatched_at,
	// in seconds, over the cases with a report_done in P: handled_at is the
	// case's last report_done in P, dispatched_at the last dispatch before
	// it. The numerator is the sum of those durations in whole seconds, the
	// denominator the number of cases; both id lists are those cases.
	MetricMeanHandling MetricKind = "mean_handling_seconds"
)

// MetricKinds lists the figures in the order the console shows them.
var MetricKinds = []MetricKind{
	MetricClosureRate, MetricOnTimeClosure, MetricOnTimeHandling, MetricReworkRate, MetricReturnRate,
	MetricRegistrationRate, MetricMeanHandling,
}

// MetricLabelsZH are the Chinese names of the figures.
var MetricLabelsZH = map[MetricKind]string{
	MetricClosureRate: "结案率", MetricOnTimeClosure: "按期结案率", MetricOnTimeHandling: "按期处置率",
	MetricReworkRate: "返工率", MetricReturnRate: "回退率", MetricRegistrationRate: "立案率",
	MetricMeanHandling: "平均处置时长",
}

// Metric is one figure with everything behind it.
type Metric struct {
	Kind           MetricKind
	Numerator      int64
	Denominator    int64
	NumeratorIDs   []uuid.UUID
	DenominatorIDs []uuid.UUID
	// Apart are the cases counted apart (suspended at the end of the period)
	// for the closure and handling figures; nil for the others.
	Apart []uuid.UUID
}

// Value returns Numerator / Denominator, and false when the denominator is
// zero (the figure is undefined, not zero).
func (m Metric) Value() (float64, bool) {
	if m.Denominator == 0 {
		return 0, false
	}
	return float64(m.Numerator) / float64(m.Denominator), true
}

// Volume is the workload of one category in a period: 处 (cases) and the sum
// of the category's quantity (m², m or count, see Category.Quantity). It
// counts the cases created in P that are not voided at End.
type Volume struct {
	Category string
	Cases    int64
	// Quantity sums the quantities of the cases that have one.
	Quantity float64
	// WithoutQuantity counts the cases that have none.
	WithoutQuantity int64
	CaseIDs         []uuid.UUID
}

// StatsSlice is every figure for one period and one group of cases.
type StatsSlice struct {
	Period  Period
	Metrics []Metric // in MetricKinds order
	Volumes []Volume // by category code
}

// Metric returns the figure of kind k.
func (s StatsSlice) Metric(k MetricKind) Metric {
	for _, m := range s.Metrics {
		if m.Kind == k {
			return m
		}
	}
	return Metric{Kind: k}
}

// facts is what one case's timeline says about one period.
type facts struct {
	exists      bool // created before End
	reportedIn  bool
	stateAtEnd  State
	registered  bool // register or self_handle before End
	dispatched  bool // a dispatch before End
	closedAt    *time.Time
	lastDone    *time.Time // last report_done in P
	doneDispAt  *time.Time // last dispatch before lastDone
	handledIn   bool       // report_done or self_handle in P
	reworks     int        // check_fail before End
	returnsIn   int64
	dispatchIn  int64
	deadlineIn  bool
	hasDeadline bool
}

func caseFacts(sc *StatsCase, p Period) facts {
	c := &sc.Case
	f := facts{exists: c.CreatedAt.Before(p.End), reportedIn: p.Contains(c.CreatedAt)}
	if !f.exists {
		return f
	}
	f.stateAtEnd = StateReported
	if c.Deadline != nil {
		f.hasDeadline = true
		f.deadlineIn = p.Contains(*c.Deadline)
	}
	byTime := func(a, b StatsEvent) int { return a.At.Compare(b.At) }
	evs := sc.Events
	if !slices.IsSortedFunc(evs, byTime) {
		// History comes in insertion order, which is time order but for
		// transactions that commit out of step; never reorder the caller's.
		evs = slices.Clone(evs)
		slices.SortStableFunc(evs, byTime)
	}
	var lastDispatch *time.Time
	for i := range evs {
		ev := &evs[i]
		if !ev.At.Before(p.End) {
			break
		}
		in := !ev.At.Before(p.Start)
		f.stateAtEnd = ev.To
		switch ev.Action {
		case ActionRegister:
			f.registered = true
		case ActionSelfHandle:
			f.registered = true
			f.handledIn = f.handledIn || in
		case ActionDispatch:
			f.dispatched = true
			at := ev.At
			lastDispatch = &at
			if in {
				f.dispatchIn++
			}
		case ActionReturn:
			if in {
				f.returnsIn++
			}
		case ActionReportDone:
			if in {
				at := ev.At
				f.lastDone = &at
				f.doneDispAt = lastDispatch
				f.handledIn = true
			}
		case ActionCheckFail:
			f.reworks++
		}
		if ev.To == StateClosed && in {
			at := ev.At
			f.closedAt = &at
		}
	}
	return f
}

// onTime reports whether t is at or before the case's deadline, or the case
// has none.
func onTime(c *Case, t time.Time) bool { return c.Deadline == nil || !t.After(*c.Deadline) }

// metricBuilder collects one figure.
type metricBuilder struct {
	m          Metric
	apart      bool
	num, den   map[uuid.UUID]bool
	apartIDs   map[uuid.UUID]bool
	countByIDs bool // numerator and denominator are the id counts
}

func newMetric(k MetricKind, apart, countByIDs bool) *metricBuilder {
	return &metricBuilder{m: Metric{Kind: k}, apart: apart, countByIDs: countByIDs,
		num: map[uuid.UUID]bool{}, den: map[uuid.UUID]bool{}, apartIDs: map[uuid.UUID]bool{}}
}

func (b *metricBuilder) done() Metric {
	m := b.m
	m.NumeratorIDs, m.DenominatorIDs = sortedIDs(b.num), sortedIDs(b.den)
	if b.countByIDs {
		m.Numerator, m.Denominator = int64(len(m.NumeratorIDs)), int64(len(m.DenominatorIDs))
	}
	if b.apart {
		m.Apart = sortedIDs(b.apartIDs)
	}
	return m
}

func sortedIDs(set map[uuid.UUID]bool) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

// awaitingHandling are the states in which a dispatched case waits for its
// handling.
var awaitingHandling = []State{StateDispatched, StateExtensionPending, StateReturned}

// ComputeStats computes every figure of p over cases: see the doc comments of
// the MetricKind constants for the definitions and this file's opening
// comment for the rules they share. Cases created at or after p.End are
// ignored. It is pure: the same input always gives the same output.
func ComputeStats(cases []StatsCase, p Period) StatsSlice {
	closure := newMetric(MetricClosureRate, true, true)
	onTimeClose := newMetric(MetricOnTimeClosure, true, true)
	onTimeHandle := newMetric(MetricOnTimeHandling, true, true)
	rework := newMetric(MetricReworkRate, false, true)
	returns := newMetric(MetricReturnRate, false, false)
	registration := newMetric(MetricRegistrationRate, false, true)
	mean := newMetric(MetricMeanHandling, false, false)
	vols := map[string]*Volume{}
	var volIDs = map[string]map[uuid.UUID]bool{}
	var meanTotal time.Duration

	for i := range cases {
		sc := &cases[i]
		c := &sc.Case
		f := caseFacts(sc, p)
		if !f.exists {
			continue
		}
		id := c.ID
		open := !f.stateAtEnd.Terminal()

		// 结案率, 按期结案率.
		switch {
		case f.closedAt != nil:
			closure.num[id], closure.den[id] = true, true
			onTimeClose.den[id] = true
			if onTime(c, *f.closedAt) {
				onTimeClose.num[id] = true
			}
		case f.registered && f.deadlineIn && open && f.stateAtEnd == StateSuspended:
			closure.apartIDs[id], onTimeClose.apartIDs[id] = true, true
		case f.registered && f.deadlineIn && open:
			closure.den[id], onTimeClose.den[id] = true, true
		}

		// 按期处置率.
		switch {
		case f.lastDone != nil:
			onTimeHandle.den[id] = true
			if onTime(c, *f.lastDone) {
				onTimeHandle.num[id] = true
			}
		case f.dispatched && f.deadlineIn && f.stateAtEnd == StateSuspended:
			onTimeHandle.apartIDs[id] = true
		case f.dispatched && f.deadlineIn && slices.Contains(awaitingHandling, f.stateAtEnd):
			onTimeHandle.den[id] = true
		}

		// 返工率.
		if f.handledIn {
			rework.den[id] = true
			if f.reworks > 0 {
				rework.num[id] = true
			}
		}

		// 回退率: transitions, with the distinct cases behind them.
		if f.returnsIn > 0 {
			returns.m.Numerator += f.returnsIn
			returns.num[id] = true
		}
		if f.dispatchIn > 0 {
			returns.m.Denominator += f.dispatchIn
			returns.den[id] = true
		}

		// 立案率.
		if f.reportedIn {
			registration.den[id] = true
			if f.registered {
				registration.num[id] = true
			}
		}

		// 平均处置时长.
		if f.lastDone != nil && f.doneDispAt != nil {
			meanTotal += f.lastDone.Sub(*f.doneDispAt)
			mean.m.Denominator++
			mean.num[id], mean.den[id] = true, true
		}

		// Volumes.
		if f.reportedIn && f.stateAtEnd != StateVoided {
			v := vols[c.Category]
			if v == nil {
				v = &Volume{Category: c.Category}
				vols[c.Category] = v
				volIDs[c.Category] = map[uuid.UUID]bool{}
			}
			v.Cases++
			if c.Quantity != nil {
				v.Quantity += *c.Quantity
			} else {
				v.WithoutQuantity++
			}
			volIDs[c.Category][id] = true
		}
	}
	mean.m.Numerator = int64(meanTotal / time.Second)

	s := StatsSlice{Period: p, Metrics: []Metric{closure.done(), onTimeClose.done(), onTimeHandle.done(),
		rework.done(), returns.done(), registration.done(), mean.done()}}
	codes := make([]string, 0, len(vols))
	for code := range vols {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		v := *vols[code]
		v.CaseIDs = sortedIDs(volIDs[code])
		s.Volumes = append(s.Volumes, v)
	}
	return s
}

// StatsCut is how statistics are broken down.
type StatsCut string

// The cuts of the statistics.
const (
	CutNone     StatsCut = ""
	CutCategory StatsCut = "category" // by the case's current category
	CutTown     StatsCut = "town"     // by the case's town (TownCode; "" outside every town)
	CutMonth    StatsCut = "month"    // by calendar month: the twelve months ending with the period
)

// ParseCut reads a cut name.
func ParseCut(s string) (StatsCut, error) {
	switch c := StatsCut(s); c {
	case CutNone, CutCategory, CutTown, CutMonth:
		return c, nil
	}
	return "", Errorf(CodeInvalidInput, "by must be category, town or month").WithField("by")
}

// CutKey returns the group of a case in a cut by category or town.
func CutKey(cut StatsCut, c *Case) string {
	switch cut {
	case CutCategory:
		return c.Category
	case CutTown:
		return c.TownCode
	}
	return ""
}

// GroupCases splits cases by their key in cut, keys sorted. Each group keeps
// the cases' order.
func GroupCases(cases []StatsCase, cut StatsCut) (keys []string, groups map[string][]StatsCase) {
	groups = map[string][]StatsCase{}
	for _, sc := range cases {
		k := CutKey(cut, &sc.Case)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], sc)
	}
	slices.Sort(keys)
	return keys, groups
}

// MonthsInCut is how many months a cut by month shows.
const MonthsInCut = 12

// StatsSince returns the earliest time the statistics of p, cut by cut, with
// the previous period of the totals and of every row for comparison, need
// cases from: the StatsStore's since.
func StatsSince(p Period, cut StatsCut) time.Time {
	since := p.Previous().Start
	if cut == CutMonth {
		if m := p.TrailingMonths(MonthsInCut)[0].Previous().Start; m.Before(since) {
			since = m
		}
	}
	return since
}
