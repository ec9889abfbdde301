package models

import (
	"math"
	"testing"

	"github.com/google/uuid"
)

func TestPathWithin(t *testing.T) {
	tests := []struct {
		p, prefix string
		want      bool
	}{
		{"370402", "370402", true},
		{"370402/370402101", "370402", true},
		{"370402/370402101/370402101001", "370402/370402101", true},
		{"370402/370402101/370402101001/37040210100101", "370402/370402101/370402101001", true},
		// A sibling whose code merely starts with the prefix is not below it.
		{"3704020010/x", "370402001", false},
		{"3704020010", "370402001", false},
		{"370402/3704021010", "370402/370402101", false},
		// The parent is not within the child.
		{"370402", "370402/370402101", false},
		// Prefix of a later segment does not count.
		{"370402/370402101", "370402101", false},
		// An empty prefix covers nothing, so a user with no org path sees nothing by org.
		{"370402", "", false},
		{"", "", false},
		{"", "370402", false},
	}
	for _, tt := range tests {
		if got := PathWithin(tt.p, tt.prefix); got != tt.want {
			t.Errorf("PathWithin(%q, %q) = %v, want %v", tt.p, tt.prefix, got, tt.want)
		}
	}
}

func TestScopeFor(t *testing.T) {
	id := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	grids := []string{"37040210100101", "37040210100102"}
	tests := []struct {
		name  string
		user  User
		grids []string
		want  Scope
	}{
		{"admin", User{ID: id, Role: RoleAdmin, OrgPath: "370402/370402101"}, grids, Scope{All: true}},
		{"supervisor district", User{ID: id, Role: RoleSupervisor, OrgPath: "370402"}, nil, Scope{All: true}},
		{"supervisor no org", User{ID: id, Role: RoleSupervisor}, nil, Scope{All: true}},
		{"supervisor town", User{ID: id, Role: RoleSupervisor, OrgPath: "370402/370402101"}, nil,
			Scope{OrgPrefixes: []string{"370402/370402101"}}},
		{"clerk district", User{ID: id, Role: RoleClerk, OrgPath: "370402"}, grids, Scope{All: true}},
		{"clerk town", User{ID: id, Role: RoleClerk, OrgPath: "370402/370402101"}, grids,
			Scope{OrgPrefixes: []string{"370402/370402101"}}},
		{"inspector town", User{ID: id, Role: RoleInspector, OrgPath: "370402/370402101"}, grids,
			Scope{OrgPrefixes: []string{"370402/370402101"}, ReporterID: id}},
		// An inspector's org path is used as is, even at district level: they see the district.
		{"inspector district", User{ID: id, Role: RoleInspector, OrgPath: "370402"}, nil,
			Scope{OrgPrefixes: []string{"370402"}, ReporterID: id}},
		{"inspector no org", User{ID: id, Role: RoleInspector}, nil, Scope{ReporterID: id}},
		// Grid workers also see what they reported, so an ask_more reaches them even
		// when the point fell outside their grids.
		{"grid worker", User{ID: id, Role: RoleGridWorker, OrgPath: "370402/370402101"}, grids,
			Scope{Grids: grids, ReporterID: id}},
		{"grid worker no grids", User{ID: id, Role: RoleGridWorker, OrgPath: "370402"}, nil, Scope{ReporterID: id}},
		{"unit handler", User{ID: id, Role: RoleUnitHandler, UnitID: "hw-01", OrgPath: "370402"}, grids,
			Scope{UnitIDs: []string{"hw-01"}}},
		{"unit handler no unit", User{ID: id, Role: RoleUnitHandler}, grids, Scope{}},
		{"unknown role", User{ID: id, Role: "mayor", OrgPath: "370402"}, grids, Scope{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ScopeFor(tt.user, tt.grids)
			if got.Fingerprint() != tt.want.Fingerprint() || got.All != tt.want.All ||
				!sameStrings(got.OrgPrefixes, tt.want.OrgPrefixes) || !sameStrings(got.Grids, tt.want.Grids) ||
				!sameStrings(got.UnitIDs, tt.want.UnitIDs) || got.ReporterID != tt.want.ReporterID {
				t.Errorf("ScopeFor = %+v, want %+v", got, tt.want)
			}
			if got.Empty() != tt.want.Empty() {
				t.Errorf("Empty() = %v, want %v", got.Empty(), tt.want.Empty())
			}
		})
	}
}

