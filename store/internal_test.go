package store

import (
	"reflect"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/schema"
)

// TestColumnLists keeps the hand-written column lists of the fast path in
// step with the row types GORM maps.
func TestColumnLists(t *testing.T) {
	for _, tc := range []struct {
		model any
		cols  []string
	}{
		{&caseRow{}, caseCols},
		{&historyRow{}, historyCols},
		{&photoRow{}, photoCols},
		{&outcomeRow{}, outcomeCols},
		{&exitRow{}, append([]string{"id"}, exitCols...)},
		{&deviceRow{}, append(slices.Clone(deviceCols), "pending_acks")}, // pending_acks is computed, not stored
	} {
		s, err := schema.Parse(tc.model, &gosync.Map{}, schema.NamingStrategy{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.DBNames, tc.cols) {
			t.Errorf("%s: GORM columns %v\nfast path columns %v", s.Table, s.DBNames, tc.cols)
		}
	}
	var r caseRow
	if n := len(r.fields()); n != len(caseCols) {
		t.Errorf("caseRow.fields has %d pointers for %d columns", n, len(caseCols))
	}
	if n := len(r.values(nil)); n != len(caseCols) {
		t.Errorf("caseRow.values has %d values for %d columns", n, len(caseCols))
	}
	var h historyRow
	if len(h.fields()) != len(historyCols) || len(h.values(nil)) != len(historyCols)-1 {
		t.Errorf("historyRow fields/values do not match historyCols")
	}
	var o outcomeRow
	if len(o.values(nil)) != len(outcomeCols) {
		t.Errorf("outcomeRow.values does not match outcomeCols")
	}
	var e exitRow
	if len(e.values(nil)) != len(exitCols) {
		t.Errorf("exitRow.values does not match exitCols")
	}
	// Each field of caseRow travels through values and fields to itself:
	// set one field at a time and read it back.
	rt := reflect.TypeOf(caseRow{})
	for k := range rt.NumField() {
		var row caseRow
		setNonZero(t, reflect.ValueOf(&row).Elem().Field(k))
		vals := row.values(nil)
		var back caseRow
		for i, p := range back.fields() {
			v := reflect.ValueOf(vals[i])
			if f := reflect.ValueOf(p).Elem(); v.Kind() == reflect.Pointer && f.Kind() != reflect.Pointer {
				v = v.Elem() // a value field travels as a pointer to it
			}
			reflect.ValueOf(p).Elem().Set(v)
		}
		if back != row {
			t.Errorf("caseRow.%s does not round-trip through values and fields", rt.Field(k).Name)
		}
	}
}

func setNonZero(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Interface().(type) {
	case uuid.UUID:
		v.Set(reflect.ValueOf(uuid.New()))
	case string:
		v.SetString("x")
	case float64:
		v.SetFloat(1.5)
	case int, int64:
		v.SetInt(7)
	case bool:
		v.SetBool(true)
	case time.Time:
		v.Set(reflect.ValueOf(time.Unix(1, 0)))
	case *float64:
		f := 2.5
		v.Set(reflect.ValueOf(&f))
	case *time.Time:
		tm := time.Unix(2, 0)
		v.Set(reflect.ValueOf(&tm))
	default:
		t.Fatalf("unexpected field type %s", v.Type())
	}
}
