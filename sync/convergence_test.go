package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// The convergence property: five devices and a clerk edit the same cases and
// run workflow actions, the devices offline, syncing in random orders over a
// network that drops responses after the server acted on the request, and
// retrying. At the end (after every device has synced cleanly):
//   - every device holds exactly the server's view of its scope;
//   - no command was applied twice;
//   - every value any writer wrote is in the final record, in a conflict
//     record, or was overwritten by a writer who had seen it.

var points = []models.Location{testenv.InGrid1, testenv.InGrid2, testenv.InTown1Only}

// dropTransport forwards requests but, when drop is set, throws the response
// away after the server handled it: the client sees a network error.
type dropTransport struct{ drop bool }

var errDropped = errors.New("response dropped")

func (d *dropTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !d.drop {
		return res, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil, errDropped
}

type view struct {
	Version     int64  `json:"version"`
	State       string `json:"state"`
	Party       string `json:"party"`
	Description string `json:"description"`
	Address     string `json:"address"`
	GridCode    string `json:"grid_code"`
	OrgPath     string `json:"org_path"`
	Comments    int    `json:"-"`
}

type wireCase struct {
	ID uuid.UUID `json:"id"`
	view
	Location struct {
		Address string `json:"address"`
	} `json:"location"`
}

type sentCmd struct {
	id     uuid.UUID
	caseID uuid.UUID
	kind   string
	base   int64
	fields map[string]string
	device string // "" for the clerk
}

type simDevice struct {
	user    string
	token   string
	role    models.Role
	scope   models.Scope
	seq     int64
	outbox  []map[string]any
	cursor  string
	cases   map[uuid.UUID]view
	tr      *dropTransport
	client  *http.Client
	url     string
	retries int
	results map[uuid.UUID]outcome // every outcome the device received, by command id
}

func (d *simDevice) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// sync pushes the outbox and pulls everything new. drops says which of the
// two responses the network loses.
func (d *simDevice) sync(dropPush, dropPull bool) error {
	if len(d.outbox) > 0 {
		d.tr.drop = dropPush
		var res pushResp
		err := d.do(http.MethodPost, "/api/v1/sync/push", map[string]any{"commands": d.outbox, "device_time": time.Now().UTC()}, &res)
		d.tr.drop = false
		if errors.Is(err, errDropped) {
			d.retries++
			return nil // the outbox stays: the next sync retries the same commands
		} else if err != nil {
			return err
		}
		if len(res.Outcomes) != len(d.outbox) {
			return fmt.Errorf("%d outcomes for %d commands", len(res.Outcomes), len(d.outbox))
		}
		for _, o := range res.Outcomes {
			d.results[o.CommandID] = o
		}
		d.outbox = d.outbox[:0]
	}
	for {
		d.tr.drop = dropPull
		var p struct {
			Cases    []wireCase `json:"cases"`
			Comments []struct {
				CaseID uuid.UUID `json:"case_id"`
			} `json:"comments"`
			Removals []struct {
				CaseID uuid.UUID `json:"case_id"`
			} `json:"removals"`
			Cursor  string `json:"cursor"`
			HasMore bool   `json:"has_more"`
			Reset   bool   `json:"reset"`
		}
		err := d.do(http.MethodGet, "/api/v1/sync/pull?limit=3&cursor="+d.cursor, nil, &p)
		d.tr.drop = false
		if errors.Is(err, errDropped) {
			d.retries++
			dropPull = false // retry this page at once
			continue
		} else if err != nil {
			return err
		}
		if p.Reset {
			d.cases = map[uuid.UUID]view{}
		}
		comments := map[uuid.UUID]int{}
		for _, c := range p.Comments {
			comments[c.CaseID]++
		}
		for _, c := range p.Cases {
			v := c.view
			v.Address = c.Location.Address
			v.Comments = comments[c.ID]
			d.cases[c.ID] = v
		}
		for _, r := range p.Removals {
			delete(d.cases, r.CaseID)
		}
		d.cursor = p.Cursor
		if !p.HasMore {
			return nil
		}
	}
}

func (d *simDevice) queue(kind string, caseID uuid.UUID, extra map[string]any) map[string]any {
	d.seq++
	c := map[string]any{"id": testenv.NewID(), "seq": d.seq, "kind": kind, "case_id": caseID, "client_time": time.Now().UTC()}
	for k, v := range extra {
		c[k] = v
	}
	d.outbox = append(d.outbox, c)
	return c
}

func TestConvergence(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" {
		// Each check starts a server: keep the default run short; raise it with -rapid.checks.
		_ = f.Value.Set("25")
	}
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			if pg {
				testenv.PostgresDSN(t) // skips without FIELDSYNC_TEST_POSTGRES
			} else {
				testenv.SkipSQLiteInPostgresPass(t)
			}
			rapid.Check(t, func(rt *rapid.T) { convergence(t, rt, pg) })
		})
	}
}

