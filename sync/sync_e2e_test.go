package sync_test

import (
	"bufio"
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/google/uuid"
)

type outcome struct {
	Seq         int64             `json:"seq"`
	CommandID   uuid.UUID         `json:"command_id"`
	CaseID      uuid.UUID         `json:"case_id"`
	Status      string            `json:"status"`
	Version     int64             `json:"version"`
	Final       map[string]string `json:"final"`
	ConflictIDs []uuid.UUID       `json:"conflict_ids"`
	Code        string            `json:"code"`
	Reason      string            `json:"reason"`
	Hint        string            `json:"hint"`
}

type pushResp struct {
	Outcomes []outcome `json:"outcomes"`
	LastSeq  int64     `json:"last_seq"`
}

type pulledCase struct {
	ID       uuid.UUID `json:"id"`
	State    string    `json:"state"`
	Version  int64     `json:"version"`
	Party    string    `json:"party"`
	GridCode string    `json:"grid_code"`
}

type pullResp struct {
	Cases    []pulledCase `json:"cases"`
	Removals []struct {
		CaseID uuid.UUID `json:"case_id"`
		Reason string    `json:"reason"`
	} `json:"removals"`
	Conflicts []struct {
		ID     uuid.UUID `json:"id"`
		Kind   string    `json:"kind"`
		Status string    `json:"status"`
	} `json:"conflicts"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
	Reset   bool   `json:"reset"`
}

func push(t *testing.T, e *testenv.Env, user string, body any) pushResp {
	t.Helper()
	var out pushResp
	e.Do(user, http.MethodPost, "/api/v1/sync/push", body, &out).Must(t, http.StatusOK)
	return out
}

// pullAll pulls every page after cursor and returns the pages merged.
func pullAll(t *testing.T, e *testenv.Env, user, cursor string) pullResp {
	t.Helper()
	var all pullResp
	for {
		var p pullResp
		e.Do(user, http.MethodGet, "/api/v1/sync/pull?limit=2&cursor="+cursor, nil, &p).Must(t, http.StatusOK)
		all.Cases = append(all.Cases, p.Cases...)
		all.Removals = append(all.Removals, p.Removals...)
		all.Conflicts = append(all.Conflicts, p.Conflicts...)
		all.Reset = all.Reset || p.Reset
		cursor = p.Cursor
		if !p.HasMore {
			all.Cursor = cursor
			return all
		}
	}
}

func cmd(kind string, seq int64, caseID uuid.UUID, extra map[string]any) map[string]any {
	m := map[string]any{"id": testenv.NewID(), "seq": seq, "kind": kind, "case_id": caseID, "client_time": time.Now().UTC()}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func dbName(pg bool) string {
	if pg {
		return "postgres"
	}
	return "sqlite"
}

func both(t *testing.T, fn func(t *testing.T, e *testenv.Env)) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { fn(t, testenv.Start(t, testenv.Options{Postgres: pg})) })
	}
}

// TestReplayChangesNothing: replaying a push batch, whole or in part, returns
// the stored outcomes and leaves the database as it was.
func TestReplayChangesNothing(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		body := map[string]any{"commands": []map[string]any{
			cmd("edit_fields", 100, id, map[string]any{"base_version": 1, "fields": map[string]string{"party": "王记烧烤"}}),
			cmd("add_comment", 101, id, map[string]any{"comment": "已劝导"}),
			cmd("action", 102, id, map[string]any{"action": "check_pass"}), // illegal now: rejected
			cmd("add_comment", 103, id, map[string]any{"comment": "明日复查"}),
		}}
		first := push(t, e, "inspector1", body)
		want := []string{"applied", "applied", "rejected", "applied"}
		for i, o := range first.Outcomes {
			if o.Status != want[i] {
				t.Fatalf("outcome %d = %s (%s), want %s", i, o.Status, o.Reason, want[i])
			}
		}
		if first.Outcomes[2].Code != "illegal_transition" || first.Outcomes[2].Hint == "" {
			t.Errorf("rejected outcome lacks code or hint: %+v", first.Outcomes[2])
		}
		before := e.Dump()
		again := push(t, e, "inspector1", body)
		if !reflect.DeepEqual(first, again) {
			t.Errorf("replay answered differently:\n%+v\n%+v", first, again)
		}
		if after := e.Dump(); after != before {
			t.Errorf("replay changed the database:\n%s\n%s", before, after)
		}
		// A partial replay (the tail) mixed with a new command.
		body2 := map[string]any{"commands": []map[string]any{
			body["commands"].([]map[string]any)[3],
			cmd("add_comment", 104, id, map[string]any{"comment": "新"}),
		}}
		mixed := push(t, e, "inspector1", body2)
		if !reflect.DeepEqual(mixed.Outcomes[0], first.Outcomes[3]) {
			t.Errorf("replayed command answered %+v, want %+v", mixed.Outcomes[0], first.Outcomes[3])
		}
		if mixed.Outcomes[1].Status != "applied" || mixed.LastSeq != 104 {
			t.Errorf("new command after replay: %+v last_seq %d", mixed.Outcomes[1], mixed.LastSeq)
		}
	})
}

// TestOutcomesUntilAck: outcomes stay retrievable until the device acks them.
func TestOutcomesUntilAck(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("gw1", testenv.InGrid1, "E0201")
		push(t, e, "gw1", map[string]any{"commands": []map[string]any{
			cmd("add_comment", 10, id, map[string]any{"comment": "x"}),
			cmd("add_comment", 11, id, map[string]any{"comment": ""}),
		}})
		var list struct {
			Items []outcome `json:"items"`
		}
		e.Do("gw1", http.MethodGet, "/api/v1/sync/outcomes", nil, &list).Must(t, http.StatusOK)
		if len(list.Items) != 4 || list.Items[3].Status != "rejected" || list.Items[3].Code != "invalid_input" {
			t.Fatalf("outcomes before ack = %+v", list.Items)
		}
		e.Do("gw1", http.MethodPost, "/api/v1/sync/ack", map[string]any{"up_to_seq": 10}, nil).Must(t, http.StatusNoContent)
		e.Do("gw1", http.MethodGet, "/api/v1/sync/outcomes", nil, &list).Must(t, http.StatusOK)
		if len(list.Items) != 1 || list.Items[0].Seq != 11 {
			t.Fatalf("outcomes after ack = %+v", list.Items)
		}
		var devs struct {
			Items []struct {
				Name        string `json:"name"`
				PendingAcks int64  `json:"pending_acks"`
				Rejected    int64  `json:"rejected"`
				LastSeq     int64  `json:"last_seq"`
			} `json:"items"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/devices", nil, &devs).Must(t, http.StatusOK)
		found := false
		for _, d := range devs.Items {
			if d.Name == "gw1-tablet" {
				found = true
				if d.PendingAcks != 1 || d.Rejected != 1 || d.LastSeq != 11 {
					t.Errorf("device health = %+v, want 1 pending ack, 1 rejected, last seq 11", d)
				}
			}
		}
		if !found {
			t.Error("gw1-tablet missing from the device list")
		}
	})
}

