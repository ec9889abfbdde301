package uploads

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// uploadFixture is a case in the store and a photo for it.
type uploadFixture struct {
	c    models.Case
	data []byte
	meta PhotoMeta
}

func (e *testEnv) fixture(data []byte) uploadFixture {
	c := testCase(e.clock().Add(-time.Hour))
	e.store.putCase(c)
	c, _ = e.store.GetCase(context.Background(), c.ID)
	return uploadFixture{c: c, data: data, meta: photoMetaFor(c, data)}
}

// uploadAll sends data in one creation-with-upload request.
func uploadAll(t *testing.T, c *tusClient, meta PhotoMeta, data []byte) (*http.Response, []byte) {
	t.Helper()
	return c.create(metaMap(meta), int64(len(data)), data)
}

// checkStored verifies that the photo was recorded verified and that its
// original in the blob store is byte for byte the data sent.
func (e *testEnv) checkStored(f uploadFixture) models.PhotoRecord {
	t := e.t
	t.Helper()
	p, ok := e.store.photo(f.meta.PhotoID)
	if !ok {
		t.Fatal("photo not recorded")
	}
	if !p.Verified || p.ReceivedAt == nil || p.SHA256 != f.meta.SHA256 || p.Size != int64(len(f.data)) ||
		p.ContentType != "image/jpeg" || p.Width == 0 || p.Height == 0 || p.CaseID != f.c.ID {
		t.Fatalf("photo record %+v", p)
	}
	b, err := e.svc.blobs.Open(context.Background(), f.meta.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.data) || sha256Hex(got) != f.meta.SHA256 || b.Size() != int64(len(f.data)) {
		t.Fatalf("stored blob differs from the upload (%d bytes vs %d)", len(got), len(f.data))
	}
	if e.store.caseSeq(f.c.ID) <= f.c.ChangeSeq {
		t.Fatalf("case change seq not bumped: %d", e.store.caseSeq(f.c.ID))
	}
	return p
}

func TestTusResumeAfterCutsByClient(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 1000, 750, 1, 92))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d bytes", seed, len(f.data))
	rng := rand.New(rand.NewPCG(seed, 7))
	c := newTusClient(t, srv.URL, "tok-a")

	resp, body := c.create(metaMap(f.meta), int64(len(f.data)), nil)
	mustStatus(t, resp, body, http.StatusCreated)
	loc := c.location(resp)
	size := int64(len(f.data))
	var offset int64
	cuts := 0
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatal("upload did not finish in 50 rounds")
		}
		rest := size - offset
		if cuts < 5 && rest > 1 {
			cutAt := 1 + rng.Int64N(rest-1)
			resp, body, err := c.patch(loc, offset, &failAfter{r: bytes.NewReader(f.data[offset:]), n: cutAt}, rest)
			// The server may refuse before the cut: a request cut earlier
			// was still appending when we asked for the offset.
			if err == nil && resp.StatusCode != http.StatusConflict {
				t.Fatalf("a cut PATCH answered %d %s", resp.StatusCode, body)
			}
			cuts++
			got := c.offset(loc)
			if got < offset || got > size {
				t.Fatalf("after a cut at %d+%d the server is at %d", offset, cutAt, got)
			}
			offset = got
			continue
		}
		resp, body, err := c.patch(loc, offset, bytes.NewReader(f.data[offset:]), rest)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusConflict {
			// A cut request the server had not finished reading was still
			// appending after our HEAD: tus says HEAD again and resume.
			offset = c.offset(loc)
			continue
		}
		mustStatus(t, resp, body, http.StatusNoContent)
		if resp.Header.Get(HeaderPhotoVerified) != "true" || resp.Header.Get(HeaderPhotoID) != f.meta.PhotoID.String() {
			t.Fatalf("final PATCH headers %v", resp.Header)
		}
		if resp.Header.Get("Upload-Offset") != strconv.FormatInt(size, 10) {
			t.Fatalf("final Upload-Offset %q", resp.Header.Get("Upload-Offset"))
		}
		break
	}
	e.checkStored(f)
	select {
	case p := <-e.verified:
		if p.ID != f.meta.PhotoID || !p.Verified {
			t.Fatalf("OnVerified got %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnVerified not called")
	}
	if n, _ := e.queue.Pending(context.Background(), ThumbnailJob); n != 1 {
		t.Fatalf("%d thumbnail jobs pending, want 1", n)
	}
	// A client that lost the final response learns the outcome from HEAD.
	h := c.head(loc)
	if h.StatusCode != http.StatusOK || h.Header.Get("Upload-Offset") != strconv.FormatInt(size, 10) ||
		h.Header.Get(HeaderPhotoVerified) != "true" {
		t.Fatalf("HEAD after finish: %d %v", h.StatusCode, h.Header)
	}
	// Only the receipt is left of the upload.
	left, _ := filepath.Glob(filepath.Join(e.dir, "uploads", "*"))
	if len(left) != 1 || !strings.HasSuffix(left[0], ".done") {
		t.Fatalf("upload dir holds %v", left)
	}
}

