// Package uploads receives evidence photos: resumable tus uploads, content
// verification, the content-addressed blob store, dedupe by proof of
// possession, thumbnails and the helpers the api package serves them with.
//
// The package talks to storage only through models.Store, models.Tx and
// models.JobQueue; it knows nothing of HTTP routers, ORMs or the sync engine.
// The server wires Config.OnVerified to the sync engine so commands waiting
// for evidence apply once their photos arrive.
package uploads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
)

// Limits and thresholds of the evidence pipeline.
const (
	// DefaultMaxUploadSize is the largest photo accepted when Config names none.
	DefaultMaxUploadSize = 40 << 20
	// DefaultBasePath is where the api package mounts the tus handler.
	DefaultBasePath = "/api/v1/uploads/"
	// DefaultExpireAfter is how long a partial upload may sit untouched
	// before it is removed.
	DefaultExpireAfter = 24 * time.Hour
	// FarFromCaseMeters is the distance between a photo's EXIF position and
	// the case location beyond which the photo is flagged far_from_case.
	FarFromCaseMeters = 200
	// TimeSkewLimit is how far a photo's EXIF capture time may lie from the
	// case's creation before the photo is flagged time_skew.
	TimeSkewLimit = 24 * time.Hour
)

// Flags the pipeline sets on photo records, next to the EXIF flags of
// InspectImage. They are stable: clients and the console match on them.
const (
	// FlagFarFromCase: the EXIF position is more than FarFromCaseMeters from
	// the case location.
	FlagFarFromCase = "far_from_case"
	// FlagTimeSkew: the EXIF capture time does not fit the case (see
	// evidenceFlags for the rule).
	FlagTimeSkew = "time_skew"
	// FlagThumbnailFailed: thumbnails could not be made; the original stands.
	FlagThumbnailFailed = "thumbnail_failed"
)

// onVerifiedTimeout bounds one OnVerified call.
const onVerifiedTimeout = time.Minute

// ThumbnailJob is the models.Job kind of thumbnail work; its Key is the photo id.
const ThumbnailJob = "thumbnail"

// PhotoStages are the workflow stages a photo may document: the same list the
// sync engine accepts in add_photo commands.
var PhotoStages = models.PhotoStages

// chinaZone interprets EXIF times that carry no offset: the cameras this
// system serves are set to China Standard Time, and the 24 h skew allowance
// absorbs the rare exception.
var chinaZone = time.FixedZone("CST", 8*3600)

// Config configures a Service. DataDir, Store, Jobs and Authenticate are required.
type Config struct {
	// DataDir holds partial uploads (DataDir/uploads) and, unless Blobs and
	// Thumbs are given, originals (DataDir/blobs) and thumbnails (DataDir/thumbs).
	DataDir string
	Store   models.Store
	Jobs    models.JobQueue
	// Blobs keeps originals byte for byte. Default: FSBlobStore in DataDir/blobs.
	Blobs BlobStore
	// Thumbs keeps derived thumbnails, apart from originals so that OpenBlob,
	// which serves by hash alone, can never reach an original. Default:
	// FSBlobStore in DataDir/thumbs.
	Thumbs BlobStore
	// Authenticate identifies the caller of every tus request; see
	// TusConfig.Authenticate.
	Authenticate func(*http.Request) (models.Actor, error)
	// OnVerified is called after a photo's bytes are verified and recorded.
	// The server wires it to the sync engine. The upload response waits for it
	// at most OnVerifiedWait; it runs on with a context of its own.
	OnVerified func(context.Context, models.PhotoRecord)
	// OnVerifiedWait bounds how long a response waits for OnVerified (default 2 s).
	OnVerifiedWait time.Duration
	// MaxUploadSize caps one photo (default DefaultMaxUploadSize).
	MaxUploadSize int64
	// Limits bounds the images accepted (zero fields: DefaultImageLimits).
	Limits ImageLimits
	// BasePath is the URL path the tus handler is mounted at (default DefaultBasePath).
	BasePath string
	// ExpireAfter is how long partial uploads are kept untouched (default 24 h).
	ExpireAfter time.Duration
	// ThumbWorkers is the number of thumbnail workers Run starts (default
	// min(2, NumCPU); never more than NumCPU).
	ThumbWorkers int
	// ThumbAttempts is how often a thumbnail job is tried before it is given
	// up and the photo flagged thumbnail_failed (default 5).
	ThumbAttempts int
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the evidence pipeline. Create it with New; it is safe for
// concurrent use.
type Service struct {
	cfg    Config
	store  models.Store
	jobs   models.JobQueue
	blobs  BlobStore
	thumbs BlobStore
	tus    *TusHandler
	log    *slog.Logger
	now    func() time.Time

	nonces nonceStore
	kick   chan struct{} // wakes a thumbnail worker when this process enqueued a job
	bg     inflight      // OnVerified calls still running
}

// inflight counts running background calls. Unlike a sync.WaitGroup it may
// gain calls while someone waits, which happens when a request finishes
// during shutdown.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed whenever n is 0
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
}

