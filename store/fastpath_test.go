package store

import (
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/driver/sqlite"
)

// TestSQLLiteralStoresWhatBindingStores holds sqlLiteral to its contract: for
// every value it turns into a literal, a column written with the literal
// holds the same type and value as one written by binding the value, in
// columns of each affinity the schema uses.
func TestSQLLiteralStoresWhatBindingStores(t *testing.T) {
	db := plainSQLite(t, "CREATE TABLE t (k INTEGER PRIMARY KEY, tx TEXT, i INTEGER, r REAL, b BOOLEAN, ts TIMESTAMP)")
	var nilTime *time.Time
	var nilText *string
	var nilReal *float64
	// Row values travel as pointers to the row's fields (caseRow.values).
	values := []any{nil, "", int64(0), 0, 0.0, false, uuid.Nil, nilText, nilTime, nilReal,
		ptr(""), ptr(int64(0)), ptr(0), ptr(0.0), ptr(false), ptr(uuid.Nil)}
	refused := []any{"x", int64(1), 1, 0.5, true, uuid.New(), time.Time{}, []byte(nil), struct{}{},
		ptr("x"), ptr(int64(1)), ptr(1), ptr(math.Copysign(0, -1)), ptr(true), ptr(uuid.New()), ptr(time.Time{})}
	for _, v := range refused {
		if lit, ok := sqlLiteral(driverValue(v)); ok {
			t.Errorf("sqlLiteral(%#v) = %q: only zero values become literals", v, lit)
		}
	}
	for _, col := range []string{"tx", "i", "r", "b", "ts"} {
		for n, v := range values {
			lit, ok := sqlLiteral(driverValue(v))
			if !ok {
				t.Fatalf("sqlLiteral(%#v) refused a zero value", v)
			}
			if _, err := db.Exec("INSERT INTO t (k, "+col+") VALUES (?, ?), (?, "+lit+")", 2*n, v, 2*n+1); err != nil {
				t.Fatalf("%s %#v: %v", col, v, err)
			}
			var bound, literal string
			q := "SELECT typeof(" + col + ") || ':' || quote(" + col + ") FROM t WHERE k = ?"
			if err := db.QueryRow(q, 2*n).Scan(&bound); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(q, 2*n+1).Scan(&literal); err != nil {
				t.Fatal(err)
			}
			if bound != literal {
				t.Errorf("column %s, value %#v: bound stores %s, literal %s stores %s", col, v, bound, lit, literal)
			}
		}
		if _, err := db.Exec("DELETE FROM t"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRawSamePointers: a row's values are pointers to its fields, so two
// rows' values are the same when they point to equal values (floats to the
// bit, instants in the same location) or are both nil pointers of one type.
func TestRawSamePointers(t *testing.T) {
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	id := uuid.New()
	var nilS, nilS2 *string
	var nilF *float64
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{ptr("x"), ptr("x"), true},
		{ptr("x"), ptr("y"), false},
		{ptr("x"), "x", false}, // a pointer and a value differ in type
		{nilS, nilS2, true},
		{nilS, ptr(""), false},
		{nilS, nilF, false},
		{ptr(id), ptr(id), true},
		{ptr(id), ptr(uuid.New()), false},
		{ptr(int64(3)), ptr(int64(3)), true},
		{ptr(3), ptr(int64(3)), false},
		{ptr(true), ptr(true), true},
		{ptr(0.0), ptr(math.Copysign(0, -1)), false},
		{ptr(math.NaN()), ptr(math.NaN()), true},
		{ptr(1.5), nilF, false},
		{ptr(at), ptr(at), true},
		{ptr(at), ptr(at.In(time.FixedZone("CST", 8*3600))), false},
	} {
		if got := rawSame(tc.a, tc.b); got != tc.want {
			t.Errorf("rawSame(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		da, db := driverValue(tc.a), driverValue(tc.b)
		if tc.want && !rawSame(da, db) && (da != nil || db != nil) {
			t.Errorf("%#v and %#v are the same but convert to %#v and %#v", tc.a, tc.b, da, db)
		}
	}
}

// plainSQLite opens a SQLite database of its own, without the store, with
// the one table ddl creates.
func plainSQLite(t *testing.T, ddl string) *sql.DB {
	t.Helper()
	db, err := sql.Open(sqlite.DriverName, "file:"+filepath.Join(t.TempDir(), "plain.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(ddl); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestRowsSQLShapes checks the statement shapes: a column is a literal only
// when every row holds the same zero, bound once only when every row holds
// the same other value, and bound per row otherwise.
func TestRowsSQLShapes(t *testing.T) {
	id, dev := uuid.New(), uuid.New()
	at := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	atCST := at.In(time.FixedZone("CST", 8*3600))
	build := func(source string) string { return "INSERT INTO x (a, b, c, d, e) " + source }
	for _, tc := range []struct {
		name     string
		args     []any
		sql      string
		bound    []any
		postgres string
	}{
		{
			name: "literals and per-row values",
			args: []any{
				id, "", int64(0), "a", nil,
				uuid.Nil, "", int64(5), "", nil,
			},
			sql:   "INSERT INTO x (a, b, c, d, e) VALUES (?, '', ?, ?, NULL), (?, '', ?, ?, NULL)",
			bound: []any{id.String(), int64(0), "a", uuid.Nil.String(), int64(5), ""},
		},
		{
			name: "shared values bound once",
			args: []any{
				id, dev, "", at, int64(1),
				uuid.Nil, dev, "", at, int64(2),
				id, dev, "", at, int64(3),
			},
			sql: "INSERT INTO x (a, b, c, d, e) SELECT column1, ?, '', ?, column2 FROM (VALUES (?, ?), (?, ?), (?, ?)) WHERE true",
			bound: []any{dev.String(), at, id.String(), int64(1), uuid.Nil.String(), int64(2),
				id.String(), int64(3)},
		},
		{
			name:  "one row: nothing is shared",
			args:  []any{id, dev, "", at, int64(1)},
			sql:   "INSERT INTO x (a, b, c, d, e) VALUES (?, ?, '', ?, ?)",
			bound: []any{id.String(), dev.String(), at, int64(1)},
		},
		{
			name: "every column shared or literal: bound per row",
			args: []any{
				dev, "", at, at, int64(1),
				dev, "", at, at, int64(1),
			},
			sql:   "INSERT INTO x (a, b, c, d, e) VALUES (?, '', ?, ?, ?), (?, '', ?, ?, ?)",
			bound: []any{dev.String(), at, at, int64(1), dev.String(), at, at, int64(1)},
		},
		{
			name: "zero and negative zero are not one value",
			args: []any{
				int64(1), 0.0, "", "", nil,
				int64(2), math.Copysign(0, -1), "", "", nil,
			},
			sql:   "INSERT INTO x (a, b, c, d, e) VALUES (?, ?, '', '', NULL), (?, ?, '', '', NULL)",
			bound: []any{int64(1), 0.0, int64(2), math.Copysign(0, -1)},
		},
		{
			name: "pointers compare by what they point to",
			args: []any{
				int64(1), ptr("同一"), &at, "", nil,
				int64(2), ptr("同一"), &at, "", nil,
			},
			sql:   "INSERT INTO x (a, b, c, d, e) SELECT column1, ?, ?, '', NULL FROM (VALUES (?), (?)) WHERE true",
			bound: []any{"同一", at, int64(1), int64(2)},
		},
		{
			name: "equal instants in two locations are not one value",
			args: []any{
				int64(1), at, "", "", nil,
				int64(2), atCST, "", "", nil,
			},
			sql:   "INSERT INTO x (a, b, c, d, e) VALUES (?, ?, '', '', NULL), (?, ?, '', '', NULL)",
			bound: []any{int64(1), at, int64(2), atCST},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, bound := shapedRowsSQL("test_shape", 5, tc.args, false, 1, build)
			if q != tc.sql {
				t.Errorf("sql\n got %s\nwant %s", q, tc.sql)
			}
			if len(bound) != len(tc.bound) {
				t.Fatalf("bound %v\nwant %v", bound, tc.bound)
			}
			for i := range bound {
				if !rawSame(bound[i], tc.bound[i]) && bound[i] != tc.bound[i] {
					t.Errorf("arg %d = %#v, want %#v", i, bound[i], tc.bound[i])
				}
			}
			// PostgreSQL binds every value, as it always did.
			q, bound = shapedRowsSQL("test_shape", 5, tc.args, true, 1, build)
			if strings.Contains(q, "''") || strings.Contains(q, "SELECT") || len(bound) != len(tc.args) {
				t.Errorf("postgres: %s with %d args", q, len(bound))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestRowsSQLStoresTheRows inserts rows of every shape through rowsSQL and
// reads them back.
func TestRowsSQLStoresTheRows(t *testing.T) {
	db := plainSQLite(t, "CREATE TABLE x (a TEXT PRIMARY KEY, b TEXT, c INTEGER, d REAL, e TIMESTAMP)")
	at := time.Date(2026, 12, 5, 8, 0, 0, 123000, time.UTC)
	var want []string
	var args []any
	for i := 0; i < minShapedRows+1; i++ {
		b := "同一设备"
		if i == 3 {
			b = "" // one row differs: the column is bound per row
		}
		args = append(args, fmt.Sprintf("id-%d", i), b, int64(i%2), 0.0, at)
		want = append(want, fmt.Sprintf("id-%d|%s|%d|0.0|%s", i, b, i%2, at.Format("2006-01-02 15:04:05.999999999-07:00")))
	}
	q, bound := rowsSQL("test_store", 5, args, false, func(source string) string {
		return "INSERT INTO x (a, b, c, d, e) " + source + " ON CONFLICT (a) DO UPDATE SET b = excluded.b"
	})
	if !strings.Contains(q, "SELECT") {
		t.Fatalf("expected the shared form: %s", q)
	}
	if _, err := db.Exec(q, bound...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	rows, err := db.Query("SELECT a || '|' || b || '|' || c || '|' || quote(d) || '|' || e FROM x ORDER BY a")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRowsSQLBindsSmallBatchesWhole: below minShapedRows rows the statement
// depends on the row count alone, so small pushes add no statements.
func TestRowsSQLBindsSmallBatchesWhole(t *testing.T) {
	args := []any{uuid.Nil, "", int64(0), "same", nil}
	for r := 1; r < minShapedRows; r++ {
		args = append(args, uuid.Nil, "", int64(0), "same", nil)
	}
	build := func(source string) string { return "INSERT INTO x (a, b, c, d, e) " + source }
	q, bound := rowsSQL("test_small", 5, args[:5*(minShapedRows-1)], false, build)
	if strings.Contains(q, "NULL") || strings.Contains(q, "'") || len(bound) != 5*(minShapedRows-1) {
		t.Errorf("%d rows: %s with %d args, want every value bound", minShapedRows-1, q, len(bound))
	}
	q, bound = rowsSQL("test_small", 5, args, false, build)
	if !strings.Contains(q, "NULL") || len(bound) >= len(args) {
		t.Errorf("%d rows: %s with %d args, want the shaped form", minShapedRows, q, len(bound))
	}
}

// TestBatchesAndChunksComeInFewSizes: whatever the number of rows or ids, the
// statements a store call makes have one of a few row counts, so they stay
// prepared; the parts cover every item once, in order, and padding only
// repeats an IN list's last id.
func TestBatchesAndChunksComeInFewSizes(t *testing.T) {
	insertSizes, inSizes := map[int]bool{}, map[int]bool{}
	for n := 1; n <= 1200; n++ {
		next := 0
		if err := batches(n, func(lo, hi int) error {
			if lo != next || hi <= lo || hi > n {
				t.Fatalf("n=%d: part [%d, %d) after %d", n, lo, hi, next)
			}
			if hi-lo >= minShapedRows && !slices.Contains(rowBuckets, hi-lo) {
				t.Fatalf("n=%d: a part of %d rows", n, hi-lo)
			}
			insertSizes[hi-lo] = true
			next = hi
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if next != n {
			t.Fatalf("n=%d: parts end at %d", n, next)
		}
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i
		}
		var got []int
		for _, part := range chunks(ids) {
			if !slices.Contains(rowBuckets, len(part)) {
				t.Fatalf("n=%d: an IN list of %d", n, len(part))
			}
			inSizes[len(part)] = true
			for i, id := range part {
				if len(got) == 0 || id != got[len(got)-1] || i == 0 {
					got = append(got, id)
				}
			}
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("n=%d: chunks hold %v", n, got)
		}
	}
	// The rowBuckets sizes of minShapedRows rows or more, and every size below.
	shaped := 0
	for _, b := range rowBuckets {
		if b >= minShapedRows {
			shaped++
		}
	}
	if len(insertSizes) != shaped+minShapedRows-1 || len(inSizes) != len(rowBuckets) {
		t.Errorf("%d insert sizes, %d IN-list sizes", len(insertSizes), len(inSizes))
	}
}
