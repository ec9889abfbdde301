// Package server assembles fieldsync from one Config: the store, the sync
// engine, the evidence pipeline and the HTTP API. A Server runs until its
// context ends and then shuts down in order: stop accepting, drain requests,
// stop background workers, close the database.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/store"
	"github.com/fieldsync/fieldsync/sync"
	"github.com/fieldsync/fieldsync/uploads"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Config is everything a Server is built from. Zero values take defaults.
type Config struct {
	// Addr is the listen address; ":0" picks a free port (tests).
	Addr string
	// DataDir holds the SQLite database and the evidence blobs.
	DataDir string
	// DSN selects the database: "" for SQLite in DataDir, postgres://… for PostgreSQL.
	DSN string
	// Demo loads the demo district into an empty database.
	Demo bool
	// DemoSeed makes the demo data set reproducible.
	DemoSeed uint64
	// BodyLimit caps API request bodies (uploads have their own cap).
	BodyLimit int64
	// MaxUploadSize caps one photo upload.
	MaxUploadSize int64
	// SecureCookies marks the console cookie Secure (serve behind TLS).
	SecureCookies bool
	// ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownTimeout time.Duration
	// ThumbWorkers is the size of the thumbnail worker pool.
	ThumbWorkers int
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Console serves the clerk console at /; nil for none.
	Console fs.FS
	// AssumeEvidence counts photos as arrived without their bytes, so nothing
	// waits for evidence. Never in production: it exists for benchmarks and
	// tests whose photos are placeholders.
	AssumeEvidence bool
	// CredentialTTL is how long a resolved token is reused before the store
	// is read again; it bounds how long another process's revocation, logout
	// or grid change goes unseen here (see api.Deps; 2 s when zero, negative
	// turns the reuse off).
	CredentialTTL time.Duration
}