func TestTusResumeThroughDroppingProxy(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 1200, 900, 2, 95))
	size := int64(len(f.data))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d bytes", seed, size)
	rng := rand.New(rand.NewPCG(seed, 11))
	proxy := newCuttingProxy(t, strings.TrimPrefix(srv.URL, "http://"), func(cuts int) int64 {
		if cuts >= 4 {
			return math.MaxInt64
		}
		return 1024 + rng.Int64N(size/3) // well above any HEAD, below most PATCHes
	})
	c := newTusClient(t, proxy.url(), "tok-a")
	c.hc.Transport.(*http.Transport).DisableKeepAlives = true // one connection, one budget, per request

	resp, body := c.create(metaMap(f.meta), size, nil)
	mustStatus(t, resp, body, http.StatusCreated)
	loc := c.location(resp)
	var offset int64
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatal("upload did not finish in 50 rounds")
		}
		resp, body, err := c.patch(loc, offset, bytes.NewReader(f.data[offset:]), size-offset)
		if err == nil && resp.StatusCode == http.StatusNoContent && resp.Header.Get("Upload-Offset") == strconv.FormatInt(size, 10) {
			if resp.Header.Get(HeaderPhotoVerified) != "true" {
				t.Fatalf("final PATCH headers %v", resp.Header)
			}
			break
		}
		if err == nil {
			t.Logf("PATCH answered %d %s", resp.StatusCode, body)
		}
		got := c.offset(loc)
		if got < offset {
			t.Fatalf("offset went back from %d to %d", offset, got)
		}
		offset = got
	}
	if proxy.cutCount() == 0 {
		t.Fatal("the proxy never cut a connection: the test proved nothing")
	}
	t.Logf("%d cuts", proxy.cutCount())
	e.checkStored(f)
}

func TestTusHashMismatchAttachesNothing(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 200, 150, 3, 90))
	other := noiseJPEG(t, 200, 150, 4, 90)
	f.meta.SHA256 = sha256Hex(other) // announced hash of other bytes
	c := newTusClient(t, srv.URL, "tok-a")

	resp, body := c.create(metaMap(f.meta), int64(len(f.data)), nil)
	mustStatus(t, resp, body, http.StatusCreated)
	loc := c.location(resp)
	resp, body, err := c.patch(loc, 0, bytes.NewReader(f.data), int64(len(f.data)))
	if err != nil {
		t.Fatal(err)
	}
	p := problemOf(t, resp, body)
	if p.Code != string(models.CodeHashMismatch) || resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("got %d %+v", resp.StatusCode, p)
	}
	if _, ok := e.store.photo(f.meta.PhotoID); ok {
		t.Fatal("a photo was recorded")
	}
	for _, h := range []string{sha256Hex(f.data), sha256Hex(other)} {
		if ok, _ := e.svc.blobs.Has(context.Background(), h); ok {
			t.Fatalf("blob %s stored", h)
		}
	}
	if e.store.caseSeq(f.c.ID) != f.c.ChangeSeq {
		t.Fatal("case bumped")
	}
	if h := c.head(loc); h.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD after refusal: %d, want 404 (upload deleted)", h.StatusCode)
	}
	if left, _ := filepath.Glob(filepath.Join(e.dir, "uploads", "*")); len(left) != 0 {
		t.Fatalf("upload files left: %v", left)
	}
	select {
	case p := <-e.verified:
		t.Fatalf("OnVerified called for %v", p.ID)
	default:
	}
}

