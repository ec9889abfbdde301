package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/server"
)

// These tests drive the evidence pipeline end to end on a real server (SQLite,
// and PostgreSQL when FIELDSYNC_TEST_POSTGRES is set) with real JPEGs made
// here: commands that name photos wait for their bytes, tus uploads verify
// them, thumbnails are made by the durable worker queue and served
// content-addressed, and scope decides who sees what. Every JSON exchange made
// through testenv is checked against the OpenAPI document; the raw exchanges
// made here (Range, If-None-Match) are fed to the same hook.

// exifSpec is the EXIF written into a test JPEG.
type exifSpec struct {
	Orientation int
	Lat, Lon    float64 // both 0: no GPS
	Make, Model string
}

// baseImages holds one base picture per size: drawing it is the slow part
// under the race detector, so it is drawn once.
var baseImages gosync.Map // [2]int → *image.RGBA

// baseImage returns the w×h base picture: a gradient with noise, and a pure
// red block in the stored top-left quarter, so a test can tell where the
// stored top-left ended up after orientation.
func baseImage(w, h int) *image.RGBA {
	if img, ok := baseImages.Load([2]int{w, h}); ok {
		return img.(*image.RGBA)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s := uint64(0x9E3779B97F4A7C15)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:][:4*w]
		for x := 0; x < w; x++ {
			s ^= s >> 12
			s ^= s << 25
			s ^= s >> 27
			n := int((s*2685821657736338717)>>59) - 16 // ±16
			px := row[4*x : 4*x+4]
			if x < w/4 && y < h/4 {
				px[0], px[1], px[2], px[3] = 250, 10, 10, 255
				continue
			}
			px[0], px[1], px[2], px[3] = uint8(56+n), uint8(90+100*x/w+n/2), uint8(90+100*y/h), 255
		}
	}
	baseImages.Store([2]int{w, h}, img)
	return img
}

// testJPEG returns a w×h JPEG of the base picture with seed drawn into it as
// a 16-bit black-and-white bar code (near the stored bottom edge, right of
// the middle), so every seed gives different pixels, hence different bytes
// and thumbnails. ex, when not nil, is written as an APP1 EXIF segment.
func testJPEG(t testing.TB, w, h int, seed uint64, ex *exifSpec) []byte {
	t.Helper()
	base := baseImage(w, h)
	img := &image.RGBA{Pix: slices.Clone(base.Pix), Stride: base.Stride, Rect: base.Rect}
	cell := max(2, w/50)
	for bit := range 16 {
		v := uint8(0)
		if seed>>bit&1 == 1 {
			v = 255
		}
		for y := h - 2*cell; y < h-cell; y++ {
			for x := w/2 + bit*cell; x < w/2+(bit+1)*cell && x < w; x++ {
				i := img.PixOffset(x, y)
				img.Pix[i], img.Pix[i+1], img.Pix[i+2] = v, v, v
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if ex == nil {
		return b
	}
	tiff := buildTIFF(*ex)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+6+len(tiff)))
	seg = append(append(seg, "Exif\x00\x00"...), tiff...)
	out := append([]byte{0xFF, 0xD8}, seg...)
	return append(out, b[2:]...)
}

// ifdEntry is one TIFF IFD entry; data is the value in little-endian order.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	data     []byte
}

const (
	tiffASCII    = 2
	tiffShort    = 3
	tiffLong     = 4
	tiffRational = 5
)

func asciiEntry(tag uint16, s string) ifdEntry {
	return ifdEntry{tag, tiffASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

// dmsEntry is a GPS latitude or longitude as degrees, minutes, seconds.
func dmsEntry(tag uint16, v float64) ifdEntry {
	v = math.Abs(v)
	d := math.Floor(v)
	m := math.Floor((v - d) * 60)
	sec := ((v-d)*60 - m) * 60
	p := make([]byte, 24)
	for i, nd := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(math.Round(sec * 10000)), 10000}} {
		binary.LittleEndian.PutUint32(p[8*i:], nd[0])
		binary.LittleEndian.PutUint32(p[8*i+4:], nd[1])
	}
	return ifdEntry{tag, tiffRational, 3, p}
}