// wait returns when no call runs, or after timeout.
func (f *inflight) wait(timeout time.Duration) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	idle := f.idle
	f.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// New checks cfg, fills its defaults and returns a Service. It creates the
// directories it needs under cfg.DataDir.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Jobs == nil {
		return nil, errors.New("uploads: Config.Store and Config.Jobs are required")
	}
	if cfg.Authenticate == nil {
		return nil, errors.New("uploads: Config.Authenticate is required")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("uploads: Config.DataDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxUploadSize <= 0 {
		cfg.MaxUploadSize = DefaultMaxUploadSize
	}
	if cfg.Limits.MaxBytes <= 0 || cfg.Limits.MaxBytes > cfg.MaxUploadSize {
		cfg.Limits.MaxBytes = cfg.MaxUploadSize
	}
	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	if cfg.ExpireAfter <= 0 {
		cfg.ExpireAfter = DefaultExpireAfter
	}
	if cfg.OnVerifiedWait <= 0 {
		cfg.OnVerifiedWait = 2 * time.Second
	}
	if cfg.ThumbWorkers <= 0 {
		cfg.ThumbWorkers = 2
	}
	cfg.ThumbWorkers = min(cfg.ThumbWorkers, runtime.NumCPU())
	if cfg.ThumbAttempts <= 0 {
		cfg.ThumbAttempts = 5
	}
	var err error
	if cfg.Blobs == nil {
		if cfg.Blobs, err = NewFSBlobStore(filepath.Join(cfg.DataDir, "blobs")); err != nil {
			return nil, err
		}
	}
	if cfg.Thumbs == nil {
		if cfg.Thumbs, err = NewFSBlobStore(filepath.Join(cfg.DataDir, "thumbs")); err != nil {
			return nil, err
		}
	}
	s := &Service{
		cfg: cfg, store: cfg.Store, jobs: cfg.Jobs, blobs: cfg.Blobs, thumbs: cfg.Thumbs,
		log: cfg.Logger, now: cfg.Now, kick: make(chan struct{}, 1),
	}
	s.nonces.init()
	s.tus, err = NewTusHandler(TusConfig{
		Dir:          filepath.Join(cfg.DataDir, "uploads"),
		BasePath:     cfg.BasePath,
		MaxSize:      cfg.MaxUploadSize,
		Authenticate: cfg.Authenticate,
		Authorize:    s.authorize,
		Finish:       s.finishUpload,
		ExpireAfter:  cfg.ExpireAfter,
		Logger:       cfg.Logger,
		Now:          cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// TusHandler returns the tus 1.0 endpoint, to be mounted at Config.BasePath
// (by default /api/v1/uploads/) for every method; it strips that prefix itself.
func (s *Service) TusHandler() http.Handler { return s.tus }

// Tus returns the tus handler with its maintenance methods.
func (s *Service) Tus() *TusHandler { return s.tus }

// Run does the background work until ctx ends: it removes expired partial
// uploads, finishes complete uploads whose processing was interrupted, and
// makes thumbnails with Config.ThumbWorkers workers. It returns once every
// worker has stopped and the OnVerified calls still running have returned
// (or had onVerifiedTimeout to do so).
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.tus.Run(ctx) })
	wg.Go(func() { s.RunThumbnails(ctx, s.cfg.ThumbWorkers) })
	if fs, ok := s.blobs.(*FSBlobStore); ok {
		wg.Go(func() { s.cleanTempLoop(ctx, fs) })
	}
	wg.Wait()
	s.bg.wait(onVerifiedTimeout)
}

