package models

import (
	"slices"
	"time"
)

// MaxLimitValue is the largest time limit value a category may carry, in any
// unit. Deadline walks the calendar one day at a time, so the bound also keeps a
// misconfigured limit from costing more than a few milliseconds.
const MaxLimitValue = 10000

// Valid reports whether u is a known time limit unit.
func (u LimitUnit) Valid() bool {
	return u == LimitHours || u == LimitWorkHours || u == LimitWorkDays || u == LimitDays
}

// Validate checks that l has a known unit and a value in 1..MaxLimitValue. The
// admin console calls it before storing a category's limit.
func (l TimeLimit) Validate() error {
	if !l.Unit.Valid() {
		return Errorf(CodeInvalidInput, "unknown time limit unit %q", l.Unit).
			WithHint("use hours, work_hours, work_days or days").WithField("limit.unit")
	}
	if l.Value < 1 || l.Value > MaxLimitValue {
		return Errorf(CodeInvalidInput, "time limit value %d is outside 1..%d", l.Value, MaxLimitValue).
			WithField("limit.value")
	}
	return nil
}

// Calendar is the working-time calendar that time limits run on: which days are
// working days and which hours of them are working time, in one time zone.
//
// A date is a working day when it is in Workdays (an adjusted working weekend
// day, 调休上班), or when it is Monday to Friday and not in Holidays. A date in
// both maps is a holiday: the maps are data an admin edits, and a day off
// wrongly kept is less harmful than a deadline that runs out on a day nobody
// works. The zero Calendar is valid: UTC, Monday to Friday, DefaultPeriods,
// no holidays.
type Calendar struct {
	// Location is the time zone the dates and periods are read in; nil is UTC.
	Location *time.Location
	// Holidays are the public holidays and bridging days off, as "2026-10-01".
	Holidays map[string]bool
	// Workdays are the weekend days that are working days (调休), as "2026-10-10".
	Workdays map[string]bool
	// Periods are the working periods of a working day in minutes from midnight,
	// [start, end). Unsorted, overlapping or empty periods are normalised; when
	// none is left, DefaultPeriods apply.
	Periods [][2]int
}

// DefaultPeriods returns the working periods of the default calendar: 08:30–12:00
// and 13:30–17:30, 7.5 working hours a day. They are common office hours, not a
// national rule; a city with other or summer hours (an afternoon of 14:00–18:00)
// sets its own Periods.
func DefaultPeriods() [][2]int {
	return [][2]int{{8*60 + 30, 12 * 60}, {13*60 + 30, 17*60 + 30}}
}

// chinaTime is UTC+8 without a time zone database: China has had no daylight
// saving time since 1991, so a fixed zone is exact for every date a case can have.
var chinaTime = time.FixedZone("CST", 8*3600)

// ChinaTime returns the fixed UTC+8 zone (CST) the default calendar uses.
func ChinaTime() *time.Location { return chinaTime }

// China's 2026 public holidays and adjusted working days, from the State
// Council's notice of 4 November 2025 (国务院办公厅关于2026年部分节假日安排的通知).
// Other years are data an admin adds to the calendar.
var (
	holidaysCN2026 = []string{
		"2026-01-01", "2026-01-02", "2026-01-03", // 元旦
		"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", // 春节
		"2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
		"2026-04-04", "2026-04-05", "2026-04-06", // 清明节
		"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05", // 劳动节
		"2026-06-19", "2026-06-20", "2026-06-21", // 端午节
		"2026-09-25", "2026-09-26", "2026-09-27", // 中秋节
		"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07", // 国庆节
	}
	workdaysCN2026 = []string{
		"2026-01-04",               // Sunday, for 元旦
		"2026-02-14", "2026-02-28", // Saturdays, for 春节
		"2026-05-09",               // Saturday, for 劳动节
		"2026-09-20", "2026-10-10", // Sunday and Saturday, for 国庆节
	}
)

// DefaultCalendar returns the calendar of the district: China Standard Time,
// Monday to Friday, DefaultPeriods, and China's 2026 public holidays and adjusted
// working days. Each call returns fresh maps, so a caller may add a year's
// holidays without touching anyone else's calendar.
func DefaultCalendar() Calendar {
	cal := Calendar{
		Location: chinaTime,
		Holidays: make(map[string]bool, len(holidaysCN2026)),
		Workdays: make(map[string]bool, len(workdaysCN2026)),
		Periods:  DefaultPeriods(),
	}
	for _, d := range holidaysCN2026 {
		cal.Holidays[d] = true
	}
	for _, d := range workdaysCN2026 {
		cal.Workdays[d] = true
	}
	return cal
}