// buildTIFF lays out a little-endian TIFF structure: IFD0 (Make, Model,
// Orientation, the GPS IFD pointer), the GPS IFD, then the values that do not
// fit in an entry.
func buildTIFF(ex exifSpec) []byte {
	var ifd0, gps []ifdEntry
	if ex.Make != "" {
		ifd0 = append(ifd0, asciiEntry(0x010F, ex.Make))
	}
	if ex.Model != "" {
		ifd0 = append(ifd0, asciiEntry(0x0110, ex.Model))
	}
	if ex.Orientation != 0 {
		ifd0 = append(ifd0, ifdEntry{0x0112, tiffShort, 1, binary.LittleEndian.AppendUint16(nil, uint16(ex.Orientation))})
	}
	if ex.Lat != 0 || ex.Lon != 0 {
		latRef, lonRef := "N", "E"
		if ex.Lat < 0 {
			latRef = "S"
		}
		if ex.Lon < 0 {
			lonRef = "W"
		}
		gps = []ifdEntry{asciiEntry(1, latRef), dmsEntry(2, ex.Lat), asciiEntry(3, lonRef), dmsEntry(4, ex.Lon)}
		ifd0 = append(ifd0, ifdEntry{0x8825, tiffLong, 1, nil}) // patched below
	}
	size := func(n int) uint32 { return uint32(2 + 12*n + 4) }
	ifd0At := uint32(8)
	gpsAt := ifd0At + size(len(ifd0))
	extraAt := gpsAt
	if len(gps) > 0 {
		extraAt += size(len(gps))
		ifd0[len(ifd0)-1].data = binary.LittleEndian.AppendUint32(nil, gpsAt)
	}
	out := []byte{'I', 'I', 42, 0}
	out = binary.LittleEndian.AppendUint32(out, ifd0At)
	var extra []byte
	writeIFD := func(es []ifdEntry) {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(es)))
		for _, e := range es {
			out = binary.LittleEndian.AppendUint16(out, e.tag)
			out = binary.LittleEndian.AppendUint16(out, e.typ)
			out = binary.LittleEndian.AppendUint32(out, e.count)
			if len(e.data) <= 4 {
				v := make([]byte, 4)
				copy(v, e.data)
				out = append(out, v...)
				continue
			}
			out = binary.LittleEndian.AppendUint32(out, extraAt+uint32(len(extra)))
			extra = append(extra, e.data...)
			if len(extra)%2 == 1 {
				extra = append(extra, 0)
			}
		}
		out = binary.LittleEndian.AppendUint32(out, 0) // no next IFD
	}
	writeIFD(ifd0)
	if len(gps) > 0 {
		writeIFD(gps)
	}
	return append(out, extra...)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// photoMeta is what a tus upload's Upload-Metadata names.
type photoMeta struct {
	PhotoID, CaseID uuid.UUID
	Stage, Type     string
	SHA256          string
}

// tusResult is the last exchange of an upload.
type tusResult struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r tusResult) code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

// tusDo sends one tus request.
func tusDo(t testing.TB, method, u, tok string, hdr map[string]string, body []byte) tusResult {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return tusResult{res.StatusCode, res.Header, b}
}

// tusUpload uploads data through the tus endpoint at base (the server root):
// creation, then the bytes in chunks PATCHes, asking the offset with HEAD
// before each as a client resuming after a cut would. It returns the last
// exchange: the final PATCH, or the refusal that stopped the upload.
func tusUpload(t testing.TB, base, tok string, m photoMeta, data []byte, chunks int) tusResult {
	t.Helper()
	md := map[string]string{"photo_id": m.PhotoID.String(), "case_id": m.CaseID.String(), "stage": m.Stage,
		"type": m.Type, "sha256": m.SHA256, "filename": m.PhotoID.String() + ".jpg"}
	var parts []string
	for _, k := range []string{"photo_id", "case_id", "stage", "type", "sha256", "filename"} {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(md[k])))
	}
	r := tusDo(t, http.MethodPost, base+"/api/v1/uploads/", tok, map[string]string{
		"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": strings.Join(parts, ",")}, nil)
	if r.Status != http.StatusCreated {
		return r
	}
	baseURL, _ := url.Parse(base)
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || r.Header.Get("Location") == "" {
		t.Fatalf("tus creation without a usable Location: %q", r.Header.Get("Location"))
	}
	u := baseURL.ResolveReference(loc).String()
	chunk := (len(data) + chunks - 1) / chunks
	for {
		h := tusDo(t, http.MethodHead, u, tok, nil, nil)
		if h.Status != http.StatusOK {
			t.Fatalf("HEAD %s: %d %s", u, h.Status, h.Body)
		}
		off, err := strconv.Atoi(h.Header.Get("Upload-Offset"))
		if err != nil {
			t.Fatalf("HEAD %s: Upload-Offset %q", u, h.Header.Get("Upload-Offset"))
		}
		end := min(off+chunk, len(data))
		r = tusDo(t, http.MethodPatch, u, tok, map[string]string{"Upload-Offset": strconv.Itoa(off),
			"Content-Type": "application/offset+octet-stream"}, data[off:end])
		if r.Status != http.StatusNoContent || end == len(data) {
			return r
		}
	}
}

// mustVerify fails unless r is an accepted final PATCH.
func mustVerify(t testing.TB, r tusResult) {
	t.Helper()
	if r.Status != http.StatusNoContent || r.Header.Get("Fieldsync-Photo-Verified") != "true" {
		t.Fatalf("upload not accepted: %d %v %s", r.Status, r.Header, r.Body)
	}
}

// Sync wire types the tests read.
type outcome struct {
	CommandID     uuid.UUID   `json:"command_id"`
	Status        string      `json:"status"`
	Code          string      `json:"code"`
	Reason        string      `json:"reason"`
	PendingPhotos []uuid.UUID `json:"pending_photos"`
}

