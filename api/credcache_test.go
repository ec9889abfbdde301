package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// TestCredCache: an entry serves only under the epoch it was resolved under
// and within its time to live; a full cache drops expired entries first.
func TestCredCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newCredCache(2*time.Second, 3)
	c.now = func() time.Time { return now }
	a := models.Actor{Username: "gw1"}
	c.put("h1", credEntry{actor: a, epoch: 7})

	steps := []struct {
		name  string
		key   string
		epoch uint64
		after time.Duration
		hit   bool
	}{
		{"same epoch, fresh", "h1", 7, 0, true},
		{"unknown token", "h2", 7, 0, false},
		{"epoch raised by a change", "h1", 8, 0, false},
		{"just before the ttl", "h1", 7, 2*time.Second - time.Nanosecond, true},
		{"at the ttl", "h1", 7, 2 * time.Second, false},
	}
	base := now
	for _, s := range steps {
		now = base.Add(s.after)
		e, ok := c.get(s.key, s.epoch)
		if ok != s.hit {
			t.Errorf("%s: hit %v, want %v", s.name, ok, s.hit)
		}
		if ok && e.actor.Username != "gw1" {
			t.Errorf("%s: actor %+v", s.name, e.actor)
		}
	}

	// Full: expired entries go first, then everything.
	now = base
	c.put("h2", credEntry{epoch: 7})
	c.put("h3", credEntry{epoch: 7})
	now = base.Add(3 * time.Second)
	c.put("h4", credEntry{epoch: 7}) // h1..h3 have expired: dropped
	if len(c.m) != 1 {
		t.Errorf("after expiry sweep: %d entries, want 1", len(c.m))
	}
	for i := range 5 {
		c.put(fmt.Sprint("k", i), credEntry{epoch: 7})
	}
	if len(c.m) > c.max {
		t.Errorf("%d entries, max %d", len(c.m), c.max)
	}

	off := newCredCache(-1, 3)
	off.put("h1", credEntry{epoch: 1})
	if _, ok := off.get("h1", 1); ok || len(off.m) != 0 {
		t.Error("a disabled cache kept an entry")
	}
}