var fieldValues = []string{"甲", "乙", "丙", "丁"}

func convergence(t *testing.T, rt *rapid.T, pg bool) {
	e := testenv.Start(t, testenv.Options{Postgres: pg})
	defer e.Stop()
	e.AddUser("inspector3", models.RoleInspector, testenv.District+"/"+testenv.Town1, "", nil)
	ctx := context.Background()
	names := []string{"inspector1", "inspector2", "inspector3", "gw1", "gw2"}
	devices := map[string]*simDevice{}
	results := map[uuid.UUID]outcome{}
	for _, n := range names {
		u := e.Users[n]
		grids, err := e.Server.Store.UserGrids(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		tr := &dropTransport{}
		devices[n] = &simDevice{user: n, token: u.Token, role: u.Role, scope: models.ScopeFor(u.User, grids),
			cases: map[uuid.UUID]view{}, tr: tr, client: &http.Client{Transport: tr}, url: e.URL, seq: 1000, results: results}
	}
	var sent []sentCmd
	var all []uuid.UUID
	// A few cases to start with, everyone synced.
	for i := 0; i < 4; i++ {
		reporter := names[i%2]
		all = append(all, e.Report(reporter, points[i%len(points)], "E0504"))
	}
	for _, n := range names {
		if err := devices[n].sync(false, false); err != nil {
			t.Fatal(err)
		}
	}
	pickCase := func(rt *rapid.T, d *simDevice) (uuid.UUID, view, bool) {
		ids := make([]uuid.UUID, 0, len(d.cases))
		for id := range d.cases {
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return uuid.Nil, view{}, false
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
		id := rapid.SampledFrom(ids).Draw(rt, "case")
		return id, d.cases[id], true
	}
	serverCase := func(id uuid.UUID) models.Case {
		c, err := e.Server.Store.GetCase(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	rt.Repeat(map[string]func(*rapid.T){
		"device edits offline": func(rt *rapid.T) {
			d := devices[rapid.SampledFrom(names).Draw(rt, "device")]
			id, v, ok := pickCase(rt, d)
			if !ok {
				rt.Skip("device holds no case")
			}
			fields := map[string]string{}
			for _, f := range []string{"party", "description", "address"} {
				if rapid.Bool().Draw(rt, "edit "+f) {
					fields[f] = rapid.SampledFrom(fieldValues).Draw(rt, f)
				}
			}
			if rapid.IntRange(0, 5).Draw(rt, "move") == 0 {
				p := rapid.SampledFrom(points).Draw(rt, "point")
				fields["lat"], fields["lon"] = strconv.FormatFloat(p.Lat, 'f', -1, 64), strconv.FormatFloat(p.Lon, 'f', -1, 64)
			}
			if len(fields) == 0 {
				fields["party"] = "戊"
			}
			c := d.queue("edit_fields", id, map[string]any{"base_version": v.Version, "fields": fields})
			sent = append(sent, sentCmd{id: c["id"].(uuid.UUID), caseID: id, kind: "edit_fields", base: v.Version, fields: fields, device: d.user})
		},
		"device acts offline": func(rt *rapid.T) {
			d := devices[rapid.SampledFrom(names).Draw(rt, "device")]
			id, v, ok := pickCase(rt, d)
			if !ok {
				rt.Skip("device holds no case")
			}
			switch {
			case v.State == "dispatched" && d.role == models.RoleInspector:
				if rapid.Bool().Draw(rt, "done") {
					ph := testenv.NewID()
					d.queue("add_photo", id, map[string]any{"photo": map[string]any{"id": ph, "stage": "report_done", "type": "after", "sha256": testenv.FakeSHA(ph.String())}})
					d.queue("action", id, map[string]any{"base_version": v.Version, "action": "report_done", "params": map[string]any{"photos": []uuid.UUID{ph}, "disposition": "劝导整改"}})
				} else {
					d.queue("action", id, map[string]any{"base_version": v.Version, "action": "return", "params": map[string]any{"reason": "非本辖区"}})
				}
			case v.State == "verifying" && d.role == models.RoleGridWorker:
				d.queue("action", id, map[string]any{"base_version": v.Version, "action": "verify", "params": map[string]any{"result": "true", "comment": "属实"}})
			case v.State == "reported" && d.role == models.RoleInspector:
				b, a := testenv.NewID(), testenv.NewID()
				d.queue("add_photo", id, map[string]any{"photo": map[string]any{"id": b, "stage": "self_handle", "type": "before", "sha256": testenv.FakeSHA(b.String())}})
				d.queue("add_photo", id, map[string]any{"photo": map[string]any{"id": a, "stage": "self_handle", "type": "after", "sha256": testenv.FakeSHA(a.String())}})
				d.queue("action", id, map[string]any{"base_version": v.Version, "action": "self_handle", "params": map[string]any{"photos": []uuid.UUID{b, a}}})
			default:
				d.queue("add_comment", id, map[string]any{"comment": "巡查记录"})
			}
		},
		"device reports a new case": func(rt *rapid.T) {
			d := devices[rapid.SampledFrom(names).Draw(rt, "device")]
			p := rapid.SampledFrom(points).Draw(rt, "point")
			id, ph := testenv.NewID(), testenv.NewID()
			d.queue("add_photo", id, map[string]any{"photo": map[string]any{"id": ph, "stage": "report", "type": "far", "sha256": testenv.FakeSHA(ph.String())}})
			d.queue("create_case", id, map[string]any{"case": map[string]any{"category": "E0201", "description": "新案件",
				"location": map[string]any{"lat": p.Lat, "lon": p.Lon, "address": p.Address}, "photos": []uuid.UUID{ph}}})
			all = append(all, id)
		},
		"device syncs": func(rt *rapid.T) {
			d := devices[rapid.SampledFrom(names).Draw(rt, "device")]
			if err := d.sync(rapid.IntRange(0, 3).Draw(rt, "drop push") == 0, rapid.IntRange(0, 3).Draw(rt, "drop pull") == 0); err != nil {
				t.Fatal(err)
			}
		},
		"clerk edits": func(rt *rapid.T) {
			id := rapid.SampledFrom(all).Draw(rt, "case")
			c, err := e.Server.Store.GetCase(ctx, id)
			if models.IsNotFound(err) {
				rt.Skip("not created yet")
			} else if err != nil {
				t.Fatal(err)
			}
			base := c.Version - int64(rapid.IntRange(0, 2).Draw(rt, "staleness"))
			if base < 1 {
				base = 1
			}
			fields := map[string]string{rapid.SampledFrom([]string{"party", "description", "address"}).Draw(rt, "field"): rapid.SampledFrom(fieldValues).Draw(rt, "value")}
			if rapid.IntRange(0, 5).Draw(rt, "move") == 0 {
				p := rapid.SampledFrom(points).Draw(rt, "point")
				fields["lat"], fields["lon"] = strconv.FormatFloat(p.Lat, 'f', -1, 64), strconv.FormatFloat(p.Lon, 'f', -1, 64)
			}
			cmdID := testenv.NewID()
			var out struct {
				Outcome outcome `json:"outcome"`
			}
			res := e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(), map[string]any{"base_version": base, "fields": fields, "command_id": cmdID}, &out)
			if res.StatusCode == http.StatusOK {
				results[cmdID] = out.Outcome
				sent = append(sent, sentCmd{id: cmdID, caseID: id, kind: "edit_fields", base: base, fields: fields})
			}
		},
		"clerk acts": func(rt *rapid.T) {
			id := rapid.SampledFrom(all).Draw(rt, "case")
			c, err := e.Server.Store.GetCase(ctx, id)
			if models.IsNotFound(err) {
				rt.Skip("not created yet")
			} else if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			switch c.State {
			case models.StateReported:
				body = map[string]any{"action": rapid.SampledFrom([]string{"register", "send_verify", "ask_more", "void"}).Draw(rt, "action"),
					"params": map[string]any{"comment": "请补充", "reason": "duplicate"}}
			case models.StateRegistered, models.StateReturned:
				body = map[string]any{"action": "dispatch", "params": map[string]any{"unit_id": testenv.Unit1}}
			case models.StateHandled:
				body = map[string]any{"action": "send_check"}
			default:
				rt.Skip("nothing for the clerk")
			}
			e.Do("clerk", http.MethodPost, "/api/v1/cases/"+id.String()+"/transitions", body, nil)
		},
		"clerk resolves a conflict": func(rt *rapid.T) {
			list, err := e.Server.Store.Conflicts(ctx, models.ConflictQuery{Scope: models.Scope{All: true}, Status: models.ConflictOpen, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				rt.Skip("no open conflict")
			}
			cf := list[rapid.IntRange(0, len(list)-1).Draw(rt, "conflict")]
			take := rapid.SampledFrom([]string{"kept", "set_aside"}).Draw(rt, "take")
			cmdID := testenv.NewID()
			var out struct {
				Outcome outcome `json:"outcome"`
			}
			res := e.Do("clerk", http.MethodPost, "/api/v1/conflicts/"+cf.ID.String()+"/resolve", map[string]any{"take": take, "command_id": cmdID}, &out)
			if res.StatusCode == http.StatusOK {
				results[cmdID] = out.Outcome
			}
			if res.StatusCode == http.StatusOK && take == "set_aside" && cf.Kind == models.ConflictField {
				c := serverCase(cf.CaseID)
				sent = append(sent, sentCmd{id: cmdID, caseID: cf.CaseID, kind: "resolve", base: c.Version, fields: map[string]string{cf.Field: cf.SetAside}})
			}
		},
	})

	// Everyone syncs cleanly until nothing is left to push.
	for round := 0; round < 3; round++ {
		for _, n := range names {
			if err := devices[n].sync(false, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkConvergence(t, rt, e, devices, names, sent, results)
}

func checkConvergence(t *testing.T, rt *rapid.T, e *testenv.Env, devices map[string]*simDevice, names []string, sent []sentCmd, results map[uuid.UUID]outcome) {
	ctx := context.Background()
	st := e.Server.Store
	// 1. Every device holds exactly the server's view of its scope.
	for _, n := range names {
		d := devices[n]
		if len(d.outbox) != 0 {
			rt.Fatalf("%s still has %d commands in its outbox", n, len(d.outbox))
		}
		want, err := st.ListCases(ctx, models.CaseQuery{Scope: d.scope, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]uuid.UUID, len(want))
		for i := range want {
			ids[i] = want[i].ID
		}
		comments, err := st.Comments(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		nc := map[uuid.UUID]int{}
		for _, c := range comments {
			nc[c.CaseID]++
		}
		if len(want) != len(d.cases) {
			rt.Fatalf("%s holds %d cases, the server's view of its scope has %d", n, len(d.cases), len(want))
		}
		for _, c := range want {
			got, ok := d.cases[c.ID]
			exp := view{Version: c.Version, State: string(c.State), Party: c.Party, Description: c.Description,
				Address: c.Location.Address, GridCode: c.GridCode, OrgPath: c.OrgPath, Comments: nc[c.ID]}
			if !ok || got != exp {
				rt.Fatalf("%s holds %s as %+v, the server has %+v", n, c.ID, got, exp)
			}
		}
	}
	// 2. No command was applied twice: all history entries of a command carry
	// one version (a command is one application), and comments are unique.
	cases, err := st.ListCases(ctx, models.CaseQuery{Scope: models.Scope{All: true}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	history := map[uuid.UUID][]models.HistoryEntry{}
	for _, c := range cases {
		h, err := st.History(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		history[c.ID] = h
		versions := map[uuid.UUID]int64{}
		for _, e := range h {
			if e.CommandID == uuid.Nil {
				continue
			}
			if v, ok := versions[e.CommandID]; ok && v != e.Version {
				rt.Fatalf("command %s applied twice on %s (versions %d and %d)", e.CommandID, c.ID, v, e.Version)
			}
			versions[e.CommandID] = e.Version
		}
	}
	// 3. No value lost silently.
	conflicts, err := st.Conflicts(ctx, models.ConflictQuery{Scope: models.Scope{All: true}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	setAside := map[string]string{} // command/field → value set aside
	for _, cf := range conflicts {
		if cf.Kind == models.ConflictField {
			setAside[cf.CommandID.String()+"/"+cf.Field] = cf.SetAside
		} else {
			setAside[cf.CommandID.String()+"/*"] = string(cf.Payload)
		}
	}
	bases := map[uuid.UUID]sentCmd{}
	for _, s := range sent {
		bases[s.id] = s
	}
	final := map[uuid.UUID]models.Case{}
	for _, c := range cases {
		final[c.ID] = c
	}
	for _, s := range sent {
		h := history[s.caseID]
		for f, v := range s.fields {
			if f == "lat" || f == "lon" {
				continue // numbers are normalised; the location check is the scope check above
			}
			// Where was this value written?
			idx := slices.IndexFunc(h, func(e models.HistoryEntry) bool {
				return e.CommandID == s.id && (e.Kind == models.HistoryEdit || e.Kind == models.HistoryResolved) && hasChange(e, f, v)
			})
			if idx < 0 {
				// Not written. Then the writer was told (rejected), or a conflict
				// record holds the value, or the whole command was kept for review
				// (edit after close), or the value was already there (Final says so).
				o, ok := results[s.id]
				switch {
				case !ok:
					rt.Fatalf("command %s got no outcome", s.id)
				case o.Status == "rejected":
				case setAside[s.id.String()+"/"+f] == v:
				case setAside[s.id.String()+"/*"] != "":
				case (o.Status == "applied" || o.Status == "merged" || o.Status == "conflict") && o.Final[f] == v:
				default:
					rt.Fatalf("value %s=%q of command %s (outcome %+v) is nowhere: not written, not set aside", f, v, s.id, o)
				}
				continue
			}
			written := h[idx]
			next := slices.IndexFunc(h[idx+1:], func(e models.HistoryEntry) bool {
				return (e.Kind == models.HistoryEdit || e.Kind == models.HistoryResolved) && touches(e, f)
			})
			if next < 0 {
				if got := fieldOf(final[s.caseID], f); got != v {
					rt.Fatalf("value %s=%q written by %s at v%d is neither final (%q) nor overwritten", f, v, s.id, written.Version, got)
				}
				continue
			}
			over := h[idx+1+next]
			if over.Kind == models.HistoryResolved {
				continue // a clerk's decision on a conflict record, which keeps both values
			}
			sameWriter := over.DeviceID == written.DeviceID && (over.DeviceID != uuid.Nil || over.ActorID == written.ActorID)
			ob, known := bases[over.CommandID]
			if sameWriter || (known && ob.base >= written.Version) {
				continue // overwritten by someone who had seen it
			}
			if known && (valueAt(h, f, ob.base) == v || wroteBetween(h, over, f, v, ob.base)) {
				continue // the overwriter had seen the value: at its base, or it wrote it itself
			}
			var dump strings.Builder
			for _, e := range h {
				fmt.Fprintf(&dump, "  v%d %s %s dev=%s actor=%s cmd=%s base=%d %v %s\n", e.Version, e.Kind, e.Action, e.DeviceID, e.ActorName, e.CommandID, bases[e.CommandID].base, e.Changes, e.Note)
			}
			rt.Fatalf("value %s=%q (v%d, command %s) was overwritten at v%d by command %s based on v%d: lost silently\n%s",
				f, v, written.Version, s.id, over.Version, over.CommandID, ob.base, dump.String())
		}
	}
}

// valueAt returns the value field f had at a case version, from the history.
func valueAt(h []models.HistoryEntry, f string, version int64) string {
	val, set := "", false
	for _, e := range h {
		if e.Kind != models.HistoryEdit && e.Kind != models.HistoryResolved {
			continue
		}
		for _, c := range e.Changes {
			if c.Field != f {
				continue
			}
			if e.Version <= version {
				val, set = c.New, true
			} else if !set {
				return c.Old
			}
		}
	}
	return val
}

// wroteBetween reports whether the writer of over itself wrote f=v after base
// and before over.
func wroteBetween(h []models.HistoryEntry, over models.HistoryEntry, f, v string, base int64) bool {
	for _, e := range h {
		if e.Version <= base || e.Version >= over.Version || e.Kind != models.HistoryEdit {
			continue
		}
		same := e.DeviceID == over.DeviceID && (e.DeviceID != uuid.Nil || e.ActorID == over.ActorID)
		if same && hasChange(e, f, v) {
			return true
		}
	}
	return false
}

func hasChange(e models.HistoryEntry, f, v string) bool {
	for _, c := range e.Changes {
		if c.Field == f && c.New == v {
			return true
		}
	}
	return false
}

func touches(e models.HistoryEntry, f string) bool {
	for _, c := range e.Changes {
		if c.Field == f {
			return true
		}
	}
	return false
}

func fieldOf(c models.Case, f string) string {
	switch f {
	case "party":
		return c.Party
	case "description":
		return c.Description
	case "address":
		return c.Location.Address
	}
	return ""
}
