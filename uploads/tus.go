package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"

	"github.com/fieldsync/fieldsync/models"
)

// TusConfig configures a TusHandler.
type TusConfig struct {
	// Dir holds the partial uploads: <id> (the bytes), <id>.info (tusd's
	// state) and, once processed, <id>.done (the outcome, kept ExpireAfter so
	// a client that lost the final response can still learn it).
	Dir string
	// BasePath is the URL path the handler is mounted at (default DefaultBasePath).
	BasePath string
	// MaxSize is the largest upload accepted (default DefaultMaxUploadSize).
	MaxSize int64
	// Authenticate identifies the caller of every request but OPTIONS. Its
	// *models.Error is sent as is (401 for unauthenticated, invalid_token and
	// device_revoked); any other error is a server failure (500), so a
	// database outage never tells a device its token is bad.
	Authenticate func(*http.Request) (models.Actor, error)
	// Authorize is asked at creation whether actor may upload the photo meta
	// describes; its *models.Error becomes the response. Nil allows all.
	Authorize func(ctx context.Context, actor models.Actor, meta PhotoMeta) error
	// Finish processes a complete upload. It must not remove up.Path. An
	// error carrying a client code (anything but internal and unavailable)
	// is final: the upload is deleted and the client gets the error. Other
	// errors keep the upload so a retried PATCH or HEAD, or the periodic
	// sweep of Run, finishes it later. Finish must be idempotent.
	Finish func(ctx context.Context, up CompletedUpload) (models.PhotoRecord, error)
	// ExpireAfter is how long partial uploads are kept untouched by Run
	// (default DefaultExpireAfter).
	ExpireAfter time.Duration
	// SweepEvery is how often Run expires and sweeps (default 10 min).
	SweepEvery time.Duration
	// RespectForwardedHeaders builds Location URLs from X-Forwarded-* and
	// Forwarded headers; set it behind a reverse proxy that sets them.
	RespectForwardedHeaders bool
	Logger                  *slog.Logger
	Now                     func() time.Time
}

// CompletedUpload is an upload whose bytes have all arrived.
type CompletedUpload struct {
	ID         string // tus upload id
	Path       string // the bytes
	Size       int64
	Meta       PhotoMeta
	UploaderID uuid.UUID
	DeviceID   uuid.UUID
}

// TusHandler is the tus 1.0 endpoint for evidence photos (extensions core,
// creation, creation-with-upload and termination; no concatenation, no
// deferred length, no download). It wraps tusd so that every request is
// authenticated, only the uploader can see, continue or delete an upload,
// Upload-Metadata is validated at creation, and the final PATCH answers
// whether the photo was accepted:
//
//   - 204 with Fieldsync-Photo-Id, Fieldsync-Photo-Verified: true and
//     Fieldsync-Photo-Flags when the bytes were verified and recorded;
//   - a problem+json error (hash_mismatch, image_invalid, image_too_large,
//     unsupported_image, ...) when they were refused; the upload is deleted;
//   - 500 with code internal when processing failed for a server reason;
//     the upload is kept and a retried PATCH (or HEAD) finishes it.
//
// A HEAD on a finished upload answers Upload-Offset = Upload-Length with the
// same Fieldsync-Photo-* headers for ExpireAfter after it finished.
type TusHandler struct {
	cfg    TusConfig
	store  filestore.FileStore
	locker noInterruptLocker
	tus    *tusd.Handler
	log    *slog.Logger
}

// Response headers describing the outcome of a finished upload.
const (
	HeaderPhotoID       = "Fieldsync-Photo-Id"
	HeaderPhotoVerified = "Fieldsync-Photo-Verified"
	HeaderPhotoFlags    = "Fieldsync-Photo-Flags"
)

const (
	// networkTimeout ends a PATCH whose client sent nothing for this long.
	networkTimeout = 20 * time.Second
	lockTimeout    = 5 * time.Second
	finishTimeout  = 2 * time.Minute
	// sweepGrace keeps the sweep off uploads whose final PATCH may still be
	// in its finish hook.
	sweepGrace = time.Minute
)

