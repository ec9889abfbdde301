package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// A packed select reads a row of many columns from SQLite as a few values.
//
// mattn/go-sqlite3 makes two or three cgo calls per column of every row
// (the value's type, its length, its bytes), and on this kind of machine a
// cgo call costs more than what it fetches: on a pull page of a thousand
// cases and their photos, the per-column calls took a third of the server's
// CPU and SQLite's own work a sixth. A packed select asks SQLite for all the
// non-REAL columns of a row as one text, each value prefixed by its length
// in bytes:
//
//	concat(octet_length(a), ':', a, octet_length(b), ':', b, …)
//
// so "3:abc" is 'abc', "0:" the empty string, and ":" NULL (octet_length and
// concat both read NULL as nothing). Integers come as their decimal text.
// REAL columns are selected on their own, as the text SQLite would render
// of a double is not always the double. unpack assigns the values to the
// row's fields as database/sql's Scan would have.
type packedSelect struct {
	list  string  // the select list
	texts [][]int // per packed column, the indexes of the fields it holds
	reals []int   // fields read on their own, in select order
}

// maxPackedPerConcat keeps each concat() within SQLite's default limit of
// 127 function arguments (three per column).
const maxPackedPerConcat = 40

// newPackedSelect returns the packed select of cols (qualified by alias when
// it is not ""), whose Scan destinations are fields (a row's fields()).
func newPackedSelect(cols []string, fields []any, alias string) *packedSelect {
	ps := &packedSelect{}
	var parts, group []string
	var idx []int
	flush := func() {
		if len(idx) > 0 {
			parts = append(parts, "concat("+strings.Join(group, ", ")+")")
			ps.texts = append(ps.texts, idx)
			group, idx = nil, nil
		}
	}
	var reals []string
	for i, c := range cols {
		if alias != "" {
			c = alias + "." + c
		}
		switch fields[i].(type) {
		case *float64, **float64:
			ps.reals = append(ps.reals, i)
			reals = append(reals, c)
			continue
		}
		group = append(group, "octet_length("+c+"), ':', "+c)
		idx = append(idx, i)
		if len(idx) == maxPackedPerConcat {
			flush()
		}
	}
	flush()
	ps.list = strings.Join(append(parts, reals...), ", ")
	return ps
}

// packedScanner scans the rows of one packed select, reusing its buffers
// from row to row.
type packedScanner struct {
	ps     *packedSelect
	packed []string
	dest   []any
}

func (ps *packedSelect) scanner() *packedScanner {
	sc := &packedScanner{ps: ps, packed: make([]string, len(ps.texts)), dest: make([]any, len(ps.texts)+len(ps.reals))}
	for i := range sc.packed {
		sc.dest[i] = &sc.packed[i]
	}
	return sc
}

// scan reads the current row of rows into fields.
func (sc *packedScanner) scan(rows *sql.Rows, fields []any) error {
	n := len(sc.packed)
	for k, i := range sc.ps.reals {
		sc.dest[n+k] = fields[i]
	}
	if err := rows.Scan(sc.dest...); err != nil {
		return err
	}
	for k, idx := range sc.ps.texts {
		if err := unpack(sc.packed[k], idx, fields); err != nil {
			return err
		}
	}
	return nil
}

var errPacked = errors.New("store: malformed packed row")

// unpack assigns the length-prefixed values of s to fields[idx[0]],
// fields[idx[1]], …
func unpack(s string, idx []int, fields []any) error {
	for _, i := range idx {
		colon := strings.IndexByte(s, ':')
		if colon < 0 {
			return errPacked
		}
		if colon == 0 {
			s = s[1:]
			if err := assignPacked(fields[i], "", true); err != nil {
				return err
			}
			continue
		}
		n, err := strconv.Atoi(s[:colon])
		if err != nil || n < 0 || n > len(s)-colon-1 || s[0] == '+' || s[0] == '-' {
			return errPacked
		}
		v := s[colon+1 : colon+1+n]
		s = s[colon+1+n:]
		if err := assignPacked(fields[i], v, false); err != nil {
			return err
		}
	}
	if s != "" {
		return errPacked
	}
	return nil
}