func (c *Config) defaults() {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if c.DemoSeed == 0 {
		c.DemoSeed = 370402
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = 8 << 20
	}
	if c.MaxUploadSize == 0 {
		c.MaxUploadSize = 40 << 20
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.ThumbWorkers == 0 {
		c.ThumbWorkers = 2
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server is a running fieldsync.
type Server struct {
	cfg    Config
	log    *slog.Logger
	Store  *store.DB
	Engine *sync.Engine
	Hub    *sync.Hub
	API    *api.API
	Photos *uploads.Service

	ref      atomic.Pointer[sync.Reference]
	ln       net.Listener
	http     *http.Server
	ready    chan struct{}
	bgWG     gosync.WaitGroup
	DemoInfo *DemoInfo
}

// New opens the database, applies pending migrations, loads the demo data when
// asked, and wires the API. It does not listen yet: Run does.
func New(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := store.Open(ctx, store.Config{DSN: cfg.DSN, DataDir: cfg.DataDir, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, Store: st, Hub: sync.NewHub(), ready: make(chan struct{})}
	s.Engine = sync.New(sync.Config{Store: st, Ref: s.ref.Load, Now: cfg.Now, Hub: s.Hub, Logger: cfg.Logger,
		Jobs: st, AssumeEvidence: cfg.AssumeEvidence})
	if cfg.Demo {
		info, err := LoadDemo(ctx, st, cfg.Now(), cfg.DemoSeed, cfg.Logger)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("demo data: %w", err)
		}
		if info.Loaded {
			if err := SaveDemoDevices(cfg.DataDir, info.Devices); err != nil {
				s.log.Warn("could not save demo device tokens", "err", err)
			}
		} else {
			info.Devices = ReadDemoDevices(cfg.DataDir)
		}
		s.DemoInfo = info
	}
	if err := s.ReloadRef(ctx); err != nil {
		st.Close()
		return nil, err
	}
	var apiRef *api.API
	photos, err := uploads.New(uploads.Config{DataDir: cfg.DataDir, Store: st, Jobs: st,
		Authenticate:  func(r *http.Request) (models.Actor, error) { return apiRef.AuthenticateRequest(r) },
		OnVerified:    s.Engine.EvidenceArrived,
		MaxUploadSize: cfg.MaxUploadSize, ThumbWorkers: cfg.ThumbWorkers, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("evidence store: %w", err)
	}
	s.Photos = photos
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.API = api.New(api.Deps{
		Store: st, Engine: s.Engine, Hub: s.Hub, Logger: cfg.Logger, Registry: reg, BodyLimit: cfg.BodyLimit,
		Now: cfg.Now, Ready: s.readyCheck, RefChanged: func(ctx context.Context) {
			if err := s.ReloadRef(ctx); err != nil {
				s.log.ErrorContext(ctx, "reload reference data", "err", err)
			}
		},
		Convert: toWGS84, SecureCookies: cfg.SecureCookies, Console: cfg.Console,
		Uploads: photos, Photos: photoServer{photos}, CredentialTTL: cfg.CredentialTTL,
	})
	apiRef = s.API
	return s, nil
}

// ReloadRef rebuilds the engine's reference data (categories, locator,
// deadlines) from the database.
func (s *Server) ReloadRef(ctx context.Context) error {
	ref, err := BuildReference(ctx, s.Store)
	if err != nil {
		return fmt.Errorf("reference data: %w", err)
	}
	s.ref.Store(ref)
	return nil
}

// BuildReference makes the sync engine's view of the reference data.
func BuildReference(ctx context.Context, st models.Store) (*sync.Reference, error) {
	rd, err := st.RefData(ctx)
	if err != nil {
		return nil, err
	}
	cats := make(map[string]models.Category, len(rd.Categories))
	for _, c := range rd.Categories {
		cats[c.Code] = c
	}
	units := make(map[string]bool, len(rd.Units))
	for _, u := range rd.Units {
		units[u.ID] = true
	}
	loc := geo.NewLocator(rd)
	cal := models.DefaultCalendar()
	return &sync.Reference{
		Categories: cats,
		Units:      units,
		Locate: func(lat, lon float64) sync.Placement {
			a := loc.Locate(lat, lon)
			return sync.Placement{OrgPath: a.OrgPath, TownCode: a.TownCode, VillageCode: a.VillageCode,
				GridCode: a.GridCode, RoadSegmentID: a.RoadSegmentID, RefVersion: a.RefVersion}
		},
		Deadline: func(code string, start time.Time) *time.Time {
			c, ok := cats[code]
			if !ok || c.Limit.Value <= 0 {
				return nil
			}
			d := cal.Deadline(start, c.Limit).UTC()
			return &d
		},
	}, nil
}

// readyError is a readiness failure with a client-safe reason.
type readyError struct {
	reason string
	err    error
}

func (e *readyError) Error() string  { return e.reason + ": " + fmt.Sprint(e.err) }
func (e *readyError) Reason() string { return e.reason }

func (s *Server) readyCheck(ctx context.Context) error {
	if err := s.Store.Ping(ctx); err != nil {
		return &readyError{"database unreachable", err}
	}
	applied, known, err := s.Store.MigrationState(ctx)
	if err != nil {
		return &readyError{"migration state unknown", err}
	}
	if applied != known {
		return &readyError{fmt.Sprintf("migrations pending (%d of %d applied)", applied, known), nil}
	}
	return nil
}

// Addr returns the address the server listens on, once Run has started
// listening (wait on Ready).
func (s *Server) Addr() string {
	<-s.ready
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Ready is closed once the server listens (or failed to).
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run listens and serves until ctx ends, then shuts down in order: it stops
// accepting connections and drains in-flight requests (bounded by
// ShutdownTimeout), stops the background workers, and closes the database.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		close(s.ready)
		s.Store.Close()
		return fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s.API, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	bgCtx, stopBG := context.WithCancel(context.Background())
	s.bgWG.Add(3)
	go func() {
		defer s.bgWG.Done()
		s.Engine.RunEvidence(bgCtx, 30*time.Second)
	}()
	go func() {
		defer s.bgWG.Done()
		s.Hub.Watch(bgCtx, s.Store, time.Second, s.log)
	}()
	go func() {
		defer s.bgWG.Done()
		s.Photos.Run(bgCtx) // thumbnail workers, upload expiry, unfinished uploads
	}()
	close(s.ready)
	s.log.Info("fieldsync listening", "addr", ln.Addr().String(), "data_dir", s.cfg.DataDir, "postgres", store.IsPostgres(s.cfg.DSN))

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("fieldsync shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Event streams never end by themselves; closing the hub ends them so the
	// drain below waits only for ordinary requests.
	s.Hub.Close()
	if err := s.http.Shutdown(shutCtx); err != nil {
		s.log.Warn("http drain incomplete", "err", err)
		_ = s.http.Close()
	}
	stopBG()
	s.bgWG.Wait()
	if err := s.Store.Close(); err != nil {
		s.log.Warn("close database", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// DataPath returns a path inside the data directory.
func (s *Server) DataPath(elem ...string) string {
	return filepath.Join(append([]string{s.cfg.DataDir}, elem...)...)
}

// toWGS84 converts a point a client sent in a Chinese map datum (高德/腾讯
// GCJ-02, 百度 BD-09) to WGS84; other names pass the point through.
func toWGS84(sys string, lat, lon float64) (float64, float64) {
	switch sys {
	case "gcj02", "GCJ-02", "gcj-02":
		return geo.GCJ02ToWGS84(lat, lon)
	case "bd09", "BD-09", "bd-09":
		return geo.BD09ToWGS84(lat, lon)
	}
	return lat, lon
}