// TestReassignedCaseLeavesDevice: a case moved out of a grid worker's grids
// is removed from their device on its next pull, and reaches the new grid's.
func TestReassignedCaseLeavesDevice(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		gw1 := pullAll(t, e, "gw1", "")
		if len(gw1.Cases) != 1 || gw1.Cases[0].ID != id || gw1.Cases[0].GridCode != testenv.Grid1 {
			t.Fatalf("gw1 first pull = %+v", gw1.Cases)
		}
		gw2 := pullAll(t, e, "gw2", "")
		if len(gw2.Cases) != 0 {
			t.Fatalf("gw2 sees %+v before the move", gw2.Cases)
		}
		// The clerk corrects the location: the point is in grid 2.
		e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(), map[string]any{"base_version": 1,
			"fields": map[string]string{"lat": "34.8805", "lon": "117.5705"}}, nil).Must(t, http.StatusOK)
		next := pullAll(t, e, "gw1", gw1.Cursor)
		if len(next.Cases) != 0 || len(next.Removals) != 1 || next.Removals[0].CaseID != id || next.Removals[0].Reason != "out_of_scope" {
			t.Fatalf("gw1 after the move: cases %+v removals %+v", next.Cases, next.Removals)
		}
		moved := pullAll(t, e, "gw2", gw2.Cursor)
		if len(moved.Cases) != 1 || moved.Cases[0].GridCode != testenv.Grid2 {
			t.Fatalf("gw2 after the move = %+v", moved.Cases)
		}
		// Nothing more for gw1: the removal is delivered once.
		if again := pullAll(t, e, "gw1", next.Cursor); len(again.Removals)+len(again.Cases) != 0 {
			t.Errorf("gw1 pulled again: %+v", again)
		}
	})
}

