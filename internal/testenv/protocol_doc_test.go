package testenv_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/uploads"
	"github.com/google/uuid"
)

// The protocol document (docs/protocol.md) shows real exchanges. Every fenced
// block preceded by a marker line
//
//	<!-- example: NAME -->
//
// is checked against what TestProtocolDoc captures from a running server
// under NAME: JSON blocks must have the same shape (the same set of keys,
// recursively, and the same kind of value: object, array or scalar; array
// elements are compared by the union of their shapes), http blocks the same
// start lines and header names, text blocks (server-sent events) the same
// lines up to event ids. Blocks captured from the merge golden file must
// equal it exactly. Values of ids and times differ from run to run and are
// not compared.
//
// go test ./internal/testenv -run TestProtocolDoc -update rewrites every
// tagged block with the exchange just captured, so the examples stay real.

var updateDoc = flag.Bool("update", false, "rewrite the tagged examples in docs/protocol.md from the live server")

const docPath = "../../docs/protocol.md"

// capture is one exchange (or part of one) the document shows.
type capture struct {
	lang  string // json, http or text
	body  []byte
	exact bool // compare values too (deterministic golden data)
}

type recorder struct {
	t   *testing.T
	got map[string]capture
}

func (r *recorder) put(name string, c capture) {
	r.t.Helper()
	if _, dup := r.got[name]; dup {
		r.t.Fatalf("example %q captured twice", name)
	}
	r.got[name] = c
}

// json records a JSON body, as sent or as received.
func (r *recorder) json(name string, raw []byte) {
	r.t.Helper()
	if !json.Valid(raw) {
		r.t.Fatalf("example %q is not JSON: %s", name, raw)
	}
	r.put(name, capture{lang: "json", body: bytes.TrimSpace(raw)})
}

// value records v as the JSON a client would send.
func (r *recorder) value(name string, v any) []byte {
	r.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		r.t.Fatal(err)
	}
	r.json(name, b)
	return b
}

// member records one element of a JSON array found at key in raw.
func (r *recorder) member(name string, raw []byte, key string, i int) {
	r.t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		r.t.Fatal(err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(m[key], &list); err != nil || i >= len(list) {
		r.t.Fatalf("example %q: no %s[%d] in %s", name, key, i, raw)
	}
	r.json(name, list[i])
}

type outcomeWire struct {
	Seq         int64             `json:"seq"`
	CommandID   uuid.UUID         `json:"command_id"`
	CaseID      uuid.UUID         `json:"case_id"`
	Status      string            `json:"status"`
	Version     int64             `json:"version"`
	Final       map[string]string `json:"final"`
	ConflictIDs []uuid.UUID       `json:"conflict_ids"`
	Code        string            `json:"code"`
	Reason      string            `json:"reason"`
	Hint        string            `json:"hint"`
	At          time.Time         `json:"at"`
}

type pushWire struct {
	Outcomes []outcomeWire `json:"outcomes"`
	LastSeq  int64         `json:"last_seq"`
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func wantStatuses(t *testing.T, what string, p pushWire, want ...string) {
	t.Helper()
	if len(p.Outcomes) != len(want) {
		t.Fatalf("%s: %d outcomes, want %d: %+v", what, len(p.Outcomes), len(want), p.Outcomes)
	}
	for i, o := range p.Outcomes {
		if o.Status != want[i] {
			t.Fatalf("%s: outcome %d is %s (%s %s), want %s", what, i, o.Status, o.Code, o.Reason, want[i])
		}
	}
}

func jpegBytes(t *testing.T, w, h int, seed uint32) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(seed >> 24), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// exchange sends one tus request and returns the response with its body read.
func exchange(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// transcript renders an HTTP exchange for the document: the request line and
// the named request headers, a blank line, the status line and the named
// response headers that are present. The token is not printed.
func transcript(req *http.Request, reqHeaders []string, res *http.Response, resHeaders []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\n", req.Method, req.URL.RequestURI())
	for _, h := range reqHeaders {
		v := req.Header.Get(h)
		if h == "Authorization" {
			v = "Bearer fsd_…"
		}
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	if req.ContentLength > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\n", req.ContentLength)
	}
	fmt.Fprintf(&b, "\nHTTP/1.1 %s\n", res.Status)
	for _, h := range resHeaders {
		if v := res.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	return []byte(strings.TrimSpace(b.String()))
}

func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

var tusResHeaders = []string{"Location", "Tus-Resumable", "Upload-Offset", "Upload-Length",
	uploads.HeaderPhotoID, uploads.HeaderPhotoVerified, uploads.HeaderPhotoFlags, "Content-Type"}

// upload sends a photo through tus in two PATCHes with a HEAD between them,
// the way a client resumes after a dropped connection, and returns the
// transcripts of the four exchanges and the final response body.
func upload(t *testing.T, base, tok string, photoID, caseID uuid.UUID, stage, typ, hash string, data []byte) ([4][]byte, *http.Response, []byte) {
	t.Helper()
	var out [4][]byte
	req, _ := http.NewRequest(http.MethodPost, base, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", tusMeta("photo_id", photoID.String(), "case_id", caseID.String(),
		"stage", stage, "type", typ, "sha256", hash, "filename", "IMG_20260314_101502.jpg"))
	res, body := exchange(t, req)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("tus create: %s %s", res.Status, body)
	}
	out[0] = transcript(req, []string{"Authorization", "Tus-Resumable", "Upload-Length", "Upload-Metadata"}, res, tusResHeaders)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path == "" {
		t.Fatalf("tus create: Location %q", res.Header.Get("Location"))
	}
	u := (&url.URL{Scheme: "http", Host: req.URL.Host}).ResolveReference(loc).String()
	half := len(data) / 2
	patch := func(off int, chunk []byte) (*http.Request, *http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPatch, u, bytes.NewReader(chunk))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Offset", strconv.Itoa(off))
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		res, body := exchange(t, req)
		return req, res, body
	}
	preq, pres, pbody := patch(0, data[:half])
	if pres.StatusCode != http.StatusNoContent {
		t.Fatalf("tus patch 1: %s %s", pres.Status, pbody)
	}
	out[1] = transcript(preq, []string{"Authorization", "Tus-Resumable", "Upload-Offset", "Content-Type"}, pres, tusResHeaders)
	hreq, _ := http.NewRequest(http.MethodHead, u, nil)
	hreq.Header.Set("Authorization", "Bearer "+tok)
	hreq.Header.Set("Tus-Resumable", "1.0.0")
	hres, _ := exchange(t, hreq)
	if hres.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("tus head: offset %q, want %d", hres.Header.Get("Upload-Offset"), half)
	}
	out[2] = transcript(hreq, []string{"Authorization", "Tus-Resumable"}, hres, tusResHeaders)
	freq, fres, fbody := patch(half, data[half:])
	out[3] = transcript(freq, []string{"Authorization", "Tus-Resumable", "Upload-Offset", "Content-Type"}, fres, tusResHeaders)
	return out, fres, fbody
}