func TestTusRefusesBadImages(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	c := newTusClient(t, srv.URL, "tok-a")
	jpg := noiseJPEG(t, 300, 200, 5, 90)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), bytes.Repeat([]byte{1}, 500)...)
	for _, tc := range []struct {
		name   string
		data   []byte
		code   models.Code
		status int
	}{
		{"truncated jpeg", jpg[:len(jpg)*2/3], models.CodeImageInvalid, http.StatusUnprocessableEntity},
		{"text named .jpg", []byte(strings.Repeat("this is not a photo\n", 50)), models.CodeImageInvalid, http.StatusUnprocessableEntity},
		{"heic", heic, models.CodeUnsupportedImage, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := e.fixture(tc.data)
			f.meta.Filename = "IMG_0001.jpg"
			resp, body := uploadAll(t, c, f.meta, f.data)
			p := problemOf(t, resp, body)
			if p.Code != string(tc.code) || resp.StatusCode != tc.status {
				t.Fatalf("got %d %+v, want %d %s", resp.StatusCode, p, tc.status, tc.code)
			}
			if _, ok := e.store.photo(f.meta.PhotoID); ok {
				t.Fatal("photo recorded")
			}
			if ok, _ := e.svc.blobs.Has(context.Background(), f.meta.SHA256); ok {
				t.Fatal("blob stored")
			}
		})
	}
}

func TestTusAuthentication(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 200, 150, 6, 90))
	half := int64(len(f.data) / 2)

	// No token, bad token.
	for tok, code := range map[string]models.Code{"": models.CodeUnauthenticated, "nope": models.CodeInvalidToken} {
		resp, body := newTusClient(t, srv.URL, tok).create(metaMap(f.meta), int64(len(f.data)), nil)
		p := problemOf(t, resp, body)
		if resp.StatusCode != http.StatusUnauthorized || p.Code != string(code) || resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("token %q: %d %+v", tok, resp.StatusCode, p)
		}
	}
	// Protocol discovery needs no token.
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+DefaultBasePath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Tus-Version") != "1.0.0" ||
		!strings.Contains(resp.Header.Get("Tus-Extension"), "termination") ||
		strings.Contains(resp.Header.Get("Tus-Extension"), "concatenation") {
		t.Fatalf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}

	a := newTusClient(t, srv.URL, "tok-a")
	resp, body := a.create(metaMap(f.meta), int64(len(f.data)), f.data[:half])
	mustStatus(t, resp, body, http.StatusCreated)
	loc := a.location(resp)

	// Nobody else may see, continue or delete it: not B, not A on another device.
	for _, tok := range []string{"tok-b", "tok-a2", "tok-c"} {
		o := newTusClient(t, srv.URL, tok)
		if h := o.head(loc); h.StatusCode != http.StatusNotFound {
			t.Fatalf("%s HEAD: %d", tok, h.StatusCode)
		}
		resp, body, err := o.patch(loc, half, bytes.NewReader(f.data[half:]), int64(len(f.data))-half)
		if err != nil {
			t.Fatal(err)
		}
		if p := problemOf(t, resp, body); resp.StatusCode != http.StatusNotFound || p.Code != string(models.CodeNotFound) {
			t.Fatalf("%s PATCH: %d %+v", tok, resp.StatusCode, p)
		}
		if d := o.delete(loc); d.StatusCode != http.StatusNotFound {
			t.Fatalf("%s DELETE: %d", tok, d.StatusCode)
		}
	}
	if h := newTusClient(t, srv.URL, "").head(loc); h.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous HEAD: %d", h.StatusCode)
	}
	// Through the method override too.
	req, _ = http.NewRequest(http.MethodPost, loc, bytes.NewReader(f.data[half:]))
	req.Header.Set("X-HTTP-Method-Override", "PATCH")
	req.Header.Set("Upload-Offset", strconv.FormatInt(half, 10))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp = newTusClient(t, srv.URL, "tok-b").do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("override PATCH by B: %d", resp.StatusCode)
	}
	// The owner still can.
	if got := a.offset(loc); got != half {
		t.Fatalf("offset %d, want %d", got, half)
	}
	resp, body, err = a.patch(loc, half, bytes.NewReader(f.data[half:]), int64(len(f.data))-half)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, resp, body, http.StatusNoContent)
	e.checkStored(f)
}

func TestTusTermination(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 200, 150, 7, 90))
	a := newTusClient(t, srv.URL, "tok-a")
	resp, body := a.create(metaMap(f.meta), int64(len(f.data)), f.data[:100])
	mustStatus(t, resp, body, http.StatusCreated)
	loc := a.location(resp)
	if d := a.delete(loc); d.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", d.StatusCode)
	}
	if h := a.head(loc); h.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD after DELETE: %d", h.StatusCode)
	}
}

