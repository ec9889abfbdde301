// Package web is the clerk console: plain ES modules, CSS and vendored
// libraries (Leaflet, leaflet.markercluster, qrcode-generator) embedded in the
// binary. There is no build step and nothing is fetched at run time; the API
// serves these files at / (api.Deps.Console).
package web

import (
	"bytes"
	"embed"
	"html"
	"io"
	"io/fs"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// FS returns the console's files with index.html at the root and no map
// tile layer configured.
func FS() fs.FS { return WithConfig(Config{}) }

// Config is the console's run-time configuration, written into index.html's
// <meta> tags so the console reads it without another request.
type Config struct {
	// TileURL is a Leaflet tile URL template ({z}/{x}/{y}); empty means no
	// tile layer: the map shows points and grids on a plain background.
	TileURL string
	// TileAttribution is the attribution the tile provider asks for.
	TileAttribution string
}

// WithConfig returns the console's files with index.html carrying c.
func WithConfig(c Config) fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	idx, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	r := strings.NewReplacer(
		`name="fieldsync-tile-url" content=""`, `name="fieldsync-tile-url" content="`+html.EscapeString(c.TileURL)+`"`,
		`name="fieldsync-tile-attribution" content=""`, `name="fieldsync-tile-attribution" content="`+html.EscapeString(c.TileAttribution)+`"`,
	)
	return overlayFS{FS: sub, name: "index.html", data: []byte(r.Replace(string(idx)))}
}

// overlayFS is an fs.FS with one file's contents replaced.
type overlayFS struct {
	fs.FS
	name string
	data []byte
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name != o.name {
		return o.FS.Open(name)
	}
	f, err := o.FS.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(o.data), info: memInfo{FileInfo: fi, size: int64(len(o.data))}}, nil
}

// memFile is an in-memory fs.File that also seeks, as http.ServeContent needs.
type memFile struct {
	*bytes.Reader
	info memInfo
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Close() error               { return nil }

var _ io.ReadSeeker = (*memFile)(nil)

type memInfo struct {
	fs.FileInfo
	size int64
}

func (i memInfo) Size() int64        { return i.size }
func (i memInfo) ModTime() time.Time { return time.Time{} }