type photoRec struct {
	ID         uuid.UUID `json:"id"`
	CaseID     uuid.UUID `json:"case_id"`
	SHA256     string    `json:"sha256"`
	Verified   bool      `json:"verified"`
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	Flags      []string  `json:"flags"`
	ThumbSmall string    `json:"thumb_small"`
	ThumbLarge string    `json:"thumb_large"`
	EXIF       *struct {
		Lat         *float64 `json:"lat"`
		Lon         *float64 `json:"lon"`
		Orientation int      `json:"orientation"`
		Make        string   `json:"make"`
	} `json:"exif"`
}

type pullPage struct {
	Cases []struct {
		ID    uuid.UUID `json:"id"`
		State string    `json:"state"`
	} `json:"cases"`
	Photos  []photoRec `json:"photos"`
	Cursor  string     `json:"cursor"`
	HasMore bool       `json:"has_more"`
}

func addPhotoCmd(caseID, photoID uuid.UUID, stage, typ, sum string) map[string]any {
	return map[string]any{"id": testenv.NewID(), "kind": "add_photo", "case_id": caseID,
		"photo": map[string]any{"id": photoID, "stage": stage, "type": typ, "sha256": sum}}
}

func createCaseCmd(caseID uuid.UUID, photos ...uuid.UUID) map[string]any {
	loc := testenv.InGrid1
	return map[string]any{"id": testenv.NewID(), "kind": "create_case", "case_id": caseID, "case": map[string]any{
		"category": "E0504", "description": "店外经营 (evidence test)",
		"location": map[string]any{"lat": loc.Lat, "lon": loc.Lon, "accuracy": loc.Accuracy, "address": loc.Address},
		"photos":   photos}}
}

