package sync

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMergeTable(t *testing.T) {
	cur := map[string]string{"description": "D1", "party": "P1", "address": "A0", "quantity": "5"}
	ch := func(f, o, n string) models.FieldChange { return models.FieldChange{Field: f, Old: o, New: n} }
	tests := []struct {
		name      string
		theirs    []models.FieldChange
		mine      map[string]string
		set       map[string]string
		conflicts []FieldConflict
		parallel  bool
	}{
		{name: "nothing changed on the server: take mine",
			mine: map[string]string{"address": "A1"}, set: map[string]string{"address": "A1"}},
		{name: "other field changed: merge silently, parallel",
			theirs: []models.FieldChange{ch("description", "D0", "D1")},
			mine:   map[string]string{"address": "A1"}, set: map[string]string{"address": "A1"}, parallel: true},
		{name: "same field, different values: server stands, mine set aside",
			theirs:    []models.FieldChange{ch("description", "D0", "D1")},
			mine:      map[string]string{"description": "D2"},
			set:       map[string]string{},
			conflicts: []FieldConflict{{Field: "description", Base: "D0", Kept: "D1", SetAside: "D2"}}},
		{name: "same field, same value: converged, no conflict",
			theirs: []models.FieldChange{ch("description", "D0", "D1")},
			mine:   map[string]string{"description": "D1"}, set: map[string]string{}},
		{name: "changed twice by others: base is the first old value",
			theirs:    []models.FieldChange{ch("party", "P0", "Px"), ch("party", "Px", "P1")},
			mine:      map[string]string{"party": "P9"},
			set:       map[string]string{},
			conflicts: []FieldConflict{{Field: "party", Base: "P0", Kept: "P1", SetAside: "P9"}}},
		{name: "others changed it and back: nothing of theirs to keep",
			theirs: []models.FieldChange{ch("address", "A0", "Ax"), ch("address", "Ax", "A0")},
			mine:   map[string]string{"address": "A5"}, set: map[string]string{"address": "A5"}},
		{name: "mixed: one conflict, one clean, one parallel",
			theirs:    []models.FieldChange{ch("description", "D0", "D1"), ch("quantity", "4", "5")},
			mine:      map[string]string{"description": "D2", "party": "P2"},
			set:       map[string]string{"party": "P2"},
			conflicts: []FieldConflict{{Field: "description", Base: "D0", Kept: "D1", SetAside: "D2"}},
			parallel:  true},
		{name: "clearing a value is a change like any other",
			theirs:    []models.FieldChange{ch("quantity", "", "5")},
			mine:      map[string]string{"quantity": "7"},
			set:       map[string]string{},
			conflicts: []FieldConflict{{Field: "quantity", Base: "", Kept: "5", SetAside: "7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(MergeInput{Current: cur, Theirs: tt.theirs, Mine: tt.mine})
			if !reflect.DeepEqual(got.Set, tt.set) {
				t.Errorf("Set = %v, want %v", got.Set, tt.set)
			}
			if !reflect.DeepEqual(got.Conflicts, tt.conflicts) {
				t.Errorf("Conflicts = %+v, want %+v", got.Conflicts, tt.conflicts)
			}
			if got.Parallel != tt.parallel {
				t.Errorf("Parallel = %v, want %v", got.Parallel, tt.parallel)
			}
			assertNothingLost(t, cur, tt.mine, got)
		})
	}
}

// assertNothingLost checks the merge's promise: every value the client sent
// either stands in the result or is in a conflict record, and every value the
// server had either stands or was replaced by the client's on a field nobody
// else touched.
func assertNothingLost(t *testing.T, cur, mine map[string]string, got MergeResult) {
	t.Helper()
	for f, v := range mine {
		final := cur[f]
		if s, ok := got.Set[f]; ok {
			final = s
		}
		if final == v {
			continue
		}
		found := false
		for _, c := range got.Conflicts {
			if c.Field == f && c.SetAside == v && c.Kept == final {
				found = true
			}
		}
		if !found {
			t.Errorf("client value %s=%q lost", f, v)
		}
		if got.Final[f] != final {
			t.Errorf("Final[%s] = %q, want %q", f, got.Final[f], final)
		}
	}
}

// TestMergeGolden renders worked examples (the ones docs/protocol.md quotes)
// to a golden file. Run with -update after an intended change.
func TestMergeGolden(t *testing.T) {
	cases := []struct {
		Name string
		In   MergeInput
	}{
		{"clerk fixed the address, tablet changed the party", MergeInput{
			Current: map[string]string{"address": "建设路12号", "party": "老王烧烤"},
			Theirs:  []models.FieldChange{{Field: "address", Old: "建设路10号", New: "建设路12号"}},
			Mine:    map[string]string{"party": "王记烧烤"}}},
		{"clerk and tablet both rewrote the description", MergeInput{
			Current: map[string]string{"description": "店外经营，占道约6平方米（核实后）"},
			Theirs:  []models.FieldChange{{Field: "description", Old: "店外经营", New: "店外经营，占道约6平方米（核实后）"}},
			Mine:    map[string]string{"description": "店外经营，已劝导，明日复查"}}},
		{"both wrote the same quantity", MergeInput{
			Current: map[string]string{"quantity": "6"},
			Theirs:  []models.FieldChange{{Field: "quantity", Old: "4", New: "6"}},
			Mine:    map[string]string{"quantity": "6"}}},
	}
	got, err := json.MarshalIndent(func() []any {
		var out []any
		for _, c := range cases {
			out = append(out, map[string]any{"name": c.Name, "in": c.In, "out": Merge(c.In)})
		}
		return out
	}(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "merge.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestMergeGolden -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("merge output differs from %s; run with -update if intended\n%s", path, got)
	}
}

func FuzzMerge(f *testing.F) {
	f.Add("a", "b", "c", "d", true)
	f.Add("", "", "x", "x", false)
	f.Fuzz(func(t *testing.T, base, theirs, mine, other string, touchOther bool) {
		cur := map[string]string{"description": theirs, "party": "p"}
		th := []models.FieldChange{{Field: "description", Old: base, New: theirs}}
		if touchOther {
			th = append(th, models.FieldChange{Field: "party", Old: other, New: "p"})
		}
		in := MergeInput{Current: cur, Theirs: th, Mine: map[string]string{"description": mine}}
		a, b := Merge(in), Merge(in)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("merge is not deterministic")
		}
		assertNothingLost(t, cur, in.Mine, a)
		if len(a.Conflicts) > 0 && (mine == theirs || base == theirs) {
			t.Fatalf("spurious conflict: base=%q theirs=%q mine=%q", base, theirs, mine)
		}
	})
}
