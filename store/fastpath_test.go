package store

import (
	"database/sql"
	"path/filepath"
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
	db, err := sql.Open(sqlite.DriverName, "file:"+filepath.Join(t.TempDir(), "lit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, tx TEXT, i INTEGER, r REAL, b BOOLEAN, ts TIMESTAMP)"); err != nil {
		t.Fatal(err)
	}
	var nilTime *time.Time
	var nilText *string
	var nilReal *float64
	values := []any{nil, "", int64(0), 0, 0.0, false, uuid.Nil, nilText, nilTime, nilReal}
	refused := []any{"x", int64(1), 1, 0.5, true, uuid.New(), time.Time{}, []byte(nil), struct{}{}}
	for _, v := range refused {
		if lit, ok := sqlLiteral(v); ok {
			t.Errorf("sqlLiteral(%#v) = %q: only zero values become literals", v, lit)
		}
	}
	for _, col := range []string{"tx", "i", "r", "b", "ts"} {
		for n, v := range values {
			lit, ok := sqlLiteral(v)
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

// TestRowsSQLElidesOnlyColumnsZeroInEveryRow checks the statement shape: a
// column is written as a literal only when every row holds the same zero.
func TestRowsSQLElidesOnlyColumnsZeroInEveryRow(t *testing.T) {
	id := uuid.New()
	args := []any{
		id, "", int64(0), "a", nil,
		uuid.Nil, "", int64(5), "", nil,
	}
	build := func(values string) string { return "INSERT INTO x (a, b, c, d, e) VALUES " + values }
	q, bound := rowsSQL("test_shape", 5, args, false, build)
	want := "INSERT INTO x (a, b, c, d, e) VALUES (?, '', ?, ?, NULL), (?, '', ?, ?, NULL)"
	if q != want {
		t.Errorf("sql\n got %s\nwant %s", q, want)
	}
	wantArgs := []any{id.String(), int64(0), "a", uuid.Nil.String(), int64(5), ""}
	if len(bound) != len(wantArgs) {
		t.Fatalf("bound %v, want %v", bound, wantArgs)
	}
	for i := range bound {
		if bound[i] != wantArgs[i] {
			t.Errorf("arg %d = %#v, want %#v", i, bound[i], wantArgs[i])
		}
	}
	// PostgreSQL binds every column, as before.
	q, bound = rowsSQL("test_shape", 5, args, true, build)
	if strings.Contains(q, "''") || len(bound) != len(args) {
		t.Errorf("postgres: %s with %d args", q, len(bound))
	}
}
