package sync

import (
	"context"
	"log/slog"
	gosync "sync"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// Hub tells online devices that their scope changed, so they pull at once.
// Notifications carry no data: a device that misses one loses nothing, it
// pulls on its next schedule.
type Hub struct {
	mu      gosync.Mutex
	subs    map[*Subscription]struct{}
	lastSeq int64
	closed  bool
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}} }

// Subscription is one listener. C receives a value whenever a change in its
// scope commits; at most one notification is buffered.
type Subscription struct {
	C     chan struct{}
	done  chan struct{}
	scope models.Scope
	hub   *Hub
}

// Done is closed when the hub shuts down: streaming handlers return then, so
// a graceful shutdown does not wait on them.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Close ends every subscription; later ones start closed.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		close(s.done)
		delete(h.subs, s)
	}
}

// Subscribe registers a listener for changes within scope.
func (h *Hub) Subscribe(scope models.Scope) *Subscription {
	s := &Subscription{C: make(chan struct{}, 1), done: make(chan struct{}), scope: scope, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.done)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// Close unregisters the listener.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, ok := s.hub.subs[s]; ok {
		delete(s.hub.subs, s)
		close(s.done)
	}
}

func (s *Subscription) notify() {
	select {
	case s.C <- struct{}{}:
	default:
	}
}

// Subscribers returns the number of listeners.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish notifies every listener whose scope covers a changed case before or
// after the change (a case that left a scope is news to that scope too).
func (h *Hub) Publish(changes []caseChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range changes {
		if ch.after != nil && ch.after.ChangeSeq > h.lastSeq {
			h.lastSeq = ch.after.ChangeSeq
		}
	}
	for s := range h.subs {
		for _, ch := range changes {
			if s.scope.Covers(ch.after) || s.scope.Covers(ch.before) {
				s.notify()
				break
			}
		}
	}
}

// Watch polls the store's change sequence and notifies every listener when it
// moved without a local Publish: another server process on the same database
// committed something. It returns when ctx ends.
func (h *Hub) Watch(ctx context.Context, st models.Store, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		seq, err := st.MaxChangeSeq(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "hub watch", "err", err)
			}
			continue
		}
		h.mu.Lock()
		if seq > h.lastSeq {
			h.lastSeq = seq
			for s := range h.subs {
				s.notify()
			}
		}
		h.mu.Unlock()
	}
}
