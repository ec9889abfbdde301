package api

import (
	gosync "sync"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// credCache remembers resolved tokens for a short while, so that the requests
// of one sync session (a push, the pull pages after it, the chunks of a photo
// upload) do not each read the device, its user and the user's grids. Under
// load those reads were about a twentieth of a push's server CPU: every
// commit discards a reader connection's page cache, so each lookup read its
// pages afresh.
//
// An entry is used only while the store's CredentialsEpoch is the one it was
// resolved under, so a revocation, logout or grid change made through this
// process takes effect on the very next request. The time to live bounds how
// long a change made by another process (a second server on the same
// PostgreSQL database, or the command line) can go unseen. Failed lookups are
// never cached.
type credCache struct {
	ttl time.Duration
	max int
	now func() time.Time // monotonic clock; the API's clock may be a test's

	mu gosync.Mutex
	m  map[string]credEntry
}

// credEntry is one resolved token: its actor and, for a console session, the
// session (whose expiry is checked on every use).
type credEntry struct {
	actor models.Actor
	sess  models.Session
	epoch uint64
	until time.Time
}

// newCredCache returns a cache keeping entries for ttl, at most max of them;
// a ttl of zero or less disables it.
func newCredCache(ttl time.Duration, max int) *credCache {
	return &credCache{ttl: ttl, max: max, now: time.Now, m: map[string]credEntry{}}
}

// get returns the entry for the token hash h if it was resolved under epoch
// and has not outlived the time to live.
func (c *credCache) get(h string, epoch uint64) (credEntry, bool) {
	if c.ttl <= 0 {
		return credEntry{}, false
	}
	c.mu.Lock()
	e, ok := c.m[h]
	c.mu.Unlock()
	if !ok || e.epoch != epoch || !c.now().Before(e.until) {
		return credEntry{}, false
	}
	return e, true
}

// resolve returns the entry for the token hash h: the cached one when it
// still holds under epoch, else what load returns, cached under epoch unless
// load fails. The caller reads epoch before calling, so before load looks
// anything up: a change that commits during the lookup then raises the epoch
// past the entry's, and the entry is never used.
func (c *credCache) resolve(h string, epoch uint64, load func() (credEntry, error)) (credEntry, error) {
	if e, ok := c.get(h, epoch); ok {
		return e, nil
	}
	e, err := load()
	if err != nil {
		return credEntry{}, err
	}
	e.epoch = epoch
	c.put(h, e)
	return e, nil
}

// put stores the entry for h, resolved under e.epoch (see resolve).
func (c *credCache) put(h string, e credEntry) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	e.until = now.Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[h] = e
}
