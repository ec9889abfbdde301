package web_test

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/web"
)

// TestServedByTheAPI serves the console the way production does (Echo's
// static handler behind api.Deps.Console) and checks the page, its scripts
// and the content types a module script needs.
func TestServedByTheAPI(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Deps{Console: web.FS(), Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script type="module" src="js/app.js">`},
		{"/index.html", "text/html", "fieldsync-tile-url"},
		{"/js/app.js", "javascript", "renderCases"},
		{"/css/app.css", "text/css", ".cases-layout"},
		{"/vendor/leaflet/leaflet.js", "javascript", "Leaflet"},
		{"/vendor/leaflet/images/marker-icon.png", "image/png", ""},
	} {
		res, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %q, want 200 %s containing %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.ctype, tc.contains)
		}
	}
	for _, p := range []string{"/js/missing.js", "/../web.go", "/web.go", "/browser_test.go"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.StatusCode)
		}
	}
}

// TestConfigInIndex writes the tile configuration into index.html, escaped,
// and leaves the other files alone.
func TestConfigInIndex(t *testing.T) {
	plain, err := fs.ReadFile(web.FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plain), `name="fieldsync-tile-url" content=""`) {
		t.Fatal("the default index.html should have an empty tile URL")
	}
	fsys := web.WithConfig(web.Config{TileURL: `https://tiles.example/{z}/{x}/{y}.png?a=1&b="2"`, TileAttribution: "© 测绘"})
	idx, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`name="fieldsync-tile-url" content="https://tiles.example/{z}/{x}/{y}.png?a=1&amp;b=&#34;2&#34;"`,
		`name="fieldsync-tile-attribution" content="© 测绘"`,
	} {
		if !strings.Contains(string(idx), want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	fi, err := fs.Stat(fsys, "index.html")
	if err != nil || fi.Size() != int64(len(idx)) {
		t.Errorf("stat index.html: %v size %d, want %d", err, fi.Size(), len(idx))
	}
	a, _ := fs.ReadFile(fsys, "js/app.js")
	b, _ := fs.ReadFile(web.FS(), "js/app.js")
	if len(a) == 0 || string(a) != string(b) {
		t.Error("other files should be served unchanged")
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^":#]+)"`)
	importRef = regexp.MustCompile(`(?m)^import .* from '(\./[^']+)';|import\('(\./[^']+)'\)`)
	cdnRef    = regexp.MustCompile(`(?i)(?:src|href)="(?:https?:)?//|\bimport\s.*from\s+'https?:|url\(["']?https?:`)
)

// TestAssetsResolve: every file index.html names and every module a script
// imports is embedded, and nothing is loaded from another origin.
func TestAssetsResolve(t *testing.T) {
	fsys := web.FS()
	idx, _ := fs.ReadFile(fsys, "index.html")
	for _, m := range htmlRef.FindAllStringSubmatch(string(idx), -1) {
		if _, err := fs.Stat(fsys, m[1]); err != nil {
			t.Errorf("index.html names %s, which is not embedded", m[1])
		}
	}
	n := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(p, "js/") || strings.HasSuffix(p, ".html") || strings.HasPrefix(p, "css/") {
			if loc := cdnRef.FindIndex(b); loc != nil {
				t.Errorf("%s loads from another origin: %s", p, b[loc[0]:loc[1]])
			}
		}
		if !strings.HasPrefix(p, "js/") {
			return nil
		}
		n++
		for _, m := range importRef.FindAllStringSubmatch(string(b), -1) {
			ref := m[1] + m[2]
			target := path.Join(path.Dir(p), ref)
			if _, err := fs.Stat(fsys, target); err != nil {
				t.Errorf("%s imports %s, which is not embedded", p, ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Errorf("found %d modules, want the console's", n)
	}
}