func TestTusCreationValidation(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxUploadSize = 1 << 20 })
	srv := testServer(t, e.svc.TusHandler())
	f := e.fixture(noiseJPEG(t, 100, 100, 8, 90))
	good := metaMap(f.meta)
	with := func(k, v string) map[string]string {
		m := metaMap(f.meta)
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	outCase := testCase(e.clock())
	outCase.OrgPath = "370402/370402555/370402555001"
	outCase.ReporterID = inspectorB.UserID
	e.store.putCase(outCase)
	for _, tc := range []struct {
		name   string
		md     map[string]string
		size   int64
		status int
		code   models.Code
		field  string
	}{
		{"no photo_id", with("photo_id", ""), 100, 422, models.CodeInvalidInput, "photo_id"},
		{"bad photo_id", with("photo_id", "42"), 100, 422, models.CodeInvalidInput, "photo_id"},
		{"nil photo_id", with("photo_id", uuid.Nil.String()), 100, 422, models.CodeInvalidInput, "photo_id"},
		{"no case_id", with("case_id", ""), 100, 422, models.CodeInvalidInput, "case_id"},
		{"bad stage", with("stage", "later"), 100, 422, models.CodeInvalidInput, "stage"},
		{"bad type", with("type", "selfie"), 100, 422, models.CodeInvalidInput, "type"},
		{"short sha256", with("sha256", "abc"), 100, 422, models.CodeInvalidInput, "sha256"},
		{"non-hex sha256", with("sha256", strings.Repeat("g", 64)), 100, 422, models.CodeInvalidInput, "sha256"},
		{"control in filename", with("filename", "a\x00b.jpg"), 100, 422, models.CodeInvalidInput, "filename"},
		{"bad captured_at", with("captured_at", "yesterday"), 100, 422, models.CodeInvalidInput, "captured_at"},
		{"empty upload", good, 0, 422, models.CodeInvalidInput, "Upload-Length"},
		{"too large", good, 2 << 20, 413, models.CodeUploadTooLarge, ""},
		{"unknown case", with("case_id", uuid.Must(uuid.NewV7()).String()), 100, 404, models.CodeNotFound, "case_id"},
		{"case out of scope", with("case_id", outCase.ID.String()), 100, 404, models.CodeNotFound, "case_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := newTusClient(t, srv.URL, "tok-a").create(tc.md, tc.size, nil)
			p := problemOf(t, resp, body)
			if resp.StatusCode != tc.status || p.Code != string(tc.code) || p.Field != tc.field {
				t.Fatalf("got %d %+v, want %d %s field %q", resp.StatusCode, p, tc.status, tc.code, tc.field)
			}
		})
	}
	// Upper-case hex is accepted and normalised.
	m := with("sha256", strings.ToUpper(f.meta.SHA256))
	resp, body := newTusClient(t, srv.URL, "tok-a").create(m, int64(len(f.data)), f.data)
	mustStatus(t, resp, body, http.StatusCreated)
	e.checkStored(f)
	// The outsider cannot attach to A's case.
	f2 := e.fixture(f.data)
	resp, body = newTusClient(t, srv.URL, "tok-c").create(metaMap(f2.meta), int64(len(f2.data)), nil)
	if p := problemOf(t, resp, body); resp.StatusCode != 404 || p.Code != string(models.CodeNotFound) {
		t.Fatalf("outsider: %d %+v", resp.StatusCode, p)
	}
}