// TestConflictKeptAndResolved: the same field edited offline and in the
// office: the server value stands, the device's is in a conflict record, and
// the clerk's resolution is itself a command in the history.
func TestConflictKeptAndResolved(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(), map[string]any{"base_version": 1,
			"fields": map[string]string{"party": "老王烧烤"}}, nil).Must(t, http.StatusOK)
		res := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
			cmd("edit_fields", 50, id, map[string]any{"base_version": 1, "fields": map[string]string{"party": "王记烧烤", "address": "君山路1号东"}}),
		}})
		o := res.Outcomes[0]
		if o.Status != "conflict" || len(o.ConflictIDs) != 1 || o.Final["party"] != "老王烧烤" || o.Final["address"] != "君山路1号东" {
			t.Fatalf("outcome = %+v", o)
		}
		var conflicts struct {
			Items []struct {
				ID       uuid.UUID `json:"id"`
				Field    string    `json:"field"`
				Kept     string    `json:"kept"`
				SetAside string    `json:"set_aside"`
				KeptBy   struct {
					Name string `json:"name"`
				} `json:"kept_by"`
				SetAsideBy struct {
					DeviceID *uuid.UUID `json:"device_id"`
				} `json:"set_aside_by"`
			} `json:"items"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/conflicts", nil, &conflicts).Must(t, http.StatusOK)
		if len(conflicts.Items) != 1 || conflicts.Items[0].Kept != "老王烧烤" || conflicts.Items[0].SetAside != "王记烧烤" ||
			conflicts.Items[0].KeptBy.Name != "clerk" || conflicts.Items[0].SetAsideBy.DeviceID == nil {
			t.Fatalf("conflicts = %+v", conflicts.Items)
		}
		// The device sees the conflict on its case.
		p := pullAll(t, e, "inspector1", "")
		if len(p.Conflicts) != 1 || p.Conflicts[0].Status != "open" {
			t.Errorf("device pulled conflicts %+v", p.Conflicts)
		}
		e.Do("clerk", http.MethodPost, "/api/v1/conflicts/"+o.ConflictIDs[0].String()+"/resolve",
			map[string]any{"take": "set_aside", "comment": "以现场为准"}, nil).Must(t, http.StatusOK)
		var detail struct {
			Case struct {
				Party string `json:"party"`
			} `json:"case"`
			History []struct {
				Kind    string `json:"kind"`
				Comment string `json:"comment"`
			} `json:"history"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &detail).Must(t, http.StatusOK)
		if detail.Case.Party != "王记烧烤" {
			t.Errorf("after resolving, party = %q", detail.Case.Party)
		}
		last := detail.History[len(detail.History)-1]
		if last.Kind != "conflict_resolved" || last.Comment != "以现场为准" {
			t.Errorf("last history entry = %+v", last)
		}
		// Resolving twice is refused.
		r := e.Do("clerk", http.MethodPost, "/api/v1/conflicts/"+o.ConflictIDs[0].String()+"/resolve", map[string]any{"take": "kept"}, nil)
		if r.StatusCode != http.StatusConflict || r.Problem() != "conflict_already_resolved" {
			t.Errorf("second resolve: %d %s", r.StatusCode, r.Body)
		}
	})
}