// cleanTempLoop removes blob temp files a crash left behind.
func (s *Service) cleanTempLoop(ctx context.Context, fs *FSBlobStore) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := fs.CleanTemp(time.Hour, s.now()); err != nil {
			s.log.WarnContext(ctx, "uploads: blob temp cleanup failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PhotoMeta is what a device says about a photo when it uploads its bytes (as
// tus Upload-Metadata) or proves it holds them.
type PhotoMeta struct {
	PhotoID    uuid.UUID
	CaseID     uuid.UUID
	Stage      string           // one of PhotoStages
	Type       models.PhotoType // one of models.PhotoTypes
	SHA256     string           // 64 lowercase hex, computed on the device
	Filename   string           // optional, informative only
	CapturedAt *time.Time       // optional, device clock
}

// Upload-Metadata keys. The uploader keys are set by the server, never taken
// from the client.
const (
	metaPhotoID    = "photo_id"
	metaCaseID     = "case_id"
	metaStage      = "stage"
	metaType       = "type"
	metaSHA256     = "sha256"
	metaFilename   = "filename"
	metaCapturedAt = "captured_at"
	metaUploader   = "x_uploader_id"
	metaDevice     = "x_device_id"
)

// ParsePhotoMeta reads and validates tus Upload-Metadata: photo_id and
// case_id (UUIDs), stage, type, sha256 (64 hex digits, any case), and
// optionally filename and captured_at (RFC 3339). Other keys are ignored.
// Errors are *models.Error with CodeInvalidInput naming the field.
func ParsePhotoMeta(md map[string]string) (PhotoMeta, error) {
	var m PhotoMeta
	var err error
	if m.PhotoID, err = parseID(md[metaPhotoID], metaPhotoID); err != nil {
		return m, err
	}
	if m.CaseID, err = parseID(md[metaCaseID], metaCaseID); err != nil {
		return m, err
	}
	m.Stage = strings.TrimSpace(md[metaStage])
	m.Type = models.PhotoType(strings.TrimSpace(md[metaType]))
	m.SHA256 = lowerHex(md[metaSHA256])
	m.Filename = md[metaFilename]
	if s := strings.TrimSpace(md[metaCapturedAt]); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return m, models.Errorf(models.CodeInvalidInput, "captured_at must be an RFC 3339 time").WithField(metaCapturedAt)
		}
		m.CapturedAt = &t
	}
	return m, m.Validate()
}

func parseID(s, field string) (uuid.UUID, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return uuid.Nil, models.Errorf(models.CodeInvalidInput, "Upload-Metadata must name %s", field).WithField(field)
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || id == uuid.Nil {
		return uuid.Nil, models.Errorf(models.CodeInvalidInput, "%s must be a UUID", field).WithField(field)
	}
	return id, nil
}

// Validate checks m's fields; errors are *models.Error with CodeInvalidInput.
func (m PhotoMeta) Validate() error {
	switch {
	case m.PhotoID == uuid.Nil:
		return models.Errorf(models.CodeInvalidInput, "photo_id is required").WithField(metaPhotoID)
	case m.CaseID == uuid.Nil:
		return models.Errorf(models.CodeInvalidInput, "case_id is required").WithField(metaCaseID)
	case !slices.Contains(PhotoStages, m.Stage):
		return models.Errorf(models.CodeInvalidInput, "stage must be one of %s", strings.Join(PhotoStages, ", ")).WithField(metaStage)
	case !slices.Contains(models.PhotoTypes, m.Type):
		return models.Errorf(models.CodeInvalidInput, "type must be one of far, near, reference, before, after, check").WithField(metaType)
	case !ValidHash(m.SHA256):
		return models.Errorf(models.CodeInvalidInput, "sha256 must be the 64 hex digits of the photo's SHA-256").WithField(metaSHA256)
	case len(m.Filename) > 255 || !utf8.ValidString(m.Filename) || strings.ContainsFunc(m.Filename, unicode.IsControl):
		return models.Errorf(models.CodeInvalidInput, "filename must be at most 255 bytes of printable UTF-8").WithField(metaFilename)
	}
	return nil
}

