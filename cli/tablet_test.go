package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/cli"
	"github.com/fieldsync/fieldsync/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe to write from Watch's goroutine while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type tabletRun struct {
	t   *testing.T
	env map[string]string
}

// run runs `fieldsync tablet args...` and returns its exit code and output.
func (r tabletRun) run(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	r.t.Helper()
	var out, errb syncBuffer
	code = cli.Main(ctx, append([]string{"tablet"}, args...), cli.Env{Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return r.env[k] }})
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its output.
func (r tabletRun) ok(args ...string) string {
	r.t.Helper()
	code, out, errs := r.run(context.Background(), args...)
	if code != 0 {
		r.t.Fatalf("tablet %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func writeJPEG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "site.jpg")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestTabletCommandLine drives a simulated tablet through enrolment, an
// offline report, sync, a conflicting edit, a rejected action and the
// listings, against a real server.
func TestTabletCommandLine(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	db := filepath.Join(t.TempDir(), "tablet.db")
	tab := tabletRun{t: t, env: map[string]string{"FIELDSYNC_TABLET_DB": db}}

	// Work before enrolment is refused at sync with a hint, not lost.
	if code, _, errs := tab.run(context.Background(), "sync"); code != 1 || !strings.Contains(errs, "not enrolled") {
		t.Fatalf("sync before enroll: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := tab.run(context.Background(), "enroll", "--server", e.URL, "--token", "fsd_wrong"); code != 1 || !strings.Contains(errs, "invalid_token") {
		t.Fatalf("enroll with a bad token: exit %d, stderr %q", code, errs)
	}
	out := tab.ok("enroll", "--server", e.URL, "--token", e.Users["inspector1"].Token)
	if !strings.Contains(out, "inspector1 (inspector)") {
		t.Fatalf("enroll: %q", out)
	}

	out = tab.ok("report", "--category", "E0504", "--lat", "34.8605", "--lon", "117.5505", "--desc", "占道经营 水果摊",
		"--address", "君山路1号", "--party", "李记", "--photo", writeJPEG(t), "--photo", writeJPEG(t)+":near")
	id := uuidRE.FindString(out)
	if id == "" {
		t.Fatalf("report printed no case id: %q", out)
	}
	out = tab.ok("cases")
	if !strings.Contains(out, id) || !regexp.MustCompile(`reported\s+E0504\s+local\s+3\s`).MatchString(out) {
		t.Fatalf("cases before sync:\n%s", out)
	}

	out = tab.ok("sync")
	if !strings.Contains(out, "pushed 3: 3 applied, 0 merged, 0 conflict(s), 0 rejected") || !strings.Contains(out, "1 case(s) updated") {
		t.Fatalf("sync:\n%s", out)
	}
	out = tab.ok("--db", db, "cases") // --db before the command works too
	if !regexp.MustCompile(id + `\s+reported\s+E0504\s+1\s+0\s+0\s`).MatchString(out) {
		t.Fatalf("cases after sync:\n%s", out)
	}

	// The tablet and a clerk edit the description; the clerk is first.
	short := id[:13] // a unique prefix is enough
	tab.ok("edit", "--case", short, "description=tablet: 水果摊占道约5米")
	e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id, map[string]any{"base_version": 1,
		"fields": map[string]string{"description": "clerk: 水果摊占道"}}, nil).Must(t, http.StatusOK)
	tab.ok("act", "--case", id, "--action", "report_done", "--comment", "已整改", "--photo", writeJPEG(t))
	tab.ok("comment", "--case", id, "店主已签字确认")

	out = tab.ok("sync")
	if !strings.Contains(out, "1 conflict(s), 1 rejected") || !strings.Contains(out, "illegal_transition: report_done is not possible in state reported") ||
		!strings.Contains(out, "(hint: pull the case to see its current state)") {
		t.Fatalf("sync with conflict and rejection:\n%s", out)
	}
	out = tab.ok("conflicts")
	if !strings.Contains(out, id) || !strings.Contains(out, "description") || !strings.Contains(out, "clerk: 水果摊占道") ||
		!strings.Contains(out, "tablet: 水果摊占道约5米") || !strings.Contains(out, "open") {
		t.Fatalf("conflicts:\n%s", out)
	}
	out = tab.ok("outbox")
	for _, want := range []string{"create_case", "edit_fields", "conflict v", "rejected illegal_transition", "add_comment", "acked"} {
		if !strings.Contains(out, want) {
			t.Fatalf("outbox lacks %q:\n%s", want, out)
		}
	}
	out = tab.ok("cases")
	if !regexp.MustCompile(id + `\s+reported\s+E0504\s+\d+\s+0\s+1\s+clerk: 水果摊占道`).MatchString(out) {
		t.Fatalf("cases after the conflict:\n%s", out)
	}

	// Errors carry the code; usage errors exit 2.
	if code, _, errs := tab.run(context.Background(), "edit", "--case", "ffff", "party=x"); code != 1 || !strings.Contains(errs, "not_found") {
		t.Fatalf("edit of an unknown case: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := tab.run(context.Background(), "edit", "--case", id, "state=closed"); code != 1 || !strings.Contains(errs, "unknown_field") {
		t.Fatalf("edit of a workflow field: exit %d, stderr %q", code, errs)
	}
	if code, _, _ := tab.run(context.Background(), "edit", "--case", id); code != 2 {
		t.Fatalf("edit without fields: exit %d, want 2", code)
	}
	if code, _, _ := tab.run(context.Background(), "teleport"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}

	// watch prints a line for a change made elsewhere, and stops cleanly.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wout syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"tablet", "watch"}, cli.Env{Stdout: &wout, Stderr: &wout,
			Getenv: func(k string) string { return tab.env[k] }})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(wout.String(), "change on the server") {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed no change:\n%s", wout.String())
		}
		e.Do("clerk", http.MethodPost, "/api/v1/cases/"+id+"/comments", map[string]string{"body": fmt.Sprint("催办 ", time.Now())}, nil).
			Must(t, http.StatusCreated)
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("watch exit %d:\n%s", code, wout.String())
	}
}
