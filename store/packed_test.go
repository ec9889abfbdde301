package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sqlite3 "github.com/mattn/go-sqlite3"
	"pgregory.net/rapid"
)

// TestPackedMatchesScan: a packed select reads every row exactly as a plain
// select and database/sql's Scan do, errors included, for rows of any
// values: texts holding the separator, digits, NUL bytes or invalid UTF-8,
// NULLs, times in any zone and texts in time columns that are no time.
func TestPackedMatchesScan(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "fieldsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Copies of the tables with their declared types (which decide how the
	// driver reads a value) but no constraints, so that any value fits.
	for _, table := range []string{"cases", "photos"} {
		rows, err := db.Query("SELECT name, type FROM pragma_table_info('" + table + "') ORDER BY cid")
		if err != nil {
			t.Fatal(err)
		}
		var defs []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			defs = append(defs, name+" "+typ)
		}
		rows.Close()
		if _, err := db.Exec("CREATE TABLE any_" + table + " (" + strings.Join(defs, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
	}
	text := rapid.OneOf(rapid.SampledFrom([]string{"", ":", "0:", "12:ab", "3:abc", "-1:", ":::", "店外经营", "\x00", "a\x00b",
		"\xff\xfe", nilUUIDText, "true", "F", "2", "2026-02-30 00:00:00+00:00", "2026-12-05 23:19:37.5+00:00"}), rapid.String(), rapid.StringN(0, 2000, -1))
	anyTime := rapid.Custom(func(t *rapid.T) time.Time {
		loc := rapid.SampledFrom([]*time.Location{time.UTC, time.FixedZone("", 8*3600), time.FixedZone("CST", -5*3600)}).Draw(t, "loc")
		return time.Unix(rapid.Int64Range(-1e10, 1e11).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "ns")).In(loc)
	})
	rapid.Check(t, func(rt *rapid.T) {
		for _, tc := range []struct {
			table string
			cols  []string
			ps    *packedSelect
			make  func() []any // a row's fields()
		}{
			{"cases", caseCols, newPackedSelect(caseCols, (&caseRow{}).fields(), ""), func() []any { return (&caseRow{}).fields() }},
			{"photos", photoCols, newPackedSelect(photoCols, (&photoRow{}).fields(), ""), func() []any { return (&photoRow{}).fields() }},
		} {
			// A value of the column's kind, or now and then any text or NULL.
			vals := make([]any, len(tc.cols))
			for i, f := range tc.make() {
				name := tc.table + "." + tc.cols[i]
				switch {
				case rapid.IntRange(0, 19).Draw(rt, name+"/odd") == 0:
					vals[i] = rapid.OneOf(rapid.Just[any](nil), rapid.Map(text, func(s string) any { return s })).Draw(rt, name)
					continue
				}
				switch f.(type) {
				case *string, **string:
					vals[i] = text.Draw(rt, name)
				case *uuid.UUID:
					vals[i] = rapid.SampledFrom([]string{uuid.NewString(), nilUUIDText, ""}).Draw(rt, name)
				case *int64, *int:
					vals[i] = rapid.Int64().Draw(rt, name)
				case *bool:
					vals[i] = rapid.Bool().Draw(rt, name)
				case *float64, **float64:
					vals[i] = rapid.Float64().Draw(rt, name)
				case *time.Time, **time.Time:
					vals[i] = anyTime.Draw(rt, name)
				default:
					rt.Fatalf("no generator for %T", f)
				}
			}
			table := "any_" + tc.table
			if _, err := db.Exec("DELETE FROM " + table); err != nil {
				rt.Fatal(err)
			}
			ph := strings.TrimSuffix(strings.Repeat("?, ", len(tc.cols)), ", ")
			if _, err := db.Exec("INSERT INTO "+table+" ("+strings.Join(tc.cols, ", ")+") VALUES ("+ph+")", vals...); err != nil {
				rt.Fatal(err)
			}
			plain, perr := readOne(db, "SELECT "+strings.Join(tc.cols, ", ")+" FROM "+table, tc.make(), nil)
			packed, kerr := readOne(db, "SELECT "+tc.ps.list+" FROM "+table, tc.make(), tc.ps)
			// The one difference, on purpose: a time column that holds a
			// number (text that looked numeric, stored as one) is an error
			// packed, where mattn reads an INTEGER as a Unix time.
			numericTime := false
			for i, f := range tc.make() {
				switch f.(type) {
				case *time.Time, **time.Time:
					var typ string
					if err := db.QueryRow("SELECT typeof(" + tc.cols[i] + ") FROM " + table).Scan(&typ); err != nil {
						rt.Fatal(err)
					}
					numericTime = numericTime || typ == "integer" || typ == "real"
				}
			}
			if numericTime {
				if kerr == nil {
					rt.Fatalf("%s: a number in a time column unpacked without an error", tc.table)
				}
				continue
			}
			if (perr != nil) != (kerr != nil) {
				rt.Fatalf("%s: Scan error %v, packed error %v (row %v)", tc.table, perr, kerr, vals)
			}
			if perr == nil && !reflect.DeepEqual(plain, packed) {
				for i := range plain {
					if !reflect.DeepEqual(plain[i], packed[i]) {
						rt.Errorf("%s.%s: Scan %#v, packed %#v", tc.table, tc.cols[i], deref1(plain[i]), deref1(packed[i]))
					}
				}
			}
		}
	})
}

