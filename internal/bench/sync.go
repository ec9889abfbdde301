// Package bench measures fieldsync's sync path end to end over HTTP on
// loopback, against a server running as a separate process (so its CPU can be
// read from /proc), and optionally runs the peer (pouchdb-server with a real
// PouchDB client) right after, on the same machine, to print ratios.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"text/tabwriter"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/internal/childproc"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/refdata"
	"github.com/fieldsync/fieldsync/store"
	"github.com/fieldsync/fieldsync/sync"
	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
)

// ChildEnv, when set in the environment, makes the bench binary run as the
// server process (its value is the serve arguments, separated by \x1f).
const ChildEnv = "FIELDSYNC_BENCH_SERVE"

// Options tune a run.
type Options struct {
	N         int    // cases pushed by one client, and pulled
	Clients   int    // concurrent pushers
	PerClient int    // cases per concurrent pusher
	Runs      int    // measured runs (after one warm-up)
	Peer      string // path to the peer's run.sh; "" skips the peer
	Warm      int    // reports a warm-up device pushes before anything is measured
	Large     int    // change-log size for the pull-cost comparison (1,000,000)
	Small     int    // and its small counterpart (10,000)
	Self      string // this executable, re-run as the server
}

// Result is the median of the runs of one phase.
type Result struct {
	Name       string
	Count      int     // records (cases or changes)
	Commands   int     // commands pushed
	Seconds    float64 // wall time
	ServerCPU  float64 // seconds of server CPU
	P50, P99   float64 // request latency, ms
	PerSecond  float64 // records per second
	CmdsPerSec float64
}

const (
	district = "370402"
	// town holds every measured case; warmTown the warm-up's, which no
	// measured device's scope covers.
	town     = district + "/370402103"
	warmTown = district + "/370402104"
	// warmLon shifts a report's longitude from town's grid into warmTown's.
	warmLon = 0.20
)

// refData is a two-town district, each town one grid, with the national
// categories: placement work is realistic, scope is simple.
func refData() (models.RefData, error) {
	cats, err := refdata.Categories()
	if err != nil {
		return models.RefData{}, err
	}
	square := func(lon float64) [][][2]float64 {
		return [][][2]float64{{{lon, 34.80}, {lon + 0.12, 34.80}, {lon + 0.12, 34.92}, {lon, 34.92}, {lon, 34.80}}}
	}
	a, b := square(117.50), square(117.50+warmLon)
	return models.RefData{Categories: cats,
		Org: []models.OrgUnit{{Code: district, Level: models.LevelDistrict, Name: "市中区", Path: district},
			{Code: "370402103", ParentCode: district, Level: models.LevelTown, Name: "孟庄镇", Path: town, Boundary: a},
			{Code: "370402104", ParentCode: district, Level: models.LevelTown, Name: "齐村镇", Path: warmTown, Boundary: b}},
		Grids: []models.Grid{{Code: "37040210300101", Name: "孟庄01", TownCode: "370402103", OrgPath: town + "/37040210300101",
			Polygon: a, MinLat: 34.80, MinLon: 117.50, MaxLat: 34.92, MaxLon: 117.62},
			{Code: "37040210400101", Name: "齐村01", TownCode: "370402104", OrgPath: warmTown + "/37040210400101",
				Polygon: b, MinLat: 34.80, MinLon: 117.50 + warmLon, MaxLat: 34.92, MaxLon: 117.62 + warmLon}},
		Units: []models.Unit{{ID: "u1", Name: "市容环卫服务中心"}}}, nil
}

// device is an enrolled bench tablet.
type device struct {
	token string
	seq   int64
	lon   float64 // added to every report's longitude
}

// setup prepares a data directory with reference data and n devices for
// inspectors whose scope is town, then one more (the warm-up device) for an
// inspector of warmTown whose reports fall there.
func setup(ctx context.Context, dir string, n int) ([]*device, error) {
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	rd, err := refData()
	if err != nil {
		return nil, err
	}
	if err := st.PutRefData(ctx, rd); err != nil {
		return nil, err
	}
	var devs []*device
	for i := 0; i <= n; i++ {
		org, lon := town, 0.0
		if i == n {
			org, lon = warmTown, warmLon
		}
		u := models.User{ID: uuid.Must(uuid.NewV7()), Username: fmt.Sprintf("bench%d", i), Name: "巡查员", Role: models.RoleInspector,
			OrgPath: org, CreatedAt: time.Now().UTC()}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		_, tok, err := auth.EnrollDevice(ctx, st, u, u.Username+"-tab", time.Now())
		if err != nil {
			return nil, err
		}
		devs = append(devs, &device{token: tok, lon: lon})
	}
	return devs, nil
}

