package sync_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
)

var benchDescription = strings.Repeat("店外经营占道摆放商品，影响行人通行，已拍照取证并告知当事人限期整改。", 7)

func benchBody(seq *int64, n int) []byte {
	var cmds []map[string]any
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		id, ph := testenv.NewID(), testenv.NewID()
		*seq++
		cmds = append(cmds, map[string]any{"id": testenv.NewID(), "seq": *seq, "kind": "create_case", "case_id": id, "client_time": now,
			"case": map[string]any{"category": "E0504", "description": benchDescription, "party": "某烧烤店",
				"location":      map[string]any{"lat": testenv.InGrid1.Lat, "lon": testenv.InGrid1.Lon, "accuracy": 5, "address": "君山路1号"},
				"photo_records": []map[string]any{{"id": ph, "stage": "report", "type": "far", "sha256": fmt.Sprintf("%064x", i+1)}}}})
	}
	b, _ := json.Marshal(map[string]any{"commands": cmds, "device_time": now})
	return b
}

// BenchmarkPushBatch100 pushes batches of 100 reports (one create_case with
// its photo inline each) over HTTP to an in-process server on SQLite.
func BenchmarkPushBatch100(b *testing.B) {
	benchPush(b, func(int) int { return 100 })
}

// benchPush pushes b.N batches, batch i of size(i) reports, and reports
// commands per second and the process CPU per command: the server's and the
// small client side's, the figure the end-to-end bench holds to 40 ms per
// 1,000 commands.
func benchPush(b *testing.B, size func(i int) int) {
	e := testenv.Start(b, testenv.Options{})
	tok := e.Users["inspector1"].Token
	var seq int64 = 1000
	bodies := make([][]byte, b.N)
	n := 0
	for i := range bodies {
		bodies[i] = benchBody(&seq, size(i))
		n += size(i)
	}
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/sync/push", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err, res.StatusCode)
		}
		res.Body.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "commands/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/command")
}

// BenchmarkPushVariedBatches pushes the same reports in batches of every size
// from 1 to 100 in turn, as tablets coming back from different stretches
// offline do: each size must not cost a statement of its own.
func BenchmarkPushVariedBatches(b *testing.B) {
	benchPush(b, func(i int) int { return i%100 + 1 })
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPull1000 pulls pages of 1000 cases.
func BenchmarkPull1000(b *testing.B) {
	e := testenv.Start(b, testenv.Options{})
	tok := e.Users["inspector1"].Token
	var seq int64 = 1000
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/sync/push", bytes.NewReader(benchBody(&seq, 100)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err)
		}
		res.Body.Close()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/sync/pull?limit=1000", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err)
		}
		var p struct {
			Cases []json.RawMessage `json:"cases"`
		}
		json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		if len(p.Cases) != 1000 {
			b.Fatalf("pulled %d", len(p.Cases))
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "changes/s")
}
