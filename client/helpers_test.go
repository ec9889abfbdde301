package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/client"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/google/uuid"
)

// open opens a tablet for a fixture user against url with fast retries.
func open(t *testing.T, path, serverURL, token string, tweak ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{ServerURL: serverURL, Token: token, Backoff: client.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond},
		Attempts: 4, RequestTimeout: 10 * time.Second, AppVersion: "test/1"}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := client.Open(context.Background(), path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tablet opens a fresh tablet for user on e.
func tablet(t *testing.T, e *testenv.Env, user string, tweak ...func(*client.Config)) *client.Client {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "tablet.db"), e.URL, e.Users[user].Token, tweak...)
}

// photo writes a real JPEG of w×h pixels with noise (so it does not
// compress to nothing) and returns its path.
func photo(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(time.Now().UnixNano())
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(seed >> 24), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("IMG_%d.jpg", seed))
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func draft(desc string) client.Draft {
	return client.Draft{Category: "E0504", Description: desc, Location: testenv.InGrid1}
}

func mustSync(t *testing.T, c *client.Client) client.SyncReport {
	t.Helper()
	r, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v (report %+v)", err, r)
	}
	return r
}

// caseDetail is what the console API answers for a case.
type caseDetail struct {
	Case struct {
		ID          uuid.UUID `json:"id"`
		State       string    `json:"state"`
		Description string    `json:"description"`
		Party       string    `json:"party"`
		Version     int64     `json:"version"`
	} `json:"case"`
	History []struct {
		Kind    string `json:"kind"`
		Version int64  `json:"version"`
	} `json:"history"`
	Comments []struct {
		Body string `json:"body"`
	} `json:"comments"`
	Photos []struct {
		ID       uuid.UUID `json:"id"`
		Verified bool      `json:"verified"`
	} `json:"photos"`
}

func serverCase(t *testing.T, e *testenv.Env, id uuid.UUID) caseDetail {
	t.Helper()
	var d caseDetail
	e.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &d).Must(t, http.StatusOK)
	return d
}

// uploadsMounted reports whether the server under test speaks tus at
// /api/v1/uploads/ (another package mounts it; until then it answers 404).
func uploadsMounted(t *testing.T, e *testenv.Env) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, e.URL+"/api/v1/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get("Tus-Resumable") != "" || res.Header.Get("Tus-Version") != ""
}

// dropOnce forwards requests and, when armed, throws away the response of
// the next push: the server applied the batch, the tablet never hears so.
type dropOnce struct {
	base   http.RoundTripper
	armed  atomic.Bool
	mu     sync.Mutex
	pushes [][]byte // every push body sent
}

func (d *dropOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	isPush := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/sync/push")
	if isPush {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(b))
		d.mu.Lock()
		d.pushes = append(d.pushes, b)
		d.mu.Unlock()
	}
	res, err := d.base.RoundTrip(r)
	if err == nil && isPush && d.armed.CompareAndSwap(true, false) {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return nil, errors.New("connection reset by peer (simulated after the server answered)")
	}
	return res, err
}

// tusServer is a small tus 1.0 server (core + creation) that can cut the
// connection in the middle of a PATCH, the way a mobile network does.
type tusServer struct {
	mu       sync.Mutex
	uploads  map[string]*tusUpload
	posts    int
	heads    int
	patches  []int64 // Upload-Offset of every PATCH received
	cutAfter int64   // bytes a cut PATCH delivers before the connection drops
	cuts     int     // PATCHes still to cut
	seq      int
}

type tusUpload struct {
	length int64
	meta   map[string]string
	data   []byte
	done   bool
}

func newTusServer() *tusServer { return &tusServer{uploads: map[string]*tusUpload{}} }

func (s *tusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Tus-Resumable", "1.0.0")
	if r.Header.Get("Tus-Resumable") != "1.0.0" {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/api/v1/uploads/")
	switch {
	case r.Method == http.MethodPost && id == "":
		s.create(w, r)
	case r.Method == http.MethodHead:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.heads++
		u := s.uploads[id]
		if u == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
		w.Header().Set("Upload-Length", strconv.FormatInt(u.length, 10))
		if u.done {
			w.Header().Set("Fieldsync-Photo-Verified", "true")
		}
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPatch:
		s.patch(w, r, id)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (s *tusServer) create(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	if err != nil || n <= 0 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	meta := map[string]string{}
	for _, pair := range strings.Split(r.Header.Get("Upload-Metadata"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), " ")
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		meta[k] = string(b)
	}
	for _, k := range []string{"photo_id", "case_id", "stage", "type", "sha256", "filename"} {
		if meta[k] == "" {
			http.Error(w, "missing metadata "+k, http.StatusBadRequest)
			return
		}
	}
	s.mu.Lock()
	s.posts++
	s.seq++
	id := fmt.Sprintf("up%d", s.seq)
	s.uploads[id] = &tusUpload{length: n, meta: meta}
	s.mu.Unlock()
	w.Header().Set("Location", "/api/v1/uploads/"+id) // relative on purpose
	w.WriteHeader(http.StatusCreated)
}

func (s *tusServer) patch(w http.ResponseWriter, r *http.Request, id string) {
	if r.Header.Get("Content-Type") != "application/offset+octet-stream" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	off, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	s.mu.Lock()
	u := s.uploads[id]
	s.patches = append(s.patches, off)
	cut := s.cuts > 0
	if cut {
		s.cuts--
	}
	limit := s.cutAfter
	s.mu.Unlock()
	if u == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err != nil || off != int64(len(u.data)) {
		w.WriteHeader(http.StatusConflict)
		return
	}
	if cut {
		b, _ := io.ReadAll(io.LimitReader(r.Body, limit))
		s.mu.Lock()
		u.data = append(u.data, b...)
		s.mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, u.length-off))
	s.mu.Lock()
	u.data = append(u.data, b...)
	complete := int64(len(u.data)) == u.length
	var ok bool
	if complete {
		sum := sha256.Sum256(u.data)
		ok = hex.EncodeToString(sum[:]) == u.meta["sha256"]
		u.done = ok
	}
	w.Header().Set("Upload-Offset", strconv.Itoa(len(u.data)))
	s.mu.Unlock()
	if complete && !ok {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]any{"status": 422, "code": "hash_mismatch", "detail": "the bytes do not match sha256"})
		return
	}
	if complete {
		w.Header().Set("Fieldsync-Photo-Verified", "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *tusServer) stats() (posts, heads int, patches []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts, s.heads, append([]int64(nil), s.patches...)
}

// upload returns the one upload whose metadata names photo id.
func (s *tusServer) upload(id uuid.UUID) *tusUpload {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.uploads {
		if u.meta["photo_id"] == id.String() {
			return u
		}
	}
	return nil
}

// withTus serves the tus server at /api/v1/uploads/ and proxies everything
// else to the real server, so push and pull stay real.
func withTus(t *testing.T, e *testenv.Env, tus *tusServer) string {
	t.Helper()
	target, _ := url.Parse(e.URL)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/uploads/", tus)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}
