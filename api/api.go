// Package api is fieldsync's HTTP interface under /api/v1, the health and
// metrics endpoints, and the console's static assets. It is the only package
// that imports Echo. Handlers map requests to models and the sync engine and
// map results to DTOs; every error leaves as an RFC 9457 problem body whose
// code comes from models and whose status comes from one table (errors.go).
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/sync"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Uploads is what the api needs of the evidence pipeline (package uploads).
type Uploads interface {
	// TusHandler serves the tus 1.0 endpoint mounted at /api/v1/uploads/.
	TusHandler() http.Handler
}

// Deps are everything the API is built from.
type Deps struct {
	Store   models.Store
	Engine  *sync.Engine
	Hub     *sync.Hub
	Uploads Uploads // nil: no upload endpoints
	Photos  PhotoServer
	Logger  *slog.Logger
	// Registry receives the HTTP metrics; nil makes a private one.
	Registry *prometheus.Registry
	// Gatherer serves /metrics; defaults to Registry.
	Gatherer prometheus.Gatherer
	// BodyLimit caps request bodies outside the upload endpoint.
	BodyLimit int64
	Now       func() time.Time
	// Ready reports whether the service can take traffic (database reachable,
	// migrations current).
	Ready func(ctx context.Context) error
	// RefChanged is called after an admin changes reference data.
	RefChanged func(ctx context.Context)
	// Convert converts a point in a Chinese datum (gcj02, bd09) to WGS84.
	Convert func(sys string, lat, lon float64) (float64, float64)
	// SecureCookies marks the session cookie Secure (behind TLS).
	SecureCookies bool
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// CredentialTTL is how long a resolved token is reused without reading
	// the store again (2 s when zero; negative: never). Changes made through
	// this process's store apply at once whatever it is (see credCache).
	CredentialTTL time.Duration
	// SkewThreshold flags device clocks in the device list.
	SkewThreshold time.Duration
	// Console is the console's static file system, served at /; nil for none.
	Console fs.FS
	// Audit is the audit log; nil takes Store when it implements
	// models.AuditLog.
	Audit models.AuditLog
	// Stats serves statistics and the ids filter; nil takes Store when it
	// implements models.StatsStore.
	Stats models.StatsStore
}

// PhotoServer serves evidence bytes to callers whose scope covers the case,
// and attaches bytes the server already holds to a device that proves it has
// them.
type PhotoServer interface {
	// OpenOriginal opens a photo's original for actor, or ErrNotFound.
	OpenOriginal(ctx context.Context, actor models.Actor, photoID uuid.UUID) (ReadSeekCloser, models.PhotoRecord, error)
	// OpenThumbnail opens a photo's small or large thumbnail, or ErrNotFound
	// while it is not made yet.
	OpenThumbnail(ctx context.Context, actor models.Actor, photoID uuid.UUID, large bool) (ReadSeekCloser, string, error)
	// Challenge returns a nonce for proving possession of a photo's bytes.
	Challenge(ctx context.Context, actor models.Actor, meta PhotoMeta) (string, error)
	// Prove attaches the bytes the server holds when proof = hex(SHA-256(nonce || bytes)).
	Prove(ctx context.Context, actor models.Actor, meta PhotoMeta, nonce, proof string) (models.PhotoRecord, error)
}

// PhotoMeta names a photo to attach: what a tus upload's metadata carries.
type PhotoMeta struct {
	PhotoID, CaseID uuid.UUID
	Stage           string
	Type            models.PhotoType
	SHA256          string
}

// ReadSeekCloser is an open blob.
type ReadSeekCloser interface {
	Read(p []byte) (int, error)
	Seek(offset int64, whence int) (int64, error)
	Close() error
}

// API is the HTTP handler of fieldsync.
type API struct {
	d       Deps
	e       *echo.Echo
	log     *slog.Logger
	metrics *httpMetrics
	now     func() time.Time
	conv    coordConverter
	creds   *credCache
}