// push sends commands as user and returns the outcomes by command id.
func push(t testing.TB, e *testenv.Env, user string, cmds ...map[string]any) map[uuid.UUID]outcome {
	t.Helper()
	r := e.Push(user, cmds...).Must(t, http.StatusOK)
	var out struct {
		Outcomes []outcome `json:"outcomes"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	m := map[uuid.UUID]outcome{}
	for _, o := range out.Outcomes {
		m[o.CommandID] = o
	}
	return m
}

func cmdID(c map[string]any) uuid.UUID { return c["id"].(uuid.UUID) }

// storedOutcome reads a command's outcome as the device sees it on
// GET /api/v1/sync/outcomes.
func storedOutcome(t testing.TB, e *testenv.Env, user string, id uuid.UUID) outcome {
	t.Helper()
	var list struct {
		Items []outcome `json:"items"`
	}
	e.Do(user, http.MethodGet, "/api/v1/sync/outcomes?all=true", nil, &list).Must(t, http.StatusOK)
	for _, o := range list.Items {
		if o.CommandID == id {
			return o
		}
	}
	t.Fatalf("no stored outcome for command %s", id)
	return outcome{}
}

// pullAll pulls every page from cursor as user, with limit cases per page,
// and returns the latest record of each photo, the case states, the new
// cursor and the number of requests.
func pullAll(t testing.TB, e *testenv.Env, user, cursor string, limit int) (map[uuid.UUID]photoRec, map[uuid.UUID]string, string, int) {
	t.Helper()
	photos, cases := map[uuid.UUID]photoRec{}, map[uuid.UUID]string{}
	n := 0
	for {
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p pullPage
		e.Do(user, http.MethodGet, "/api/v1/sync/pull?"+q.Encode(), nil, &p).Must(t, http.StatusOK)
		n++
		for _, c := range p.Cases {
			cases[c.ID] = c.State
		}
		for _, ph := range p.Photos {
			photos[ph.ID] = ph
		}
		cursor = p.Cursor
		if !p.HasMore {
			return photos, cases, cursor, n
		}
		if n > 1000 {
			t.Fatal("pull does not end")
		}
	}
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitThumbs pulls as user until every photo in ids has both thumbnails, and
// returns their records.
func waitThumbs(t testing.TB, e *testenv.Env, user string, ids ...uuid.UUID) map[uuid.UUID]photoRec {
	t.Helper()
	var photos map[uuid.UUID]photoRec
	waitUntil(t, 2*time.Minute, "thumbnails", func() bool {
		photos, _, _, _ = pullAll(t, e, user, "", 500)
		for _, id := range ids {
			if p := photos[id]; p.ThumbSmall == "" || p.ThumbLarge == "" {
				return false
			}
		}
		return true
	})
	return photos
}

// get sends a GET with extra headers as user and checks the exchange against
// the OpenAPI document, as testenv's own requests are.
func get(t testing.TB, e *testenv.Env, user, path string, hdr map[string]string) testenv.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.Users[user].Token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := testenv.Response{StatusCode: res.StatusCode, Header: res.Header, Body: b, Request: req}
	if testenv.Hook != nil {
		testenv.Hook(t, r)
	}
	return r
}

func caseState(t testing.TB, e *testenv.Env, id uuid.UUID) string {
	t.Helper()
	var d struct {
		Case struct {
			State string `json:"state"`
		} `json:"case"`
	}
	r := e.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &d)
	if r.StatusCode == http.StatusNotFound {
		return ""
	}
	r.Must(t, http.StatusOK)
	return d.Case.State
}

// TestEvidenceE2E: a report waits for its photo's bytes, refuses bytes that
// do not match, applies by itself once the right bytes arrive; the original
// is served byte for byte with Range, thumbnails upright and content-addressed,
// scope-checked; report_done waits for its after photo the same way; a device
// holding bytes the server has attaches them by proof of possession.
func TestEvidenceE2E(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg, RealEvidence: true})
			tok := e.Users["inspector1"].Token

			// A report with one far photo, taken with orientation 6 (the
			// phone held upright: stored landscape, displayed portrait) at
			// the case's location.
			loc := testenv.InGrid1
			dataA := testJPEG(t, 640, 480, 1, &exifSpec{Orientation: 6, Lat: loc.Lat, Lon: loc.Lon, Make: "HUAWEI", Model: "MatePad"})
			caseID, photoA := testenv.NewID(), testenv.NewID()
			add := addPhotoCmd(caseID, photoA, "report", "far", sha(dataA))
			create := createCaseCmd(caseID, photoA)
			out := push(t, e, "inspector1", add, create)
			if o := out[cmdID(add)]; o.Status != "applied" {
				t.Fatalf("add_photo: %+v", o)
			}
			if o := out[cmdID(create)]; o.Status != "evidence_pending" || !slices.Equal(o.PendingPhotos, []uuid.UUID{photoA}) {
				t.Fatalf("create_case before its photo's bytes: %+v, want evidence_pending on %s", o, photoA)
			}
			if s := caseState(t, e, caseID); s != "" {
				t.Fatalf("the case exists (%s) before its evidence arrived", s)
			}
			get(t, e, "inspector1", "/api/v1/photos/"+photoA.String()+"/original", nil).Must(t, http.StatusNotFound)

			// Refused: another hash than the one announced (at creation), and
			// bytes that do not hash to the announced one (at the last PATCH).
			metaA := photoMeta{PhotoID: photoA, CaseID: caseID, Stage: "report", Type: "far", SHA256: sha(dataA)}
			wrongMeta := metaA
			wrongMeta.SHA256 = sha([]byte("something else"))
			if r := tusUpload(t, e.URL, tok, wrongMeta, dataA, 1); r.Status != http.StatusUnprocessableEntity || r.code() != "hash_mismatch" {
				t.Fatalf("upload announced with another sha256: %d %s, want 422 hash_mismatch", r.Status, r.Body)
			}
			damaged := slices.Clone(dataA)
			damaged[len(damaged)/2] ^= 0x55
			if r := tusUpload(t, e.URL, tok, metaA, damaged, 2); r.Status != http.StatusUnprocessableEntity || r.code() != "hash_mismatch" {
				t.Fatalf("damaged bytes: %d %s, want 422 hash_mismatch", r.Status, r.Body)
			}
			if o := storedOutcome(t, e, "inspector1", cmdID(create)); o.Status != "evidence_pending" {
				t.Fatalf("after a refused upload the command is %+v, want still evidence_pending", o)
			}
			if s := caseState(t, e, caseID); s != "" {
				t.Fatalf("a refused upload created the case (%s)", s)
			}

			// The right bytes, in three PATCHes with HEADs between.
			mustVerify(t, tusUpload(t, e.URL, tok, metaA, dataA, 3))
			waitUntil(t, 30*time.Second, "create_case to apply", func() bool {
				return storedOutcome(t, e, "inspector1", cmdID(create)).Status == "applied"
			})
			if s := caseState(t, e, caseID); s != "reported" {
				t.Fatalf("case state %q after its evidence arrived, want reported", s)
			}
			// Uploading again is refused as already there.
			if r := tusUpload(t, e.URL, tok, metaA, dataA, 1); r.Status != http.StatusConflict || r.code() != "already_exists" {
				t.Errorf("second upload of a verified photo: %d %s, want 409 already_exists", r.Status, r.Body)
			}

			// The original, byte for byte, with Range and a strong ETag.
			origPath := "/api/v1/photos/" + photoA.String() + "/original"
			r := get(t, e, "inspector1", origPath, nil).Must(t, http.StatusOK)
			if !bytes.Equal(r.Body, dataA) {
				t.Fatalf("original differs: %d bytes, want %d", len(r.Body), len(dataA))
			}
			etag := `"` + sha(dataA) + `"`
			if r.Header.Get("ETag") != etag || r.Header.Get("X-Content-SHA256") != sha(dataA) || r.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("original headers: %v", r.Header)
			}
			r = get(t, e, "inspector1", origPath, map[string]string{"Range": "bytes=100-1099"}).Must(t, http.StatusPartialContent)
			if !bytes.Equal(r.Body, dataA[100:1100]) || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-1099/%d", len(dataA)) {
				t.Errorf("range: %d bytes, Content-Range %q", len(r.Body), r.Header.Get("Content-Range"))
			}
			tail := get(t, e, "inspector1", origPath, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(dataA)-10)}).Must(t, http.StatusPartialContent)
			if !bytes.Equal(tail.Body, dataA[len(dataA)-10:]) {
				t.Error("resumed download of the last 10 bytes differs")
			}
			get(t, e, "inspector1", origPath, map[string]string{"If-None-Match": etag}).Must(t, http.StatusNotModified)

			// Thumbnails: the pull carries their hashes once the workers made them.
			recs := waitThumbs(t, e, "inspector1", photoA)
			pa := recs[photoA]
			if !pa.Verified || pa.SHA256 != sha(dataA) || pa.Width != 640 || pa.Height != 480 {
				t.Errorf("photo record: %+v", pa)
			}
			if pa.EXIF == nil || pa.EXIF.Orientation != 6 || pa.EXIF.Lat == nil || math.Abs(*pa.EXIF.Lat-loc.Lat) > 1e-5 ||
				pa.EXIF.Lon == nil || math.Abs(*pa.EXIF.Lon-loc.Lon) > 1e-5 || pa.EXIF.Make != "HUAWEI" {
				t.Errorf("EXIF on the record: %+v", pa.EXIF)
			}
			if slices.Contains(pa.Flags, "far_from_case") {
				t.Errorf("a photo taken at the case is flagged: %v", pa.Flags)
			}
			for _, tc := range []struct {
				size string
				hash string
				w, h int
			}{{"small", pa.ThumbSmall, 240, 320}, {"large", pa.ThumbLarge, 480, 640}} {
				p := "/api/v1/photos/" + photoA.String() + "/thumbnail?size=" + tc.size
				r := get(t, e, "inspector1", p, nil).Must(t, http.StatusOK)
				if sha(r.Body) != tc.hash || r.Header.Get("ETag") != `"`+tc.hash+`"` {
					t.Errorf("%s thumbnail: sha %s, ETag %s; record says %s", tc.size, sha(r.Body), r.Header.Get("ETag"), tc.hash)
				}
				if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
					t.Errorf("%s thumbnail Cache-Control %q", tc.size, cc)
				}
				img, err := jpeg.Decode(bytes.NewReader(r.Body))
				if err != nil {
					t.Fatalf("%s thumbnail: %v", tc.size, err)
				}
				// Orientation 6 turns the stored image a quarter clockwise:
				// portrait, and the red stored top-left is at the top right.
				if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
					t.Errorf("%s thumbnail is %v, want %d×%d (upright)", tc.size, b.Size(), tc.w, tc.h)
				}
				if !isRed(img.At(tc.w-tc.w/20-1, tc.h/20)) || isRed(img.At(tc.w/20, tc.h/20)) || isRed(img.At(tc.w-tc.w/20-1, tc.h-tc.h/20-1)) {
					t.Errorf("%s thumbnail is not upright: red is not (only) at the top right", tc.size)
				}
				nm := get(t, e, "inspector1", p, map[string]string{"If-None-Match": `"` + tc.hash + `"`}).Must(t, http.StatusNotModified)
				if len(nm.Body) != 0 || nm.Header.Get("ETag") != `"`+tc.hash+`"` {
					t.Errorf("304: %d bytes, ETag %q", len(nm.Body), nm.Header.Get("ETag"))
				}
			}
			get(t, e, "inspector1", "/api/v1/photos/"+photoA.String()+"/thumbnail?size=huge", nil).Must(t, http.StatusUnprocessableEntity)

			// Scope: the grid worker of the case's grid sees it, the one of
			// the other grid learns nothing, nobody anonymous.
			get(t, e, "gw1", "/api/v1/photos/"+photoA.String()+"/thumbnail", nil).Must(t, http.StatusOK)
			get(t, e, "gw1", origPath, nil).Must(t, http.StatusOK)
			for _, p := range []string{origPath, "/api/v1/photos/" + photoA.String() + "/thumbnail",
				"/api/v1/photos/" + photoA.String() + "/thumbnail?size=large", "/api/v1/photos/" + testenv.NewID().String() + "/original"} {
				if r := get(t, e, "gw2", p, nil).Must(t, http.StatusNotFound); r.Problem() != "not_found" {
					t.Errorf("gw2 %s: code %s", p, r.Problem())
				}
			}
			get(t, e, "", origPath, nil).Must(t, http.StatusUnauthorized)
			var batch struct {
				Items []struct {
					PhotoID uuid.UUID `json:"photo_id"`
				} `json:"items"`
				Missing []uuid.UUID `json:"missing"`
			}
			e.Do("gw2", http.MethodPost, "/api/v1/thumbnails/batch", map[string]any{"photo_ids": []uuid.UUID{photoA}}, &batch).Must(t, http.StatusOK)
			if len(batch.Items) != 0 || !slices.Equal(batch.Missing, []uuid.UUID{photoA}) {
				t.Errorf("gw2's batch: %+v, want photo A missing", batch)
			}
			e.Do("gw1", http.MethodPost, "/api/v1/thumbnails/batch", map[string]any{"photo_ids": []uuid.UUID{photoA, photoA}, "size": "large"}, &batch).
				Must(t, http.StatusOK)
			if len(batch.Items) != 1 || batch.Items[0].PhotoID != photoA || len(batch.Missing) != 0 {
				t.Errorf("gw1's batch: %+v, want photo A once", batch)
			}
			e.Do("gw1", http.MethodPost, "/api/v1/thumbnails/batch", map[string]any{"photo_ids": make([]uuid.UUID, 51)}, nil).
				Must(t, http.StatusUnprocessableEntity)

			// Bad bytes for a new photo of the case: each refused with its code.
			bomb := testJPEG(t, 16, 16, 9, nil)
			i := bytes.Index(bomb, []byte{0xFF, 0xC0})
			binary.BigEndian.PutUint16(bomb[i+5:], 20000)
			binary.BigEndian.PutUint16(bomb[i+7:], 20000)
			heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 200)...)
			for _, tc := range []struct {
				name   string
				data   []byte
				status int
				code   string
			}{
				{"truncated JPEG", dataA[:len(dataA)/2], http.StatusUnprocessableEntity, "image_invalid"},
				{"text named .jpg", []byte(strings.Repeat("not a photo\n", 50)), http.StatusUnprocessableEntity, "image_invalid"},
				{"20000×20000 declared", bomb, http.StatusRequestEntityTooLarge, "image_too_large"},
				{"HEIC", heic, http.StatusUnsupportedMediaType, "unsupported_image"},
			} {
				m := photoMeta{PhotoID: testenv.NewID(), CaseID: caseID, Stage: "report", Type: "near", SHA256: sha(tc.data)}
				if r := tusUpload(t, e.URL, tok, m, tc.data, 1); r.Status != tc.status || r.code() != tc.code {
					t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Body, tc.status, tc.code)
				}
			}

			// report_done names an after photo: it waits for the bytes too.
			e.Act("clerk", caseID, "register", nil)
			e.Act("clerk", caseID, "dispatch", map[string]any{"unit_id": testenv.Unit1})
			dataB := testJPEG(t, 800, 600, 2, &exifSpec{Orientation: 1, Lat: 34.9, Lon: 117.6}) // ~6 km away
			photoB := testenv.NewID()
			addB := addPhotoCmd(caseID, photoB, "report_done", "after", sha(dataB))
			done := map[string]any{"id": testenv.NewID(), "kind": "action", "case_id": caseID, "action": "report_done",
				"params": map[string]any{"photos": []uuid.UUID{photoB}, "comment": "已清理"}}
			out = push(t, e, "uh1", addB, done)
			if o := out[cmdID(done)]; o.Status != "evidence_pending" || !slices.Equal(o.PendingPhotos, []uuid.UUID{photoB}) {
				t.Fatalf("report_done before its photo's bytes: %+v", o)
			}
			if s := caseState(t, e, caseID); s != "dispatched" {
				t.Fatalf("state %q while report_done waits, want dispatched", s)
			}
			mustVerify(t, tusUpload(t, e.URL, e.Users["uh1"].Token,
				photoMeta{PhotoID: photoB, CaseID: caseID, Stage: "report_done", Type: "after", SHA256: sha(dataB)}, dataB, 2))
			waitUntil(t, 30*time.Second, "report_done to apply", func() bool {
				return storedOutcome(t, e, "uh1", cmdID(done)).Status == "applied"
			})
			if s := caseState(t, e, caseID); s != "handled" {
				t.Fatalf("state %q after report_done's evidence arrived, want handled", s)
			}
			recs = waitThumbs(t, e, "inspector1", photoB)
			if !slices.Contains(recs[photoB].Flags, "far_from_case") {
				t.Errorf("an after photo taken 6 km away is not flagged: %v", recs[photoB].Flags)
			}

			// Proof of possession: the same bytes as a new photo of the case,
			// attached without uploading them.
			photoC := testenv.NewID()
			proofReq := map[string]any{"case_id": caseID, "stage": "report", "type": "near", "sha256": sha(dataA)}
			challengePath := "/api/v1/photos/" + photoC.String() + "/challenge"
			provePath := "/api/v1/photos/" + photoC.String() + "/prove"
			e.Do("gw2", http.MethodPost, challengePath, proofReq, nil).Must(t, http.StatusNotFound)
			var ch struct {
				Nonce string `json:"nonce"`
			}
			e.Do("inspector1", http.MethodPost, challengePath, proofReq, &ch).Must(t, http.StatusOK)
			proofOf := func(nonce string) string {
				nb, err := hex.DecodeString(nonce)
				if err != nil {
					t.Fatal(err)
				}
				return sha(append(nb, dataA...))
			}
			wrong := map[string]any{"nonce": ch.Nonce, "proof": sha([]byte("guess"))}
			for k, v := range proofReq {
				wrong[k] = v
			}
			if r := e.Do("inspector1", http.MethodPost, provePath, wrong, nil).Must(t, http.StatusForbidden); r.Problem() != "proof_required" {
				t.Errorf("wrong proof: %s", r.Problem())
			}
			right := map[string]any{"nonce": ch.Nonce, "proof": proofOf(ch.Nonce)}
			for k, v := range proofReq {
				right[k] = v
			}
			e.Do("inspector1", http.MethodPost, provePath, right, nil).Must(t, http.StatusForbidden) // the nonce was used
			e.Do("inspector1", http.MethodPost, challengePath, proofReq, &ch).Must(t, http.StatusOK)
			right["nonce"], right["proof"] = ch.Nonce, proofOf(ch.Nonce)
			var proved photoRec
			e.Do("inspector1", http.MethodPost, provePath, right, &proved).Must(t, http.StatusOK)
			if proved.ID != photoC || !proved.Verified || proved.SHA256 != sha(dataA) {
				t.Errorf("proved photo: %+v", proved)
			}
		})
	}
}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 180 && g>>8 < 90 && b>>8 < 90
}

// TestReconnectFetchesThumbnailsInFewRequests is the acceptance: a
// grid worker's tablet is offline while 200 photos are taken in its grid (by
// an inspector's device, uploaded and thumbnailed); on reconnecting it pulls
// the changes in pages and fetches every missing thumbnail with the batch
// endpoint, in at most 10 requests, never asking for one twice.
func TestReconnectFetchesThumbnailsInFewRequests(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg, RealEvidence: true})
			// The tablet's last sync before going offline.
			before, _, cursor, _ := pullAll(t, e, "gw1", "", 500)
			if len(before) != 0 {
				t.Fatalf("gw1 starts with %d photos", len(before))
			}

			const cases, perCase = 40, 5
			tok := e.Users["inspector1"].Token
			type upload struct {
				meta photoMeta
				data []byte
			}
			var ups []upload
			var creates []uuid.UUID
			for c := 0; c < cases; c += 10 {
				var cmds []map[string]any
				for k := c; k < c+10; k++ {
					caseID := testenv.NewID()
					var ids []uuid.UUID
					for p := 0; p < perCase; p++ {
						data := testJPEG(t, 400, 300, uint64(1000+k*perCase+p), nil)
						m := photoMeta{PhotoID: testenv.NewID(), CaseID: caseID, Stage: "report", Type: "far", SHA256: sha(data)}
						ups = append(ups, upload{m, data})
						ids = append(ids, m.PhotoID)
						cmds = append(cmds, addPhotoCmd(caseID, m.PhotoID, "report", "far", m.SHA256))
					}
					cc := createCaseCmd(caseID, ids...)
					cmds = append(cmds, cc)
					creates = append(creates, cmdID(cc))
				}
				for id, o := range push(t, e, "inspector1", cmds...) {
					if o.Status != "applied" && o.Status != "evidence_pending" {
						t.Fatalf("command %s: %+v", id, o)
					}
				}
			}
			for _, u := range ups {
				mustVerify(t, tusUpload(t, e.URL, tok, u.meta, u.data, 1))
			}
			for _, id := range creates {
				if o := storedOutcome(t, e, "inspector1", id); o.Status != "applied" {
					t.Fatalf("create_case %s after all its photos arrived: %+v", id, o)
				}
			}
			ids := make([]uuid.UUID, len(ups))
			for i, u := range ups {
				ids[i] = u.meta.PhotoID
			}
			waitThumbs(t, e, "inspector1", ids...)

			// The tablet reconnects: pull from its cursor, 10 cases a page.
			photos, gotCases, _, pulls := pullAll(t, e, "gw1", cursor, 10)
			if len(gotCases) != cases || len(photos) != cases*perCase {
				t.Fatalf("gw1 pulled %d cases and %d photos, want %d and %d", len(gotCases), len(photos), cases, cases*perCase)
			}
			t.Logf("pulled %d cases, %d photos in %d pages", len(gotCases), len(photos), pulls)

			// Fetch what the local thumbnail cache (by hash) lacks, 50 a batch.
			cache := map[string][]byte{}
			asked := map[uuid.UUID]bool{}
			requests := 0
			fetch := func(recs map[uuid.UUID]photoRec) {
				var need []uuid.UUID
				for id, p := range recs {
					if p.ThumbSmall == "" {
						t.Fatalf("photo %s has no thumbnail after the workers finished", id)
					}
					if _, ok := cache[p.ThumbSmall]; !ok {
						need = append(need, id)
					}
				}
				slices.SortFunc(need, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
				for len(need) > 0 {
					n := min(50, len(need))
					req := need[:n]
					need = need[n:]
					for _, id := range req {
						if asked[id] {
							t.Fatalf("photo %s's thumbnail is asked for twice", id)
						}
						asked[id] = true
					}
					var res struct {
						Items []struct {
							PhotoID     uuid.UUID `json:"photo_id"`
							Hash        string    `json:"hash"`
							ContentType string    `json:"content_type"`
							Data        string    `json:"data"`
						} `json:"items"`
						Missing []uuid.UUID `json:"missing"`
					}
					e.Do("gw1", http.MethodPost, "/api/v1/thumbnails/batch", map[string]any{"photo_ids": req, "size": "small"}, &res).
						Must(t, http.StatusOK)
					requests++
					if len(res.Missing) != 0 || len(res.Items) != n {
						t.Fatalf("batch of %d: %d items, missing %v", n, len(res.Items), res.Missing)
					}
					for _, it := range res.Items {
						b, err := base64.StdEncoding.DecodeString(it.Data)
						if err != nil {
							t.Fatal(err)
						}
						if it.Hash != recs[it.PhotoID].ThumbSmall || sha(b) != it.Hash || it.ContentType != "image/jpeg" {
							t.Fatalf("photo %s: thumbnail hash %s (sha256 %s), record says %s", it.PhotoID, it.Hash, sha(b), recs[it.PhotoID].ThumbSmall)
						}
						if _, err := jpeg.DecodeConfig(bytes.NewReader(b)); err != nil {
							t.Fatalf("photo %s: thumbnail is no JPEG: %v", it.PhotoID, err)
						}
						cache[it.Hash] = b
					}
				}
			}
			fetch(photos)
			// A second sync finds nothing new and fetches nothing.
			again, _, _, _ := pullAll(t, e, "gw1", "", 500)
			fetch(again)
			if len(asked) != cases*perCase || len(cache) != cases*perCase {
				t.Errorf("fetched %d thumbnails (%d distinct), want %d", len(asked), len(cache), cases*perCase)
			}
			t.Logf("reconnect: %d thumbnails in %d batch requests", len(cache), requests)
			if requests > 10 {
				t.Errorf("%d thumbnail requests, want at most 10", requests)
			}

			// The other grid's worker gets none of them.
			other, _, _, _ := pullAll(t, e, "gw2", "", 500)
			if len(other) != 0 {
				t.Errorf("gw2 pulled %d photos of grid 1", len(other))
			}
		})
	}
}

// TestThumbnailJobsSurviveRestart is the acceptance: thumbnail jobs
// queued while no thumbnail worker runs finish after the server restarts.
// The uploads go to a server built with server.New and served without Run,
// so its workers never start; a server started afterwards on the same data
// directory and database makes the thumbnails.
func TestThumbnailJobsSurviveRestart(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e1 := testenv.Start(t, testenv.Options{Postgres: pg, RealEvidence: true})
			caseID := testenv.NewID()
			var metas []photoMeta
			var datas [][]byte
			var cmds []map[string]any
			for i := range 3 {
				data := testJPEG(t, 600, 400, uint64(50+i), &exifSpec{Orientation: 8})
				m := photoMeta{PhotoID: testenv.NewID(), CaseID: caseID, Stage: "report", Type: []string{"far", "near", "reference"}[i], SHA256: sha(data)}
				metas, datas = append(metas, m), append(datas, data)
				cmds = append(cmds, addPhotoCmd(caseID, m.PhotoID, m.Stage, m.Type, m.SHA256))
			}
			create := createCaseCmd(caseID, metas[0].PhotoID, metas[1].PhotoID, metas[2].PhotoID)
			cmds = append(cmds, create)
			if o := push(t, e1, "inspector1", cmds...)[cmdID(create)]; o.Status != "evidence_pending" || len(o.PendingPhotos) != 3 {
				t.Fatalf("create_case: %+v", o)
			}
			e1.Stop()

			// The same data, served without background workers.
			ctx := context.Background()
			srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: e1.Dir, DSN: e1.DSN})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.API)
			for i, m := range metas {
				mustVerify(t, tusUpload(t, ts.URL, e1.Users["inspector1"].Token, m, datas[i], 2))
			}
			waitUntil(t, 30*time.Second, "the case to be created", func() bool {
				_, err := srv.Store.GetCase(ctx, caseID)
				return err == nil
			})
			for _, m := range metas {
				p, err := srv.Store.GetPhoto(ctx, m.PhotoID)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Verified || p.ThumbSmall != "" || p.ThumbLarge != "" {
					t.Fatalf("photo %s before the restart: verified %v, thumbs %q %q", m.PhotoID, p.Verified, p.ThumbSmall, p.ThumbLarge)
				}
			}
			ts.Close()
			if err := srv.Store.Close(); err != nil {
				t.Fatal(err)
			}

			// Restart on the same directory and database.
			e2 := testenv.Start(t, testenv.Options{Dir: e1.Dir, DSN: e1.DSN, NoFixture: true, RealEvidence: true})
			e2.Users = e1.Users
			ids := []uuid.UUID{metas[0].PhotoID, metas[1].PhotoID, metas[2].PhotoID}
			recs := waitThumbs(t, e2, "inspector1", ids...)
			for _, id := range ids {
				r := get(t, e2, "inspector1", "/api/v1/photos/"+id.String()+"/thumbnail?size=large", nil).Must(t, http.StatusOK)
				if sha(r.Body) != recs[id].ThumbLarge {
					t.Errorf("photo %s: served thumbnail is not the recorded one", id)
				}
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.Body))
				if err != nil || cfg.Width != 400 || cfg.Height != 600 {
					t.Errorf("photo %s (orientation 8): large thumbnail %d×%d %v, want 400×600", id, cfg.Width, cfg.Height, err)
				}
			}
			if o := storedOutcome(t, e2, "inspector1", cmdID(create)); o.Status != "applied" {
				t.Errorf("create_case after the restart: %+v", o)
			}
		})
	}
}
