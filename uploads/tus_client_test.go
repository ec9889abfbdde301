package uploads

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// tusClient is a minimal tus 1.0 client: creation, PATCH, HEAD and DELETE.
type tusClient struct {
	t     testing.TB
	base  string // server root, e.g. http://127.0.0.1:1234
	token string
	hc    *http.Client
}

func newTusClient(t testing.TB, base, token string) *tusClient {
	// No keep-alive reuse surprises after a cut connection: each client owns a transport.
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &tusClient{t: t, base: base, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func encodeMetadata(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(md[k])))
	}
	return strings.Join(parts, ",")
}

func (c *tusClient) do(req *http.Request) *http.Response {
	c.t.Helper()
	req.Header.Set("Tus-Resumable", "1.0.0")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// create POSTs an upload of size bytes; body, when non-nil, is sent with it
// (creation-with-upload). It returns the response with its body read.
func (c *tusClient) create(md map[string]string, size int64, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+DefaultBasePath, rd)
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	if md != nil {
		req.Header.Set("Upload-Metadata", encodeMetadata(md))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	return readAll(c.t, c.do(req))
}

// location resolves a Location header against the server root.
func (c *tusClient) location(resp *http.Response) string {
	c.t.Helper()
	loc := resp.Header.Get("Location")
	if loc == "" {
		c.t.Fatalf("no Location in %d response", resp.StatusCode)
	}
	if strings.HasPrefix(loc, "/") {
		return c.base + loc
	}
	return loc
}

func (c *tusClient) head(loc string) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, loc, nil)
	resp, _ := readAll(c.t, c.do(req))
	return resp
}

func (c *tusClient) offset(loc string) int64 {
	c.t.Helper()
	resp := c.head(loc)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("HEAD %s: %d", loc, resp.StatusCode)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		c.t.Fatalf("HEAD %s: Upload-Offset %q", loc, resp.Header.Get("Upload-Offset"))
	}
	return n
}

// patch sends body from offset; it returns the response, or the transport
// error when the request was cut.
func (c *tusClient) patch(loc string, offset int64, body io.Reader, n int64) (*http.Response, []byte, error) {
	req, _ := http.NewRequest(http.MethodPatch, loc, body)
	req.ContentLength = n
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	r, b := readAll(c.t, resp)
	return r, b, nil
}

func (c *tusClient) delete(loc string) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, loc, nil)
	resp, _ := readAll(c.t, c.do(req))
	return resp
}

func readAll(t testing.TB, resp *http.Response) (*http.Response, []byte) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// problemOf decodes a problem document, failing the test if it is not one.
func problemOf(t testing.TB, resp *http.Response, body []byte) problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != problemContentType {
		t.Fatalf("status %d: Content-Type %q, want %s; body %q", resp.StatusCode, ct, problemContentType, body)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if p.Status != resp.StatusCode || p.Type != "about:blank" || p.Title == "" {
		t.Fatalf("malformed problem %+v for status %d", p, resp.StatusCode)
	}
	return p
}

// failAfter yields the first n bytes of r, then fails like a dropped link.
type failAfter struct {
	r io.Reader
	n int64
}

var errLinkDropped = errors.New("link dropped")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errLinkDropped
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// cuttingProxy forwards TCP connections to target; a connection whose
// client→server stream passes budget() bytes is closed on both sides, like a
// mobile link dying mid-request.
type cuttingProxy struct {
	ln     net.Listener
	target string
	budget func(cuts int) int64 // called under mu
	wg     sync.WaitGroup
	mu     sync.Mutex
	cuts   int
}

func newCuttingProxy(t testing.TB, target string, budget func(cuts int) int64) *cuttingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target, budget: budget}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cuttingProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cuttingProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *cuttingProxy) handle(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	p.mu.Lock()
	budget := p.budget(p.cuts)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() {
		n, _ := io.Copy(s, io.LimitReader(c, budget))
		if n == budget {
			p.mu.Lock()
			p.cuts++
			p.mu.Unlock()
			c.Close()
			s.Close()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, s)
		done <- struct{}{}
	}()
	<-done
}

func (p *cuttingProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// testServer serves h under DefaultBasePath like the api package does
// (without stripping the prefix).
func testServer(t testing.TB, h http.Handler) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle(DefaultBasePath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func metaMap(m PhotoMeta) map[string]string { return m.metadata() }

func mustStatus(t testing.TB, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, want, body)
	}
}
