package uploads

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/jobtest"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/store"
)

// openStore opens and migrates the real store on SQLite in dir.
func openStore(t *testing.T, dir string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db
}

// pullPhoto pulls the changes after seq in scope and returns the photo with
// id if the feed carries it.
func pullPhoto(t *testing.T, db models.Store, scope models.Scope, after int64, id [16]byte) (models.PhotoRecord, bool) {
	t.Helper()
	for {
		page, err := db.Changes(context.Background(), models.ChangeQuery{Scope: scope, After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Photos {
			if p.ID == id {
				return p, true
			}
		}
		if !page.HasMore {
			return models.PhotoRecord{}, false
		}
		after = page.Next
	}
}

// storeCase stores a case reported an hour before now and returns it.
func storeCase(t *testing.T, db *store.DB, now time.Time) models.Case {
	t.Helper()
	ctx := context.Background()
	c := testCase(now.Add(-time.Hour))
	if err := db.Update(ctx, func(tx models.Tx) error {
		return tx.PutCases(ctx, []models.Case{c}, []*models.Case{nil})
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWithRealStore runs the pipeline on the real store (SQLite): a tus
// upload is verified and recorded, the next pull carries the photo, and a
// thumbnail job queued before a restart is done after it.
func TestWithRealStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := storeCase(t, db, now)
	cursor, err := db.MaxChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	verified := make(chan models.PhotoRecord, 1)
	newService := func(db *store.DB) *Service {
		s, err := New(Config{DataDir: dir, Store: db, Jobs: db, Authenticate: testAuth, Logger: quietLogger(t),
			OnVerified: func(_ context.Context, p models.PhotoRecord) { verified <- p }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	svc := newService(db)
	srv := testServer(t, svc.TusHandler())
	data := addTestEXIF(t, noiseJPEG(t, 800, 600, 50, 85), exifSpec{lat: 36.6512, lon: 117.1201,
		taken: now.Add(-70 * time.Minute).In(chinaZone).Format("2006:01:02 15:04:05"), offset: "+08:00", orientation: 1})
	meta := photoMetaFor(c, data)
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), meta, data)
	mustStatus(t, resp, body, http.StatusCreated)
	if resp.Header.Get(HeaderPhotoVerified) != "true" {
		t.Fatalf("creation-with-upload headers %v", resp.Header)
	}
	select {
	case <-verified:
	case <-time.After(5 * time.Second):
		t.Fatal("OnVerified not called")
	}

	p, err := db.GetPhoto(ctx, meta.PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verified || p.SHA256 != meta.SHA256 || p.Size != int64(len(data)) || p.Width != 800 || p.Height != 600 ||
		p.EXIF == nil || p.EXIF.Lat == nil || len(p.Flags) != 0 || p.UploaderID != inspectorA.UserID || p.DeviceID != inspectorA.DeviceID {
		t.Fatalf("stored photo %+v (EXIF %+v)", p, p.EXIF)
	}
	// The next pull carries the case and its verified photo.
	pulled, ok := pullPhoto(t, db, inspectorB.Scope, cursor, meta.PhotoID)
	if !ok || !pulled.Verified {
		t.Fatalf("pull after the upload does not carry the verified photo (ok=%v)", ok)
	}
	got, err := db.GetCase(ctx, c.ID)
	if err != nil || got.Version != c.Version || got.ChangeSeq <= cursor {
		t.Fatalf("case after upload: version %d seq %d (cursor %d) %v", got.Version, got.ChangeSeq, cursor, err)
	}
	if n, _ := db.Pending(ctx, ThumbnailJob); n != 1 {
		t.Fatalf("%d thumbnail jobs pending, want 1", n)
	}
	b, _, err := svc.OpenOriginal(ctx, inspectorB, meta.PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := io.ReadAll(b)
	b.Close()
	if sha256Hex(orig) != meta.SHA256 {
		t.Fatal("original differs")
	}

	// Stop before any thumbnail worker ran; restart on the same directory.
	srv.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openStore(t, dir)
	t.Cleanup(func() { db.Close() })
	cursor, _ = db.MaxChangeSeq(ctx)
	svc = newService(db)
	runWorkers(t, svc, 2)
	waitFor(t, "thumbnail job after restart", func() bool {
		n, err := db.Pending(ctx, ThumbnailJob)
		return err == nil && n == 0
	})
	p, err = db.GetPhoto(ctx, meta.PhotoID)
	if err != nil || !ValidHash(p.ThumbSmall) || !ValidHash(p.ThumbLarge) {
		t.Fatalf("photo after thumbnails: %+v %v", p, err)
	}
	pulled, ok = pullPhoto(t, db, inspectorA.Scope, cursor, meta.PhotoID)
	if !ok || pulled.ThumbLarge != p.ThumbLarge {
		t.Fatal("pull after thumbnails does not carry them")
	}
	tb, err := svc.OpenBlob(ctx, p.ThumbLarge)
	if err != nil {
		t.Fatal(err)
	}
	tb.Close()
	if slices.Contains(p.Flags, FlagThumbnailFailed) {
		t.Fatal("flagged")
	}
}

// TestThumbnailJobCommittedWithPhoto: on the real store, a verified photo's
// thumbnail job is queued in the transaction that records the photo, so no
// crash after that commit can leave a verified photo that no worker will
// ever make thumbnails for.
func TestThumbnailJobCommittedWithPhoto(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	t.Cleanup(func() { db.Close() })
	c := storeCase(t, db, time.Now().UTC().Truncate(time.Microsecond))
	q := &jobtest.DeadQueue{JobQueue: db}
	svc, err := New(Config{DataDir: dir, Store: db, Jobs: q, Authenticate: testAuth, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := testServer(t, svc.TusHandler())
	data := noiseJPEG(t, 640, 480, 7, 85)
	meta := photoMetaFor(c, data)
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), meta, data)
	mustStatus(t, resp, body, http.StatusCreated)
	if n, err := db.Pending(ctx, ThumbnailJob); err != nil || n != 1 || q.Calls != 0 {
		t.Fatalf("%d thumbnail jobs pending (%v), %d post-commit Enqueue calls: want 1 job committed with the photo, no call",
			n, err, q.Calls)
	}
}