func TestScopeForClonesGrids(t *testing.T) {
	grids := []string{"37040210100101"}
	s := ScopeFor(User{Role: RoleGridWorker}, grids)
	grids[0] = "changed"
	if s.Grids[0] != "37040210100101" {
		t.Fatalf("ScopeFor kept the caller's slice: %v", s.Grids)
	}
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScopeCovers(t *testing.T) {
	me := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	other := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	inTown := &Case{OrgPath: "370402/370402001/370402001001", GridCode: "37040200100101", UnitID: "hw-01", ReporterID: other}
	sibling := &Case{OrgPath: "370402/3704020010/3704020010001", GridCode: "37040200100102", UnitID: "hw-02", ReporterID: other}
	mine := &Case{OrgPath: "370402/370402101/370402101001", ReporterID: me}
	noGrid := &Case{OrgPath: "370402/370402101", ReporterID: other}

	town := Scope{OrgPrefixes: []string{"370402/370402001"}}
	tests := []struct {
		name  string
		scope Scope
		c     *Case
		want  bool
	}{
		{"nil case", Scope{All: true}, nil, false},
		{"all", Scope{All: true}, sibling, true},
		{"empty scope", Scope{}, inTown, false},
		{"empty scope, case with empty fields", Scope{}, &Case{}, false},
		{"org prefix covers descendant", town, inTown, true},
		{"org prefix does not cover sibling code", town, sibling, false},
		{"bare sibling prefix", Scope{OrgPrefixes: []string{"370402001"}}, &Case{OrgPath: "3704020010/x"}, false},
		{"org prefix covers itself", town, &Case{OrgPath: "370402/370402001"}, true},
		{"empty org prefix covers nothing", Scope{OrgPrefixes: []string{""}}, inTown, false},
		{"second prefix", Scope{OrgPrefixes: []string{"370402/9", "370402/370402001"}}, inTown, true},
		{"grid", Scope{Grids: []string{"37040200100101"}}, inTown, true},
		{"other grid", Scope{Grids: []string{"37040200100101"}}, sibling, false},
		{"empty grid code is never covered by grid", Scope{Grids: []string{""}}, noGrid, false},
		{"unit", Scope{UnitIDs: []string{"hw-01"}}, inTown, true},
		{"other unit", Scope{UnitIDs: []string{"hw-01"}}, sibling, false},
		{"undispatched case not covered by empty unit", Scope{UnitIDs: []string{""}}, noGrid, false},
		{"reporter", Scope{ReporterID: me}, mine, true},
		{"not reporter", Scope{ReporterID: me}, inTown, false},
		{"nil reporter does not match nil", Scope{Grids: []string{"x"}}, &Case{}, false},
		{"inspector: own case outside org", Scope{OrgPrefixes: []string{"370402/370402001"}, ReporterID: me}, mine, true},
		{"inspector: other's case outside org", Scope{OrgPrefixes: []string{"370402/370402001"}, ReporterID: me}, noGrid, false},
	}
	for _, tt := range tests {
		if got := tt.scope.Covers(tt.c); got != tt.want {
			t.Errorf("%s: Covers = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestScopeForCovers checks the visibility table of Scope's doc comment end to
// end: the scope each role derives covers exactly the cases it should.
func TestScopeForCovers(t *testing.T) {
	me := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	other := uuid.MustParse("01900000-0000-7000-8000-000000000002")
	townA := "370402/370402101"
	caseA := &Case{OrgPath: townA + "/370402101001", GridCode: "37040210100101", UnitID: "hw-01", ReporterID: other}
	caseB := &Case{OrgPath: "370402/370402102/370402102001", GridCode: "37040210200101", UnitID: "hw-02", ReporterID: other}
	ownB := &Case{OrgPath: "370402/370402102/370402102002", ReporterID: me}
	tests := []struct {
		user               User
		grids              []string
		wantA, wantB, wOwn bool
	}{
		{User{ID: me, Role: RoleAdmin}, nil, true, true, true},
		{User{ID: me, Role: RoleSupervisor, OrgPath: "370402"}, nil, true, true, true},
		{User{ID: me, Role: RoleSupervisor, OrgPath: townA}, nil, true, false, false},
		{User{ID: me, Role: RoleClerk, OrgPath: townA}, nil, true, false, false},
		{User{ID: me, Role: RoleInspector, OrgPath: townA}, nil, true, false, true},
		{User{ID: me, Role: RoleGridWorker, OrgPath: townA}, []string{"37040210100101"}, true, false, true},
		{User{ID: me, Role: RoleGridWorker, OrgPath: townA}, nil, false, false, true},
		{User{ID: me, Role: RoleUnitHandler, UnitID: "hw-02"}, nil, false, true, false},
	}
	for _, tt := range tests {
		s := ScopeFor(tt.user, tt.grids)
		if got := [3]bool{s.Covers(caseA), s.Covers(caseB), s.Covers(ownB)}; got != [3]bool{tt.wantA, tt.wantB, tt.wOwn} {
			t.Errorf("%s %q grids %v: covers (A, B, own) = %v, want %v", tt.user.Role, tt.user.OrgPath, tt.grids,
				got, [3]bool{tt.wantA, tt.wantB, tt.wOwn})
		}
	}
}

func TestScopeFingerprint(t *testing.T) {
	me := uuid.MustParse("01900000-0000-7000-8000-000000000001")
	tests := []struct {
		scope Scope
		want  string
	}{
		{Scope{All: true}, "all"},
		// All wins over everything else: the other clauses add nothing.
		{Scope{All: true, Grids: []string{"g"}, ReporterID: me}, "all"},
		{Scope{}, "|||"},
		{Scope{OrgPrefixes: []string{"370402/370402101"}}, "370402/370402101|||"},
		{Scope{OrgPrefixes: []string{"b", "a"}}, "a,b|||"},
		{Scope{Grids: []string{"g2", "g1"}}, "|g1,g2||"},
		{Scope{UnitIDs: []string{"hw-01"}}, "||hw-01|"},
		{Scope{OrgPrefixes: []string{"370402"}, ReporterID: me}, "370402|||" + me.String()},
		{Scope{ReporterID: me}, "|||" + me.String()},
	}
	for _, tt := range tests {
		if got := tt.scope.Fingerprint(); got != tt.want {
			t.Errorf("Fingerprint(%+v) = %q, want %q", tt.scope, got, tt.want)
		}
	}

	// The same value in a different clause is a different scope.
	distinct := []Scope{
		{}, {All: true}, {OrgPrefixes: []string{"x"}}, {Grids: []string{"x"}}, {UnitIDs: []string{"x"}},
		{ReporterID: me}, {OrgPrefixes: []string{"x"}, ReporterID: me}, {Grids: []string{"x", "y"}},
		{Grids: []string{"x"}, UnitIDs: []string{"y"}},
	}
	seen := map[string]int{}
	for i, s := range distinct {
		fp := s.Fingerprint()
		if j, ok := seen[fp]; ok {
			t.Errorf("scopes %d %+v and %d %+v share fingerprint %q", j, distinct[j], i, s, fp)
		}
		seen[fp] = i
	}

	// Order does not matter, and Fingerprint does not sort the caller's slice.
	grids := []string{"g3", "g1", "g2"}
	a := Scope{Grids: grids}.Fingerprint()
	b := Scope{Grids: []string{"g1", "g2", "g3"}}.Fingerprint()
	if a != b {
		t.Errorf("fingerprint depends on order: %q vs %q", a, b)
	}
	if grids[0] != "g3" {
		t.Errorf("Fingerprint sorted the caller's slice: %v", grids)
	}
}

func TestLocationValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name  string
		loc   Location
		field string // "" when valid
	}{
		{"zaozhuang", Location{Lat: 34.81, Lon: 117.32, Accuracy: 5}, ""},
		{"origin", Location{}, ""},
		{"north pole, date line", Location{Lat: 90, Lon: 180}, ""},
		{"south pole, date line", Location{Lat: -90, Lon: -180}, ""},
		{"lat 91", Location{Lat: 91, Lon: 117}, "location.lat"},
		{"lat -91", Location{Lat: -91, Lon: 117}, "location.lat"},
		{"lat just over", Location{Lat: math.Nextafter(90, 91), Lon: 117}, "location.lat"},
		{"lat NaN", Location{Lat: nan, Lon: 117}, "location.lat"},
		{"lat +Inf", Location{Lat: inf, Lon: 117}, "location.lat"},
		{"lat -Inf", Location{Lat: -inf, Lon: 117}, "location.lat"},
		{"lon 181", Location{Lat: 34, Lon: 181}, "location.lon"},
		{"lon -181", Location{Lat: 34, Lon: -181}, "location.lon"},
		{"lon NaN", Location{Lat: 34, Lon: nan}, "location.lon"},
		{"lon Inf", Location{Lat: 34, Lon: inf}, "location.lon"},
		{"negative accuracy", Location{Lat: 34, Lon: 117, Accuracy: -1}, "location.accuracy"},
		{"tiny negative accuracy", Location{Lat: 34, Lon: 117, Accuracy: -math.SmallestNonzeroFloat64}, "location.accuracy"},
		{"NaN accuracy", Location{Lat: 34, Lon: 117, Accuracy: nan}, "location.accuracy"},
		{"Inf accuracy", Location{Lat: 34, Lon: 117, Accuracy: inf}, "location.accuracy"},
		// Latitude is checked first.
		{"both bad", Location{Lat: 91, Lon: 181}, "location.lat"},
	}
	for _, tt := range tests {
		err := tt.loc.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%s: Validate() = %v, want *Error", tt.name, err)
			continue
		}
		if e.Code != CodeInvalidLocation || e.Field != tt.field {
			t.Errorf("%s: Validate() = code %s field %q, want %s %q", tt.name, e.Code, e.Field, CodeInvalidLocation, tt.field)
		}
	}
}