// assignPacked stores v (a column's text; null for NULL) in dst as
// database/sql's Scan stores the value mattn/go-sqlite3 returns for it: a
// string for TEXT, an int64 for INTEGER (and so for booleans), a time.Time
// parsed from the text of a TIMESTAMP column. One case differs: a TIMESTAMP
// column holding a number (the store writes times as text) is an error,
// where mattn would read an INTEGER as a Unix time.
func assignPacked(dst any, v string, null bool) error {
	switch d := dst.(type) {
	case *string:
		if null {
			return errNullInto("string")
		}
		*d = v
	case **string:
		if null {
			*d = nil
		} else {
			s := v // a copy, so that v does not escape on every call
			*d = &s
		}
	case *uuid.UUID:
		// As uuid.UUID.Scan (which would box v): NULL and "" leave the
		// nil UUID.
		if null || v == "" {
			return nil
		}
		u, err := uuid.Parse(v)
		if err != nil {
			return fmt.Errorf("Scan: %v", err)
		}
		*d = u
	case *int64:
		if null {
			return errNullInto("int64")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("store: packed integer %q: %w", v, err)
		}
		*d = n
	case *int:
		if null {
			return errNullInto("int")
		}
		n, err := strconv.ParseInt(v, 10, strconv.IntSize)
		if err != nil {
			return fmt.Errorf("store: packed integer %q: %w", v, err)
		}
		*d = int(n)
	case *bool:
		switch {
		case null:
			return errNullInto("bool")
		case v == "1":
			*d = true
		case v == "0":
			*d = false
		default:
			// mattn reads an INTEGER in a BOOLEAN column as n > 0, and Scan
			// a text as strconv.ParseBool does.
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				*d = n > 0
				return nil
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("store: packed boolean %q: %w", v, err)
			}
			*d = b
		}
	case *time.Time:
		if null {
			return errNullInto("time.Time")
		}
		t, err := packedTime(v)
		if err != nil {
			return err
		}
		*d = t
	case **time.Time:
		if null {
			*d = nil
			return nil
		}
		t, err := packedTime(v)
		if err != nil {
			return err
		}
		*d = &t
	default:
		return fmt.Errorf("store: cannot unpack into %T", dst)
	}
	return nil
}

// packedTime parses the text of a TIMESTAMP column; a number is an error.
func packedTime(v string) (time.Time, error) {
	if isNumber(v) {
		return time.Time{}, fmt.Errorf("store: packed time %q is a number", v)
	}
	return parseSQLiteTime(v), nil
}

// isNumber reports whether v is how SQLite renders a number (a column of
// NUMERIC affinity, as TIMESTAMP is, stores numeric text as a number).
func isNumber(v string) bool {
	if v == "" || strings.Trim(v, "0123456789+-.e") != "" {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

func errNullInto(typ string) error {
	return fmt.Errorf("store: packed NULL into %s", typ)
}

// parseSQLiteTime parses the text of a TIMESTAMP column as
// mattn/go-sqlite3 does (the first of SQLiteTimestampFormats that parses,
// in UTC, after a trailing "Z" is dropped; the zero time if none does), with
// a fast path for the text it writes for a UTC time.
func parseSQLiteTime(s string) time.Time {
	if t, ok := parseUTCTime(s); ok {
		return t
	}
	s = strings.TrimSuffix(s, "Z")
	for _, f := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.ParseInLocation(f, s, time.UTC); err == nil {
			return t
		}
	}
	return time.Time{}
}

// parseUTCTime parses "2006-01-02 15:04:05.999999999+00:00", the text
// mattn/go-sqlite3 writes for a UTC time, with ok false for anything else
// (including a date that does not exist), which time.Parse then decides.
func parseUTCTime(s string) (time.Time, bool) {
	const tail = "+00:00"
	if len(s) < 19+len(tail) || !strings.HasSuffix(s, tail) {
		return time.Time{}, false
	}
	body := s[:len(s)-len(tail)]
	if body[4] != '-' || body[7] != '-' || body[10] != ' ' || body[13] != ':' || body[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for _, c := range []byte(body[a:b]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := body[19:]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(20, len(body))
		if !ok {
			return time.Time{}, false
		}
		for k := len(frac) - 1; k < 9; k++ {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
