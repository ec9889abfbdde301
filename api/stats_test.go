package api_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/server"
	"github.com/google/uuid"
)

// clock is a settable server clock.
type clock struct {
	mu gosync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// startClocked starts a server whose clock is clk, with the fixture district
// and the users the statistics fixture needs. testenv.Start runs on the wall
// clock; the figures below need transitions at known times.
func startClocked(t *testing.T, pg bool, clk *clock) *testenv.Env {
	t.Helper()
	dsn := ""
	if pg {
		dsn = testenv.PostgresDSN(t)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, DSN: dsn, Now: clk.Now,
		ShutdownTimeout: 5 * time.Second, AssumeEvidence: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	<-srv.Ready()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})
	e := &testenv.Env{T: t, Server: srv, URL: "http://" + srv.Addr(), Users: map[string]*testenv.User{}, DSN: dsn, Dir: dir}
	if err := srv.Store.PutRefData(ctx, testenv.RefData(t)); err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadRef(ctx); err != nil {
		t.Fatal(err)
	}
	e.AddUser("admin", models.RoleAdmin, "", "", nil)
	e.AddUser("supervisor", models.RoleSupervisor, testenv.District, "", nil)
	e.AddUser("clerk", models.RoleClerk, testenv.District, "", nil)
	e.AddUser("clerk1", models.RoleClerk, testenv.District+"/"+testenv.Town1, "", nil)
	e.AddUser("inspector1", models.RoleInspector, testenv.District+"/"+testenv.Town1, "", nil)
	e.AddUser("inspector2", models.RoleInspector, testenv.District+"/"+testenv.Town2, "", nil)
	e.AddUser("gw1", models.RoleGridWorker, testenv.District+"/"+testenv.Town1+"/"+testenv.Village1, "", []string{testenv.Grid1})
	e.AddUser("uh1", models.RoleUnitHandler, "", testenv.Unit1, nil)
	e.AddUser("uh2", models.RoleUnitHandler, "", testenv.Unit2, nil)
	return e
}

// cst returns a time in 2026, China time.
func cst(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, models.ChinaTime())
}

// story plays a case's life through the API at known times.
type story struct {
	t   *testing.T
	e   *testenv.Env
	clk *clock
}

func (s story) at(tm time.Time) story { s.clk.Set(tm); return s }

func (s story) act(user string, id uuid.UUID, action string, params map[string]any) {
	s.t.Helper()
	s.e.Act(user, id, action, params)
}

func (s story) photo(user string, id uuid.UUID, stage, typ string) (uuid.UUID, map[string]any) {
	pid := testenv.NewID()
	return pid, map[string]any{"kind": "add_photo", "case_id": id, "photo": map[string]any{
		"id": pid, "stage": stage, "type": typ, "sha256": testenv.FakeSHA(pid.String())}}
}

