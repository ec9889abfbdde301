package client_test

import (
	"context"
	"io"
	"log/slog"
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

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/client"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/uploads"
)

// realUploads mounts the server's own evidence pipeline (package uploads) at
// /api/v1/uploads/ in front of e, the way the server will once it wires it,
// and proxies everything else to e. cutFirst > 0 makes the first PATCH
// deliver only that many bytes before the connection drops.
func realUploads(t *testing.T, e *testenv.Env, cutFirst int64) (string, *patchLog) {
	t.Helper()
	st := e.Server.Store
	authn := func(r *http.Request) (models.Actor, error) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return models.Actor{}, models.Errorf(models.CodeUnauthenticated, "authentication required")
		}
		dev, err := st.DeviceByTokenHash(r.Context(), auth.HashToken(tok))
		if err != nil {
			return models.Actor{}, models.Errorf(models.CodeInvalidToken, "the token is not valid")
		}
		u, err := st.UserByID(r.Context(), dev.UserID)
		if err != nil {
			return models.Actor{}, err
		}
		grids, err := st.UserGrids(r.Context(), u.ID)
		if err != nil {
			return models.Actor{}, err
		}
		return models.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, DeviceID: dev.ID,
			Scope: models.ScopeFor(u, grids)}, nil
	}
	svc, err := uploads.New(uploads.Config{DataDir: t.TempDir(), Store: st, Jobs: st, Authenticate: authn,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tus := svc.TusHandler()
	log := &patchLog{}
	var cut atomic.Bool
	cut.Store(cutFirst > 0)
	target, _ := url.Parse(e.URL)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/uploads/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			log.add(r.Header.Get("Upload-Offset"))
		}
		if r.Method != http.MethodPatch || !cut.CompareAndSwap(true, false) {
			tus.ServeHTTP(w, r)
			return
		}
		// The pipeline receives the first cutFirst bytes and stores them;
		// the tablet never hears back.
		r.Body = io.NopCloser(io.LimitReader(r.Body, cutFirst))
		r.ContentLength = cutFirst
		r.Header.Set("Content-Length", strconv.FormatInt(cutFirst, 10))
		tus.ServeHTTP(httptest.NewRecorder(), r)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, log
}

// patchLog records the Upload-Offset of every PATCH.
type patchLog struct {
	mu      sync.Mutex
	offsets []string
}

func (l *patchLog) add(off string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.offsets = append(l.offsets, off)
}

func (l *patchLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.offsets, ",")
}

// TestUploadToTheServersTusEndpoint runs the client's tus upload against the
// server's own endpoint, connection cut included: the photo arrives whole,
// is verified against the SHA-256 taken at capture, and the next pull shows
// it verified.
func TestUploadToTheServersTusEndpoint(t *testing.T) {
	e := testenv.Start(t, testenv.Options{})
	ctx := context.Background()
	srv, patches := realUploads(t, e, 30_000)
	tab := open(t, filepath.Join(t.TempDir(), "t.db"), srv, e.Users["inspector1"].Token,
		func(c *client.Config) { c.ChunkSize = 1 << 20 })
	src := photo(t, 640, 480)
	id, err := tab.CreateCase(ctx, draft("共享单车乱停放"), client.PhotoInput{Path: src}, client.PhotoInput{Path: photo(t, 320, 240), Type: models.PhotoNear})
	if err != nil {
		t.Fatal(err)
	}
	r := mustSync(t, tab)
	if r.Photos.Uploaded != 2 || len(r.Photos.Failed) != 0 || r.Photos.Pending != 0 {
		t.Fatalf("photos = %+v", r.Photos)
	}
	if got := patches.String(); got != "0,30000,0" {
		t.Fatalf("PATCH offsets %s, want 0,30000,0: the cut photo resumed at 30000, the other sent whole", got)
	}
	d := serverCase(t, e, id)
	if len(d.Photos) != 2 || !d.Photos[0].Verified || !d.Photos[1].Verified {
		t.Fatalf("server photos = %+v, want both verified", d.Photos)
	}
	if _, err := tab.Pull(ctx); err != nil {
		t.Fatal(err)
	}
	v, _ := tab.Case(ctx, id)
	for _, p := range v.Photos {
		if !p.Verified || p.Upload != "uploaded" || p.Width == 0 {
			t.Fatalf("local photo after pull = %+v, want verified with its size", p)
		}
	}

	// A photo whose bytes changed after capture is refused for good, with
	// the server's code.
	if err := tab.Comment(ctx, id, "补拍"); err != nil {
		t.Fatal(err)
	}
	pid, err := tab.AddPhoto(ctx, id, client.PhotoInput{Path: photo(t, 64, 64), Type: models.PhotoNear})
	if err != nil {
		t.Fatal(err)
	}
	v, _ = tab.Case(ctx, id)
	for _, p := range v.Photos {
		if p.ID == pid {
			if err := corrupt(p.LocalPath); err != nil {
				t.Fatal(err)
			}
		}
	}
	r = mustSync(t, tab)
	if len(r.Photos.Failed) != 1 || r.Photos.Failed[0].PhotoID != pid || r.Photos.Failed[0].Code != models.CodeHashMismatch {
		t.Fatalf("photos = %+v, want the altered photo refused with hash_mismatch", r.Photos)
	}
	r = mustSync(t, tab)
	if r.Photos.Uploaded+r.Photos.Pending+len(r.Photos.Failed) != 0 {
		t.Fatalf("a refused photo was tried again: %+v", r.Photos)
	}
}

// corrupt flips a byte in the middle of a file.
func corrupt(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0xff
	return os.WriteFile(path, b, 0o600)
}
