package uploads

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// fakeStore is an in-memory models.Store with the few methods the pipeline
// uses. Update is serialised and atomic: fn works on copies that replace the
// committed maps only when it returns nil.
type fakeStore struct {
	models.Store // nil; calling anything else panics, which is the point

	mu       sync.Mutex
	cases    map[uuid.UUID]models.Case
	photos   map[uuid.UUID]models.PhotoRecord
	seq      int64
	failNext int // the next failNext Updates fail with an internal error
	updates  int
	txJobs   *fakeQueue // when set, the Tx also implements Enqueue
}

func newFakeStore() *fakeStore {
	return &fakeStore{cases: map[uuid.UUID]models.Case{}, photos: map[uuid.UUID]models.PhotoRecord{}}
}

func (f *fakeStore) GetCase(_ context.Context, id uuid.UUID) (models.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cases[id]
	if !ok {
		return models.Case{}, models.ErrNotFound
	}
	return c, nil
}

func (f *fakeStore) GetPhoto(_ context.Context, id uuid.UUID) (models.PhotoRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.photos[id]
	if !ok {
		return models.PhotoRecord{}, models.ErrNotFound
	}
	return p, nil
}

var errInjected = errors.New("injected database failure")

func (f *fakeStore) Update(ctx context.Context, fn func(tx models.Tx) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return errInjected
	}
	tx := &fakeTx{cases: maps.Clone(f.cases), photos: maps.Clone(f.photos), seq: f.seq}
	if err := fn(txFor(tx, f.txJobs)); err != nil {
		return err
	}
	f.cases, f.photos, f.seq = tx.cases, tx.photos, tx.seq
	f.updates++
	if tx.jobs != nil {
		if err := f.txJobs.Enqueue(ctx, tx.jobs); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) putCase(c models.Case) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	c.ChangeSeq = f.seq
	f.cases[c.ID] = c
}

func (f *fakeStore) putPhoto(p models.PhotoRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	p.ChangeSeq = f.seq
	f.photos[p.ID] = p
}

func (f *fakeStore) photo(id uuid.UUID) (models.PhotoRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.photos[id]
	return p, ok
}

func (f *fakeStore) caseSeq(id uuid.UUID) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cases[id].ChangeSeq
}

type fakeTx struct {
	models.Tx
	cases  map[uuid.UUID]models.Case
	photos map[uuid.UUID]models.PhotoRecord
	seq    int64
	jobs   []models.Job
}

// fakeTxJobs is a fakeTx that can enqueue in the transaction.
type fakeTxJobs struct{ *fakeTx }

func (t fakeTxJobs) Enqueue(_ context.Context, jobs []models.Job) error {
	t.jobs = append(t.jobs, jobs...)
	return nil
}

func txFor(tx *fakeTx, q *fakeQueue) models.Tx {
	if q != nil {
		return fakeTxJobs{tx}
	}
	return tx
}

func (t *fakeTx) CasesByID(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]models.Case, error) {
	out := map[uuid.UUID]models.Case{}
	for _, id := range ids {
		if c, ok := t.cases[id]; ok {
			out[id] = c
		}
	}
	return out, nil
}

func (t *fakeTx) PutCases(_ context.Context, cs []models.Case, prev []*models.Case) error {
	if len(prev) != len(cs) {
		return errors.New("fake: prev must match cases")
	}
	for i := range cs {
		t.seq++
		cs[i].ChangeSeq = t.seq
		t.cases[cs[i].ID] = cs[i]
	}
	return nil
}