func TestTusExistingPhotoRecords(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	data := noiseJPEG(t, 240, 180, 9, 90)

	t.Run("add_photo first keeps its metadata", func(t *testing.T) {
		f := e.fixture(data)
		captured := e.clock().Add(-2 * time.Hour)
		announced := models.PhotoRecord{ID: f.meta.PhotoID, CaseID: f.c.ID, Stage: "report", Type: models.PhotoNear,
			SHA256: f.meta.SHA256, CapturedAt: &captured, AppVersion: "2.3.1", UploaderID: inspectorA.UserID,
			DeviceID: inspectorA.DeviceID, GPS: &models.PhotoGPS{Lat: 36.65, Lon: 117.12, Accuracy: 8, Source: "gps"},
			CreatedAt: captured, Flags: []string{"mock_location"}}
		e.store.putPhoto(announced)
		resp, body := uploadAll(t, a, f.meta, f.data) // the upload says "far"; the record stands
		mustStatus(t, resp, body, http.StatusCreated)
		p := e.checkStored(f)
		if p.Type != models.PhotoNear || p.AppVersion != "2.3.1" || p.GPS == nil || p.GPS.Accuracy != 8 ||
			!p.CapturedAt.Equal(captured) || !slices.Contains(p.Flags, "mock_location") {
			t.Fatalf("metadata of the announced record lost: %+v", p)
		}
	})
	t.Run("announced with another hash", func(t *testing.T) {
		f := e.fixture(data)
		e.store.putPhoto(models.PhotoRecord{ID: f.meta.PhotoID, CaseID: f.c.ID, Stage: "report", Type: models.PhotoFar,
			SHA256: strings.Repeat("0", 64), UploaderID: inspectorA.UserID})
		resp, body := uploadAll(t, a, f.meta, f.data)
		if p := problemOf(t, resp, body); p.Code != string(models.CodeHashMismatch) {
			t.Fatalf("got %+v", p)
		}
	})
	t.Run("already verified", func(t *testing.T) {
		f := e.fixture(data)
		resp, body := uploadAll(t, a, f.meta, f.data)
		mustStatus(t, resp, body, http.StatusCreated)
		resp, body = uploadAll(t, a, f.meta, f.data)
		if p := problemOf(t, resp, body); resp.StatusCode != http.StatusConflict || p.Code != string(models.CodeAlreadyExists) {
			t.Fatalf("got %d %+v", resp.StatusCode, p)
		}
	})
	t.Run("case not created yet but photo announced", func(t *testing.T) {
		caseID := uuid.Must(uuid.NewV7())
		meta := PhotoMeta{PhotoID: uuid.Must(uuid.NewV7()), CaseID: caseID, Stage: "report", Type: models.PhotoFar, SHA256: sha256Hex(data)}
		// Announced by someone else: A may not use it.
		e.store.putPhoto(models.PhotoRecord{ID: meta.PhotoID, CaseID: caseID, Stage: "report", Type: models.PhotoFar,
			SHA256: meta.SHA256, UploaderID: inspectorB.UserID})
		resp, body := uploadAll(t, a, meta, data)
		if p := problemOf(t, resp, body); resp.StatusCode != 404 || p.Code != string(models.CodeNotFound) {
			t.Fatalf("foreign announcement: %d %+v", resp.StatusCode, p)
		}
		// Announced by A: the upload is accepted before the case exists.
		meta.PhotoID = uuid.Must(uuid.NewV7())
		e.store.putPhoto(models.PhotoRecord{ID: meta.PhotoID, CaseID: caseID, Stage: "report", Type: models.PhotoFar,
			SHA256: meta.SHA256, UploaderID: inspectorA.UserID, DeviceID: inspectorA.DeviceID})
		resp, body = uploadAll(t, a, meta, data)
		mustStatus(t, resp, body, http.StatusCreated)
		if p, _ := e.store.photo(meta.PhotoID); !p.Verified {
			t.Fatalf("photo not verified: %+v", p)
		}
	})
}

