package client

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestBackoffGrowsJittersAndCaps checks every wait lies in [d/2, d] for
// d = Min·2^attempt capped at Max, and that the waits are not all equal.
func TestBackoffGrowsJittersAndCaps(t *testing.T) {
	c := &Client{cfg: Config{Backoff: Backoff{Min: 100 * time.Millisecond, Max: time.Second}}}
	for attempt, d := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		d *= time.Millisecond
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			w := c.backoff(attempt)
			if w < d/2 || w > d {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", attempt, w, d/2, d)
			}
			seen[w] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct waits in 200: no jitter", attempt, len(seen))
		}
	}
}

// TestTusMetadata checks the Upload-Metadata encoding: comma-separated
// "key base64(value)" pairs, values byte for byte (UTF-8 filenames too).
func TestTusMetadata(t *testing.T) {
	p := photoRow{ID: uuid.MustParse("0192d4f0-0000-7000-8000-000000000001"), CaseID: uuid.MustParse("0192d4f0-0000-7000-8000-000000000002"),
		Stage: "report", Type: "far", SHA256: strings.Repeat("ab", 32), Path: "/data/照片 1.jpg", CreatedAt: "2026-05-01T02:00:00Z"}
	got := map[string]string{}
	for _, pair := range strings.Split(tusMetadata(p), ",") {
		k, v, ok := strings.Cut(pair, " ")
		if !ok {
			t.Fatalf("pair %q has no space", pair)
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("pair %q: %v", pair, err)
		}
		got[k] = string(b)
	}
	want := map[string]string{"photo_id": p.ID.String(), "case_id": p.CaseID.String(), "stage": "report", "type": "far",
		"sha256": p.SHA256, "filename": "照片 1.jpg", "captured_at": "2026-05-01T02:00:00Z"}
	if len(got) != len(want) {
		t.Fatalf("metadata = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