// sse reads a server-sent event stream line by line.
type sse struct {
	lines chan string
	stop  context.CancelFunc
}

func openEvents(t *testing.T, e *testenv.Env, tok string) *sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/sync/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("events: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	s := &sse{lines: make(chan string, 64), stop: cancel}
	go func() {
		defer res.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(cancel)
	return s
}

// event reads up to and including the blank line that ends the next event.
func (s *sse) event(t *testing.T) []string {
	t.Helper()
	var ev []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("event stream ended after %q", ev)
			}
			if l == "" {
				if len(ev) > 0 {
					return ev
				}
				continue
			}
			if strings.HasPrefix(l, ":") { // keep-alive comment
				continue
			}
			ev = append(ev, l)
		case <-timeout:
			t.Fatalf("no event within 10 s (so far %q)", ev)
		}
	}
}

// call sends one request outside Env.Do: for the photo endpoints, whose
// transcripts the document shows.
func call(t *testing.T, method, u, tok string, body []byte, hdr ...string) (*http.Request, *http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, b := exchange(t, req)
	return req, res, b
}

// waitOutcome polls the device's unacknowledged outcomes until seq has status want.
func waitOutcome(t *testing.T, e *testenv.Env, tok string, seq int64, want string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := e.DoToken(tok, http.MethodGet, "/api/v1/sync/outcomes", nil, nil).Must(t, http.StatusOK)
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(res.Body, &list); err != nil {
			t.Fatal(err)
		}
		for _, raw := range list.Items {
			if o := decode[outcomeWire](t, raw); o.Seq == seq && o.Status == want {
				return raw
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("outcome %d did not become %s: %s", seq, want, res.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitThumbs waits until the thumbnails of the photos are made.
func waitThumbs(t *testing.T, e *testenv.Env, ids ...uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			p, err := e.Server.Store.GetPhoto(context.Background(), id)
			if err == nil && p.ThumbSmall != "" && p.ThumbLarge != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no thumbnails for photo %s within 20 s", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// shorten cuts the base64 thumbnails of a batch response so the document
// stays readable; everything else is left as the server sent it.
func shorten(raw []byte) []byte {
	return dataRE.ReplaceAll(raw, []byte(`"data":"$1…"`))
}

var dataRE = regexp.MustCompile(`"data":"([A-Za-z0-9+/=]{40})[A-Za-z0-9+/=]*"`)

func TestProtocolDoc(t *testing.T) {
	// Production behaviour: commands that name photos wait for their bytes.
	e := testenv.Start(t, testenv.Options{RealEvidence: true})
	ctx := context.Background()
	r := &recorder{t: t, got: map[string]capture{}}
	post, get := http.MethodPost, http.MethodGet
	push := func(tok string, body any) ([]byte, pushWire) {
		t.Helper()
		res := e.DoToken(tok, post, "/api/v1/sync/push", body, nil).Must(t, http.StatusOK)
		return res.Body, decode[pushWire](t, res.Body)
	}

	// Authentication: an administrator enrols a tablet; the token is shown once.
	enrollReq := map[string]string{"username": "inspector1", "name": "T-0042 孟庄镇执法中队"}
	r.value("enroll-request", enrollReq)
	res := e.Do("admin", post, "/api/v1/devices", enrollReq, nil).Must(t, http.StatusCreated)
	r.json("enroll-response", res.Body)
	enr := decode[struct {
		Device struct {
			ID uuid.UUID `json:"id"`
		} `json:"device"`
		Token string `json:"token"`
	}](t, res.Body)
	tok := enr.Token
	if !strings.HasPrefix(tok, auth.PrefixDevice) {
		t.Fatalf("device token %q lacks %s", tok, auth.PrefixDevice)
	}
	res = e.Do("admin", get, "/api/v1/devices", nil, nil).Must(t, http.StatusOK)
	if bytes.Contains(res.Body, []byte(tok)) {
		t.Error("the device list shows the token again")
	}
	res = e.DoToken(tok, get, "/api/v1/me", nil, nil).Must(t, http.StatusOK)
	r.json("me-response", res.Body)
	loginReq := map[string]string{"username": "clerk", "password": testenv.Password}
	r.value("login-request", loginReq)
	res = e.Do("", post, "/api/v1/auth/login", loginReq, nil).Must(t, http.StatusOK)
	r.json("login-response", res.Body)
	if tok := decode[struct {
		Token string `json:"token"`
	}](t, res.Body).Token; !strings.HasPrefix(tok, auth.PrefixSession) {
		t.Errorf("session token %q lacks %s", tok, auth.PrefixSession)
	}

	// A report is one create_case carrying its photos' metadata. The photos'
	// bytes are still on the tablet, so it waits for them.
	caseID, farID, nearID := testenv.NewID(), testenv.NewID(), testenv.NewID()
	far, near := jpegBytes(t, 640, 480, 1), jpegBytes(t, 480, 640, 2)
	shot := time.Now().UTC().Add(-4 * time.Minute).Truncate(time.Second)
	loc := testenv.InGrid1
	gps := func(acc float64) *api.GPSDTO {
		return &api.GPSDTO{Lat: loc.Lat, Lon: loc.Lon, Accuracy: acc, Altitude: 61.5, Bearing: 135, Source: "gps", CoordSys: "wgs84"}
	}
	photoIn := func(id uuid.UUID, stage, typ string, data []byte, at time.Time, acc float64) *api.PhotoInDTO {
		return &api.PhotoInDTO{ID: id, CaseID: caseID, Stage: stage, Type: typ, SHA256: sha(data), Size: int64(len(data)),
			CapturedAt: &at, GPS: gps(acc), AppVersion: "2.3.1"}
	}
	qty := 4.0
	now := time.Now().UTC()
	report := api.PushRequest{DeviceTime: &now, AppVersion: "2.3.1", Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 1, Kind: "create_case", CaseID: caseID, ClientTime: shot.Add(time.Minute),
			Case: &api.DraftDTO{Category: "E0504", Description: "店外经营",
				Location: api.LocationDTO{Lat: loc.Lat, Lon: loc.Lon, Accuracy: 5, Address: "建设路10号", CoordSys: "wgs84"},
				Party:    "老王烧烤", Quantity: &qty, Photos: []uuid.UUID{farID, nearID},
				PhotoRecords: []api.PhotoInDTO{*photoIn(farID, "report", "far", far, shot, 4.5),
					*photoIn(nearID, "report", "near", near, shot.Add(20*time.Second), 3.9)}},
			Comment: "晚高峰占道，桌椅摆到人行道"},
	}}
	body := r.value("push-request-report", report)
	raw, pw := push(tok, body)
	r.json("push-response-report", raw)
	r.member("outcome-evidence-pending", raw, "outcomes", 0)
	wantStatuses(t, "report", pw, "evidence_pending")
	// Acknowledging a waiting outcome loses nothing: the final one replaces it
	// unacknowledged (waitOutcome reads the unacknowledged list).
	e.DoToken(tok, post, "/api/v1/sync/ack", map[string]int64{"up_to_seq": 1}, nil).Must(t, http.StatusNoContent)

	// Photo bytes by tus: a resumed upload, one whose bytes do not match, and
	// the good one, after which the report applies by itself.
	base := e.URL + uploads.DefaultBasePath
	tr, fres, fbody := upload(t, base, tok, farID, caseID, "report", "far", sha(far), far)
	if fres.StatusCode != http.StatusNoContent || fres.Header.Get(uploads.HeaderPhotoVerified) != "true" {
		t.Fatalf("far photo upload: %s %s", fres.Status, fbody)
	}
	for i, name := range []string{"tus-create", "tus-patch", "tus-head", "tus-patch-final"} {
		r.put(name, capture{lang: "http", body: tr[i]})
	}
	damaged := slices.Clone(near)
	damaged[len(damaged)/2] ^= 0xff
	_, fres, fbody = upload(t, base, tok, nearID, caseID, "report", "near", sha(near), damaged)
	if fres.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("damaged upload: %s %s", fres.Status, fbody)
	}
	r.json("tus-hash-mismatch", fbody)
	if _, fres, fbody = upload(t, base, tok, nearID, caseID, "report", "near", sha(near), near); fres.StatusCode != http.StatusNoContent {
		t.Fatalf("near photo upload: %s %s", fres.Status, fbody)
	}
	r.json("outcome-applied", waitOutcome(t, e, tok, 1, "applied"))
	if _, again := push(tok, body); again.Outcomes[0].Status != "applied" || again.Outcomes[0].Version != 1 {
		t.Errorf("replayed report after its evidence: %+v", again.Outcomes[0])
	}
	waitThumbs(t, e, farID, nearID)

	// Edits: the clerk fixes the address; the tablet, offline since version 1,
	// changes the party: merged.
	clerkEdit := func(base int64, fields map[string]string) {
		t.Helper()
		e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+caseID.String(),
			map[string]any{"base_version": base, "fields": fields}, nil).Must(t, http.StatusOK)
	}
	clerkEdit(1, map[string]string{"address": "建设路12号"})
	now = time.Now().UTC()
	edit := api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 2, Kind: "edit_fields", CaseID: caseID, BaseVersion: 1, ClientTime: now.Add(-2 * time.Minute),
			Fields: map[string]string{"party": "王记烧烤"}, Comment: "门头已更换"},
	}}
	body = r.value("push-request-edit", edit)
	raw, pw = push(tok, body)
	r.member("outcome-merged", raw, "outcomes", 0)
	wantStatuses(t, "edit", pw, "merged")
	if pw.Outcomes[0].Final["party"] != "王记烧烤" {
		t.Errorf("merged final = %v", pw.Outcomes[0].Final)
	}
	// Same field on both sides: the committed value stands. Same value on
	// both sides: converged.
	clerkEdit(3, map[string]string{"description": "店外经营，占道约6平方米（核实后）"})
	clerkEdit(4, map[string]string{"quantity": "6"})
	now = time.Now().UTC()
	raw, pw = push(tok, api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 3, Kind: "edit_fields", CaseID: caseID, BaseVersion: 1, ClientTime: now,
			Fields: map[string]string{"description": "店外经营，已劝导，明日复查"}},
		{ID: testenv.NewID(), Seq: 4, Kind: "edit_fields", CaseID: caseID, BaseVersion: 1, ClientTime: now,
			Fields: map[string]string{"quantity": "6"}},
	}})
	wantStatuses(t, "edits", pw, "conflict", "applied")
	if pw.Outcomes[0].Final["description"] != "店外经营，占道约6平方米（核实后）" || len(pw.Outcomes[0].ConflictIDs) != 1 {
		t.Errorf("conflict outcome = %+v", pw.Outcomes[0])
	}
	conflictID := pw.Outcomes[0].ConflictIDs[0]
	r.member("outcome-conflict", raw, "outcomes", 0)
	r.member("outcome-converged", raw, "outcomes", 1)

	// Workflow: the clerk registers and dispatches; the tablet reports the fix
	// with an after photo. The action waits for the photo's bytes.
	e.Act("clerk", caseID, "register", nil)
	e.Act("clerk", caseID, "dispatch", map[string]any{"unit_id": testenv.Unit1})
	afterID := testenv.NewID()
	after := jpegBytes(t, 640, 480, 3)
	seen := decode[struct {
		Case struct {
			Version int64 `json:"version"`
		} `json:"case"`
	}](t, e.DoToken(tok, get, "/api/v1/cases/"+caseID.String(), nil, nil).Must(t, http.StatusOK).Body).Case.Version
	now = time.Now().UTC()
	act := api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 5, Kind: "add_photo", CaseID: caseID, ClientTime: now.Add(-time.Minute),
			Photo: photoIn(afterID, "report_done", "after", after, now.Add(-time.Minute).Truncate(time.Second), 4.1)},
		{ID: testenv.NewID(), Seq: 6, Kind: "action", CaseID: caseID, BaseVersion: seen, ClientTime: now.Add(-30 * time.Second),
			Action: "report_done", Params: &api.ParamsDTO{Disposition: "劝导整改", Comment: "已现场劝导，店主已将桌椅收回店内",
				Photos: []uuid.UUID{afterID}}},
	}}
	body = r.value("push-request-action", act)
	raw, pw = push(tok, body)
	r.json("push-response-action", raw)
	wantStatuses(t, "report_done", pw, "applied", "evidence_pending")
	if _, fres, fbody = upload(t, base, tok, afterID, caseID, "report_done", "after", sha(after), after); fres.StatusCode != http.StatusNoContent {
		t.Fatalf("after photo upload: %s %s", fres.Status, fbody)
	}
	waitOutcome(t, e, tok, 6, "applied")
	waitThumbs(t, e, afterID)

	// A rejected command does not block the next; a replay answers the same.
	now = time.Now().UTC()
	mixed := api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 7, Kind: "action", CaseID: caseID, ClientTime: now, Action: "check_pass"},
		{ID: testenv.NewID(), Seq: 8, Kind: "add_comment", CaseID: caseID, ClientTime: now, Comment: "店主承诺不再占道经营"},
	}}
	body = r.value("push-request-mixed", mixed)
	raw, first := push(tok, body)
	r.json("push-response-mixed", raw)
	r.member("outcome-rejected", raw, "outcomes", 0)
	wantStatuses(t, "mixed", first, "rejected", "applied")
	if first.Outcomes[0].Code != string(models.CodeIllegalTransition) || first.Outcomes[0].Hint == "" {
		t.Errorf("rejected outcome = %+v", first.Outcomes[0])
	}
	before := e.Dump()
	// The stored outcome keeps its time to the microsecond.
	trunc := func(p pushWire) pushWire {
		for i := range p.Outcomes {
			p.Outcomes[i].At = p.Outcomes[i].At.Truncate(time.Microsecond)
		}
		return p
	}
	if _, again := push(tok, body); !reflect.DeepEqual(trunc(again), trunc(first)) {
		t.Errorf("replay answered differently:\n%+v\n%+v", first, again)
	}
	if e.Dump() != before {
		t.Error("a replay changed the database")
	}

	// Gaps: numbers may be skipped, but a skipped number cannot be used later.
	comment := func(seq int64, text string) api.CommandDTO {
		return api.CommandDTO{ID: testenv.NewID(), Seq: seq, Kind: "add_comment", CaseID: caseID, ClientTime: time.Now().UTC(), Comment: text}
	}
	_, pw = push(tok, api.PushRequest{Commands: []api.CommandDTO{comment(20, "已拍照留存")}})
	wantStatuses(t, "seq 20", pw, "applied")
	raw, pw = push(tok, api.PushRequest{Commands: []api.CommandDTO{comment(15, "迟到的评论")}})
	wantStatuses(t, "seq 15", pw, "rejected")
	if pw.Outcomes[0].Code != string(models.CodeSequenceGap) || pw.LastSeq != 20 {
		t.Errorf("seq below the mark: %+v last_seq %d", pw.Outcomes[0], pw.LastSeq)
	}
	r.member("outcome-sequence-gap", raw, "outcomes", 0)

	// Whole-request refusals change nothing.
	before = e.Dump()
	res = e.DoToken(tok, post, "/api/v1/sync/push", api.PushRequest{Commands: []api.CommandDTO{comment(21, "一"), comment(21, "二")}}, nil)
	res.Must(t, http.StatusUnprocessableEntity)
	if res.Problem() != string(models.CodeInvalidInput) {
		t.Errorf("duplicate seq: %s", res.Body)
	}
	r.json("problem-duplicate-seq", res.Body)
	big := make([]api.CommandDTO, 501)
	for i := range big {
		big[i] = comment(int64(100+i), "批量")
	}
	if res = e.DoToken(tok, post, "/api/v1/sync/push", api.PushRequest{Commands: big}, nil); res.StatusCode != http.StatusUnprocessableEntity ||
		res.Problem() != string(models.CodeInvalidInput) {
		t.Errorf("501 commands: %d %s", res.StatusCode, res.Body)
	}
	res = e.DoToken(tok, post, "/api/v1/sync/push",
		`{"commands":[{"id":"`+testenv.NewID().String()+`","seq":21,"kind":"add_comment","case_id":"`+caseID.String()+`","base_versoin":3,"comment":"x"}]}`, nil)
	res.Must(t, http.StatusBadRequest)
	if res.Problem() != string(models.CodeUnknownField) {
		t.Errorf("unknown field: %s", res.Body)
	}
	r.json("problem-unknown-field", res.Body)
	if e.Dump() != before {
		t.Error("a refused push changed the database")
	}
	// resolve_conflict is office work: a device's is rejected.
	_, pw = push(tok, api.PushRequest{Commands: []api.CommandDTO{{ID: testenv.NewID(), Seq: 21,
		Kind: "resolve_conflict", CaseID: caseID, Resolve: &api.ResolveDTO{ConflictID: conflictID, Take: "set_aside"}}}})
	if o := pw.Outcomes[0]; o.Status != "rejected" || o.Code != string(models.CodeForbidden) {
		t.Errorf("device resolve_conflict: %+v", o)
	}

	// Outcomes stay until acknowledged.
	ack := map[string]int64{"up_to_seq": 6}
	r.value("ack-request", ack)
	e.DoToken(tok, post, "/api/v1/sync/ack", ack, nil).Must(t, http.StatusNoContent)
	res = e.DoToken(tok, get, "/api/v1/sync/outcomes", nil, nil).Must(t, http.StatusOK)
	r.json("outcomes-response", res.Body)
	var seqs []int64
	for _, o := range decode[struct {
		Items []outcomeWire `json:"items"`
	}](t, res.Body).Items {
		seqs = append(seqs, o.Seq)
	}
	// 15 is not there: a sequence_gap answer is not stored.
	if !slices.Equal(seqs, []int64{7, 8, 20, 21}) {
		t.Errorf("unacknowledged outcomes: seqs %v", seqs)
	}

	// The tablet pulls: its own work comes back with everyone else's.
	deviceTime := time.Now().UTC().Add(-90 * time.Second).Format(time.RFC3339Nano)
	res = e.DoToken(tok, get, "/api/v1/sync/pull?limit=100&device_time="+url.QueryEscape(deviceTime), nil, nil).Must(t, http.StatusOK)
	r.json("pull-response", res.Body)
	pulled := decode[struct {
		Cases []struct {
			ID uuid.UUID `json:"id"`
		} `json:"cases"`
		Cursor        string `json:"cursor"`
		HasMore       bool   `json:"has_more"`
		ClockOffsetMS int64  `json:"clock_offset_ms"`
	}](t, res.Body)
	if len(pulled.Cases) != 1 || pulled.Cases[0].ID != caseID || pulled.HasMore || pulled.ClockOffsetMS < 80_000 {
		t.Errorf("device pull = %+v", pulled)
	}
	req, hres, hbody := call(t, get, e.URL+"/api/v1/sync/pull?limit=100&cursor="+pulled.Cursor, tok, nil)
	if p := decode[struct {
		Cases  []json.RawMessage `json:"cases"`
		Cursor string            `json:"cursor"`
	}](t, hbody); hres.StatusCode != http.StatusOK || len(p.Cases) != 0 || hres.Header.Get("Fieldsync-Cursor") != p.Cursor {
		t.Errorf("a pull after the last cursor: %s, %d cases, header cursor %q, body cursor %q",
			hres.Status, len(p.Cases), hres.Header.Get("Fieldsync-Cursor"), p.Cursor)
	}
	r.put("pull-headers", capture{lang: "http", body: transcript(req, []string{"Authorization"}, hres,
		[]string{"Content-Type", "Fieldsync-Cursor", "Fieldsync-Has-More"})})
	res = e.DoToken(tok, get, "/api/v1/sync/pull?cursor=c1.not-a-cursor", nil, nil).Must(t, http.StatusBadRequest)
	if res.Problem() != string(models.CodeInvalidCursor) {
		t.Errorf("bad cursor: %s", res.Body)
	}
	r.json("problem-invalid-cursor", res.Body)

	// Thumbnails and originals, on demand.
	req, hres, hbody = call(t, get, e.URL+"/api/v1/photos/"+farID.String()+"/thumbnail?size=small", tok, nil)
	if hres.StatusCode != http.StatusOK || len(hbody) == 0 {
		t.Fatalf("thumbnail: %s", hres.Status)
	}
	r.put("photo-thumbnail", capture{lang: "http", body: transcript(req, []string{"Authorization"}, hres,
		[]string{"Content-Type", "Content-Length", "ETag", "Cache-Control"})})
	req, hres, _ = call(t, get, e.URL+"/api/v1/photos/"+farID.String()+"/thumbnail?size=small", tok, nil, "If-None-Match", hres.Header.Get("ETag"))
	if hres.StatusCode != http.StatusNotModified {
		t.Errorf("conditional thumbnail: %s", hres.Status)
	}
	unknown := testenv.NewID()
	thumbReq := map[string]any{"photo_ids": []uuid.UUID{farID, nearID, unknown}, "size": "small"}
	_, hres, hbody = call(t, post, e.URL+"/api/v1/thumbnails/batch", tok, r.value("thumbs-batch-request", thumbReq))
	if hres.StatusCode != http.StatusOK {
		t.Fatalf("thumbnail batch: %s %s", hres.Status, hbody)
	}
	tb := decode[struct {
		Items   []json.RawMessage `json:"items"`
		Missing []uuid.UUID       `json:"missing"`
	}](t, hbody)
	if len(tb.Items) != 2 || !slices.Equal(tb.Missing, []uuid.UUID{unknown}) {
		t.Errorf("thumbnail batch: %d items, missing %v", len(tb.Items), tb.Missing)
	}
	r.json("thumbs-batch-response", shorten(hbody))
	req, hres, hbody = call(t, get, e.URL+"/api/v1/photos/"+farID.String()+"/original", tok, nil, "Range", "bytes=0-65535")
	if hres.StatusCode != http.StatusPartialContent || !bytes.Equal(hbody, far[:65536]) {
		t.Fatalf("original range: %s, %d bytes", hres.Status, len(hbody))
	}
	r.put("photo-original-range", capture{lang: "http", body: transcript(req, []string{"Authorization", "Range"}, hres,
		[]string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag", "X-Content-Sha256", "Cache-Control"})})

	// A clerk resolves the conflict (console endpoint).
	resolve := map[string]string{"take": "set_aside", "comment": "以现场核实为准"}
	r.value("resolve-request", resolve)
	res = e.Do("clerk", post, "/api/v1/conflicts/"+conflictID.String()+"/resolve", resolve, nil).Must(t, http.StatusOK)
	r.json("resolve-response", res.Body)

	// A supervisor withdraws a photo (console endpoint): the record stays,
	// marked, and the tablet pulls it so with the case.
	withdraw := map[string]string{"reason": "近景照片拍到路人面部，按规定撤回"}
	r.value("withdraw-request", withdraw)
	e.Do("supervisor", post, "/api/v1/cases/"+caseID.String()+"/photos/"+nearID.String()+"/withdraw", withdraw, nil).
		Must(t, http.StatusOK)
	res = e.DoToken(tok, get, "/api/v1/sync/pull?limit=100&cursor="+pulled.Cursor, nil, nil).Must(t, http.StatusOK)
	withdrawn := -1
	for i, p := range decode[struct {
		Photos []struct {
			ID           uuid.UUID `json:"id"`
			Deleted      bool      `json:"deleted"`
			DeleteReason string    `json:"delete_reason"`
		} `json:"photos"`
	}](t, res.Body).Photos {
		if p.ID == nearID && p.Deleted && p.DeleteReason == withdraw["reason"] {
			withdrawn = i
		}
	}
	if withdrawn < 0 {
		t.Fatalf("the pull after a withdrawal does not carry the withdrawn photo: %s", res.Body)
	}
	r.member("pull-withdrawn-photo", res.Body, "photos", withdrawn)

	// A second report reuses bytes the server already holds (the far shot
	// serves as reference photo of a related case): proof of possession
	// instead of an upload.
	case2, photo2 := testenv.NewID(), testenv.NewID()
	now = time.Now().UTC()
	_, pw = push(tok, api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 22, Kind: "create_case", CaseID: case2, ClientTime: now,
			Case: &api.DraftDTO{Category: "E0201", Description: "电线杆上小广告",
				Location: api.LocationDTO{Lat: testenv.InTown1Only.Lat, Lon: testenv.InTown1Only.Lon, Accuracy: 8},
				Photos:   []uuid.UUID{photo2}, LinkedCase: &caseID,
				PhotoRecords: []api.PhotoInDTO{{ID: photo2, CaseID: case2, Stage: "report", Type: "reference", SHA256: sha(far),
					Size: int64(len(far))}}}},
	}})
	wantStatuses(t, "second report", pw, "evidence_pending")
	proofMeta := map[string]string{"case_id": case2.String(), "stage": "report", "type": "reference", "sha256": sha(far)}
	_, hres, hbody = call(t, post, e.URL+"/api/v1/photos/"+photo2.String()+"/challenge", tok, r.value("challenge-request", proofMeta))
	if hres.StatusCode != http.StatusOK {
		t.Fatalf("challenge: %s %s", hres.Status, hbody)
	}
	r.json("challenge-response", hbody)
	nonce, err := hex.DecodeString(decode[struct {
		Nonce string `json:"nonce"`
	}](t, hbody).Nonce)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(nonce)
	h.Write(far)
	prove := map[string]string{}
	for k, v := range proofMeta {
		prove[k] = v
	}
	prove["nonce"], prove["proof"] = hex.EncodeToString(nonce), hex.EncodeToString(h.Sum(nil))
	_, hres, hbody = call(t, post, e.URL+"/api/v1/photos/"+photo2.String()+"/prove", tok, r.value("prove-request", prove))
	if hres.StatusCode != http.StatusOK {
		t.Fatalf("prove: %s %s", hres.Status, hbody)
	}
	r.json("prove-response", hbody)
	waitOutcome(t, e, tok, 22, "applied")

	// Offline work that reaches a closed case becomes a review item.
	e.Act("supervisor", case2, "force_close", map[string]any{"reason": "重复上报"})
	now = time.Now().UTC()
	raw, pw = push(tok, api.PushRequest{DeviceTime: &now, Commands: []api.CommandDTO{
		{ID: testenv.NewID(), Seq: 23, Kind: "edit_fields", CaseID: case2, BaseVersion: 1, ClientTime: now,
			Fields: map[string]string{"description": "电线杆上小广告，约20张"}},
		{ID: testenv.NewID(), Seq: 24, Kind: "action", CaseID: case2, ClientTime: now, Action: "self_handle",
			Params: &api.ParamsDTO{Comment: "已清除"}},
	}})
	wantStatuses(t, "after close", pw, "conflict", "conflict")
	r.member("outcome-edit-after-close", raw, "outcomes", 0)

	// A grid worker's tablet: a case leaves its scope, then its scope changes.
	gw1 := e.Users["gw1"]
	res = e.Do("gw1", get, "/api/v1/sync/pull", nil, nil).Must(t, http.StatusOK)
	gwPull := decode[struct {
		Cases []struct {
			ID      uuid.UUID `json:"id"`
			Version int64     `json:"version"`
		} `json:"cases"`
		Cursor string `json:"cursor"`
	}](t, res.Body)
	if len(gwPull.Cases) != 1 || gwPull.Cases[0].ID != caseID {
		t.Fatalf("gw1 first pull = %+v", gwPull.Cases)
	}
	events := openEvents(t, e, gw1.Token)
	ready := events.event(t)
	e.Do("clerk", http.MethodPatch, "/api/v1/cases/"+caseID.String(), map[string]any{"base_version": gwPull.Cases[0].Version,
		"fields": map[string]string{"lat": fmt.Sprint(testenv.InGrid2.Lat), "lon": fmt.Sprint(testenv.InGrid2.Lon)}}, nil).Must(t, http.StatusOK)
	changed := events.event(t)
	events.stop()
	r.put("events-stream", capture{lang: "text", body: []byte(strings.Join(ready, "\n") + "\n\n" + strings.Join(changed, "\n"))})
	if !slices.Contains(ready, "event: ready") || !slices.Contains(changed, "event: changed") {
		t.Errorf("events: %q then %q", ready, changed)
	}
	res = e.Do("gw1", get, "/api/v1/sync/pull?cursor="+gwPull.Cursor, nil, nil).Must(t, http.StatusOK)
	r.json("pull-response-removal", res.Body)
	rm := decode[struct {
		Removals []struct {
			CaseID uuid.UUID `json:"case_id"`
			Reason string    `json:"reason"`
		} `json:"removals"`
		Cursor string `json:"cursor"`
	}](t, res.Body)
	if len(rm.Removals) != 1 || rm.Removals[0].CaseID != caseID || rm.Removals[0].Reason != "out_of_scope" {
		t.Errorf("removals = %+v", rm.Removals)
	}
	if err := e.Server.Store.SetUserGrids(ctx, gw1.ID, []string{testenv.Grid1, testenv.Grid2}); err != nil {
		t.Fatal(err)
	}
	res = e.Do("gw1", get, "/api/v1/sync/pull?cursor="+rm.Cursor, nil, nil).Must(t, http.StatusOK)
	r.json("pull-response-reset", res.Body)
	if p := decode[struct {
		Reset bool `json:"reset"`
		Cases []struct {
			ID uuid.UUID `json:"id"`
		} `json:"cases"`
	}](t, res.Body); !p.Reset || len(p.Cases) != 1 || p.Cases[0].ID != caseID {
		t.Errorf("pull after the scope change = %+v", p)
	}

	// Revocation ends every request of the device at once.
	e.Do("admin", post, "/api/v1/devices/"+enr.Device.ID.String()+"/revoke", nil, nil).Must(t, http.StatusNoContent)
	res = e.DoToken(tok, post, "/api/v1/sync/push", api.PushRequest{Commands: []api.CommandDTO{comment(25, "x")}}, nil).Must(t, http.StatusUnauthorized)
	if res.Problem() != string(models.CodeDeviceRevoked) {
		t.Errorf("revoked push: %s", res.Body)
	}
	r.json("problem-device-revoked", res.Body)

	// The merge rule's golden examples, as the document quotes them.
	golden, err := os.ReadFile("../../sync/testdata/merge.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []json.RawMessage
	if err := json.Unmarshal(golden, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r.put(fmt.Sprintf("merge-golden-%d", i+1), capture{lang: "json", body: c, exact: true})
	}

	checkDoc(t, r.got)
	checkCodes(t)
}