// metadata is m as stored with a tus upload.
func (m PhotoMeta) metadata() map[string]string {
	md := map[string]string{
		metaPhotoID: m.PhotoID.String(), metaCaseID: m.CaseID.String(),
		metaStage: m.Stage, metaType: string(m.Type), metaSHA256: m.SHA256,
	}
	if m.Filename != "" {
		md[metaFilename] = m.Filename
	}
	if m.CapturedAt != nil {
		md[metaCapturedAt] = m.CapturedAt.Format(time.RFC3339Nano)
	}
	return md
}

// sameTarget reports whether a and b describe the same photo bytes for the same slot.
func (m PhotoMeta) sameTarget(o PhotoMeta) bool {
	return m.PhotoID == o.PhotoID && m.CaseID == o.CaseID && m.Stage == o.Stage && m.Type == o.Type && m.SHA256 == o.SHA256
}

var errCaseNotFound = &models.Error{Code: models.CodeNotFound, Message: "case not found",
	Hint: "push the case (or the add_photo command) before uploading its photos", Field: metaCaseID}

// authorize decides whether actor may attach the photo meta describes: the
// case must exist, not be deleted and lie in the actor's scope (else
// CodeNotFound, so nothing is revealed). A case that does not exist yet is
// accepted when the actor already announced this very photo for it through
// sync (an unverified record they uploaded), because a create_case command
// waits for its site photos before it creates the case. A photo that already
// exists must belong to the same case and uploader and carry the same hash;
// one already verified is CodeAlreadyExists.
func (s *Service) authorize(ctx context.Context, actor models.Actor, meta PhotoMeta) error {
	if actor.UserID == uuid.Nil {
		return models.Errorf(models.CodeUnauthenticated, "authentication required")
	}
	photo, perr := s.store.GetPhoto(ctx, meta.PhotoID)
	if perr != nil && !models.IsNotFound(perr) {
		return fmt.Errorf("uploads: photo lookup: %w", perr)
	}
	havePhoto := perr == nil
	c, err := s.store.GetCase(ctx, meta.CaseID)
	switch {
	case err == nil:
		if c.Deleted || !actor.Scope.Covers(&c) {
			return errCaseNotFound
		}
	case models.IsNotFound(err):
		if !havePhoto || photo.CaseID != meta.CaseID || photo.UploaderID != actor.UserID {
			return errCaseNotFound
		}
	default:
		return fmt.Errorf("uploads: case lookup: %w", err)
	}
	if havePhoto {
		return checkExisting(photo, meta, actor.UserID)
	}
	return nil
}

// checkExisting checks an upload against the record of the same photo id.
func checkExisting(p models.PhotoRecord, meta PhotoMeta, uploader uuid.UUID) error {
	switch {
	case p.CaseID != meta.CaseID:
		return models.Errorf(models.CodeInvalidInput, "photo %s belongs to another case", p.ID).WithField(metaPhotoID)
	case p.UploaderID != uuid.Nil && p.UploaderID != uploader:
		return models.Errorf(models.CodeForbidden, "only the user who took photo %s may upload it", p.ID)
	case p.SHA256 != "" && p.SHA256 != meta.SHA256:
		return models.Errorf(models.CodeHashMismatch, "photo %s was announced with another SHA-256", p.ID).WithField(metaSHA256)
	case p.Verified:
		return models.Errorf(models.CodeAlreadyExists, "photo %s is already received and verified", p.ID).
			WithHint("nothing to upload: treat the photo as delivered")
	}
	return nil
}

// uploaderOf is who delivered the bytes.
type uploaderOf struct{ UserID, DeviceID uuid.UUID }