// server is the fieldsync process under test.
type server struct {
	*childproc.Server
	url string
}

func startServer(self, dir string) (*server, error) {
	c, err := childproc.Start(self, ChildEnv, []string{"serve", "--data-dir", dir, "--unsafe-assume-evidence"})
	if err != nil {
		return nil, err
	}
	return &server{Server: c, url: c.URL}, nil
}

func (s *server) stop() { s.Stop() }

// cpu returns the server process's user+system CPU seconds.
func (s *server) cpu() float64 {
	u, k, _ := s.cpuSplit()
	return u + k
}

// cpuSplit returns the server's user and system CPU seconds and its minor
// page faults so far.
func (s *server) cpuSplit() (float64, float64, float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.Pid()))
	if err != nil {
		return 0, 0, 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	mf, _ := strconv.ParseFloat(f[7], 64)
	return ut / 100, st / 100, mf
}

// io returns the server's /proc/pid/io counters.
func (s *server) io() map[string]int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/io", s.Pid()))
	m := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if ok {
			m[k], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return m
}

// ioDelta formats the change in read and write calls and bytes since io0.
func (s *server) ioDelta(io0 map[string]int64) string {
	io1 := s.io()
	return fmt.Sprintf("reads %d (%d KB) writes %d (%d KB)", io1["syscr"]-io0["syscr"], (io1["rchar"]-io0["rchar"])>>10,
		io1["syscw"]-io0["syscw"], (io1["wchar"]-io0["wchar"])>>10)
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func post(url, tok string, body []byte) (float64, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	ms := float64(time.Since(t0).Microseconds()) / 1000
	if res.StatusCode != 200 {
		return ms, fmt.Errorf("push: %d %s", res.StatusCode, b)
	}
	var out struct {
		Outcomes []struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"outcomes"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return ms, err
	}
	for _, o := range out.Outcomes {
		if o.Status != "applied" {
			return ms, fmt.Errorf("push outcome %s: %s", o.Status, o.Reason)
		}
	}
	return ms, nil
}

// description is ~680 characters, like the peer's documents.
var description = truncateUTF8(strings.Repeat("店外经营占道摆放商品，影响行人通行，已拍照取证并告知当事人限期整改。", 12), 680)

func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// pushBodies serialises n reports as push bodies of 100 commands: each is a
// create_case carrying its photo's metadata inline, as a tablet sends it.
func pushBodies(d *device, n int) [][]byte {
	var bodies [][]byte
	var cmds []map[string]any
	now := time.Now().UTC()
	flush := func() {
		b, _ := json.Marshal(map[string]any{"commands": cmds, "device_time": now})
		bodies = append(bodies, b)
		cmds = nil
	}
	for i := 0; i < n; i++ {
		id, ph := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		d.seq++
		cmds = append(cmds, map[string]any{"id": uuid.Must(uuid.NewV7()), "seq": d.seq, "kind": "create_case", "case_id": id, "client_time": now,
			"case": map[string]any{"category": "E0504", "description": description, "party": "某烧烤店",
				"location":      map[string]any{"lat": 34.80 + float64(i%1000)/10000, "lon": 117.50 + d.lon + float64(i%997)/10000, "accuracy": 5, "address": fmt.Sprintf("君山路%d号", i%300+1)},
				"photo_records": []map[string]any{{"id": ph, "stage": "report", "type": "far", "sha256": fmt.Sprintf("%064x", i+1)}}}})
		if len(cmds) == 100 {
			flush()
		}
	}
	if len(cmds) > 0 {
		flush()
	}
	return bodies
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.999) - 1
	return s[max(0, min(len(s)-1, i))]
}

