package uploads

import (
	"bytes"
	"context"
	"image/jpeg"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// runWorkers runs RunThumbnails until the test ends.
func runWorkers(t *testing.T, s *Service, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunThumbnails(ctx, n); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("RunThumbnails did not stop")
		}
	})
}

func decodeDims(t *testing.T, b Blob) (int, int) {
	t.Helper()
	defer b.Close()
	cfg, err := jpeg.DecodeConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Width, cfg.Height
}

func TestThumbnailsMadeUprightAndRecorded(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	data := addTestEXIF(t, noiseJPEG(t, 1600, 1200, 30, 85), exifSpec{orientation: 6})
	f := e.fixture(data)
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), f.meta, f.data)
	mustStatus(t, resp, body, http.StatusCreated)
	seq := e.store.caseSeq(f.c.ID)
	runWorkers(t, e.svc, 2)
	waitFor(t, "thumbnails", func() bool {
		p, _ := e.store.photo(f.meta.PhotoID)
		return p.ThumbSmall != "" && p.ThumbLarge != ""
	})
	p, _ := e.store.photo(f.meta.PhotoID)
	if e.store.caseSeq(f.c.ID) <= seq || p.ChangeSeq != e.store.caseSeq(f.c.ID) {
		t.Fatalf("case seq %d (was %d), photo seq %d", e.store.caseSeq(f.c.ID), seq, p.ChangeSeq)
	}
	ctx := context.Background()
	// Orientation 6 turns the 1600×1200 original a quarter: thumbnails are portrait.
	lb, err := e.svc.OpenBlob(ctx, p.ThumbLarge)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := decodeDims(t, lb); w != 960 || h != 1280 {
		t.Fatalf("large thumbnail %d×%d, want 960×1280", w, h)
	}
	sb, err := e.svc.OpenBlob(ctx, p.ThumbSmall)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := decodeDims(t, sb); w != 240 || h != 320 {
		t.Fatalf("small thumbnail %d×%d, want 240×320", w, h)
	}
	waitFor(t, "job completion", func() bool {
		n, _ := e.queue.Pending(ctx, ThumbnailJob)
		return n == 0
	})
	jobs := e.queue.snapshot()
	if len(jobs) != 1 || !jobs[0].Done || jobs[0].Attempts != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
	// The original is untouched: byte for byte what was uploaded.
	e.checkStored(f)
}