// finishUpload is the tus handler's Finish: it verifies a complete upload
// and records the photo. See TusConfig.Finish for the contract.
func (s *Service) finishUpload(ctx context.Context, up CompletedUpload) (models.PhotoRecord, error) {
	f, err := os.Open(up.Path)
	if err != nil {
		return models.PhotoRecord{}, fmt.Errorf("uploads: open upload %s: %w", up.ID, err)
	}
	defer f.Close()
	sum, n, err := hashReader(ctx, f)
	if err != nil {
		return models.PhotoRecord{}, fmt.Errorf("uploads: hash upload %s: %w", up.ID, err)
	}
	if sum != up.Meta.SHA256 {
		return models.PhotoRecord{}, models.Errorf(models.CodeHashMismatch,
			"the bytes received hash to %s, not the sha256 announced", sum).
			WithHint("the photo was altered or damaged in transit: upload it again from the original file")
	}
	info, err := s.inspect(f, n)
	if err != nil {
		return models.PhotoRecord{}, err
	}
	if _, err := s.blobs.Import(ctx, up.Path, sum); err != nil {
		return models.PhotoRecord{}, fmt.Errorf("uploads: store upload %s: %w", up.ID, err)
	}
	return s.accept(ctx, up.Meta, uploaderOf{up.UploaderID, up.DeviceID}, n, info)
}

// inspect runs InspectImage and keeps only client-safe errors as such.
func (s *Service) inspect(r interface {
	ReadAt([]byte, int64) (int, error)
}, size int64) (ImageInfo, error) {
	info, err := InspectImage(r, size, s.cfg.Limits)
	if err == nil {
		return info, nil
	}
	var me *models.Error
	if errors.As(err, &me) && me.Code != models.CodeInternal {
		return ImageInfo{}, err
	}
	return ImageInfo{}, fmt.Errorf("uploads: inspect image: %w", err)
}

// accept records verified bytes against the photo, bumps the owning case so
// a pull carries the photo, queues its thumbnails and tells OnVerified. It is
// idempotent: a photo already verified is returned unchanged.
func (s *Service) accept(ctx context.Context, meta PhotoMeta, by uploaderOf, size int64, info ImageInfo) (models.PhotoRecord, error) {
	var out models.PhotoRecord
	var fresh, enqueued bool
	job := models.Job{Kind: ThumbnailJob, Key: meta.PhotoID.String()}
	err := s.store.Update(ctx, func(tx models.Tx) error {
		fresh, enqueued = false, false
		photos, err := tx.PhotosByID(ctx, []uuid.UUID{meta.PhotoID})
		if err != nil {
			return err
		}
		cases, err := tx.CasesByID(ctx, []uuid.UUID{meta.CaseID})
		if err != nil {
			return err
		}
		now := s.now().UTC()
		p, exists := photos[meta.PhotoID]
		if exists {
			if err := checkExisting(p, meta, by.UserID); err != nil {
				if models.ErrorCode(err) == models.CodeAlreadyExists {
					out = p // delivered twice: the first delivery stands
					return nil
				}
				return err
			}
		} else {
			p = models.PhotoRecord{
				ID: meta.PhotoID, CaseID: meta.CaseID, Stage: meta.Stage, Type: meta.Type,
				SHA256: meta.SHA256, CapturedAt: meta.CapturedAt,
				UploaderID: by.UserID, DeviceID: by.DeviceID, CreatedAt: now,
			}
		}
		var cp *models.Case
		if c, ok := cases[meta.CaseID]; ok {
			cp = &c
		}
		p.SHA256 = meta.SHA256
		p.Size = size
		p.Verified = true
		p.ReceivedAt = &now
		p.ContentType, p.Width, p.Height, p.EXIF = info.ContentType, info.Width, info.Height, info.EXIF
		p.Flags = mergeFlags(p.Flags, info.Flags, evidenceFlags(cp, p.Stage, info.EXIF, now))
		if cp != nil {
			seq, err := bumpCase(ctx, tx, *cp)
			if err != nil {
				return err
			}
			p.ChangeSeq = seq
		}
		ps := []models.PhotoRecord{p}
		if err := tx.PutPhotos(ctx, ps); err != nil {
			return err
		}
		if q, ok := tx.(models.TxEnqueuer); ok {
			job.ID, job.RunAfter, job.CreatedAt = uuid.Must(uuid.NewV7()), now, now
			if err := q.Enqueue(ctx, []models.Job{job}); err != nil {
				return err
			}
			enqueued = true
		}
		out, fresh = ps[0], true
		return nil
	})
	if err != nil {
		var me *models.Error
		if errors.As(err, &me) && me.Code != models.CodeInternal {
			return models.PhotoRecord{}, err
		}
		return models.PhotoRecord{}, fmt.Errorf("uploads: record photo %s: %w", meta.PhotoID, err)
	}
	if !fresh {
		return out, nil
	}
	s.log.InfoContext(ctx, "uploads: photo verified", "photo", out.ID, "case", out.CaseID,
		"size", out.Size, "flags", strings.Join(out.Flags, ","))
	if !enqueued {
		now := s.now().UTC()
		job.ID, job.RunAfter, job.CreatedAt = uuid.Must(uuid.NewV7()), now, now
		if err := s.jobs.Enqueue(ctx, []models.Job{job}); err != nil {
			// The photo stands without thumbnails; the console falls back to
			// the original until an operator re-queues the job.
			s.log.ErrorContext(ctx, "uploads: queue thumbnails failed", "photo", out.ID, "error", err)
		}
	}
	s.wakeThumbnails()
	s.notify(ctx, out)
	return out, nil
}