// TestEditAfterCloseIsReviewItem: an offline edit never reopens a closed case.
func TestEditAfterCloseIsReviewItem(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		e.Act("supervisor", id, "force_close", map[string]any{"reason": "重复上报"})
		res := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
			cmd("edit_fields", 60, id, map[string]any{"base_version": 1, "fields": map[string]string{"description": "补充：占道约8平方米"}}),
			cmd("action", 61, id, map[string]any{"action": "request_suspend", "params": map[string]any{"reason": "x", "comment": "当事人外出"}}),
		}})
		for _, o := range res.Outcomes {
			if o.Status != "conflict" || len(o.ConflictIDs) != 1 {
				t.Fatalf("outcome = %+v, want a review item", o)
			}
		}
		var detail struct {
			Case struct {
				State       string `json:"state"`
				Description string `json:"description"`
			} `json:"case"`
			Conflicts []struct {
				Kind     string `json:"kind"`
				SetAside string `json:"set_aside"`
			} `json:"conflicts"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &detail).Must(t, http.StatusOK)
		if detail.Case.State != "closed" || strings.Contains(detail.Case.Description, "补充") {
			t.Errorf("closed case changed: %+v", detail.Case)
		}
		kinds := map[string]string{}
		for _, c := range detail.Conflicts {
			kinds[c.Kind] = c.SetAside
		}
		if !strings.Contains(kinds["edit_after_close"], "补充") || !strings.Contains(kinds["action_after_close"], "request_suspend") {
			t.Errorf("review items = %+v", detail.Conflicts)
		}
	})
}

// TestClockOffsetRecorded: a device clock ten minutes slow is measured,
// stored raw and corrected, and flagged.
func TestClockOffsetRecorded(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		slow := time.Now().UTC().Add(-10 * time.Minute)
		c := cmd("add_comment", 70, id, map[string]any{"comment": "慢钟", "client_time": slow})
		e.Do("inspector1", http.MethodPost, "/api/v1/sync/push", map[string]any{"device_time": slow, "commands": []map[string]any{c}}, nil).Must(t, http.StatusOK)
		var detail struct {
			History []struct {
				Kind        string     `json:"kind"`
				ClientAt    *time.Time `json:"client_at"`
				ClientAtFix *time.Time `json:"client_at_corrected"`
				ClockSkewed bool       `json:"clock_skewed"`
				At          time.Time  `json:"at"`
			} `json:"history"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &detail).Must(t, http.StatusOK)
		h := detail.History[len(detail.History)-1]
		if h.Kind != "comment" || h.ClientAt == nil || h.ClientAtFix == nil || !h.ClockSkewed {
			t.Fatalf("history entry = %+v", h)
		}
		if d := h.ClientAtFix.Sub(h.At); d < -5*time.Second || d > 5*time.Second {
			t.Errorf("corrected client time %v is %v from server time %v", h.ClientAtFix, d, h.At)
		}
		var devs struct {
			Items []struct {
				Name          string `json:"name"`
				ClockOffsetMS int64  `json:"clock_offset_ms"`
				ClockSkewed   bool   `json:"clock_skewed"`
			} `json:"items"`
		}
		e.Do("clerk", http.MethodGet, "/api/v1/devices", nil, &devs).Must(t, http.StatusOK)
		for _, d := range devs.Items {
			if d.Name == "inspector1-tablet" && (d.ClockOffsetMS < 590_000 || !d.ClockSkewed) {
				t.Errorf("device clock = %+v, want about +600000 ms and skewed", d)
			}
		}
	})
}

// TestEventsWakeDevice: an online device is told at once that its scope changed.
func TestEventsWakeDevice(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/sync/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.Users["gw1"].Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- ev
			}
		}
		close(events)
	}()
	if ev := <-events; ev != "ready" {
		t.Fatalf("first event %q", ev)
	}
	e.Report("inspector2", testenv.InGrid2, "E0504") // not gw1's grid
	e.Report("inspector1", testenv.InGrid1, "E0504") // gw1's grid
	select {
	case ev := <-events:
		if ev != "changed" {
			t.Fatalf("event %q", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	// The out-of-scope report must not have produced a second event.
	select {
	case ev := <-events:
		t.Errorf("unexpected extra event %q", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestReusedCommandID: a command id used before is refused without touching
// the earlier command's outcome, and never blocks the commands after it.
func TestReusedCommandID(t *testing.T) {
	both(t, func(t *testing.T, e *testenv.Env) {
		id := e.Report("inspector1", testenv.InGrid1, "E0504")
		first := cmd("add_comment", 20, id, map[string]any{"comment": "第一次"})
		push(t, e, "inspector1", map[string]any{"commands": []map[string]any{first}})
		again := cmd("add_comment", 21, id, map[string]any{"comment": "重用"})
		again["id"] = first["id"]
		res := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{again,
			cmd("add_comment", 22, id, map[string]any{"comment": "之后"})}})
		if res.Outcomes[0].Status != "rejected" || res.Outcomes[0].Code != "already_exists" || res.Outcomes[1].Status != "applied" {
			t.Fatalf("outcomes = %+v", res.Outcomes)
		}
		replay := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{first}})
		if replay.Outcomes[0].Status != "applied" || replay.Outcomes[0].Seq != 20 {
			t.Fatalf("the first command's outcome changed: %+v", replay.Outcomes[0])
		}
	})
}