var (
	codeConstRE = regexp.MustCompile(`(?m)^\s*Code[A-Za-z]+\s+Code = "([a-z_]+)"`)
	codeRowRE   = regexp.MustCompile("^\\| `([a-z_]+)` \\| (\\d{3})")
)

// checkCodes checks the document's table of error codes against the codes of
// package models and the statuses the API sends for them.
func checkCodes(t *testing.T) {
	t.Helper()
	src, err := os.ReadFile("../../models/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, l := range strings.Split(string(doc), "\n") {
		if m := codeRowRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			rows[m[1]] = n
		}
	}
	consts := codeConstRE.FindAllStringSubmatch(string(src), -1)
	if len(consts) < 30 {
		t.Fatalf("found only %d codes in models/errors.go", len(consts))
	}
	for _, m := range consts {
		code := m[1]
		st, ok := rows[code]
		switch {
		case !ok:
			t.Errorf("%s: the error table lacks code %s", docPath, code)
		case st != api.StatusOf(models.Code(code)):
			t.Errorf("%s: the error table gives %s status %d, the API sends %d", docPath, code, st, api.StatusOf(models.Code(code)))
		}
		delete(rows, code)
	}
	for code := range rows {
		t.Errorf("%s: the error table lists %s, which models does not define", docPath, code)
	}
}