func TestTusFinishRetriedAfterServerError(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	f := e.fixture(noiseJPEG(t, 300, 200, 10, 90))
	size := int64(len(f.data))
	resp, body := a.create(metaMap(f.meta), size, nil)
	mustStatus(t, resp, body, http.StatusCreated)
	loc := a.location(resp)

	e.store.mu.Lock()
	e.store.failNext = 1
	e.store.mu.Unlock()
	resp, body, err := a.patch(loc, 0, bytes.NewReader(f.data), size)
	if err != nil {
		t.Fatal(err)
	}
	if p := problemOf(t, resp, body); resp.StatusCode != 500 || p.Code != string(models.CodeInternal) ||
		strings.Contains(string(body), errInjected.Error()) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if _, ok := e.store.photo(f.meta.PhotoID); ok {
		t.Fatal("photo recorded despite the failure")
	}
	// The retried final PATCH (no bytes left) finishes it.
	resp, body, err = a.patch(loc, size, bytes.NewReader(nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, resp, body, http.StatusNoContent)
	if resp.Header.Get(HeaderPhotoVerified) != "true" {
		t.Fatalf("retry headers %v", resp.Header)
	}
	e.checkStored(f)
}

func TestTusFinishPendingSweep(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	f := e.fixture(noiseJPEG(t, 300, 200, 11, 90))
	e.store.mu.Lock()
	e.store.failNext = 1
	e.store.mu.Unlock()
	resp, body := uploadAll(t, a, f.meta, f.data)
	if resp.StatusCode != 500 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	if n, err := e.svc.Tus().FinishPending(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the grace period finished %d (%v)", n, err)
	}
	e.advance(2 * sweepGrace)
	if n, err := e.svc.Tus().FinishPending(ctx); err != nil || n != 1 {
		t.Fatalf("sweep finished %d (%v), want 1", n, err)
	}
	e.checkStored(f)
}

func TestTusExpireOlderThan(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	ctx := context.Background()
	tus := e.svc.Tus()

	stale := e.fixture(noiseJPEG(t, 200, 150, 12, 90))
	resp, body := a.create(metaMap(stale.meta), int64(len(stale.data)), stale.data[:500])
	mustStatus(t, resp, body, http.StatusCreated)
	staleLoc := a.location(resp)

	done := e.fixture(noiseJPEG(t, 200, 150, 13, 90))
	resp, body = uploadAll(t, a, done.meta, done.data)
	mustStatus(t, resp, body, http.StatusCreated)
	doneLoc := a.location(resp)

	if n, err := tus.ExpireOlderThan(ctx, DefaultExpireAfter); err != nil || n != 0 {
		t.Fatalf("fresh uploads expired: %d %v", n, err)
	}
	e.advance(DefaultExpireAfter + time.Minute)
	// Touched just now by a resumed PATCH: survives.
	fresh := e.fixture(noiseJPEG(t, 200, 150, 14, 90))
	resp, body = a.create(metaMap(fresh.meta), int64(len(fresh.data)), fresh.data[:500])
	mustStatus(t, resp, body, http.StatusCreated)
	freshLoc := a.location(resp)
	future := e.clock()
	for _, name := range []string{filepath.Base(freshLoc), filepath.Base(freshLoc) + ".info"} {
		if err := os.Chtimes(filepath.Join(e.dir, "uploads", name), future, future); err != nil {
			t.Fatal(err)
		}
	}

	// Bytes whose .info a crash never wrote.
	orphan := filepath.Join(e.dir, "uploads", newUploadID())
	if err := os.WriteFile(orphan, []byte("partial"), 0o640); err != nil {
		t.Fatal(err)
	}

	if n, err := tus.ExpireOlderThan(ctx, DefaultExpireAfter); err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatal("orphaned upload bytes kept")
	}
	if h := a.head(staleLoc); h.StatusCode != http.StatusNotFound {
		t.Fatalf("stale upload HEAD: %d", h.StatusCode)
	}
	if h := a.head(doneLoc); h.StatusCode != http.StatusNotFound {
		t.Fatalf("old receipt HEAD: %d, want 404 (receipt expired)", h.StatusCode)
	}
	if got := a.offset(freshLoc); got != 500 {
		t.Fatalf("fresh upload at %d", got)
	}
	if p, ok := e.store.photo(done.meta.PhotoID); !ok || !p.Verified {
		t.Fatal("expiry touched a finished photo")
	}
}

// TestTusRunExpires checks Run sweeps at start and stops with its context.
func TestTusRunExpires(t *testing.T) {
	e := newTestEnv(t, nil)
	srv := testServer(t, e.svc.TusHandler())
	a := newTusClient(t, srv.URL, "tok-a")
	f := e.fixture(noiseJPEG(t, 200, 150, 15, 90))
	resp, body := a.create(metaMap(f.meta), int64(len(f.data)), f.data[:10])
	mustStatus(t, resp, body, http.StatusCreated)
	loc := a.location(resp)
	e.advance(DefaultExpireAfter + time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { e.svc.Tus().Run(ctx); close(stopped) }()
	waitFor(t, "expiry by Run", func() bool {
		_, err := os.Stat(filepath.Join(e.dir, "uploads", filepath.Base(loc)+".info"))
		return os.IsNotExist(err)
	})
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestValidUploadID(t *testing.T) {
	for _, id := range []string{"", "../../etc/passwd", strings.Repeat("a", 31), strings.Repeat("A", 32),
		strings.Repeat("a", 30) + "/x", strings.Repeat("g", 32), strings.Repeat("a", 33)} {
		if validUploadID(id) {
			t.Errorf("validUploadID(%q) = true", id)
		}
	}
	if id := newUploadID(); !validUploadID(id) {
		t.Errorf("minted id %q invalid", id)
	}
}