// NewTusHandler builds the handler. cfg.Dir is created when missing.
func NewTusHandler(cfg TusConfig) (*TusHandler, error) {
	if cfg.Dir == "" || cfg.Authenticate == nil || cfg.Finish == nil {
		return nil, errors.New("uploads: TusConfig needs Dir, Authenticate and Finish")
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	if !strings.HasSuffix(cfg.BasePath, "/") {
		cfg.BasePath += "/"
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxUploadSize
	}
	if cfg.ExpireAfter <= 0 {
		cfg.ExpireAfter = DefaultExpireAfter
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	h := &TusHandler{cfg: cfg, store: filestore.New(dir), locker: noInterruptLocker{memorylocker.New()}, log: cfg.Logger}
	h.store.DirModePerm, h.store.FileModePerm = 0o750, 0o640

	composer := tusd.NewStoreComposer()
	composer.UseCore(h.store)
	composer.UseTerminater(h.store)
	composer.UseLocker(h.locker)
	h.tus, err = tusd.NewHandler(tusd.Config{
		StoreComposer:           composer,
		BasePath:                cfg.BasePath,
		MaxSize:                 cfg.MaxSize,
		DisableDownload:         true, // originals are served scope-checked by OpenOriginal
		DisableConcatenation:    true,
		Cors:                    &tusd.CorsConfig{Disable: true}, // the api package owns CORS
		RespectForwardedHeaders: cfg.RespectForwardedHeaders,
		Logger:                  newTusdLogger(cfg.Logger),
		PreUploadCreateCallback: h.preCreate,
		// Done in the final PATCH, so its response says whether the photo
		// was accepted. No notification channel is enabled, so none needs
		// draining.
		PreFinishResponseCallback: h.preFinish,
		// A request waiting for an upload's lock outlasts a holder stuck on
		// a dead link: the holder's read times out first (see noInterruptLocker).
		NetworkTimeout:     networkTimeout,
		AcquireLockTimeout: networkTimeout + 10*time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("uploads: tusd: %w", err)
	}
	return h, nil
}

// noInterruptLocker is tusd's in-memory locker, except that a request asking
// for a held lock waits instead of interrupting the holder. tusd v2.9.1
// interrupts by cancelling the holder's context from the asking goroutine,
// which races with the holder's own setup of its body reader (a data race the
// race detector reports; upstream tus/tusd#1192). Waiting is safe: a holder
// on a live link finishes its chunk, one on a dead link times out after
// networkTimeout, and waiters give up only after networkTimeout+10 s.
type noInterruptLocker struct{ inner *memorylocker.MemoryLocker }

func (l noInterruptLocker) NewLock(id string) (tusd.Lock, error) {
	lk, err := l.inner.NewLock(id)
	if err != nil {
		return nil, err
	}
	return noInterruptLock{lk}, nil
}

type noInterruptLock struct{ inner tusd.Lock }

// Lock takes the lock without registering the caller's release request, so
// no later request can interrupt the caller.
func (l noInterruptLock) Lock(ctx context.Context, _ func()) error {
	return l.inner.Lock(ctx, func() {})
}

func (l noInterruptLock) Unlock() error { return l.inner.Unlock() }

// actorKey carries the authenticated actor into tusd's hooks.
type actorKey struct{}

func actorFrom(ctx context.Context) (models.Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(models.Actor)
	return a, ok
}

// ServeHTTP authenticates the request, checks the caller owns the upload it
// names, and hands the request to tusd. The path may carry BasePath or not.
func (h *TusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if p, ok := strings.CutPrefix(path, strings.TrimSuffix(h.cfg.BasePath, "/")); ok {
		path = p
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawPath = path, ""
	if r.Method == http.MethodOptions { // protocol discovery carries no credentials
		h.tus.ServeHTTP(w, r2)
		return
	}
	actor, err := h.cfg.Authenticate(r)
	if err == nil && actor.UserID == uuid.Nil {
		err = models.Errorf(models.CodeUnauthenticated, "authentication required")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	r2 = r2.WithContext(context.WithValue(r2.Context(), actorKey{}, actor))
	method := r.Method
	if m := r.Header.Get("X-HTTP-Method-Override"); method == http.MethodPost && m != "" {
		method = m // tusd honours it, so must the ownership check
	}
	id := strings.Trim(path, "/")
	if id == "" {
		if method == http.MethodPost {
			if n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64); err == nil && n > h.cfg.MaxSize {
				h.fail(w, r, models.Errorf(models.CodeUploadTooLarge,
					"the upload is %d bytes; at most %d bytes is accepted", n, h.cfg.MaxSize))
				return
			}
		}
		h.tus.ServeHTTP(w, r2)
		return
	}
	if !validUploadID(id) {
		h.fail(w, r, errUploadNotFound)
		return
	}
	switch method {
	case http.MethodHead:
	case http.MethodPatch, http.MethodDelete:
		if r.Header.Get("Tus-Resumable") != "1.0.0" {
			h.tus.ServeHTTP(w, r2) // tusd answers 412
			return
		}
	default:
		h.tus.ServeHTTP(w, r2) // tusd answers 405
		return
	}
	st, err := h.state(id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if st.uploader != actor.UserID || st.device != actor.DeviceID {
		h.fail(w, r, errUploadNotFound) // someone else's upload: not even its existence is told
		return
	}
	switch {
	case st.done != nil:
		h.serveDone(w, r, method, st.done)
	case st.complete() && method != http.MethodDelete:
		h.finishNow(w, r, method, id)
	default:
		h.tus.ServeHTTP(w, r2)
	}
}

var errUploadNotFound = &models.Error{Code: models.CodeNotFound, Message: "upload not found"}

// validUploadID reports whether id has the form of the ids preCreate mints,
// so no crafted id ever reaches the file system.
func validUploadID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func newUploadID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// preCreate validates a creation request: the size, Upload-Metadata and the
// actor's right to attach the photo. It replaces the metadata with the
// validated fields plus the uploader, and mints the upload id.
func (h *TusHandler) preCreate(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	actor, ok := actorFrom(ev.Context)
	if !ok {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, problemError(models.Errorf(models.CodeUnauthenticated, "authentication required"))
	}
	if ev.Upload.SizeIsDeferred || ev.Upload.Size <= 0 {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, problemError(
			models.Errorf(models.CodeInvalidInput, "Upload-Length must give the photo's size in bytes").WithField("Upload-Length"))
	}
	meta, err := ParsePhotoMeta(ev.Upload.MetaData)
	if err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, problemError(err)
	}
	if h.cfg.Authorize != nil {
		if err := h.cfg.Authorize(ev.Context, actor, meta); err != nil {
			h.logIfInternal(ev.Context, "uploads: authorize upload", err)
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, problemError(err)
		}
	}
	md := meta.metadata()
	md[metaUploader] = actor.UserID.String()
	md[metaDevice] = actor.DeviceID.String()
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{ID: newUploadID(), MetaData: md}, nil
}

// preFinish processes an upload whose last byte just arrived, under tusd's
// lock of the upload.
func (h *TusHandler) preFinish(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
	st, err := h.state(ev.Upload.ID)
	if err != nil {
		h.logIfInternal(ev.Context, "uploads: finished upload state", err)
		return tusd.HTTPResponse{}, problemError(err)
	}
	done, err := h.complete(ev.Context, st)
	if err != nil {
		return tusd.HTTPResponse{}, problemError(err)
	}
	return tusd.HTTPResponse{Header: done.headers()}, nil
}

// finishNow processes a complete upload a client touches again (its final
// PATCH failed for a server reason, or the response was lost).
func (h *TusHandler) finishNow(w http.ResponseWriter, r *http.Request, method, id string) {
	unlock, err := h.lock(r.Context(), id)
	if err != nil {
		h.fail(w, r, models.Errorf(models.CodeUnavailable, "the upload is busy").WithHint("retry shortly"))
		return
	}
	defer unlock()
	st, err := h.state(id) // again, under the lock
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if st.done == nil {
		if !st.complete() {
			h.fail(w, r, models.Errorf(models.CodeUnavailable, "the upload changed").WithHint("retry"))
			return
		}
		if st.done, err = h.complete(r.Context(), st); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.serveDone(w, r, method, st.done)
}

// uploadState is what is on disk for one upload id.
type uploadState struct {
	id               string
	info             tusd.FileInfo
	binPath          string
	offset           int64
	done             *doneRecord
	uploader, device uuid.UUID
}

func (s *uploadState) complete() bool {
	return s.done == nil && !s.info.SizeIsDeferred && s.offset == s.info.Size
}

// doneRecord is the outcome of a processed upload, kept in <id>.done.
type doneRecord struct {
	ID       string    `json:"id"`
	PhotoID  uuid.UUID `json:"photo_id"`
	Size     int64     `json:"size"`
	Uploader uuid.UUID `json:"uploader_id"`
	Device   uuid.UUID `json:"device_id"`
	Flags    []string  `json:"flags,omitempty"`
	At       time.Time `json:"at"`
}

func (d *doneRecord) headers() tusd.HTTPHeader {
	hd := tusd.HTTPHeader{HeaderPhotoID: d.PhotoID.String(), HeaderPhotoVerified: "true"}
	if len(d.Flags) > 0 {
		hd[HeaderPhotoFlags] = strings.Join(d.Flags, ",")
	}
	return hd
}

func (h *TusHandler) infoPath(id string) string { return filepath.Join(h.cfg.Dir, id+".info") }
func (h *TusHandler) binPath(id string) string  { return filepath.Join(h.cfg.Dir, id) }
func (h *TusHandler) donePath(id string) string { return filepath.Join(h.cfg.Dir, id+".done") }

// state reads an upload's files; a missing upload is errUploadNotFound.
func (h *TusHandler) state(id string) (*uploadState, error) {
	st := &uploadState{id: id, binPath: h.binPath(id)}
	if b, err := os.ReadFile(h.donePath(id)); err == nil {
		var d doneRecord
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("uploads: %s.done: %w", id, err)
		}
		st.done, st.uploader, st.device = &d, d.Uploader, d.Device
		return st, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	b, err := os.ReadFile(h.infoPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errUploadNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	if err := json.Unmarshal(b, &st.info); err != nil {
		return nil, fmt.Errorf("uploads: %s.info: %w", id, err)
	}
	fi, err := os.Stat(st.binPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errUploadNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	st.offset = fi.Size()
	st.uploader, _ = uuid.Parse(st.info.MetaData[metaUploader])
	st.device, _ = uuid.Parse(st.info.MetaData[metaDevice])
	return st, nil
}

// complete runs Finish on a complete upload and settles its files: on
// success the .done record replaces them; on a final (client) error they are
// deleted; on a server error they stay for a retry. The caller holds the lock.
func (h *TusHandler) complete(ctx context.Context, st *uploadState) (*doneRecord, error) {
	meta, err := ParsePhotoMeta(st.info.MetaData)
	if err != nil {
		h.removeUpload(st.id)
		return nil, err
	}
	// The work outlives a client that hangs up after its last byte.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	photo, err := h.cfg.Finish(ctx, CompletedUpload{
		ID: st.id, Path: st.binPath, Size: st.info.Size, Meta: meta, UploaderID: st.uploader, DeviceID: st.device,
	})
	if err != nil {
		if isFinal(err) {
			h.log.InfoContext(ctx, "uploads: upload refused", "upload", st.id, "photo", meta.PhotoID, "code", models.ErrorCode(err))
			h.removeUpload(st.id)
		} else {
			h.log.ErrorContext(ctx, "uploads: finishing upload failed; kept for retry", "upload", st.id, "error", err)
		}
		return nil, err
	}
	d := &doneRecord{ID: st.id, PhotoID: photo.ID, Size: st.info.Size, Uploader: st.uploader,
		Device: st.device, Flags: photo.Flags, At: h.cfg.Now().UTC()}
	if err := h.writeDone(d); err != nil {
		// The photo is recorded; only the receipt is missing. Finish is
		// idempotent, so a retry writes it.
		return nil, err
	}
	h.removeUpload(st.id)
	return d, nil
}

// isFinal reports whether err is a refusal the client must act on, as opposed
// to a server failure worth retrying.
func isFinal(err error) bool {
	var me *models.Error
	return errors.As(err, &me) && me.Code != models.CodeInternal && me.Code != models.CodeUnavailable
}

func (h *TusHandler) writeDone(d *doneRecord) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tmp := h.donePath(d.ID) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	if err := os.Rename(tmp, h.donePath(d.ID)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("uploads: %w", err)
	}
	return nil
}

// removeUpload deletes an upload's bytes and state (not its .done record).
func (h *TusHandler) removeUpload(id string) {
	for _, p := range []string{h.binPath(id), h.infoPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.log.Warn("uploads: remove upload file", "path", p, "error", err)
		}
	}
}

// serveDone answers a request on a processed upload.
func (h *TusHandler) serveDone(w http.ResponseWriter, r *http.Request, method string, d *doneRecord) {
	hd := w.Header()
	hd.Set("Tus-Resumable", "1.0.0")
	hd.Set("Cache-Control", "no-store")
	for k, v := range d.headers() {
		hd.Set(k, v)
	}
	size := strconv.FormatInt(d.Size, 10)
	switch method {
	case http.MethodHead:
		hd.Set("Upload-Offset", size)
		hd.Set("Upload-Length", size)
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		if off := r.Header.Get("Upload-Offset"); off != size {
			h.fail(w, r, models.Errorf(models.CodeVersionConflict, "the upload is complete at offset %s", size).
				WithField("Upload-Offset"))
			return
		}
		hd.Set("Upload-Offset", size)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		// The photo is evidence and stays; only the receipt goes.
		if err := os.Remove(h.donePath(d.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// lock takes the upload's lock, as tusd's requests do.
func (h *TusHandler) lock(ctx context.Context, id string) (func(), error) {
	l, err := h.locker.NewLock(id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	if err := l.Lock(ctx, func() {}); err != nil {
		return nil, err
	}
	return func() { _ = l.Unlock() }, nil
}

// Run expires stale partial uploads and finishes complete ones whose
// processing was interrupted (a crash, a database outage), once at start and
// then every SweepEvery, until ctx ends.
func (h *TusHandler) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.SweepEvery)
	defer t.Stop()
	for {
		if n, err := h.ExpireOlderThan(ctx, h.cfg.ExpireAfter); err != nil {
			h.log.WarnContext(ctx, "uploads: expiring partial uploads", "error", err)
		} else if n > 0 {
			h.log.InfoContext(ctx, "uploads: expired partial uploads", "count", n)
		}
		if _, err := h.FinishPending(ctx); err != nil {
			h.log.WarnContext(ctx, "uploads: finishing pending uploads", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExpireOlderThan removes partial uploads untouched for longer than age,
// orphaned upload files, and the receipts (.done) of finished uploads older
// than age, and returns how many partial uploads it removed. Complete uploads are never expired: they
// are evidence waiting to be processed (see FinishPending). An upload whose
// lock is held is skipped.
func (h *TusHandler) ExpireOlderThan(ctx context.Context, age time.Duration) (int, error) {
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return 0, err
	}
	cutoff := h.cfg.Now().Add(-age)
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".done") || strings.HasSuffix(name, ".done.tmp"):
			if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
				_ = os.Remove(filepath.Join(h.cfg.Dir, name))
			}
		case validUploadID(name): // bytes whose .info a crash never wrote
			if _, err := os.Stat(h.infoPath(name)); !errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if _, err := os.Stat(h.donePath(name)); errors.Is(err, fs.ErrNotExist) && olderThan(h.binPath(name), cutoff) {
				_ = os.Remove(h.binPath(name))
			}
		case strings.HasSuffix(name, ".info"):
			id := strings.TrimSuffix(name, ".info")
			if !validUploadID(id) || !h.stale(id, cutoff) {
				continue
			}
			unlock, err := h.lock(ctx, id)
			if err != nil {
				continue
			}
			if h.stale(id, cutoff) { // again, under the lock
				h.removeUpload(id)
				n++
			}
			unlock()
		}
	}
	return n, nil
}

// stale reports whether an upload is partial and untouched since cutoff.
func (h *TusHandler) stale(id string, cutoff time.Time) bool {
	st, err := h.state(id)
	if err != nil {
		return errors.Is(err, errUploadNotFound) && olderThan(h.infoPath(id), cutoff) // orphaned .info
	}
	if st.done != nil || st.complete() {
		return false
	}
	return olderThan(st.binPath, cutoff) && olderThan(h.infoPath(id), cutoff)
}

func olderThan(path string, cutoff time.Time) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.ModTime().Before(cutoff)
}

// FinishPending processes complete uploads that were never processed, or
// whose processing failed for a server reason, and returns how many it
// finished. Uploads touched within the last minute are left to their request.
func (h *TusHandler) FinishPending(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return 0, err
	}
	cutoff := h.cfg.Now().Add(-sweepGrace)
	n := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !validUploadID(id) {
			continue
		}
		if st, err := h.state(id); err != nil || !st.complete() || !olderThan(st.binPath, cutoff) {
			continue
		}
		unlock, err := h.lock(ctx, id)
		if err != nil {
			continue
		}
		if st, err := h.state(id); err == nil && st.complete() {
			if _, err := h.complete(ctx, st); err == nil {
				n++
			}
		}
		unlock()
	}
	return n, nil
}

// problemError turns an error into a tusd error whose response is a problem
// document, for tusd's hooks to return.
func problemError(err error) error {
	status, body := problemBody(err)
	return tusd.Error{
		ErrorCode: string(models.ErrorCode(err)),
		Message:   err.Error(),
		HTTPResponse: tusd.HTTPResponse{
			StatusCode: status,
			Body:       string(body),
			Header:     tusd.HTTPHeader{"Content-Type": problemContentType},
		},
	}
}

// fail sends err to the client, logging it first when it is a server failure.
func (h *TusHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.logIfInternal(r.Context(), "uploads: tus request failed", err)
	writeProblem(w, r, err)
}

func (h *TusHandler) logIfInternal(ctx context.Context, msg string, err error) {
	if !isFinal(err) {
		h.log.ErrorContext(ctx, msg, "error", err)
	}
}