// push sends device commands and fails unless each applied.
func (s story) push(user string, cmds ...map[string]any) {
	s.t.Helper()
	var out struct {
		Outcomes []struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"outcomes"`
	}
	res := s.e.Push(user, cmds...).Must(s.t, http.StatusOK)
	if err := json.Unmarshal(res.Body, &out); err != nil {
		s.t.Fatal(err)
	}
	for _, o := range out.Outcomes {
		if o.Status != "applied" {
			s.t.Fatalf("push by %s: %s %s", user, o.Status, o.Reason)
		}
	}
}

// done: the inspector fixes the case (after photo, report_done).
func (s story) done(user string, id uuid.UUID) {
	s.t.Helper()
	pid, cmd := s.photo(user, id, "report_done", "after")
	s.push(user, cmd, map[string]any{"kind": "action", "case_id": id, "action": "report_done",
		"params": map[string]any{"disposition": "劝导整改", "photos": []uuid.UUID{pid}}})
}

// selfHandle: the inspector fixes a reported case on the spot.
func (s story) selfHandle(id uuid.UUID) {
	s.t.Helper()
	b, bc := s.photo("inspector1", id, "self_handle", "before")
	a, ac := s.photo("inspector1", id, "self_handle", "after")
	s.push("inspector1", bc, ac, map[string]any{"kind": "action", "case_id": id, "action": "self_handle",
		"params": map[string]any{"photos": []uuid.UUID{b, a}}})
}

// checkPhoto: the grid worker takes the check photo.
func (s story) checkPhoto(id uuid.UUID) {
	s.t.Helper()
	_, cmd := s.photo("gw1", id, "check", "check")
	s.push("gw1", cmd)
}

func deadline(t time.Time) map[string]any {
	return map[string]any{"deadline": t.UTC().Format(time.RFC3339)}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// statsFixture plays, through the API, the district month of the models
// package's hand-worked fixture (models/stats_test.go), with D and G in town
// 2. It returns the case ids by name.
func statsFixture(t *testing.T, e *testenv.Env, clk *clock) map[string]uuid.UUID {
	s := story{t: t, e: e, clk: clk}
	id := map[string]uuid.UUID{}
	report := func(name, user string, loc models.Location, at time.Time) uuid.UUID {
		s.at(at)
		id[name] = e.Report(user, loc, "E0504")
		return id[name]
	}
	hotline := func(name string, at time.Time, qty float64) uuid.UUID {
		s.at(at)
		var res struct {
			Case struct {
				ID uuid.UUID `json:"id"`
			} `json:"case"`
		}
		e.Do("clerk", http.MethodPost, "/api/v1/cases", map[string]any{"category": "E0101", "description": "热线：暴露垃圾 " + name,
			"source": "hotline", "quantity": qty, "location": map[string]any{"lat": testenv.InGrid1.Lat, "lon": testenv.InGrid1.Lon,
				"address": "君山路" + name}}, &res).Must(t, http.StatusCreated)
		id[name] = res.Case.ID
		return res.Case.ID
	}

	// H: all in September; due Sep 20, done Sep 15, closed Sep 16.
	h := report("H", "inspector1", testenv.InGrid1, cst(9, 10, 9, 0))
	s.at(cst(9, 10, 10, 0)).act("clerk", h, "register", deadline(cst(9, 20, 17, 30)))
	s.at(cst(9, 10, 11, 0)).act("clerk", h, "dispatch", with(deadline(cst(9, 20, 17, 30)), "unit_id", testenv.Unit1))
	s.at(cst(9, 15, 9, 0)).done("inspector1", h)
	s.at(cst(9, 15, 10, 0)).act("clerk", h, "send_check", nil)
	s.checkPhoto(h)
	s.at(cst(9, 16, 9, 0)).act("clerk", h, "check_pass", nil)

	// C: reported and returned in September, dispatched again Oct 8, due Oct 20.
	c := report("C", "inspector1", testenv.InGrid1, cst(9, 25, 9, 0))
	s.at(cst(9, 25, 10, 0)).act("clerk", c, "register", deadline(cst(9, 30, 17, 30)))
	s.at(cst(9, 25, 11, 0)).act("clerk", c, "dispatch", with(deadline(cst(9, 30, 17, 30)), "unit_id", testenv.Unit1))
	s.at(cst(9, 26, 9, 0)).act("uh1", c, "return", map[string]any{"reason": "不属于本单位职责"})
	s.at(cst(10, 8, 10, 0)).act("clerk", c, "dispatch", with(deadline(cst(10, 20, 17, 30)), "unit_id", testenv.Unit1))

	// A: done and closed within its deadline (Oct 5 17:30).
	a := report("A", "inspector1", testenv.InGrid1, cst(10, 2, 9, 0))
	s.at(cst(10, 2, 10, 0)).act("clerk", a, "register", deadline(cst(10, 5, 17, 30)))
	s.at(cst(10, 2, 11, 0)).act("clerk", a, "dispatch", with(deadline(cst(10, 5, 17, 30)), "unit_id", testenv.Unit1))
	s.at(cst(10, 4, 9, 0)).done("inspector1", a)
	s.at(cst(10, 4, 10, 0)).act("clerk", a, "send_check", nil)
	s.checkPhoto(a)
	s.at(cst(10, 4, 15, 0)).act("clerk", a, "check_pass", nil)

	// B: done and closed after its deadline (Oct 6 12:00).
	b := report("B", "inspector1", testenv.InGrid1, cst(10, 3, 9, 0))
	s.at(cst(10, 3, 10, 0)).act("clerk", b, "register", deadline(cst(10, 6, 12, 0)))
	s.at(cst(10, 3, 11, 0)).act("clerk", b, "dispatch", with(deadline(cst(10, 6, 12, 0)), "unit_id", testenv.Unit1))
	s.at(cst(10, 8, 9, 0)).done("inspector1", b)
	s.at(cst(10, 8, 10, 0)).act("clerk", b, "send_check", nil)
	s.checkPhoto(b)
	s.at(cst(10, 9, 10, 0)).act("clerk", b, "check_pass", nil)

	// I: due Oct 31, done Nov 1, closed Nov 2.
	i := report("I", "inspector1", testenv.InGrid1, cst(10, 5, 9, 0))
	s.at(cst(10, 5, 10, 0)).act("clerk", i, "register", deadline(cst(10, 31, 17, 30)))
	s.at(cst(10, 6, 9, 0)).act("clerk", i, "dispatch", with(deadline(cst(10, 31, 17, 30)), "unit_id", testenv.Unit1))

	// D (town 2): suspended with its deadline (Oct 15) in October.
	d := report("D", "inspector2", testenv.InGrid2, cst(10, 10, 9, 0))
	s.at(cst(10, 10, 10, 0)).act("clerk", d, "register", deadline(cst(10, 15, 17, 30)))
	s.at(cst(10, 10, 11, 0)).act("clerk", d, "dispatch", with(deadline(cst(10, 15, 17, 30)), "unit_id", testenv.Unit2))
	s.at(cst(10, 12, 9, 0)).act("inspector2", d, "request_suspend", map[string]any{"reason": "当事人外出"})
	s.at(cst(10, 13, 9, 0)).act("supervisor", d, "approve", nil)

	// E: self-handled, check failed (rework, new deadline Oct 14 17:30),
	// fixed again and closed within it.
	ec := report("E", "inspector1", testenv.InGrid1, cst(10, 11, 9, 0))
	s.at(cst(10, 11, 10, 0)).selfHandle(ec)
	s.at(cst(10, 11, 11, 0)).act("clerk", ec, "send_check", nil)
	s.checkPhoto(ec)
	s.at(cst(10, 12, 9, 0)).act("clerk", ec, "check_fail", with(deadline(cst(10, 14, 17, 30)), "reason", "仍有垃圾"))
	s.at(cst(10, 13, 9, 0)).done("inspector1", ec)
	s.at(cst(10, 13, 10, 0)).act("clerk", ec, "send_check", nil)
	s.checkPhoto(ec)
	s.at(cst(10, 14, 10, 0)).act("clerk", ec, "check_pass", nil)

	// J: registered, never dispatched, due Oct 18; 12.5 m² of E0101.
	j := hotline("J", cst(10, 15, 9, 0), 12.5)
	s.at(cst(10, 15, 10, 0)).act("clerk", j, "register", deadline(cst(10, 18, 17, 30)))

	// K: force-closed before registration; 3 m² of E0101.
	k := hotline("K", cst(10, 16, 9, 0), 3)
	s.at(cst(10, 17, 9, 0)).act("supervisor", k, "force_close", map[string]any{"reason": "重复热线，现场已整改"})

	// F: voided as a duplicate.
	f := report("F", "inspector1", testenv.InGrid1, cst(10, 20, 9, 0))
	s.at(cst(10, 20, 10, 0)).act("clerk", f, "void", map[string]any{"reason": "duplicate"})

	// G (town 2): dispatched Oct 28 (due Nov 3), returned Oct 30.
	g := report("G", "inspector2", testenv.InGrid2, cst(10, 28, 9, 0))
	s.at(cst(10, 28, 10, 0)).act("clerk", g, "register", deadline(cst(11, 3, 17, 30)))
	s.at(cst(10, 28, 11, 0)).act("clerk", g, "dispatch", with(deadline(cst(11, 3, 17, 30)), "unit_id", testenv.Unit2))
	s.at(cst(10, 30, 9, 0)).act("uh2", g, "return", map[string]any{"reason": "需城建部门处理"})

	// I, continued in November; L reported in November.
	s.at(cst(11, 1, 9, 0)).done("inspector1", i)
	s.at(cst(11, 1, 10, 0)).act("clerk", i, "send_check", nil)
	s.checkPhoto(i)
	s.at(cst(11, 2, 9, 0)).act("clerk", i, "check_pass", nil)
	report("L", "inspector1", testenv.InGrid1, cst(11, 1, 9, 0))
	return id
}

// statsResp is the part of GET /api/v1/stats the tests read.
type statsResp struct {
	Period struct {
		Label string `json:"label"`
	} `json:"period"`
	Provisional bool         `json:"provisional"`
	Filter      string       `json:"filter"`
	Totals      statsGroup   `json:"totals"`
	Groups      []statsGroup `json:"groups"`
	Definitions []struct {
		Kind string `json:"kind"`
	} `json:"definitions"`
}

type statsGroup struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Filter  string `json:"filter"`
	Metrics []struct {
		Kind           string      `json:"kind"`
		Numerator      int64       `json:"numerator"`
		Denominator    int64       `json:"denominator"`
		Value          *float64    `json:"value"`
		Period         string      `json:"period"`
		Filter         string      `json:"filter"`
		Apart          int         `json:"apart"`
		NumeratorIDs   []uuid.UUID `json:"numerator_ids"`
		DenominatorIDs []uuid.UUID `json:"denominator_ids"`
		ApartIDs       []uuid.UUID `json:"apart_ids"`
		Previous       struct {
			Numerator   int64 `json:"numerator"`
			Denominator int64 `json:"denominator"`
		} `json:"previous"`
		Change *float64 `json:"change"`
	} `json:"metrics"`
	Volumes []struct {
		Category        string      `json:"category"`
		Cases           int64       `json:"cases"`
		Quantity        float64     `json:"quantity"`
		WithoutQuantity int64       `json:"without_quantity"`
		PreviousCases   int64       `json:"previous_cases"`
		CaseIDs         []uuid.UUID `json:"case_ids"`
	} `json:"volumes"`
}

// want is one figure worked out by hand: numerator, denominator and the
// cases behind them (by fixture name).
type want struct {
	num, den       int64
	numIDs, denIDs string // space-separated names
	apart          string
}

func TestStatsFixture(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { statsE2E(t, pg) })
	}
}

func statsE2E(t *testing.T, pg bool) {
	// Office users log in "after" the story, so their sessions are valid at
	// every earlier clock reading.
	clk := &clock{t: cst(12, 1, 9, 0)}
	e := startClocked(t, pg, clk)
	id := statsFixture(t, e, clk)
	clk.Set(cst(12, 1, 9, 0)) // October is over: its figures are final
	names := func(list []uuid.UUID) string {
		var out []string
		for _, x := range list {
			for n, v := range id {
				if v == x {
					out = append(out, n)
				}
			}
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	check := func(where string, g statsGroup, wants map[string]want) {
		t.Helper()
		if len(g.Metrics) != len(models.MetricKinds) {
			t.Fatalf("%s: %d metrics", where, len(g.Metrics))
		}
		for _, m := range g.Metrics {
			w, ok := wants[m.Kind]
			if !ok {
				t.Fatalf("%s: no expectation for %s", where, m.Kind)
			}
			if m.Numerator != w.num || m.Denominator != w.den {
				t.Errorf("%s %s = %d/%d, want %d/%d", where, m.Kind, m.Numerator, m.Denominator, w.num, w.den)
			}
			if got := names(m.NumeratorIDs); got != w.numIDs {
				t.Errorf("%s %s numerator cases = %q, want %q", where, m.Kind, got, w.numIDs)
			}
			if got := names(m.DenominatorIDs); got != w.denIDs {
				t.Errorf("%s %s denominator cases = %q, want %q", where, m.Kind, got, w.denIDs)
			}
			if got := names(m.ApartIDs); got != w.apart || m.Apart != len(m.ApartIDs) {
				t.Errorf("%s %s apart = %q (%d), want %q", where, m.Kind, got, m.Apart, w.apart)
			}
			if (m.Value == nil) != (m.Denominator == 0) || (m.Value != nil && *m.Value != float64(m.Numerator)/float64(m.Denominator)) {
				t.Errorf("%s %s value %v for %d/%d", where, m.Kind, deref(m.Value), m.Numerator, m.Denominator)
			}
		}
	}

	// The whole district in October, worked out by hand (the cases' stories
	// are in statsFixture; the same month is worked through in
	// models/stats_test.go):
	october := map[string]want{
		// Closed in October: A (Oct 4), B (Oct 9), E (Oct 14), K (Oct 17).
		// Due also: registered, due in October, open at its end: C (Oct 20),
		// I (Oct 31), J (Oct 18). D suspended: apart. G is due Nov 3.
		"closure_rate": {4, 7, "A B E K", "A B C E I J K", "D"},
		// On time: A, E, K (no deadline); B closed Oct 9 after Oct 6 12:00.
		"on_time_closure_rate": {3, 7, "A E K", "A B C E I J K", "D"},
		// Reported done in October: A (on time), B (late), E (on time).
		// Waiting for handling, due in October: C, I. D: apart.
		"on_time_handling_rate": {2, 5, "A E", "A B C E I", "D"},
		// Handled in October (report_done or self_handle): A, B, E; E reworked.
		"rework_rate": {1, 3, "E", "A B E", ""},
		// Returns in October: G. Dispatches in October: A B C D G I.
		"return_rate": {1, 6, "G", "A B C D G I", ""},
		// Reported in October: A B D E F G I J K; registered: all but F, K.
		"registration_rate": {7, 9, "A B D E G I J", "A B D E F G I J K", ""},
		// A: Oct 2 11:00 → Oct 4 09:00 = 46 h = 165600 s; B: Oct 3 11:00 →
		// Oct 8 09:00 = 118 h = 424800 s. Sum 590400 s over 2 cases.
		"mean_handling_seconds": {590400, 2, "A B", "A B", ""},
	}
	var all statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats?period=2026-10", nil, &all).Must(t, http.StatusOK)
	if all.Provisional || all.Period.Label != "2026-10" || len(all.Groups) != 0 || len(all.Definitions) != len(models.MetricKinds) {
		t.Errorf("period %q provisional %v groups %d definitions %d", all.Period.Label, all.Provisional, len(all.Groups), len(all.Definitions))
	}
	check("district", all.Totals, october)
	// Month on month: September (H closed on time; C dispatched and
	// returned, H dispatched; C and H reported and registered).
	prev := map[string][2]int64{"closure_rate": {1, 1}, "on_time_closure_rate": {1, 1}, "on_time_handling_rate": {1, 1},
		"rework_rate": {0, 1}, "return_rate": {1, 2}, "registration_rate": {2, 2}, "mean_handling_seconds": {424800, 1}}
	for _, m := range all.Totals.Metrics {
		if p := prev[m.Kind]; p != [2]int64{m.Previous.Numerator, m.Previous.Denominator} {
			t.Errorf("September %s = %d/%d, want %d/%d", m.Kind, m.Previous.Numerator, m.Previous.Denominator, p[0], p[1])
		}
		if m.Kind == "closure_rate" && (m.Change == nil || math.Abs(*m.Change-(4.0/7-1)) > 1e-12) {
			t.Errorf("closure rate change = %v, want 4/7 − 1", deref(m.Change))
		}
	}
	// Volumes: created in October, not voided: E0504 A B D E G I; E0101 J K.
	vols := map[string]string{}
	for _, v := range all.Totals.Volumes {
		vols[v.Category] = names(v.CaseIDs)
		if v.Category == "E0101" && (v.Cases != 2 || v.Quantity != 15.5 || v.WithoutQuantity != 0) {
			t.Errorf("E0101 volume %+v, want 2 cases, 15.5", v)
		}
		if v.Category == "E0504" && (v.Cases != 6 || v.WithoutQuantity != 6 || v.PreviousCases != 2) {
			t.Errorf("E0504 volume %+v, want 6 cases without quantity, 2 in September", v)
		}
	}
	if vols["E0101"] != "J K" || vols["E0504"] != "A B D E G I" {
		t.Errorf("volumes %v", vols)
	}

	// By town: D and G are in town 2, everything else in town 1.
	var byTown statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats?period=2026-10&by=town", nil, &byTown).Must(t, http.StatusOK)
	town1 := map[string]want{
		"closure_rate":          {4, 7, "A B E K", "A B C E I J K", ""},
		"on_time_closure_rate":  {3, 7, "A E K", "A B C E I J K", ""},
		"on_time_handling_rate": {2, 5, "A E", "A B C E I", ""},
		"rework_rate":           october["rework_rate"],
		"return_rate":           {0, 4, "", "A B C I", ""},
		"registration_rate":     {5, 7, "A B E I J", "A B E F I J K", ""},
		"mean_handling_seconds": october["mean_handling_seconds"],
	}
	town2 := map[string]want{
		"closure_rate": {0, 0, "", "", "D"}, "on_time_closure_rate": {0, 0, "", "", "D"},
		"on_time_handling_rate": {0, 0, "", "", "D"}, "rework_rate": {0, 0, "", "", ""},
		"return_rate": {1, 2, "G", "D G", ""}, "registration_rate": {2, 2, "D G", "D G", ""},
		"mean_handling_seconds": {0, 0, "", "", ""},
	}
	if len(byTown.Groups) != 2 || byTown.Groups[0].Key != testenv.Town1 || byTown.Groups[1].Key != testenv.Town2 {
		t.Fatalf("town groups: %+v", byTown.Groups)
	}
	if byTown.Groups[0].Label != "孟庄镇" || !strings.Contains(byTown.Groups[1].Filter, url.QueryEscape(testenv.District+"/"+testenv.Town2)) {
		t.Errorf("town group label %q, filter %q", byTown.Groups[0].Label, byTown.Groups[1].Filter)
	}
	check("town 1", byTown.Groups[0], town1)
	check("town 2", byTown.Groups[1], town2)
	check("totals by town", byTown.Totals, october)

	// By category: J and K are E0101, the rest E0504.
	var byCat statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats?period=2026-10&by=category", nil, &byCat).Must(t, http.StatusOK)
	if len(byCat.Groups) != 2 || byCat.Groups[0].Key != "E0101" || byCat.Groups[1].Key != "E0504" {
		t.Fatalf("category groups: %+v", byCat.Groups)
	}
	check("E0101", byCat.Groups[0], map[string]want{
		"closure_rate": {1, 2, "K", "J K", ""}, "on_time_closure_rate": {1, 2, "K", "J K", ""},
		"on_time_handling_rate": {0, 0, "", "", ""}, "rework_rate": {0, 0, "", "", ""}, "return_rate": {0, 0, "", "", ""},
		"registration_rate": {1, 2, "J", "J K", ""}, "mean_handling_seconds": {0, 0, "", "", ""},
	})
	check("E0504", byCat.Groups[1], map[string]want{
		"closure_rate": {3, 5, "A B E", "A B C E I", "D"}, "on_time_closure_rate": {2, 5, "A E", "A B C E I", "D"},
		"on_time_handling_rate": october["on_time_handling_rate"], "rework_rate": october["rework_rate"],
		"return_rate": october["return_rate"], "registration_rate": {6, 7, "A B D E G I", "A B D E F G I", ""},
		"mean_handling_seconds": october["mean_handling_seconds"],
	})
	if !strings.Contains(byCat.Groups[0].Filter, "category=E0101") {
		t.Errorf("category group filter %q", byCat.Groups[0].Filter)
	}

	// By month: the twelve months ending with October; September and October
	// carry the figures above, the others nothing.
	var byMonth statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats?period=2026-10&by=month&drill=false", nil, &byMonth).Must(t, http.StatusOK)
	if len(byMonth.Groups) != 12 || byMonth.Groups[0].Key != "2025-11" || byMonth.Groups[11].Key != "2026-10" {
		t.Fatalf("month groups: %d", len(byMonth.Groups))
	}
	for _, g := range byMonth.Groups {
		for _, m := range g.Metrics {
			if len(m.NumeratorIDs)+len(m.DenominatorIDs) > 0 {
				t.Errorf("drill=false still lists ids (%s %s)", g.Key, m.Kind)
			}
			w := [2]int64{}
			switch g.Key {
			case "2026-10":
				w = [2]int64{october[m.Kind].num, october[m.Kind].den}
			case "2026-09":
				w = prev[m.Kind]
			}
			if [2]int64{m.Numerator, m.Denominator} != w {
				t.Errorf("month %s %s = %d/%d, want %d/%d", g.Key, m.Kind, m.Numerator, m.Denominator, w[0], w[1])
			}
		}
	}

	// A filter narrows the cases first: town 2 by org path.
	var filtered statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats?period=2026-10&org_path="+url.QueryEscape(testenv.District+"/"+testenv.Town2),
		nil, &filtered).Must(t, http.StatusOK)
	check("org_path town 2", filtered.Totals, town2)
	if !strings.Contains(filtered.Totals.Metrics[0].Filter, "org_path=") {
		t.Errorf("metric filter %q does not name the filter", filtered.Totals.Metrics[0].Filter)
	}

	// Scope: clerk1 works for town 1 and sees town 1's figures, whatever
	// filter they send.
	var scoped statsResp
	e.Do("clerk1", http.MethodGet, "/api/v1/stats?period=2026-10", nil, &scoped).Must(t, http.StatusOK)
	check("clerk1", scoped.Totals, town1)
	var scoped2 statsResp
	e.Do("clerk1", http.MethodGet, "/api/v1/stats?period=2026-10&org_path="+url.QueryEscape(testenv.District+"/"+testenv.Town2),
		nil, &scoped2).Must(t, http.StatusOK)
	check("clerk1 asking for town 2", scoped2.Totals, map[string]want{
		"closure_rate": {0, 0, "", "", ""}, "on_time_closure_rate": {0, 0, "", "", ""},
		"on_time_handling_rate": {0, 0, "", "", ""}, "rework_rate": {0, 0, "", "", ""}, "return_rate": {0, 0, "", "", ""},
		"registration_rate": {0, 0, "", "", ""}, "mean_handling_seconds": {0, 0, "", "", ""},
	})

	// Drill-down: the numerator of the closure rate is a case list.
	closed := all.Totals.Metrics[0].NumeratorIDs
	var list struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	e.Do("supervisor", http.MethodGet, "/api/v1/cases?limit=500&ids="+joinIDs(closed), nil, &list).Must(t, http.StatusOK)
	var got []uuid.UUID
	for _, it := range list.Items {
		got = append(got, it.ID)
	}
	if names(got) != "A B E K" {
		t.Errorf("drill-down lists %q, want A B E K", names(got))
	}
	// The ids filter keeps the scope: clerk1 asking for D and G gets nothing.
	e.Do("clerk1", http.MethodGet, "/api/v1/cases?ids="+joinIDs([]uuid.UUID{id["D"], id["G"], id["A"]}), nil, &list).Must(t, http.StatusOK)
	if len(list.Items) != 1 || list.Items[0].ID != id["A"] {
		t.Errorf("clerk1 drill-down over D, G, A: %+v", list.Items)
	}
	// And the other filters: only the closed ones among A, B, C.
	e.Do("supervisor", http.MethodGet, "/api/v1/cases?state=closed&ids="+joinIDs([]uuid.UUID{id["A"], id["B"], id["C"]}), nil, &list).
		Must(t, http.StatusOK)
	got = got[:0]
	for _, it := range list.Items {
		got = append(got, it.ID)
	}
	if names(got) != "A B" {
		t.Errorf("closed among A B C: %q", names(got))
	}

	// The current month is provisional; bad parameters are refused; field
	// roles get no statistics.
	clk.Set(cst(10, 20, 9, 0))
	var cur statsResp
	e.Do("supervisor", http.MethodGet, "/api/v1/stats", nil, &cur).Must(t, http.StatusOK)
	if cur.Period.Label != "2026-10" || !cur.Provisional {
		t.Errorf("default period %q provisional %v, want the current month, provisional", cur.Period.Label, cur.Provisional)
	}
	for _, q := range []string{"period=2026-13", "period=26", "by=grid", "drill=maybe", "state=nope", "ids=" + id["A"].String()} {
		if r := e.Do("supervisor", http.MethodGet, "/api/v1/stats?"+q, nil, nil).Must(t, http.StatusUnprocessableEntity); r.Problem() != "invalid_input" {
			t.Errorf("%s: code %s", q, r.Problem())
		}
	}
	if r := e.Do("supervisor", http.MethodGet, "/api/v1/cases?ids=x", nil, nil).Must(t, http.StatusUnprocessableEntity); r.Problem() != "invalid_input" {
		t.Errorf("bad ids: %s", r.Problem())
	}
	for _, u := range []string{"inspector1", "uh1", "gw1"} {
		e.Do(u, http.MethodGet, "/api/v1/stats?period=2026-10", nil, nil).Must(t, http.StatusForbidden)
	}
	e.Do("", http.MethodGet, "/api/v1/stats", nil, nil).Must(t, http.StatusUnauthorized)
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func joinIDs(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}