// readOne reads the one row of q into fields (through ps when not nil) and
// returns the fields.
func readOne(db *sql.DB, q string, fields []any, ps *packedSelect) ([]any, error) {
	rows, err := db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, sql.ErrNoRows
	}
	if ps != nil {
		err = ps.scanner().scan(rows, fields)
	} else {
		err = rows.Scan(fields...)
	}
	return fields, err
}

func deref1(p any) any { return reflect.ValueOf(p).Elem().Interface() }

// TestUnpackRefusesMalformed: a packed text that does not hold exactly the
// expected values is an error, never a panic or a silent short read.
func TestUnpackRefusesMalformed(t *testing.T) {
	var a, b string
	fields := []any{&a, &b}
	for _, s := range []string{"", "1:a", "1:a1:b1:c", "2:a", "x:a1:b", "+1:a1:b", "-1:a1:b", "1:a:", "99999999999999999999:a1:b", "1:a1b"} {
		if err := unpack(s, []int{0, 1}, fields); err == nil {
			t.Errorf("unpack(%q) = %q, %q and no error", s, a, b)
		}
	}
	if err := unpack("1:a0:", []int{0, 1}, fields); err != nil || a != "a" || b != "" {
		t.Errorf("unpack(1:a0:) = %q, %q, %v", a, b, err)
	}
	var n *string
	if err := unpack(":3:x:y", []int{0, 1}, []any{&n, &b}); err != nil || n != nil || b != "x:y" {
		t.Errorf("unpack(:3:x:y) = %v, %q, %v", n, b, err)
	}
}

// FuzzUnpack: unpack never panics, whatever the text.
func FuzzUnpack(f *testing.F) {
	f.Add("3:abc:")
	f.Add("0:1:x")
	f.Add("2:é")
	f.Fuzz(func(t *testing.T, s string) {
		var a string
		var b *string
		var c int64
		_ = unpack(s, []int{0, 1, 2}, []any{&a, &b, &c})
	})
}

// FuzzParseSQLiteTime: the fast path of parseSQLiteTime gives what
// mattn/go-sqlite3's own parsing gives, for any text.
func FuzzParseSQLiteTime(f *testing.F) {
	for _, s := range []string{"2026-12-05 23:19:37.233892+00:00", "2026-12-05 23:19:37+00:00", "2024-02-29 00:00:00.1+00:00",
		"2026-02-29 00:00:00+00:00", "2026-12-05 24:00:00+00:00", "2026-12-05 23:19:37.+00:00", "2026-12-05T23:19:37Z",
		"2026-12-05 23:19:37.1234567891+00:00", "2026-12-05 23:19:37-05:00", "0000-01-01 00:00:00+00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := time.Time{}
		trimmed := strings.TrimSuffix(s, "Z")
		for _, layout := range sqlite3.SQLiteTimestampFormats {
			if v, err := time.ParseInLocation(layout, trimmed, time.UTC); err == nil {
				want = v
				break
			}
		}
		got := parseSQLiteTime(s)
		if !got.Equal(want) || got.Location().String() != want.Location().String() || !reflect.DeepEqual(got, want) {
			t.Fatalf("parseSQLiteTime(%q) = %v, mattn parses %v", s, got, want)
		}
	})
}

// TestJSONUUIDs: the JSON array idsIn binds on SQLite holds each id's text.
func TestJSONUUIDs(t *testing.T) {
	ids := []uuid.UUID{uuid.Nil, uuid.Must(uuid.NewV7()), uuid.New(), uuid.Max}
	var want []string
	for _, id := range ids {
		want = append(want, `"`+id.String()+`"`)
	}
	if got := jsonUUIDs(ids); got != "["+strings.Join(want, ",")+"]" {
		t.Errorf("jsonUUIDs = %s", got)
	}
	if got := jsonUUIDs(nil); got != "[]" {
		t.Errorf("jsonUUIDs(nil) = %s", got)
	}
}