func (t *fakeTx) PhotosByID(_ context.Context, ids []uuid.UUID) (map[uuid.UUID]models.PhotoRecord, error) {
	out := map[uuid.UUID]models.PhotoRecord{}
	for _, id := range ids {
		if p, ok := t.photos[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

// PutPhotos stores records as given, like the real store: a photo's change
// sequence is the caller's to set.
func (t *fakeTx) PutPhotos(_ context.Context, ps []models.PhotoRecord) error {
	for i := range ps {
		t.photos[ps[i].ID] = ps[i]
	}
	return nil
}

// fakeQueue is an in-memory models.JobQueue with leases. Claim counts attempts.
type fakeQueue struct {
	mu   sync.Mutex
	jobs []*fakeJob
}

type fakeJob struct {
	models.Job
	dead bool // failed with no retry
}

func (q *fakeQueue) Enqueue(_ context.Context, jobs []models.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range jobs {
		dup := false
		for _, e := range q.jobs {
			if e.Kind == j.Kind && e.Key == j.Key && !e.Done && !e.dead {
				dup = true
			}
		}
		if !dup {
			if j.ID == uuid.Nil {
				j.ID = uuid.New()
			}
			q.jobs = append(q.jobs, &fakeJob{Job: j})
		}
	}
	return nil
}

func (q *fakeQueue) Claim(_ context.Context, kind string, n int, now time.Time, lease time.Duration) ([]models.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []models.Job
	for _, j := range q.jobs {
		if len(out) == n {
			break
		}
		if j.Kind != kind || j.Done || j.dead || j.RunAfter.After(now) || (j.LeaseTill != nil && j.LeaseTill.After(now)) {
			continue
		}
		till := now.Add(lease)
		j.LeaseTill = &till
		j.Attempts++
		out = append(out, j.Job)
	}
	return out, nil
}

func (q *fakeQueue) find(id uuid.UUID) *fakeJob {
	for _, j := range q.jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func (q *fakeQueue) Complete(_ context.Context, id uuid.UUID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if j := q.find(id); j != nil {
		j.Done, j.LeaseTill = true, nil
		return nil
	}
	return models.ErrNotFound
}

func (q *fakeQueue) Fail(_ context.Context, id uuid.UUID, msg string, retryAt *time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.find(id)
	if j == nil {
		return models.ErrNotFound
	}
	j.LastError, j.LeaseTill = msg, nil
	if retryAt == nil {
		j.dead = true
	} else {
		j.RunAfter = *retryAt
	}
	return nil
}

func (q *fakeQueue) Pending(_ context.Context, kind string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, j := range q.jobs {
		if j.Kind == kind && !j.Done && !j.dead {
			n++
		}
	}
	return n, nil
}

func (q *fakeQueue) snapshot() []fakeJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]fakeJob, len(q.jobs))
	for i, j := range q.jobs {
		out[i] = *j
	}
	return out
}

// Test identities: bearer token → actor.
var (
	inspectorA = models.Actor{UserID: uuid.MustParse("0190a000-0000-7000-8000-00000000000a"), Username: "a",
		Role: models.RoleInspector, DeviceID: uuid.MustParse("0190a000-0000-7000-8000-0000000000da"),
		Scope: models.Scope{OrgPrefixes: []string{"370402/370402101"}}}
	inspectorB = models.Actor{UserID: uuid.MustParse("0190a000-0000-7000-8000-00000000000b"), Username: "b",
		Role: models.RoleInspector, DeviceID: uuid.MustParse("0190a000-0000-7000-8000-0000000000db"),
		Scope: models.Scope{OrgPrefixes: []string{"370402/370402101"}}}
	// inspectorA2 is user A on a second device.
	inspectorA2 = models.Actor{UserID: inspectorA.UserID, Username: "a", Role: models.RoleInspector,
		DeviceID: uuid.MustParse("0190a000-0000-7000-8000-0000000000d2"), Scope: inspectorA.Scope}
	outsider = models.Actor{UserID: uuid.MustParse("0190a000-0000-7000-8000-00000000000c"), Username: "c",
		Role: models.RoleInspector, DeviceID: uuid.MustParse("0190a000-0000-7000-8000-0000000000dc"),
		Scope: models.Scope{OrgPrefixes: []string{"370402/370402999"}}}
)

var testTokens = map[string]models.Actor{"tok-a": inspectorA, "tok-b": inspectorB, "tok-a2": inspectorA2, "tok-c": outsider}

func testAuth(r *http.Request) (models.Actor, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return models.Actor{}, models.Errorf(models.CodeUnauthenticated, "missing bearer token")
	}
	a, ok := testTokens[tok]
	if !ok {
		return models.Actor{}, models.Errorf(models.CodeInvalidToken, "unknown token")
	}
	return a, nil
}

// testCase is a case in inspector A's and B's area, at Jinan's centre.
func testCase(created time.Time) models.Case {
	return models.Case{
		ID: uuid.Must(uuid.NewV7()), Category: "E0504", State: models.StateReported,
		Location: models.Location{Lat: 36.6512, Lon: 117.1201}, OrgPath: "370402/370402101/370402101001",
		ReporterID: inspectorA.UserID, DeviceID: inspectorA.DeviceID, Version: 1,
		CreatedAt: created, ClientCreatedAt: created, UpdatedAt: created,
	}
}

type testEnv struct {
	t        *testing.T
	dir      string
	store    *fakeStore
	queue    *fakeQueue
	svc      *Service
	now      time.Time
	nowMu    sync.Mutex
	verified chan models.PhotoRecord
}

func (e *testEnv) clock() time.Time {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	return e.now
}

func (e *testEnv) advance(d time.Duration) {
	e.nowMu.Lock()
	defer e.nowMu.Unlock()
	e.now = e.now.Add(d)
}

