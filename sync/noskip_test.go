package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cli"
	"github.com/fieldsync/fieldsync/internal/childproc"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// childEnv makes the test binary run as a plain fieldsync server process:
// TestNoSkippedChange starts a second server process that way, on the same
// PostgreSQL database as the first.
const childEnv = "FIELDSYNC_TEST_CHILD_SERVE"

func TestMain(m *testing.M) {
	childproc.ServeIfChild(childEnv, func(ctx context.Context, args []string) int {
		return cli.Main(ctx, args, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" }})
	})
	os.Exit(m.Run())
}

// startChild starts a second fieldsync server process on dsn and returns its
// base URL.
func startChild(t *testing.T, dsn string) string {
	t.Helper()
	c, err := childproc.Start(os.Args[0], childEnv, []string{"serve", "--db", dsn, "--data-dir", t.TempDir(), "--unsafe-assume-evidence"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c.URL
}

// TestNoSkippedChange: eight devices push new cases concurrently (on
// PostgreSQL through two server processes on one database, so sequence
// numbers are taken by competing transactions that commit out of order)
// while a clerk pulls without pause. The puller sees every case exactly once.
func TestNoSkippedChange(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg})
			urls := []string{e.URL}
			if pg {
				urls = append(urls, startChild(t, e.DSN))
			}
			noSkip(t, e, urls)
		})
	}
}

func noSkip(t *testing.T, e *testenv.Env, urls []string) {
	const pushers, batches, perBatch = 8, 12, 10
	tokens := make([]string, pushers)
	for i := range tokens {
		name := fmt.Sprintf("pusher%d", i)
		e.AddUser(name, models.RoleInspector, testenv.District+"/"+testenv.Town1, "", nil)
		tokens[i] = e.Users[name].Token
	}
	clerk := e.Users["clerk"].Token
	var created gosync.Map
	var wg gosync.WaitGroup
	errs := make(chan error, pushers)
	done := make(chan struct{})
	for i := 0; i < pushers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			seq := int64(0)
			for b := 0; b < batches; b++ {
				var cmds []map[string]any
				for k := 0; k < perBatch; k++ {
					id, ph := testenv.NewID(), testenv.NewID()
					seq++
					cmds = append(cmds, map[string]any{"id": testenv.NewID(), "seq": seq, "kind": "add_photo", "case_id": id, "client_time": time.Now().UTC(),
						"photo": map[string]any{"id": ph, "stage": "report", "type": "far", "sha256": testenv.FakeSHA(ph.String())}})
					seq++
					cmds = append(cmds, map[string]any{"id": testenv.NewID(), "seq": seq, "kind": "create_case", "case_id": id, "client_time": time.Now().UTC(),
						"case": map[string]any{"category": "E0504", "description": "并发", "photos": []uuid.UUID{ph},
							"location": map[string]any{"lat": testenv.InGrid1.Lat, "lon": testenv.InGrid1.Lon}}})
					created.Store(id, true)
				}
				url := urls[(i+b)%len(urls)]
				var res pushResp
				if err := postJSON(url+"/api/v1/sync/push", tokens[i], map[string]any{"commands": cmds}, &res); err != nil {
					errs <- err
					return
				}
				for _, o := range res.Outcomes {
					if o.Status != "applied" {
						errs <- fmt.Errorf("pusher %d: %+v", i, o)
						return
					}
				}
			}
		}(i)
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[uuid.UUID]int{}
	cursor := ""
	pulls := 0
	pull := func(url string) bool {
		var p struct {
			Cases []struct {
				ID uuid.UUID `json:"id"`
			} `json:"cases"`
			Cursor  string `json:"cursor"`
			HasMore bool   `json:"has_more"`
		}
		if err := getJSON(url+"/api/v1/sync/pull?limit=37&cursor="+cursor, clerk, &p); err != nil {
			t.Fatal(err)
		}
		pulls++
		for _, c := range p.Cases {
			seen[c.ID]++
		}
		cursor = p.Cursor
		return p.HasMore
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			pull(urls[pulls%len(urls)])
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for pull(urls[0]) {
	}
	total := 0
	created.Range(func(k, _ any) bool {
		total++
		if n := seen[k.(uuid.UUID)]; n != 1 {
			t.Errorf("case %s seen %d times", k, n)
		}
		return true
	})
	if total != pushers*batches*perBatch || len(seen) != total {
		t.Errorf("created %d, seen %d distinct", total, len(seen))
	}
	t.Logf("%d cases from %d concurrent pushers over %d server(s); %d pulls while pushing", total, pushers, len(urls), pulls)
}

func postJSON(url, tok string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	return doJSON(req, out)
}

func getJSON(url, tok string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return doJSON(req, out)
}

func doJSON(req *http.Request, out any) error {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var p map[string]any
		json.NewDecoder(res.Body).Decode(&p)
		return fmt.Errorf("%s %s: %d %v", req.Method, req.URL.Path, res.StatusCode, p)
	}
	return json.NewDecoder(res.Body).Decode(out)
}