func TestThumbnailJobsSurviveRestart(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	data := noiseJPEG(t, 400, 300, 31, 85)
	var ids []uuid.UUID
	for i := range 3 {
		f := e.fixture(data)
		if i > 0 {
			f.meta.Type = models.PhotoNear
		}
		info, err := InspectImage(bytes.NewReader(data), int64(len(data)), DefaultImageLimits())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.blobs.Put(ctx, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.accept(ctx, f.meta, uploaderOf{inspectorA.UserID, inspectorA.DeviceID}, int64(len(data)), info); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.meta.PhotoID)
	}
	if n, _ := e.queue.Pending(ctx, ThumbnailJob); n != 3 {
		t.Fatalf("%d jobs queued, want 3", n)
	}
	// The server stops before any worker ran; a new process opens the same
	// data directory and the same (durable) queue.
	e.svc = nil
	svc2, err := New(Config{DataDir: e.dir, Store: e.store, Jobs: e.queue, Authenticate: testAuth,
		Logger: quietLogger(t), Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	runWorkers(t, svc2, 2)
	waitFor(t, "jobs after restart", func() bool {
		n, _ := e.queue.Pending(ctx, ThumbnailJob)
		return n == 0
	})
	for _, id := range ids {
		p, _ := e.store.photo(id)
		if !ValidHash(p.ThumbSmall) || !ValidHash(p.ThumbLarge) {
			t.Fatalf("photo %s has no thumbnails after restart", id)
		}
	}
}

func TestThumbnailUndecodableOriginalGivesUp(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	// Bytes that passed as evidence once but cannot be decoded now.
	junk := []byte(strings.Repeat("not a jpeg ", 100))
	h, _, err := e.svc.blobs.Put(ctx, bytes.NewReader(junk))
	if err != nil {
		t.Fatal(err)
	}
	c := testCase(e.clock())
	e.store.putCase(c)
	id := uuid.Must(uuid.NewV7())
	e.store.putPhoto(models.PhotoRecord{ID: id, CaseID: c.ID, Stage: "report", Type: models.PhotoFar, SHA256: h, Verified: true})
	e.queue.Enqueue(ctx, []models.Job{{Kind: ThumbnailJob, Key: id.String(), RunAfter: e.clock()}})
	runWorkers(t, e.svc, 1)
	waitFor(t, "give-up", func() bool {
		p, _ := e.store.photo(id)
		return slices.Contains(p.Flags, FlagThumbnailFailed)
	})
	waitFor(t, "job failed for good", func() bool {
		j := e.queue.snapshot()
		return len(j) == 1 && j[0].dead
	})
	if j := e.queue.snapshot()[0]; j.Attempts != 1 || j.LastError == "" {
		t.Fatalf("job %+v: an undecodable image is not retried", j)
	}
	p, _ := e.store.photo(id)
	if p.ThumbSmall != "" || e.store.caseSeq(c.ID) == 0 {
		t.Fatalf("photo %+v", p)
	}
}

func TestThumbnailRetriesWithBackoffThenGivesUp(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.ThumbAttempts = 3 })
	ctx := context.Background()
	c := testCase(e.clock())
	e.store.putCase(c)
	id := uuid.Must(uuid.NewV7())
	missing := sha256Hex([]byte("lost original"))
	e.store.putPhoto(models.PhotoRecord{ID: id, CaseID: c.ID, Stage: "report", Type: models.PhotoFar, SHA256: missing, Verified: true})
	e.queue.Enqueue(ctx, []models.Job{{Kind: ThumbnailJob, Key: id.String(), RunAfter: e.clock()}})
	runWorkers(t, e.svc, 1)
	for attempt := 1; attempt < 3; attempt++ {
		waitFor(t, "a failed attempt", func() bool {
			j := e.queue.snapshot()[0]
			return j.Attempts == attempt && j.LeaseTill == nil && j.LastError != ""
		})
		j := e.queue.snapshot()[0]
		delay := j.RunAfter.Sub(e.clock())
		want := thumbBackoff << (attempt - 1)
		if j.dead || delay < want*8/10 || delay > want*12/10 {
			t.Fatalf("attempt %d: retry in %v (dead %v), want about %v", attempt, delay, j.dead, want)
		}
		if p, _ := e.store.photo(id); slices.Contains(p.Flags, FlagThumbnailFailed) {
			t.Fatalf("flagged after attempt %d", attempt)
		}
		e.advance(delay + time.Second)
		e.svc.wakeThumbnails()
	}
	waitFor(t, "give-up after 3 attempts", func() bool {
		j := e.queue.snapshot()[0]
		p, _ := e.store.photo(id)
		return j.dead && slices.Contains(p.Flags, FlagThumbnailFailed)
	})
	if j := e.queue.snapshot()[0]; j.Attempts != 3 {
		t.Fatalf("gave up after %d attempts", j.Attempts)
	}
}

func TestThumbnailShutdownReleasesJob(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	data := noiseJPEG(t, 200, 150, 32, 85)
	h, _, _ := e.svc.blobs.Put(ctx, bytes.NewReader(data))
	c := testCase(e.clock())
	e.store.putCase(c)
	id := uuid.Must(uuid.NewV7())
	e.store.putPhoto(models.PhotoRecord{ID: id, CaseID: c.ID, Stage: "report", Type: models.PhotoFar, SHA256: h, Verified: true})
	e.queue.Enqueue(ctx, []models.Job{{Kind: ThumbnailJob, Key: id.String(), RunAfter: e.clock()}})
	jobs, _ := e.queue.Claim(ctx, ThumbnailJob, 1, e.clock(), ThumbnailLease)
	cctx, cancel := context.WithCancel(ctx)
	cancel() // the server is stopping while the job runs
	e.svc.runThumbJob(cctx, jobs[0])
	j := e.queue.snapshot()[0]
	if j.dead || j.Done || j.LeaseTill != nil || j.RunAfter.After(e.clock()) {
		t.Fatalf("interrupted job not released for immediate retry: %+v", j)
	}
	if again, _ := e.queue.Claim(ctx, ThumbnailJob, 1, e.clock(), ThumbnailLease); len(again) != 1 {
		t.Fatal("released job not claimable")
	}
}

func TestThumbRetryDelay(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 4: 40 * time.Second, 20: thumbMaxDelay} {
		for range 20 {
			d := thumbRetryDelay(attempt)
			if d < want*8/10 || d > want*12/10 {
				t.Fatalf("thumbRetryDelay(%d) = %v, want %v ±20%%", attempt, d, want)
			}
		}
	}
}