// block is one tagged fenced block of the document.
type block struct {
	name       string
	lang       string
	start, end int // line indices of the content: [start, end)
}

var markerRE = regexp.MustCompile(`^<!-- example: ([a-z0-9-]+) -->$`)

func parseDoc(t *testing.T, lines []string) []block {
	t.Helper()
	var out []block
	for i := 0; i < len(lines); i++ {
		m := markerRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s:%d: marker %q is not followed by a fenced block", docPath, i+1, m[1])
		}
		b := block{name: m[1], lang: strings.TrimPrefix(lines[i+1], "```"), start: i + 2}
		j := b.start
		for j < len(lines) && lines[j] != "```" {
			j++
		}
		if j == len(lines) {
			t.Fatalf("%s:%d: block %q is not closed", docPath, i+2, b.name)
		}
		b.end = j
		out = append(out, b)
		i = j
	}
	return out
}

func checkDoc(t *testing.T, got map[string]capture) {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	blocks := parseDoc(t, lines)
	// Every JSON example must be a captured one.
	for i, l := range lines {
		if l == "```json" && (i == 0 || !markerRE.MatchString(strings.TrimSpace(lines[i-1]))) {
			t.Errorf("%s:%d: a JSON block without an example marker", docPath, i+1)
		}
	}
	seen := map[string]bool{}
	for _, b := range blocks {
		if seen[b.name] {
			t.Errorf("%s: example %q appears twice", docPath, b.name)
		}
		seen[b.name] = true
		c, ok := got[b.name]
		if !ok {
			t.Errorf("%s:%d: example %q is not captured by this test", docPath, b.start, b.name)
			continue
		}
		if b.lang != c.lang {
			t.Errorf("%s:%d: example %q is a %s block, the capture is %s", docPath, b.start, b.name, b.lang, c.lang)
		}
	}
	var unused []string
	for name := range got {
		if !seen[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if *updateDoc {
		// Rewrite from the last block up so earlier line numbers stay valid.
		for i := len(blocks) - 1; i >= 0; i-- {
			b := blocks[i]
			c, ok := got[b.name]
			if !ok {
				continue
			}
			text := string(c.body)
			if c.lang == "json" {
				var buf bytes.Buffer
				if err := json.Indent(&buf, c.body, "", "  "); err != nil {
					t.Fatal(err)
				}
				text = buf.String()
			}
			lines = slices.Concat(lines[:b.start], strings.Split(text, "\n"), lines[b.end:])
		}
		if err := os.WriteFile(docPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %d examples in %s", len(blocks), docPath)
		if len(unused) > 0 {
			t.Errorf("captured but not in the document: %v", unused)
		}
		return
	}
	if len(unused) > 0 {
		t.Errorf("captured but not in the document (add a tagged block or drop the capture): %v", unused)
	}
	for _, b := range blocks {
		c, ok := got[b.name]
		if !ok || b.lang != c.lang {
			continue
		}
		docText := strings.Join(lines[b.start:b.end], "\n")
		switch {
		case c.lang == "json" && c.exact:
			var a, w any
			if err := json.Unmarshal([]byte(docText), &a); err != nil {
				t.Errorf("%s:%d: example %q: %v", docPath, b.start, b.name, err)
				continue
			}
			_ = json.Unmarshal(c.body, &w)
			if !reflect.DeepEqual(a, w) {
				t.Errorf("%s:%d: example %q differs from its source", docPath, b.start, b.name)
			}
		case c.lang == "json":
			var a, w any
			if err := json.Unmarshal([]byte(docText), &a); err != nil {
				t.Errorf("%s:%d: example %q is not JSON: %v", docPath, b.start, b.name, err)
				continue
			}
			if err := json.Unmarshal(c.body, &w); err != nil {
				t.Fatal(err)
			}
			if diffs := shapeDiff("", shapeOf(a), shapeOf(w)); len(diffs) > 0 {
				t.Errorf("%s:%d: example %q does not match the live exchange (run with -update after checking the change):\n  %s",
					docPath, b.start, b.name, strings.Join(diffs, "\n  "))
			}
		default:
			norm := normHTTP
			if c.lang == "text" {
				norm = normSSE
			}
			d, l := norm(docText), norm(string(c.body))
			if !slices.Equal(d, l) {
				t.Errorf("%s:%d: example %q does not match the live exchange:\n doc:  %q\n live: %q", docPath, b.start, b.name, d, l)
			}
		}
	}
}

// shape is the structure of a JSON value: for objects, the shapes of their
// members; for arrays, the merged shape of their elements; else a kind.
type shape struct {
	kind   string // object, array, scalar, empty (an array's elements when it has none)
	fields map[string]*shape
	elem   *shape
}

func shapeOf(v any) *shape {
	switch x := v.(type) {
	case map[string]any:
		s := &shape{kind: "object", fields: map[string]*shape{}}
		for k, m := range x {
			s.fields[k] = shapeOf(m)
		}
		return s
	case []any:
		s := &shape{kind: "array", elem: &shape{kind: "empty"}}
		for _, m := range x {
			s.elem = merge(s.elem, shapeOf(m))
		}
		return s
	}
	return &shape{kind: "scalar"}
}

func merge(a, b *shape) *shape {
	switch {
	case a.kind == "empty":
		return b
	case b.kind == "empty" || a.kind != b.kind:
		return a
	case a.kind == "object":
		out := &shape{kind: "object", fields: map[string]*shape{}}
		for k, v := range a.fields {
			out.fields[k] = v
		}
		for k, v := range b.fields {
			if w, ok := out.fields[k]; ok {
				out.fields[k] = merge(w, v)
			} else {
				out.fields[k] = v
			}
		}
		return out
	case a.kind == "array":
		return &shape{kind: "array", elem: merge(a.elem, b.elem)}
	}
	return a
}

// shapeDiff lists where the document's shape (doc) and the live one differ.
func shapeDiff(path string, doc, live *shape) []string {
	at := path
	if at == "" {
		at = "(top)"
	}
	if doc.kind != live.kind {
		return []string{fmt.Sprintf("%s: the document has %s, the server sent %s", at, doc.kind, live.kind)}
	}
	var out []string
	switch doc.kind {
	case "object":
		keys := map[string]bool{}
		for k := range doc.fields {
			keys[k] = true
		}
		for k := range live.fields {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			p := k
			if path != "" {
				p = path + "." + k
			}
			d, l := doc.fields[k], live.fields[k]
			switch {
			case l == nil:
				out = append(out, p+": in the document, not sent by the server")
			case d == nil:
				out = append(out, p+": sent by the server, missing from the document")
			default:
				out = append(out, shapeDiff(p, d, l)...)
			}
		}
	case "array":
		out = append(out, shapeDiff(path+"[]", doc.elem, live.elem)...)
	}
	return out
}

var sseIDRE = regexp.MustCompile(`^id: \d+$`)

func normSSE(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimRight(l, " ")
		if sseIDRE.MatchString(l) {
			l = "id: N"
		}
		out = append(out, l)
	}
	return out
}

// normHTTP keeps what must match in a transcript: request methods, status
// lines and header names.
func normHTTP(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			out = append(out, "")
		case strings.HasPrefix(l, "HTTP/"):
			out = append(out, l)
		case strings.HasSuffix(l, " HTTP/1.1"):
			out = append(out, strings.Fields(l)[0])
		default:
			name, _, _ := strings.Cut(l, ":")
			out = append(out, strings.ToLower(name)+":")
		}
	}
	return out
}