func pushPhase(s *server, devs []*device, perDevice int) (Result, error) {
	bodies := make([][][]byte, len(devs))
	for i, d := range devs {
		bodies[i] = pushBodies(d, perDevice)
	}
	c0, t0 := s.cpu(), time.Now()
	u0, k0, f0 := s.cpuSplit()
	io0 := s.io()
	defer func() {
		u1, k1, f1 := s.cpuSplit()
		if os.Getenv("FIELDSYNC_BENCH_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "push: user %.2fs system %.2fs minor faults %.0f io %s\n", u1-u0, k1-k0, f1-f0, s.ioDelta(io0))
		}
	}()
	var mu gosync.Mutex
	var lat []float64
	var firstErr error
	var wg gosync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func(i int, d *device) {
			defer wg.Done()
			for _, b := range bodies[i] {
				ms, err := post(s.url+"/api/v1/sync/push", d.token, b)
				mu.Lock()
				lat = append(lat, ms)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(i, d)
	}
	wg.Wait()
	sec := time.Since(t0).Seconds()
	n := perDevice * len(devs)
	return Result{Count: n, Commands: n, Seconds: sec, ServerCPU: s.cpu() - c0, P50: pct(lat, 50), P99: pct(lat, 99),
		PerSecond: float64(n) / sec, CmdsPerSec: float64(n) / sec}, firstErr
}

// pullPage is what a client decodes of a pull page.
type pullPage struct {
	Cases  []caseRecord `json:"cases"`
	Photos []struct {
		ID     uuid.UUID `json:"id"`
		CaseID uuid.UUID `json:"case_id"`
		SHA256 string    `json:"sha256"`
	} `json:"photos"`
	Removals []struct {
		CaseID uuid.UUID `json:"case_id"`
	} `json:"removals"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"has_more"`
}

type caseRecord struct {
	ID          uuid.UUID `json:"id"`
	Category    string    `json:"category"`
	Description string    `json:"description"`
	State       string    `json:"state"`
	Version     int64     `json:"version"`
	Location    struct {
		Lat, Lon float64
		Address  string `json:"address"`
	} `json:"location"`
}

// pullAll pulls every page from cursor with limit, decoding every case into
// a struct and keeping it in a map (what a tablet's in-memory store would
// do). It asks for the next page as soon as a response's headers name the
// next cursor, and parses the current page meanwhile.
func pullAll(s *server, tok, cursor string, limit int) (int, int, error) {
	local := map[uuid.UUID]caseRecord{}
	pages := 0
	type result struct {
		res *http.Response
		err error
	}
	fetch := func(cur string) chan result {
		ch := make(chan result, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/sync/pull?limit=%d&cursor=%s", s.url, limit, cur), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := client.Do(req)
			ch <- result{res, err}
		}()
		return ch
	}
	next := fetch(cursor)
	for {
		r := <-next
		if r.err != nil {
			return 0, pages, r.err
		}
		more := r.res.Header.Get("Fieldsync-Has-More") == "true"
		if more {
			next = fetch(r.res.Header.Get("Fieldsync-Cursor"))
		}
		var p pullPage
		err := gojson.NewDecoder(r.res.Body).Decode(&p)
		r.res.Body.Close()
		if err != nil {
			return 0, pages, err
		}
		pages++
		for _, c := range p.Cases {
			local[c.ID] = c
		}
		for _, r := range p.Removals {
			delete(local, r.CaseID)
		}
		if !more {
			return len(local), pages, nil
		}
	}
}

func pullPhase(s *server, tok string, want, limit int) (Result, error) {
	c0, t0 := s.cpu(), time.Now()
	got, pages, err := pullAll(s, tok, "", limit)
	sec := time.Since(t0).Seconds()
	if err == nil && got != want {
		err = fmt.Errorf("pulled %d cases, want %d", got, want)
	}
	return Result{Count: got, Seconds: sec, ServerCPU: s.cpu() - c0, PerSecond: float64(got) / sec, P50: float64(pages)}, err
}

// Run runs the benchmark and prints its figures (and the peer's, with ratios).
func Run(ctx context.Context, o Options, w io.Writer) error {
	var runs []map[string]Result
	for run := 0; run <= o.Runs; run++ { // run 0 is the warm-up
		r, err := oneRun(ctx, o)
		if err != nil {
			return err
		}
		if run > 0 || o.Runs == 0 {
			runs = append(runs, r)
		}
	}
	med := map[string]Result{}
	for _, name := range []string{"push1", "pull", "push8", "tablet"} {
		var rs []Result
		for _, r := range runs {
			rs = append(rs, r[name])
		}
		slices.SortFunc(rs, func(a, b Result) int { return cmpF(a.PerSecond, b.PerSecond) })
		m := rs[len(rs)/2]
		m.Name = name
		med[name] = m
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "fieldsync sync benchmark (SQLite, HTTP on loopback, server in its own process; median of %d runs)\n", o.Runs)
	if o.Warm > 0 {
		fmt.Fprintf(tw, "each fresh server first takes a warm-up push of %d reports in a town no measured device sees\n", o.Warm)
	}
	fmt.Fprintln(tw, "phase\trecords\tseconds\trecords/s\tcommands/s\tp50 ms\tp99 ms\tserver CPU ms/1k commands\t")
	for _, name := range []string{"push1", "push8"} {
		r := med[name]
		fmt.Fprintf(tw, "%s\t%d cases\t%.2f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t\n", name, r.Count, r.Seconds, r.PerSecond, r.CmdsPerSec, r.P50, r.P99, r.ServerCPU*1000/float64(r.Commands)*1000)
	}
	r := med["pull"]
	fmt.Fprintf(tw, "pull (pages of 1000)\t%d changes\t%.2f\t%.0f\t\t\t\t%.1f per 1k changes\t\n", r.Count, r.Seconds, r.PerSecond, r.ServerCPU*1e6/float64(r.Count))
	r = med["tablet"]
	fmt.Fprintf(tw, "empty tablet pulls %d cases\t%d\t%.2f\t%.0f\t\t\t\t%.1f per 1k changes\t\n", o.N, r.Count, r.Seconds, r.PerSecond, r.ServerCPU*1e6/float64(r.Count))
	tw.Flush()

	if o.Large > 0 {
		small, large, err := pullCost(ctx, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\npull of the last 100 changes: %.3f ms with %d changes in the log, %.3f ms with %d: ratio %.2f (target ≤ 1.5)\n",
			small, o.Small, large, o.Large, large/small)
	}
	if o.Peer == "" {
		fmt.Fprintln(w, "\n(no peer run: pass --peer path/to/shared/peers/pouchdb/run.sh for ratios)")
		return nil
	}
	peer, err := runPeer(ctx, o)
	if err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	fmt.Fprintf(w, "\npeer (pouchdb-server 4.2.0 + PouchDB 9, run right after on this machine):\n")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tfieldsync\tpeer\tratio\ttarget\t")
	ratio := func(name string, ours, theirs float64, unit, target string) {
		fmt.Fprintf(tw, "%s\t%.0f %s\t%.0f %s\t%.2f×\t%s\t\n", name, ours, unit, theirs, unit, ours/theirs, target)
	}
	ratio("push, one client (cases/s vs docs/s)", med["push1"].PerSecond, peer.push1, "/s", "≥ 2× (aim 3×)")
	ratio("push, eight clients", med["push8"].PerSecond, peer.push8, "/s", "≥ 2×")
	ratio("pull, pages of 1000 (changes/s)", med["pull"].PerSecond, peer.pull, "/s", "≥ 2× (aim 4×)")
	fmt.Fprintf(tw, "empty tablet, %d cases\t%.2f s\t%.2f s\t%.2f×\t≥ 2× (aim 5×)\t\n", o.N, med["tablet"].Seconds, peer.replicate, peer.replicate/med["tablet"].Seconds)
	fmt.Fprintf(tw, "server CPU per 1,000 records pushed\t%.1f ms/1k cmds\t%.1f ms/1k docs\t\t≤ 40 ms/1k commands\t\n",
		med["push1"].ServerCPU*1e6/float64(med["push1"].Commands), peer.push1CPU)
	return tw.Flush()
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func oneRun(ctx context.Context, o Options) (map[string]Result, error) {
	dir, err := os.MkdirTemp("", "fieldsync-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	devs, err := setup(ctx, dir, o.Clients+2)
	if err != nil {
		return nil, err
	}
	s, err := startServer(o.Self, dir)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	// The peer's measured runs follow a warm-up run in the same server
	// process; this server gets its warm-up too: reports in a town that no
	// measured device sees, so every figure below is of the town alone.
	if o.Warm > 0 {
		if _, err := pushPhase(s, devs[len(devs)-1:], o.Warm); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	out := map[string]Result{}
	if out["push1"], err = pushPhase(s, devs[:1], o.N); err != nil {
		return nil, err
	}
	if out["pull"], err = pullPhase(s, devs[1].token, o.N, 1000); err != nil {
		return nil, err
	}
	if out["tablet"], err = pullPhase(s, devs[o.Clients+1].token, o.N, 1000); err != nil {
		return nil, err
	}
	if out["push8"], err = pushPhase(s, devs[1:1+o.Clients], o.PerClient); err != nil {
		return nil, err
	}
	return out, nil
}

// pullCost measures a pull of the last 100 changes on a log of o.Small and of
// o.Large changes (filled straight through the store, in big transactions).
func pullCost(ctx context.Context, o Options) (small, large float64, err error) {
	measure := func(n int) (float64, error) {
		dir, err := os.MkdirTemp("", "fieldsync-bench-log-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		devs, err := setup(ctx, dir, 1)
		if err != nil {
			return 0, err
		}
		if err := fillLog(ctx, dir, n); err != nil {
			return 0, err
		}
		s, err := startServer(o.Self, dir)
		if err != nil {
			return 0, err
		}
		defer s.stop()
		// The device's cursor: 100 changes before the end of the log.
		st, err := store.Open(ctx, store.Config{DataDir: dir})
		if err != nil {
			return 0, err
		}
		maxSeq, err := st.MaxChangeSeq(ctx)
		if err != nil {
			st.Close()
			return 0, err
		}
		u, err := st.UserByUsername(ctx, "bench0")
		st.Close()
		if err != nil {
			return 0, err
		}
		cur := sync.EncodeCursor(sync.Cursor{Seq: maxSeq - 100, Scope: sync.ScopeHash(models.ScopeFor(u, nil))})
		var times []float64
		for i := 0; i < 300; i++ {
			t0 := time.Now()
			got, _, err := pullAll(s, devs[0].token, cur, 1000)
			if err != nil {
				return 0, err
			}
			if got != 100 {
				return 0, fmt.Errorf("pulled %d changes, want 100", got)
			}
			if i >= 20 { // warm-up
				times = append(times, float64(time.Since(t0).Microseconds())/1000)
			}
		}
		return pct(times, 50), nil
	}
	if small, err = measure(o.Small); err != nil {
		return 0, 0, err
	}
	large, err = measure(o.Large)
	return small, large, err
}

// fillLog writes n cases straight through the store.
func fillLog(ctx context.Context, dir string, n int) error {
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	const batch = 5000
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		cases := make([]models.Case, k)
		prev := make([]*models.Case, k)
		for i := range cases {
			cases[i] = models.Case{ID: uuid.Must(uuid.NewV7()), Category: "E0504", Description: description[:200],
				Location: models.Location{Lat: 34.85, Lon: 117.55, Address: "君山路"}, Source: models.SourceDevice,
				OrgPath: district + "/370402103/37040210300101", TownCode: "370402103", GridCode: "37040210300101",
				State: models.StateReported, ReporterID: uuid.Must(uuid.NewV7()), ReporterRole: models.RoleInspector,
				CreatedAt: now, UpdatedAt: now, ClientCreatedAt: now, Version: 1}
		}
		if err := st.Update(ctx, func(tx models.Tx) error { return tx.PutCases(ctx, cases, prev) }); err != nil {
			return err
		}
	}
	return nil
}

type peerFigures struct {
	push1, push8, pull, replicate, push1CPU float64
}

// runPeer runs the peer's script and reads its summary and replication lines.
// The script runs in its own folder, so a relative path is made absolute
// first: relative to that folder it would name nothing.
func runPeer(ctx context.Context, o Options) (peerFigures, error) {
	script, err := filepath.Abs(o.Peer)
	if err != nil {
		return peerFigures{}, err
	}
	cmd := exec.CommandContext(ctx, "bash", script, strconv.Itoa(o.Runs))
	cmd.Dir = filepath.Dir(script)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return peerFigures{}, err
	}
	var f peerFigures
	var repl []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "SUMMARY "); ok {
			var sum map[string]struct {
				RPS float64 `json:"rps_median"`
				CPU float64 `json:"server_cpu_ms_per_1k"`
			}
			if err := json.Unmarshal([]byte(rest), &sum); err != nil {
				return f, err
			}
			f.push1, f.push8, f.pull, f.push1CPU = sum["push1"].RPS, sum["push8"].RPS, sum["pull"].RPS, sum["push1"].CPU
			continue
		}
		var r struct {
			ReplS *float64 `json:"repl_s"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && r.ReplS != nil {
			repl = append(repl, *r.ReplS)
		}
	}
	if f.push1 == 0 || len(repl) == 0 {
		return f, fmt.Errorf("could not read the peer's figures from:\n%s", out)
	}
	f.replicate = pct(repl, 50)
	return f, nil
}