// New builds the API and its routes.
func New(d Deps) *API {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.BodyLimit == 0 {
		d.BodyLimit = 4 << 20
	}
	if d.SessionTTL == 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.CredentialTTL == 0 {
		d.CredentialTTL = 2 * time.Second
	}
	if d.SkewThreshold == 0 {
		d.SkewThreshold = 2 * time.Minute
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Gatherer == nil {
		d.Gatherer = d.Registry
	}
	if al, ok := d.Store.(models.AuditLog); ok && d.Audit == nil {
		d.Audit = al
	}
	if st, ok := d.Store.(models.StatsStore); ok && d.Stats == nil {
		d.Stats = st
	}
	a := &API{d: d, log: d.Logger, now: d.Now, metrics: newHTTPMetrics(d.Registry), creds: newCredCache(d.CredentialTTL, 4096)}
	a.conv = func(sys string, lat, lon float64) (float64, float64) {
		if d.Convert == nil || sys == "" || sys == "wgs84" {
			return lat, lon
		}
		return d.Convert(sys, lat, lon)
	}
	e := echo.New()
	e.HTTPErrorHandler = a.errorHandler
	e.JSONSerializer = fastJSON{}
	a.e = e
	a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.e.ServeHTTP(w, r) }

// routes declares every route on one screen.
func (a *API) routes() {
	e := a.e
	e.Use(a.requestID, a.recoverer, a.accessLog, a.metrics.middleware)

	e.GET("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)
	e.GET("/metrics", a.metricsHandler())

	v1 := e.Group("/api/v1")
	if a.d.Uploads != nil {
		// tus owns its bodies, sizes and timeouts: no body limit here.
		v1.Any("/uploads", echo.WrapHandler(a.d.Uploads.TusHandler()))
		v1.Any("/uploads/*", echo.WrapHandler(a.d.Uploads.TusHandler()))
	}
	api := v1.Group("", a.bodyLimit, a.authenticate)
	api.GET("/openapi.json", a.openapi)
	api.POST("/auth/login", a.login)
	api.POST("/auth/logout", a.logout)
	api.GET("/me", a.me)

	api.GET("/cases", a.listCases)
	api.POST("/cases", a.createCase)
	api.GET("/cases/:id", a.getCase)
	api.PATCH("/cases/:id", a.editCase)
	api.POST("/cases/:id/transitions", a.transition)
	api.POST("/cases/:id/comments", a.addComment)
	api.POST("/cases/:id/photos/:photo_id/withdraw", a.withdrawPhoto)
	api.GET("/cases/:id/duplicates", a.duplicates)

	api.GET("/conflicts", a.listConflicts)
	api.POST("/conflicts/:id/resolve", a.resolveConflict)

	api.GET("/categories", a.categories)
	api.POST("/categories", a.putCategory)
	api.GET("/org", a.orgTree)
	api.GET("/grids", a.grids)
	api.GET("/road-segments", a.roadSegments)
	api.GET("/units", a.units)

	api.POST("/sync/push", a.push)
	api.GET("/sync/pull", a.pull)
	api.GET("/sync/events", a.events)
	api.GET("/sync/outcomes", a.outcomes)
	api.POST("/sync/ack", a.ack)

	api.GET("/stats", a.stats)
	api.GET("/exports/cases.csv", a.exportCSV)
	api.GET("/exports/cases.geojson", a.exportGeoJSON)
	api.GET("/exports/cases.kml", a.exportKML)
	api.GET("/audit", a.listAudit)
	api.GET("/audit/verify", a.verifyAudit)

	api.GET("/devices", a.listDevices)
	api.POST("/devices", a.enrollDevice)
	api.POST("/devices/:id/revoke", a.revokeDevice)

	if a.d.Photos != nil {
		api.GET("/photos/:id/original", a.photoOriginal)
		api.GET("/photos/:id/thumbnail", a.thumbnail)
		api.POST("/photos/:id/challenge", a.photoChallenge)
		api.POST("/photos/:id/prove", a.photoProve)
		api.POST("/thumbnails/batch", a.thumbnailBatch)
	}
	if a.d.Console != nil {
		e.GET("/*", echo.StaticDirectoryHandler(a.d.Console, false))
	}
}