func (cal Calendar) loc() *time.Location {
	if cal.Location == nil {
		return time.UTC
	}
	return cal.Location
}

// periods returns cal.Periods clamped to the day, sorted and merged, or
// DefaultPeriods when none is usable. Merging keeps every working minute
// counted once, which the work-hour walk relies on.
func (cal Calendar) periods() [][2]int {
	var ps [][2]int
	for _, p := range cal.Periods {
		a, b := max(p[0], 0), min(p[1], 24*60)
		if a < b {
			ps = append(ps, [2]int{a, b})
		}
	}
	if len(ps) == 0 {
		return DefaultPeriods()
	}
	slices.SortFunc(ps, func(x, y [2]int) int { return x[0] - y[0] })
	out := ps[:1]
	for _, p := range ps[1:] {
		last := &out[len(out)-1]
		if p[0] <= last[1] {
			last[1] = max(last[1], p[1])
			continue
		}
		out = append(out, p)
	}
	return out
}

// IsWorkday reports whether the date of t, read in the calendar's zone, is a
// working day.
func (cal Calendar) IsWorkday(t time.Time) bool {
	t = t.In(cal.loc())
	key := t.Format(time.DateOnly)
	if cal.Holidays[key] {
		return false
	}
	if cal.Workdays[key] {
		return true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// at returns the time min minutes after midnight of day's date (wall clock).
func at(day time.Time, min int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, min/60, min%60, 0, 0, day.Location())
}

// nextDate returns midnight of the date after day's.
func nextDate(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, day.Location())
}

// Deadline returns when a time limit that starts at start runs out. The result is
// in the calendar's zone and never before start; a later start never gives an
// earlier deadline.
//
//   - hours: continuous hours, day and night (urgent cases).
//   - days: natural days: the same wall-clock time lim.Value dates later.
//   - work_days: the end of the last working period of the lim.Value-th working
//     day after the date of start. The day the limit starts on is never counted,
//     whatever the hour (开始的当日不计入, the rule of 民法典 art. 201 for periods
//     counted in days), so a case dispatched Monday at 08:00 with 1 work day is
//     due Tuesday at the end of the working day, and so is one dispatched Monday
//     at 17:00; one dispatched on Sunday is due Monday.
//   - work_hours: lim.Value hours of working time, counted only inside the
//     working periods of working days. A start outside working time starts
//     counting at the next working period; when the time runs out exactly at the
//     end of a period the deadline is that end (12:00, not 13:30).
//
// A value of zero or less, or an unknown unit, gives start itself: the case is
// due at once, which makes a broken limit visible instead of silently unbounded.
// Values above MaxLimitValue count as MaxLimitValue (see TimeLimit.Validate).
func (cal Calendar) Deadline(start time.Time, lim TimeLimit) time.Time {
	loc := cal.loc()
	start = start.In(loc)
	v := min(lim.Value, MaxLimitValue)
	if v <= 0 {
		return start
	}
	switch lim.Unit {
	case LimitHours:
		return start.Add(time.Duration(v) * time.Hour)
	case LimitDays:
		return start.AddDate(0, 0, v)
	case LimitWorkDays:
		ps := cal.periods()
		day := start
		for n := 0; n < v; {
			day = nextDate(day)
			if cal.IsWorkday(day) {
				n++
			}
		}
		return at(day, ps[len(ps)-1][1])
	case LimitWorkHours:
		ps := cal.periods()
		remaining := time.Duration(v) * time.Hour
		// Holidays and Workdays are finite and every period is non-empty, so a
		// working minute comes within len(Holidays)+7 days and the loop ends.
		for day := start; ; day = nextDate(day) {
			if !cal.IsWorkday(day) {
				continue
			}
			for _, p := range ps {
				from, to := at(day, p[0]), at(day, p[1])
				if !to.After(start) {
					continue
				}
				from = later(from, start)
				avail := to.Sub(from)
				if remaining <= avail {
					return from.Add(remaining)
				}
				remaining -= avail
			}
		}
	}
	return start
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
