package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func TestEvidenceFlags(t *testing.T) {
	created := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := created.Add(72 * time.Hour)
	c := &models.Case{Location: models.Location{Lat: 36.6512, Lon: 117.1201}, CreatedAt: created.Add(6 * time.Hour), ClientCreatedAt: created}
	f := func(v float64) *float64 { return &v }
	at := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	// wall returns an EXIF time without offset: its wall clock in UTC.
	wall := func(s string) *time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return &tm
	}
	near := func(m float64) (*float64, *float64) { // m metres north of the case
		return f(36.6512 + m/111195), f(117.1201)
	}
	lat100, lon100 := near(100)
	lat300, lon300 := near(300)
	for _, tc := range []struct {
		name  string
		c     *models.Case
		stage string
		exif  *models.EXIFInfo
		want  []string
	}{
		{"no exif", c, "report", nil, nil},
		{"100 m away", c, "report", &models.EXIFInfo{Lat: lat100, Lon: lon100}, nil},
		{"300 m away", c, "report", &models.EXIFInfo{Lat: lat300, Lon: lon300}, []string{FlagFarFromCase}},
		{"case without location", &models.Case{ClientCreatedAt: created}, "report", &models.EXIFInfo{Lat: lat300, Lon: lon300}, nil},
		{"no case yet", nil, "report", &models.EXIFInfo{Lat: lat300, Lon: lon300, TakenAt: at("2026-05-01T09:00:00Z"), OffsetTime: "+00:00"}, nil},
		{"no case, taken in the future", nil, "report", &models.EXIFInfo{TakenAt: at("2026-05-05T11:00:00Z"), OffsetTime: "+00:00"}, []string{FlagTimeSkew}},
		{"report taken an hour before", c, "report", &models.EXIFInfo{TakenAt: at("2026-05-01T17:00:00+08:00"), OffsetTime: "+08:00"}, nil},
		{"report taken two days before", c, "report", &models.EXIFInfo{TakenAt: at("2026-04-29T09:00:00Z"), OffsetTime: "+00:00"}, []string{FlagTimeSkew}},
		{"report taken two days after", c, "report", &models.EXIFInfo{TakenAt: at("2026-05-03T11:00:00Z"), OffsetTime: "+00:00"}, []string{FlagTimeSkew}},
		{"check taken two days after", c, "check", &models.EXIFInfo{TakenAt: at("2026-05-03T11:00:00Z"), OffsetTime: "+00:00"}, nil},
		{"check taken before the case", c, "check", &models.EXIFInfo{TakenAt: at("2026-04-29T09:00:00Z"), OffsetTime: "+00:00"}, []string{FlagTimeSkew}},
		// 17:30 CST on 2 May is 09:30 UTC: 23.5 h after creation. Read as UTC it would be 31.5 h.
		{"no offset is China time", c, "report", &models.EXIFInfo{TakenAt: wall("2026-05-02 17:30:00")}, nil},
		{"no offset, beyond a day", c, "report", &models.EXIFInfo{TakenAt: wall("2026-05-02 18:30:00")}, []string{FlagTimeSkew}},
		{"server creation when the device's is unknown", &models.Case{CreatedAt: created}, "report",
			&models.EXIFInfo{TakenAt: at("2026-05-02T11:00:00Z"), OffsetTime: "+00:00"}, []string{FlagTimeSkew}},
		{"both", c, "report", &models.EXIFInfo{Lat: lat300, Lon: lon300, TakenAt: at("2026-04-20T09:00:00Z"), OffsetTime: "+00:00"},
			[]string{FlagFarFromCase, FlagTimeSkew}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := evidenceFlags(tc.c, tc.stage, tc.exif, now); !slices.Equal(got, tc.want) {
				t.Fatalf("flags %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMergeFlags(t *testing.T) {
	got := mergeFlags([]string{"a", "b"}, nil, []string{"b", "", "c"}, []string{"a"})
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("mergeFlags = %v", got)
	}
}

func TestParsePhotoMeta(t *testing.T) {
	id, cid := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	h := strings.Repeat("ab", 32)
	md := map[string]string{"photo_id": id.String(), "case_id": cid.String(), "stage": "check", "type": "check",
		"sha256": strings.ToUpper(h), "filename": "检查照片.jpg", "captured_at": "2026-05-01T10:00:00+08:00",
		"filetype": "image/jpeg", metaUploader: uuid.Nil.String()}
	m, err := ParsePhotoMeta(md)
	if err != nil {
		t.Fatal(err)
	}
	if m.PhotoID != id || m.CaseID != cid || m.Stage != "check" || m.Type != models.PhotoCheck || m.SHA256 != h ||
		m.Filename != "检查照片.jpg" || m.CapturedAt == nil || !m.CapturedAt.Equal(time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("parsed %+v", m)
	}
	stored := m.metadata()
	if _, ok := stored[metaUploader]; ok {
		t.Fatal("client-sent uploader survived")
	}
	if _, ok := stored["filetype"]; ok {
		t.Fatal("unknown key survived")
	}
	back, err := ParsePhotoMeta(stored)
	if err != nil || !back.sameTarget(m) || !back.CapturedAt.Equal(*m.CapturedAt) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

func TestOnVerifiedDoesNotBlockLong(t *testing.T) {
	release := make(chan struct{})
	called := make(chan models.PhotoRecord, 1)
	e := newTestEnv(t, func(c *Config) {
		c.OnVerifiedWait = 50 * time.Millisecond
		c.OnVerified = func(ctx context.Context, p models.PhotoRecord) {
			called <- p
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	t.Cleanup(func() { close(release) })
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 160, 120, 20, 90))
	start := time.Now()
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), f.meta, f.data)
	mustStatus(t, resp, body, http.StatusCreated)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("upload waited %v for a stuck OnVerified", d)
	}
	select {
	case p := <-called:
		if p.ID != f.meta.PhotoID || !p.Verified {
			t.Fatalf("OnVerified got %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnVerified not called")
	}
}

func TestEXIFFlagsEndToEnd(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	base := noiseJPEG(t, 320, 240, 21, 90)

	// The case was created an hour ago (fixture); this photo was taken 3 days
	// earlier, 1 km north, and is rotated.
	taken := e.clock().Add(-73 * time.Hour).In(chinaZone)
	bad := addTestEXIF(t, base, exifSpec{lat: 36.6512 + 1000.0/111195, lon: 117.1201,
		taken: taken.Format("2006:01:02 15:04:05"), offset: "+08:00", orientation: 6})
	f := e.fixture(bad)
	resp, body := uploadAll(t, a, f.meta, f.data)
	mustStatus(t, resp, body, http.StatusCreated)
	p := e.checkStored(f)
	if !slices.Contains(p.Flags, FlagFarFromCase) || !slices.Contains(p.Flags, FlagTimeSkew) {
		t.Fatalf("flags %v", p.Flags)
	}
	if p.EXIF == nil || p.EXIF.Orientation != 6 || p.EXIF.Lat == nil || p.EXIF.TakenAt == nil || !p.EXIF.TakenAt.Equal(taken.Truncate(time.Second)) {
		t.Fatalf("EXIF %+v", p.EXIF)
	}
	// The final response already carried the flags.
	flagsHdr := a.head(a.location(resp)).Header.Get(HeaderPhotoFlags)
	if !strings.Contains(flagsHdr, FlagFarFromCase) || !strings.Contains(flagsHdr, FlagTimeSkew) {
		t.Fatalf("flags header %q", flagsHdr)
	}

	good := addTestEXIF(t, base, exifSpec{lat: 36.6512 + 50.0/111195, lon: 117.1201,
		taken: e.clock().Add(-30 * time.Minute).In(chinaZone).Format("2006:01:02 15:04:05"), offset: "+08:00"})
	g := e.fixture(good)
	resp, body = uploadAll(t, a, g.meta, g.data)
	mustStatus(t, resp, body, http.StatusCreated)
	if p := e.checkStored(g); len(p.Flags) != 0 {
		t.Fatalf("a photo on the spot got flags %v", p.Flags)
	}
}

// proofFor computes what an honest device answers.
func proofFor(t *testing.T, nonce string, data []byte) string {
	t.Helper()
	nb, err := hex.DecodeString(nonce)
	if err != nil || len(nb) != 32 {
		t.Fatalf("nonce %q", nonce)
	}
	h := sha256.New()
	h.Write(nb)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func TestProofDedupe(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	srv := testServer(t, e.svc.TusHandler())
	data := noiseJPEG(t, 320, 240, 22, 90)
	first := e.fixture(data)
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), first.meta, first.data)
	mustStatus(t, resp, body, http.StatusCreated)
	<-e.verified

	// B attaches the same bytes to another case as another photo.
	second := e.fixture(data)
	meta := second.meta
	code := func(err error) models.Code { return models.ErrorCode(err) }

	t.Run("no bytes held", func(t *testing.T) {
		m := meta
		m.SHA256 = sha256Hex([]byte("never uploaded"))
		if _, err := e.svc.Challenge(ctx, inspectorB, m); code(err) != models.CodeNotFound {
			t.Fatalf("Challenge = %v", err)
		}
	})
	t.Run("case out of scope", func(t *testing.T) {
		if _, err := e.svc.Challenge(ctx, outsider, meta); code(err) != models.CodeNotFound {
			t.Fatalf("Challenge = %v", err)
		}
	})
	t.Run("invalid meta", func(t *testing.T) {
		m := meta
		m.Stage = "whenever"
		if _, err := e.svc.Challenge(ctx, inspectorB, m); code(err) != models.CodeInvalidInput {
			t.Fatalf("Challenge = %v", err)
		}
	})

	nonce, err := e.svc.Challenge(ctx, inspectorB, meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(nonce) != 64 {
		t.Fatalf("nonce %q", nonce)
	}
	// The hash alone is no proof, and a wrong proof burns the nonce.
	if _, err := e.svc.Prove(ctx, inspectorB, meta, nonce, meta.SHA256); code(err) != models.CodeProofRequired {
		t.Fatalf("hash as proof: %v", err)
	}
	if _, err := e.svc.Prove(ctx, inspectorB, meta, nonce, proofFor(t, nonce, data)); code(err) != models.CodeProofRequired {
		t.Fatalf("reused nonce: %v", err)
	}
	if _, ok := e.store.photo(meta.PhotoID); ok {
		t.Fatal("a refused proof attached the photo")
	}

	// A nonce is bound to its actor and its photo, and expires.
	nonce, _ = e.svc.Challenge(ctx, inspectorB, meta)
	if _, err := e.svc.Prove(ctx, inspectorA, meta, nonce, proofFor(t, nonce, data)); code(err) != models.CodeProofRequired {
		t.Fatalf("someone else's nonce: %v", err)
	}
	nonce, _ = e.svc.Challenge(ctx, inspectorB, meta)
	other := meta
	other.PhotoID = uuid.Must(uuid.NewV7())
	if _, err := e.svc.Prove(ctx, inspectorB, other, nonce, proofFor(t, nonce, data)); code(err) != models.CodeProofRequired {
		t.Fatalf("nonce for another photo: %v", err)
	}
	nonce, _ = e.svc.Challenge(ctx, inspectorB, meta)
	e.advance(ProofNonceTTL + time.Second)
	if _, err := e.svc.Prove(ctx, inspectorB, meta, nonce, proofFor(t, nonce, data)); code(err) != models.CodeProofRequired {
		t.Fatalf("expired nonce: %v", err)
	}
	nonce, _ = e.svc.Challenge(ctx, inspectorB, meta)
	if _, err := e.svc.Prove(ctx, inspectorB, meta, nonce, "zz"); code(err) != models.CodeInvalidInput {
		t.Fatalf("malformed proof: %v", err)
	}

	// The honest answer attaches the photo as an upload would.
	nonce, _ = e.svc.Challenge(ctx, inspectorB, meta)
	before := e.store.caseSeq(second.c.ID)
	p, err := e.svc.Prove(ctx, inspectorB, meta, nonce, strings.ToUpper(proofFor(t, nonce, data)))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verified || p.UploaderID != inspectorB.UserID || p.DeviceID != inspectorB.DeviceID || p.CaseID != second.c.ID ||
		p.Size != int64(len(data)) || p.ContentType != "image/jpeg" || p.Width != 320 || p.ReceivedAt == nil {
		t.Fatalf("proved photo %+v", p)
	}
	if e.store.caseSeq(second.c.ID) <= before {
		t.Fatal("case not bumped")
	}
	if got := <-e.verified; got.ID != meta.PhotoID {
		t.Fatalf("OnVerified got %v", got.ID)
	}
	if n, _ := e.queue.Pending(ctx, ThumbnailJob); n != 2 {
		t.Fatalf("%d thumbnail jobs, want 2", n)
	}
	// The nonce is spent.
	if _, err := e.svc.Prove(ctx, inspectorB, meta, nonce, proofFor(t, nonce, data)); code(err) != models.CodeProofRequired {
		t.Fatalf("nonce reused after success: %v", err)
	}
	// And the photo is now delivered.
	if _, err := e.svc.Challenge(ctx, inspectorB, meta); code(err) != models.CodeAlreadyExists {
		t.Fatalf("Challenge for a delivered photo: %v", err)
	}
}

func TestAcceptIsIdempotent(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	data := noiseJPEG(t, 64, 48, 23, 90)
	f := e.fixture(data)
	info, err := InspectImage(bytes.NewReader(data), int64(len(data)), DefaultImageLimits())
	if err != nil {
		t.Fatal(err)
	}
	by := uploaderOf{inspectorA.UserID, inspectorA.DeviceID}
	p1, err := e.svc.accept(ctx, f.meta, by, int64(len(data)), info)
	if err != nil {
		t.Fatal(err)
	}
	seq := e.store.caseSeq(f.c.ID)
	p2, err := e.svc.accept(ctx, f.meta, by, int64(len(data)), info)
	if err != nil {
		t.Fatal(err)
	}
	if p1.ID != p2.ID || !p2.ReceivedAt.Equal(*p1.ReceivedAt) || e.store.caseSeq(f.c.ID) != seq {
		t.Fatal("a second delivery changed the record")
	}
	// Someone else cannot deliver it.
	if _, err := e.svc.accept(ctx, f.meta, uploaderOf{inspectorB.UserID, inspectorB.DeviceID}, int64(len(data)), info); models.ErrorCode(err) != models.CodeForbidden {
		t.Fatalf("foreign delivery: %v", err)
	}
}

func TestServiceRun(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.ThumbWorkers = 2 })
	srv := testServer(t, e.svc.TusHandler())
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { e.svc.Run(ctx); close(stopped) }()
	f := e.fixture(noiseJPEG(t, 200, 150, 24, 90))
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), f.meta, f.data)
	mustStatus(t, resp, body, http.StatusCreated)
	waitFor(t, "thumbnails from Run", func() bool { p, _ := e.store.photo(f.meta.PhotoID); return p.ThumbSmall != "" })
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestInflightWait(t *testing.T) {
	var f inflight
	f.wait(time.Hour) // nothing running: returns at once
	f.add()
	start := time.Now()
	f.wait(20 * time.Millisecond)
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("wait returned while a call ran")
	}
	go func() { time.Sleep(10 * time.Millisecond); f.add(); f.done(); f.done() }()
	f.wait(10 * time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n != 0 {
		t.Fatalf("wait returned with %d running", f.n)
	}
}
