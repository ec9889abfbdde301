package models

import (
	"testing"
	"time"
)

// cst parses a wall-clock time in China Standard Time, "2026-03-02 10:00".
func cst(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, time.FixedZone("CST", 8*3600))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every answer below is worked out by hand from the default calendar: working
// periods 08:30–12:00 and 13:30–17:30 (7.5 h), Monday to Friday, and the 2026
// holidays of the State Council notice. Weekdays are noted for the reader.
func TestDeadlineDefaultCalendar(t *testing.T) {
	wh := func(n int) TimeLimit { return TimeLimit{n, LimitWorkHours} }
	wd := func(n int) TimeLimit { return TimeLimit{n, LimitWorkDays} }
	tests := []struct {
		name  string
		start string
		lim   TimeLimit
		want  string
	}{
		// Continuous hours ignore calendars.
		{"hours on a holiday", "2026-10-01 10:00", TimeLimit{4, LimitHours}, "2026-10-01 14:00"},
		{"hours over midnight", "2026-03-06 22:30", TimeLimit{4, LimitHours}, "2026-03-07 02:30"},
		{"hours zero", "2026-03-02 10:00", TimeLimit{0, LimitHours}, "2026-03-02 10:00"},

		// Natural days: same clock time.
		{"days over a month end", "2026-01-30 09:15", TimeLimit{3, LimitDays}, "2026-02-02 09:15"},
		{"days over National Day", "2026-09-30 10:00", TimeLimit{7, LimitDays}, "2026-10-07 10:00"},
		{"days in a non-leap February", "2026-02-28 08:00", TimeLimit{1, LimitDays}, "2026-03-01 08:00"},

		// Work hours inside one day (Mon 2 March).
		{"wh over lunch", "2026-03-02 10:00", wh(4), "2026-03-02 15:30"},             // 2 h + 2 h from 13:30
		{"wh starting at lunch", "2026-03-02 12:30", wh(1), "2026-03-02 14:30"},      // counts from 13:30
		{"wh starting before work", "2026-03-02 07:00", wh(1), "2026-03-02 09:30"},   // counts from 08:30
		{"wh starting at noon", "2026-03-02 12:00", wh(1), "2026-03-02 14:30"},       // morning is over
		{"wh ending at noon", "2026-03-02 09:00", wh(3), "2026-03-02 12:00"},         // not 13:30
		{"wh ending at day end", "2026-03-02 11:00", wh(5), "2026-03-02 17:30"},      // 1 h + 4 h, not Tue 08:30
		{"wh whole day from 8", "2026-03-02 08:00", wh(7), "2026-03-02 17:00"},       // 3.5 + 3.5
		{"wh just over a day", "2026-03-02 08:30", wh(8), "2026-03-03 09:00"},        // 7.5 Mon + 0.5 Tue
		{"wh two exact days", "2026-03-02 08:30", wh(15), "2026-03-03 17:30"},        // 7.5 + 7.5
		{"wh from day end", "2026-03-02 17:30", wh(1), "2026-03-03 09:30"},           // nothing left Mon
		{"wh mid-period minutes", "2026-03-02 11:45", wh(1), "2026-03-02 14:15"},     // 15 min + 45 min
		{"wh over the weekend", "2026-03-06 17:00", wh(4), "2026-03-09 12:00"},       // Fri 0.5 + Mon 3.5
		{"wh from Saturday", "2026-03-07 10:00", wh(2), "2026-03-09 10:30"},          // Mon 08:30 + 2
		{"wh from Friday night", "2026-03-06 18:00", wh(1), "2026-03-09 09:30"},      // Mon 08:30 + 1
		{"wh National Day", "2026-09-30 16:00", wh(4), "2026-10-08 11:00"},           // Wed 1.5; 1–7 Oct off; Thu 2.5
		{"wh adjusted Saturday", "2026-10-09 17:00", wh(1), "2026-10-10 09:00"},      // Sat 10 Oct works
		{"wh adjusted Sunday", "2026-09-19 10:00", wh(2), "2026-09-20 10:30"},        // Sat off, Sun 20 Sep works
		{"wh before Spring Festival", "2026-02-13 15:00", wh(4), "2026-02-14 10:00"}, // Fri 2.5; Sat 14 Feb works
		{"wh into Spring Festival", "2026-02-14 17:00", wh(1), "2026-02-24 09:00"},   // 15–23 Feb off
		{"wh filling adjusted Sat", "2026-02-13 17:00", wh(8), "2026-02-14 17:30"},   // 0.5 + 7.5
		{"wh New Year", "2025-12-31 17:00", wh(1), "2026-01-04 09:00"},               // 1–3 Jan off; Sun 4 Jan works
		{"wh Qingming", "2026-04-03 17:00", wh(1), "2026-04-07 09:00"},               // 4–6 Apr off
		{"wh Labour Day", "2026-04-30 17:00", wh(1), "2026-05-06 09:00"},             // 1–5 May off
		{"wh Labour Day make-up Saturday", "2026-05-08 17:00", wh(1), "2026-05-09 09:00"},
		{"wh Dragon Boat", "2026-06-18 17:00", wh(1), "2026-06-22 09:00"},     // 19–21 Jun off
		{"wh Mid-Autumn", "2026-09-24 17:00", wh(1), "2026-09-28 09:00"},      // 25–27 Sep off
		{"wh exposed garbage", "2026-03-02 16:00", wh(4), "2026-03-03 11:00"}, // 1.5 + 2.5

		// Work days: the start day never counts; due at 17:30.
		{"wd next day", "2026-03-02 10:00", wd(1), "2026-03-03 17:30"},
		{"wd start before work still not counted", "2026-03-02 07:00", wd(1), "2026-03-03 17:30"},
		{"wd start after work", "2026-03-02 19:00", wd(1), "2026-03-03 17:30"},
		{"wd over a weekend", "2026-03-02 10:00", wd(5), "2026-03-09 17:30"},
		{"wd from Saturday", "2026-03-07 10:00", wd(1), "2026-03-09 17:30"},
		{"wd from Sunday night", "2026-03-08 23:59", wd(1), "2026-03-09 17:30"},
		{"wd adjusted Sunday counts", "2026-09-18 10:00", wd(1), "2026-09-20 17:30"}, // Sat off, Sun 20 Sep works
		{"wd after adjusted Sunday", "2026-09-18 10:00", wd(2), "2026-09-21 17:30"},
		{"wd over National Day", "2026-09-30 10:00", wd(1), "2026-10-08 17:30"},
		{"wd to adjusted Saturday", "2026-09-30 10:00", wd(3), "2026-10-10 17:30"},   // 8, 9, Sat 10 Oct
		{"wd over Spring Festival", "2026-02-13 10:00", wd(3), "2026-02-25 17:30"},   // Sat 14, Tue 24, Wed 25
		{"wd both make-up Saturdays", "2026-02-12 10:00", wd(7), "2026-02-28 17:30"}, // 13, 14, 24–27, Sat 28
		{"wd penalty over Qingming", "2026-04-01 10:00", wd(7), "2026-04-13 17:30"},  // 2, 3, 7–10, 13
		{"wd demolition 20", "2026-03-02 10:00", wd(20), "2026-03-30 17:30"},

		// A broken limit is due at once.
		{"negative", "2026-03-02 10:00", TimeLimit{-3, LimitWorkHours}, "2026-03-02 10:00"},
		{"unknown unit", "2026-03-02 10:00", TimeLimit{3, "weeks"}, "2026-03-02 10:00"},
		{"no unit", "2026-03-02 10:00", TimeLimit{3, ""}, "2026-03-02 10:00"},
	}
	cal := DefaultCalendar()
	for _, tt := range tests {
		got := cal.Deadline(cst(t, tt.start), tt.lim)
		if want := cst(t, tt.want); !got.Equal(want) {
			t.Errorf("%s: Deadline(%s, %d %s) = %s, want %s", tt.name, tt.start, tt.lim.Value, tt.lim.Unit,
				got.Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
		}
		if _, off := got.Zone(); off != 8*3600 {
			t.Errorf("%s: result zone offset %d, want +8h", tt.name, off)
		}
	}
}

func TestDeadlineStartInAnotherZone(t *testing.T) {
	cal := DefaultCalendar()
	// 01:00 UTC is 09:00 in Beijing: inside the morning period.
	got := cal.Deadline(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), TimeLimit{1, LimitWorkHours})
	if want := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	// Sunday 20:00 UTC is Monday 04:00 in Beijing: 1 work day is due Tuesday.
	got = cal.Deadline(time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC), TimeLimit{1, LimitWorkDays})
	if want := cst(t, "2026-03-03 17:30"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	// Sub-minute precision is kept.
	start := cst(t, "2026-03-02 10:00").Add(30*time.Second + 5)
	got = cal.Deadline(start, TimeLimit{1, LimitWorkHours})
	if want := start.Add(time.Hour); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDeadlineCustomCalendars(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		cal   Calendar
		start string
		lim   TimeLimit
		want  string
	}{
		// The zero calendar: UTC, Mon–Fri, default periods, no holidays.
		{"zero calendar", Calendar{}, "2026-03-02 07:00", TimeLimit{1, LimitWorkHours}, "2026-03-02 09:30"},
		{"zero calendar works on 1 Oct", Calendar{}, "2026-09-30 17:00", TimeLimit{1, LimitWorkHours}, "2026-10-01 09:00"},
		{"zero calendar work day", Calendar{}, "2026-03-06 10:00", TimeLimit{1, LimitWorkDays}, "2026-03-09 17:30"},
		// Unsorted, overlapping periods merge into 08:00–12:30 and 13:00–17:00.
		{"merged periods", Calendar{Periods: [][2]int{{13 * 60, 17 * 60}, {8 * 60, 12 * 60}, {11 * 60, 12*60 + 30}}},
			"2026-03-02 12:00", TimeLimit{1, LimitWorkHours}, "2026-03-02 13:30"},
		{"merged periods day end", Calendar{Periods: [][2]int{{13 * 60, 17 * 60}, {8 * 60, 12 * 60}, {11 * 60, 12*60 + 30}}},
			"2026-03-02 12:00", TimeLimit{1, LimitWorkDays}, "2026-03-03 17:00"},
		// Adjacent periods count as one: no gap at 10:00.
		{"adjacent periods", Calendar{Periods: [][2]int{{9 * 60, 10 * 60}, {10 * 60, 11 * 60}}},
			"2026-03-02 09:30", TimeLimit{1, LimitWorkHours}, "2026-03-02 10:30"},
		// Only empty or inverted periods: the defaults apply.
		{"unusable periods", Calendar{Periods: [][2]int{{600, 600}, {700, 650}, {-20, -10}, {1500, 1600}}},
			"2026-03-02 07:00", TimeLimit{1, LimitWorkHours}, "2026-03-02 09:30"},
		// Clamped to the whole day: work hours run round the clock on working days.
		{"whole-day period", Calendar{Periods: [][2]int{{-60, 25 * 60}}},
			"2026-03-06 20:00", TimeLimit{8, LimitWorkHours}, "2026-03-09 04:00"}, // Fri 4 h, Mon 00:00 + 4 h
		{"whole-day period work day ends at midnight", Calendar{Periods: [][2]int{{0, 24 * 60}}},
			"2026-03-02 10:00", TimeLimit{1, LimitWorkDays}, "2026-03-04 00:00"},
		// A date in both maps is a holiday.
		{"holiday wins over workday", Calendar{
			Holidays: map[string]bool{"2026-10-10": true}, Workdays: map[string]bool{"2026-10-10": true}},
			"2026-10-09 17:00", TimeLimit{1, LimitWorkHours}, "2026-10-12 09:00"},
		// A false entry is no entry.
		{"false entries", Calendar{
			Holidays: map[string]bool{"2026-03-03": false}, Workdays: map[string]bool{"2026-03-07": false}},
			"2026-03-02 17:00", TimeLimit{1, LimitWorkHours}, "2026-03-03 09:00"},
		{"custom holiday", Calendar{Holidays: map[string]bool{"2026-03-03": true}},
			"2026-03-02 17:00", TimeLimit{1, LimitWorkHours}, "2026-03-04 09:00"},
		{"limit above the maximum is capped", Calendar{}, "2026-03-02 10:00",
			TimeLimit{MaxLimitValue + 5, LimitHours}, "2027-04-23 02:00"}, // 10000 h = 416 d 16 h
	}
	for _, tt := range tests {
		got := tt.cal.Deadline(utc(tt.start), tt.lim)
		if want := utc(tt.want); !got.Equal(want) {
			t.Errorf("%s: got %s, want %s", tt.name, got.Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
		}
		if got.Location() != time.UTC {
			t.Errorf("%s: result in %s, want UTC", tt.name, got.Location())
		}
	}
}

func TestDeadlineHugeValuesReturn(t *testing.T) {
	cal := DefaultCalendar()
	start := cst(t, "2026-03-02 10:00")
	for _, u := range []LimitUnit{LimitHours, LimitDays, LimitWorkDays, LimitWorkHours} {
		capped := cal.Deadline(start, TimeLimit{MaxLimitValue, u})
		got := cal.Deadline(start, TimeLimit{int(^uint(0) >> 1), u})
		if !got.Equal(capped) || !got.After(start) {
			t.Errorf("%s: huge value gave %s, want the capped %s", u, got, capped)
		}
	}
}

func TestIsWorkday(t *testing.T) {
	cal := DefaultCalendar()
	tests := map[string]bool{
		"2026-03-02": true,  // Monday
		"2026-03-06": true,  // Friday
		"2026-03-07": false, // Saturday
		"2026-03-08": false, // Sunday
		"2026-01-01": false, // 元旦, Thursday
		"2026-01-04": true,  // Sunday, adjusted
		"2026-02-14": true,  // Saturday, adjusted
		"2026-02-23": false, // Monday, Spring Festival
		"2026-02-28": true,  // Saturday, adjusted
		"2026-04-06": false, // Monday, Qingming
		"2026-05-05": false, // Tuesday, Labour Day
		"2026-05-09": true,  // Saturday, adjusted
		"2026-06-19": false, // Friday, Dragon Boat
		"2026-09-20": true,  // Sunday, adjusted
		"2026-09-25": false, // Friday, Mid-Autumn
		"2026-10-07": false, // Wednesday, National Day
		"2026-10-10": true,  // Saturday, adjusted
		"2026-10-11": false, // Sunday
	}
	for day, want := range tests {
		if got := cal.IsWorkday(cst(t, day+" 12:00")); got != want {
			t.Errorf("IsWorkday(%s) = %v, want %v", day, got, want)
		}
	}
	// The date is read in the calendar's zone: 2026-03-06 20:00 UTC is Saturday in Beijing.
	if cal.IsWorkday(time.Date(2026, 3, 6, 20, 0, 0, 0, time.UTC)) {
		t.Error("Friday 20:00 UTC is Saturday 04:00 CST, not a working day")
	}
}

func TestDefaultCalendarData(t *testing.T) {
	cal := DefaultCalendar()
	// 3 + 9 + 3 + 5 + 3 + 3 + 7 days off, 6 adjusted working days.
	if len(cal.Holidays) != 33 || len(cal.Workdays) != 6 {
		t.Fatalf("got %d holidays and %d workdays, want 33 and 6", len(cal.Holidays), len(cal.Workdays))
	}
	for d := range cal.Workdays {
		v, err := time.Parse(time.DateOnly, d)
		if err != nil {
			t.Fatalf("workday %q: %v", d, err)
		}
		if wd := v.Weekday(); wd != time.Saturday && wd != time.Sunday {
			t.Errorf("adjusted workday %s is a %s, not a weekend day", d, wd)
		}
		if cal.Holidays[d] {
			t.Errorf("%s is both a holiday and a workday", d)
		}
	}
	for d := range cal.Holidays {
		if v, err := time.Parse(time.DateOnly, d); err != nil || v.Year() != 2026 {
			t.Errorf("holiday %q is not a 2026 date", d)
		}
	}
	if cal.Location.String() != "CST" {
		t.Errorf("location %s, want CST", cal.Location)
	}
	if ChinaTime() != cal.Location {
		t.Error("ChinaTime is not the default calendar's zone")
	}
	// Fresh maps on every call.
	cal.Holidays["2026-03-02"] = true
	cal.Periods[0][0] = 0
	if other := DefaultCalendar(); other.Holidays["2026-03-02"] || other.Periods[0][0] != 8*60+30 {
		t.Error("DefaultCalendar shares its maps or periods between calls")
	}
}

func TestTimeLimitValidate(t *testing.T) {
	tests := []struct {
		lim   TimeLimit
		field string
	}{
		{TimeLimit{4, LimitWorkHours}, ""},
		{TimeLimit{7, LimitWorkDays}, ""},
		{TimeLimit{1, LimitHours}, ""},
		{TimeLimit{MaxLimitValue, LimitDays}, ""},
		{TimeLimit{0, LimitDays}, "limit.value"},
		{TimeLimit{-1, LimitHours}, "limit.value"},
		{TimeLimit{MaxLimitValue + 1, LimitDays}, "limit.value"},
		{TimeLimit{4, "weeks"}, "limit.unit"},
		{TimeLimit{4, ""}, "limit.unit"},
		{TimeLimit{0, ""}, "limit.unit"},
	}
	for _, tt := range tests {
		err := tt.lim.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.lim, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Code != CodeInvalidInput || e.Field != tt.field {
			t.Errorf("%+v: got %v, want invalid_input on %s", tt.lim, err, tt.field)
		}
	}
	for _, u := range []LimitUnit{LimitHours, LimitWorkHours, LimitWorkDays, LimitDays} {
		if !u.Valid() {
			t.Errorf("%s not valid", u)
		}
	}
}

// oracleWorkday restates the working-day rule independently of IsWorkday.
func oracleWorkday(cal Calendar, y int, m time.Month, d int) bool {
	key := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	switch {
	case cal.Holidays[key]:
		return false
	case cal.Workdays[key]:
		return true
	}
	wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
	return wd >= time.Monday && wd <= time.Friday
}

// oracleWorkHours walks minute by minute from a whole-minute start and returns
// the end of the n*60-th working minute (default periods).
func oracleWorkHours(cal Calendar, start time.Time, n int) time.Time {
	m := start
	for count := 0; count < n*60; m = m.Add(time.Minute) {
		y, mo, d := m.Date()
		mod := m.Hour()*60 + m.Minute()
		inPeriod := (mod >= 8*60+30 && mod < 12*60) || (mod >= 13*60+30 && mod < 17*60+30)
		if inPeriod && oracleWorkday(cal, y, mo, d) {
			count++
		}
	}
	return m
}

var fuzzUnits = []LimitUnit{LimitHours, LimitWorkHours, LimitWorkDays, LimitDays, "bogus"}

func FuzzDeadline(f *testing.F) {
	base := time.Date(2025, 12, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600)).Unix()
	for _, s := range []string{"2026-02-13 15:00", "2026-09-30 16:00", "2026-10-09 17:00", "2025-12-31 17:00",
		"2026-03-07 10:00", "2026-03-02 12:00"} {
		f.Add(cst(f, s).Unix()-base, int64(3600), int16(4), uint8(1))
		f.Add(cst(f, s).Unix()-base, int64(86400), int16(3), uint8(2))
	}
	f.Add(int64(0), int64(0), int16(0), uint8(0))
	f.Add(int64(-1), int64(59), int16(-5), uint8(4))
	cal := DefaultCalendar()
	const span = 430 * 86400 // 2025-12-01 .. early 2027: all of the 2026 data and a margin
	f.Fuzz(func(t *testing.T, off, delta int64, value int16, unit uint8) {
		s1 := time.Unix(base+mod(off, span), 0).In(cal.Location)
		s2 := s1.Add(time.Duration(mod(delta, 40*86400)) * time.Second)
		v := int(value) % 400
		lim := TimeLimit{v, fuzzUnits[int(unit)%len(fuzzUnits)]}

		d1, d2 := cal.Deadline(s1, lim), cal.Deadline(s2, lim)
		if d1.Before(s1) {
			t.Fatalf("Deadline(%s, %+v) = %s is before the start", s1, lim, d1)
		}
		if d2.Before(d1) {
			t.Fatalf("not monotonic for %+v: start %s gives %s, later start %s gives %s", lim, s1, d1, s2, d2)
		}
		if v <= 0 || !lim.Unit.Valid() {
			if !d1.Equal(s1) {
				t.Fatalf("Deadline(%s, %+v) = %s, want the start", s1, lim, d1)
			}
			return
		}
		switch lim.Unit {
		case LimitHours:
			if d1.Sub(s1) != time.Duration(v)*time.Hour {
				t.Fatalf("hours: %s → %s", s1, d1)
			}
		case LimitDays:
			if d1.Sub(s1) != time.Duration(v)*24*time.Hour {
				t.Fatalf("days: %s → %s", s1, d1)
			}
		case LimitWorkDays:
			if d1.Hour() != 17 || d1.Minute() != 30 || d1.Second() != 0 {
				t.Fatalf("work days: %s → %s is not at 17:30", s1, d1)
			}
			// Exactly v working days after the start date, the last one the deadline's date.
			y, m, d := s1.Date()
			n, day := 0, time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			dy, dm, dd := d1.Date()
			last := time.Date(dy, dm, dd, 0, 0, 0, 0, time.UTC)
			for day.Before(last) {
				day = day.AddDate(0, 0, 1)
				if oracleWorkday(cal, day.Year(), day.Month(), day.Day()) {
					n++
				}
			}
			if n != v || !oracleWorkday(cal, dy, dm, dd) {
				t.Fatalf("work days: %s + %d → %s spans %d working days", s1, v, d1, n)
			}
		case LimitWorkHours:
			if v > 24 {
				return // the minute walk is slow; small limits cover every path
			}
			st := s1.Truncate(time.Minute)
			if got, want := cal.Deadline(st, lim), oracleWorkHours(cal, st, v); !got.Equal(want) {
				t.Fatalf("work hours: %s + %d → %s, minute walk says %s", st, v, got, want)
			}
		}
	})
}

func mod(a, n int64) int64 {
	r := a % n
	if r < 0 {
		r += n
	}
	return r
}
