package storetest

import (
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func jobQueue(t *testing.T, s models.Store) models.JobQueue {
	q, ok := s.(models.JobQueue)
	if !ok {
		t.Skip("the store does not implement models.JobQueue")
	}
	return q
}

func testJobs(t *testing.T, s models.Store) {
	q := jobQueue(t, s)
	ctx := ctxT(t)
	pending := func(kind string, want int) {
		t.Helper()
		n, err := q.Pending(ctx, kind)
		must(t, err)
		if n != want {
			t.Errorf("Pending(%s) = %d, want %d", kind, n, want)
		}
	}
	claim := func(now time.Time, n int) []models.Job {
		t.Helper()
		js, err := q.Claim(ctx, "thumbnail", n, now, time.Minute)
		must(t, err)
		return js
	}
	jobs := []models.Job{
		{Kind: "thumbnail", Key: "photo-1", Payload: []byte{0, 1, 2, 0xff}, RunAfter: t0},
		{Kind: "thumbnail", Key: "photo-1", Payload: []byte("dup")}, // same pending key: skipped
		{Kind: "thumbnail", Key: "photo-2", RunAfter: at(time.Second)},
		{Kind: "thumbnail", Key: "later", RunAfter: at(time.Hour)},
		{Kind: "evidence", Key: "photo-1", RunAfter: t0},
	}
	must(t, q.Enqueue(ctx, jobs))
	for i, j := range jobs {
		if j.ID == uuid.Nil || j.CreatedAt.IsZero() {
			t.Errorf("job %d: id or created_at not filled in", i)
		}
	}
	must(t, q.Enqueue(ctx, []models.Job{{Kind: "thumbnail", Key: "photo-2"}})) // still pending: skipped
	pending("thumbnail", 3)
	pending("evidence", 1)

	got := claim(at(time.Minute), 10)
	if len(got) != 2 || got[0].ID != jobs[0].ID || got[1].ID != jobs[2].ID {
		t.Fatalf("first claim: %+v, want photo-1 and photo-2", got)
	}
	lease := at(2 * time.Minute)
	want := jobs[0]
	want.Attempts, want.LeaseTill = 1, &lease
	same(t, "claimed job", want, got[0])
	if len(claim(at(90*time.Second), 10)) != 0 {
		t.Errorf("leased jobs claimed again before the lease ran out")
	}
	// The lease runs out: the jobs of a worker that died come back.
	got = claim(at(3*time.Minute), 1)
	if len(got) != 1 || got[0].ID != jobs[0].ID || got[0].Attempts != 2 {
		t.Fatalf("claim after lease expiry: %+v", got)
	}
	must(t, q.Complete(ctx, jobs[0].ID))
	pending("thumbnail", 2)
	wantNotFound(t, "Complete unknown", q.Complete(ctx, newID()))

	// A failure with a retry time makes the job runnable then.
	retry := at(time.Hour + 30*time.Minute)
	must(t, q.Fail(ctx, jobs[2].ID, "decode failed", &retry))
	if js := claim(at(10*time.Minute), 10); len(js) != 0 {
		t.Errorf("failed job claimed before its retry time: %+v", js)
	}
	got = claim(at(2*time.Hour), 10)
	if len(got) != 2 || got[0].ID != jobs[3].ID || got[1].ID != jobs[2].ID {
		t.Fatalf("claim after retry time: %+v", got)
	}
	if got[1].LastError != "decode failed" || got[1].Attempts != 2 {
		t.Errorf("retried job: %+v", got[1])
	}
	// A failure without one gives the job up.
	must(t, q.Fail(ctx, jobs[2].ID, "gave up", nil))
	pending("thumbnail", 1)
	if js := claim(at(10*time.Hour), 10); len(js) != 1 || js[0].ID != jobs[3].ID {
		t.Errorf("claim after giving up: %+v", js)
	}
	wantNotFound(t, "Fail unknown", q.Fail(ctx, newID(), "x", nil))
	// A key that is no longer pending may be enqueued again.
	again := []models.Job{{Kind: "thumbnail", Key: "photo-1"}}
	must(t, q.Enqueue(ctx, again))
	pending("thumbnail", 2)
	// Jobs without a key are never deduplicated.
	must(t, q.Enqueue(ctx, []models.Job{{Kind: "sweep"}, {Kind: "sweep"}}))
	pending("sweep", 2)
	// Zero values round-trip.
	zero := []models.Job{{Kind: "zero"}}
	must(t, q.Enqueue(ctx, zero))
	js, err := q.Claim(ctx, "zero", 1, t0, 0)
	must(t, err)
	lease0 := t0
	zero[0].Attempts, zero[0].LeaseTill = 1, &lease0
	if len(js) != 1 {
		t.Fatalf("zero job not claimed")
	}
	same(t, "zero job", zero[0], js[0])
}

func testJobsConcurrentClaim(t *testing.T, s models.Store) {
	q := jobQueue(t, s)
	ctx := ctxT(t)
	const n = 40
	var jobs []models.Job
	for i := range n {
		jobs = append(jobs, models.Job{Kind: "k", Key: fmt.Sprint(i), RunAfter: t0})
	}
	must(t, q.Enqueue(ctx, jobs))
	var mu gosync.Mutex
	claimed := map[uuid.UUID]int{}
	var wg gosync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				js, err := q.Claim(ctx, "k", 3, at(time.Minute), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(js) == 0 {
					return
				}
				mu.Lock()
				for _, j := range js {
					claimed[j.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(claimed) != n {
		t.Errorf("%d jobs claimed, want %d", len(claimed), n)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("job %s claimed %d times", id, c)
		}
	}
}