// bumpCase gives a case a new change sequence without changing its version,
// so the next pull carries it (and its photos) again, and returns the new
// sequence, which the changed photo records too.
func bumpCase(ctx context.Context, tx models.Tx, c models.Case) (int64, error) {
	old := c
	cs := []models.Case{c}
	if err := tx.PutCases(ctx, cs, []*models.Case{&old}); err != nil {
		return 0, err
	}
	return cs[0].ChangeSeq, nil
}

// notify calls OnVerified, waiting for it at most OnVerifiedWait; the call
// runs on with a context detached from the request.
func (s *Service) notify(ctx context.Context, p models.PhotoRecord) {
	if s.cfg.OnVerified == nil {
		return
	}
	done := make(chan struct{})
	s.bg.add()
	go func() {
		defer s.bg.done()
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("uploads: OnVerified panicked", "photo", p.ID, "panic", r)
			}
		}()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), onVerifiedTimeout)
		defer cancel()
		s.cfg.OnVerified(cctx, p)
	}()
	t := time.NewTimer(s.cfg.OnVerifiedWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// evidenceFlags compares a photo's EXIF with its case (c may be nil when the
// case does not exist yet; then only the future-time check applies):
//
//   - far_from_case: the EXIF position lies more than FarFromCaseMeters from
//     the case location (skipped when either is unknown);
//   - time_skew: the EXIF capture time lies more than TimeSkewLimit before
//     the case was created, or, for a report photo, more than TimeSkewLimit
//     after it (later stages are photographed days later by design), or more
//     than TimeSkewLimit after now. The case's creation is taken on the
//     device clock (ClientCreatedAt) when known, the clock the camera shares,
//     so an offline device's late sync does not count as skew. An EXIF time
//     without offset is read as China Standard Time.
func evidenceFlags(c *models.Case, stage string, exif *models.EXIFInfo, now time.Time) []string {
	if exif == nil {
		return nil
	}
	var flags []string
	if c != nil && exif.Lat != nil && exif.Lon != nil && !(c.Location.Lat == 0 && c.Location.Lon == 0) {
		if geo.HaversineMeters(*exif.Lat, *exif.Lon, c.Location.Lat, c.Location.Lon) > FarFromCaseMeters {
			flags = append(flags, FlagFarFromCase)
		}
	}
	if exif.TakenAt != nil {
		t := *exif.TakenAt
		if exif.OffsetTime == "" {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), chinaZone)
		}
		skew := t.After(now.Add(TimeSkewLimit))
		if c != nil {
			ref := c.ClientCreatedAt
			if ref.IsZero() {
				ref = c.CreatedAt
			}
			if !ref.IsZero() {
				skew = skew || t.Before(ref.Add(-TimeSkewLimit)) || (stage == "report" && t.After(ref.Add(TimeSkewLimit)))
			}
		}
		if skew {
			flags = append(flags, FlagTimeSkew)
		}
	}
	return flags
}

// mergeFlags returns the union of flag lists, in first-seen order.
func mergeFlags(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, f := range l {
			if f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