func newTestEnv(t *testing.T, mod func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir(), store: newFakeStore(), queue: &fakeQueue{},
		now: time.Now().UTC().Truncate(time.Second), verified: make(chan models.PhotoRecord, 100)}
	cfg := Config{
		DataDir: e.dir, Store: e.store, Jobs: e.queue, Authenticate: testAuth,
		OnVerified: func(_ context.Context, p models.PhotoRecord) { e.verified <- p },
		Logger:     quietLogger(t), Now: e.clock,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

func quietLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// noiseJPEG encodes a w×h image of seeded noise over a gradient: noise keeps
// JPEG from compressing it much, so the size is roughly predictable.
func noiseJPEG(t testing.TB, w, h int, seed uint64, quality int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(r.IntN(256))
			img.SetRGBA(x, y, color.RGBA{uint8(x*255/w) ^ n, uint8(y*255/h) ^ (n >> 1), n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifSpec is what addTestEXIF writes.
type exifSpec struct {
	lat, lon    float64 // both 0: no GPS
	taken       string  // "2006:01:02 15:04:05", "" for none
	offset      string  // "+08:00", "" for none
	orientation int     // 0 for none
}

// addTestEXIF inserts an APP1 Exif segment (big-endian TIFF) after the SOI.
func addTestEXIF(t testing.TB, jpg []byte, s exifSpec) []byte {
	t.Helper()
	type entry struct {
		tag, typ uint16
		count    uint32
		data     []byte // value bytes; ≤4 inline, else at an offset
	}
	be := binary.BigEndian
	u16 := func(v uint16) []byte { b := make([]byte, 2); be.PutUint16(b, v); return b }
	u32 := func(v uint32) []byte { b := make([]byte, 4); be.PutUint32(b, v); return b }
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	rationals := func(vs ...[2]uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = append(b, u32(v[0])...)
			b = append(b, u32(v[1])...)
		}
		return b
	}
	dms := func(deg float64) []byte {
		deg = math.Abs(deg)
		d := math.Floor(deg)
		m := math.Floor((deg - d) * 60)
		sec := ((deg-d)*60 - m) * 60
		return rationals([2]uint32{uint32(d), 1}, [2]uint32{uint32(m), 1}, [2]uint32{uint32(math.Round(sec * 10000)), 10000})
	}
	// Layout: header(8) | IFD0 | Exif IFD | GPS IFD | data area.
	var ifd0, exifIFD, gpsIFD []entry
	if s.orientation != 0 {
		ifd0 = append(ifd0, entry{0x0112, 3, 1, append(u16(uint16(s.orientation)), 0, 0)})
	}
	ifd0 = append(ifd0, entry{0x010F, 2, 6, ascii("Xiaom")})
	if s.taken != "" {
		exifIFD = append(exifIFD, entry{0x9003, 2, 20, ascii(s.taken)})
		if s.offset != "" {
			exifIFD = append(exifIFD, entry{0x9011, 2, 7, ascii(s.offset)})
		}
	}
	if s.lat != 0 || s.lon != 0 {
		latRef, lonRef := "N", "E"
		if s.lat < 0 {
			latRef = "S"
		}
		if s.lon < 0 {
			lonRef = "W"
		}
		gpsIFD = []entry{
			{0x0001, 2, 2, ascii(latRef)}, {0x0002, 5, 3, dms(s.lat)},
			{0x0003, 2, 2, ascii(lonRef)}, {0x0004, 5, 3, dms(s.lon)},
		}
	}
	size := func(es []entry) int { return 2 + 12*len(es) + 4 }
	n0 := len(ifd0) + 1 // + Exif pointer
	if len(gpsIFD) > 0 {
		n0++
	}
	off0 := 8
	offExif := off0 + 2 + 12*n0 + 4
	offGPS := offExif + size(exifIFD)
	dataOff := offGPS + size(gpsIFD)
	ifd0 = append(ifd0, entry{0x8769, 4, 1, u32(uint32(offExif))})
	if len(gpsIFD) > 0 {
		ifd0 = append(ifd0, entry{0x8825, 4, 1, u32(uint32(offGPS))})
	}
	var data []byte
	enc := func(es []entry) []byte {
		b := u16(uint16(len(es)))
		for _, e := range es {
			b = append(b, u16(e.tag)...)
			b = append(b, u16(e.typ)...)
			b = append(b, u32(e.count)...)
			if len(e.data) <= 4 {
				v := append(append([]byte{}, e.data...), make([]byte, 4-len(e.data))...)
				b = append(b, v...)
			} else {
				b = append(b, u32(uint32(dataOff+len(data)))...)
				data = append(data, e.data...)
				if len(data)%2 == 1 {
					data = append(data, 0)
				}
			}
		}
		return append(b, u32(0)...)
	}
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = append(tiff, enc(ifd0)...)
	tiff = append(tiff, enc(exifIFD)...)
	if len(gpsIFD) > 0 {
		tiff = append(tiff, enc(gpsIFD)...)
	}
	tiff = append(tiff, data...)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1}, u16(uint16(len(seg)+2))...)
	app1 = append(app1, seg...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	return append(out, jpg[2:]...)
}

// photoMetaFor is valid metadata for bytes b of a report photo on case c.
func photoMetaFor(c models.Case, b []byte) PhotoMeta {
	return PhotoMeta{PhotoID: uuid.Must(uuid.NewV7()), CaseID: c.ID, Stage: "report", Type: models.PhotoFar, SHA256: sha256Hex(b)}
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
