package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// Serving helpers for the api package. Every blob is immutable and named by
// its SHA-256, so its ETag is that hash and it may be cached forever
// (Cache-Control: private, max-age=31536000, immutable); the api package
// serves the Blob with http.ServeContent, which handles Range and
// If-None-Match.

// ETag returns the strong entity tag of a blob: its content hash, quoted.
func ETag(hash string) string { return `"` + hash + `"` }

// OpenOriginal opens the original bytes of a photo for actor. The photo's
// case must lie in actor.Scope (a photo of a case that does not exist yet
// is open to its uploader only); otherwise, and when the photo or its bytes
// are not there, the error is models.ErrNotFound, so nothing is revealed.
// Soft-deleted photos are returned too, with their record: the api package
// decides who may still see withdrawn evidence. Close the Blob when done.
func (s *Service) OpenOriginal(ctx context.Context, actor models.Actor, photoID uuid.UUID) (Blob, models.PhotoRecord, error) {
	p, err := s.visiblePhoto(ctx, actor, photoID)
	if err != nil {
		return nil, models.PhotoRecord{}, err
	}
	if !p.Verified || !ValidHash(p.SHA256) {
		return nil, models.PhotoRecord{}, models.ErrNotFound
	}
	b, err := s.blobs.Open(ctx, p.SHA256)
	if err != nil {
		if models.IsNotFound(err) {
			s.log.ErrorContext(ctx, "uploads: verified photo has no blob", "photo", p.ID, "sha256", p.SHA256)
		}
		return nil, models.PhotoRecord{}, notFoundOr(err)
	}
	return b, p, nil
}

// OpenThumbnail opens the large or small thumbnail of a photo for actor,
// scope-checked as OpenOriginal. A photo whose thumbnails are not made yet
// gives models.ErrNotFound; callers may fall back to the original.
func (s *Service) OpenThumbnail(ctx context.Context, actor models.Actor, photoID uuid.UUID, large bool) (Blob, models.PhotoRecord, error) {
	p, err := s.visiblePhoto(ctx, actor, photoID)
	if err != nil {
		return nil, models.PhotoRecord{}, err
	}
	h := p.ThumbSmall
	if large {
		h = p.ThumbLarge
	}
	if !ValidHash(h) {
		return nil, models.PhotoRecord{}, models.ErrNotFound
	}
	b, err := s.thumbs.Open(ctx, h)
	if err != nil {
		return nil, models.PhotoRecord{}, notFoundOr(err)
	}
	return b, p, nil
}

// OpenBlob opens a thumbnail by its hash alone, for URLs that must work
// without a per-photo lookup (e.g. /thumbs/<hash> in the device's cached
// timeline). It reads only the thumbnail store, never originals: an
// original's hash is known to whoever captured it, and a hash alone must
// never give access to someone else's photo. Thumbnail hashes are known only
// to those who pulled the photo's record, so the hash works as a capability;
// anyone who learns it can fetch that downscaled image. Prefer
// OpenThumbnail where the photo id is at hand.
func (s *Service) OpenBlob(ctx context.Context, hash string) (Blob, error) {
	if !ValidHash(hash) {
		return nil, models.ErrNotFound
	}
	b, err := s.thumbs.Open(ctx, hash)
	if err != nil {
		return nil, notFoundOr(err)
	}
	return b, nil
}

// visiblePhoto returns a photo actor may see.
func (s *Service) visiblePhoto(ctx context.Context, actor models.Actor, id uuid.UUID) (models.PhotoRecord, error) {
	if actor.UserID == uuid.Nil {
		return models.PhotoRecord{}, models.ErrNotFound
	}
	p, err := s.store.GetPhoto(ctx, id)
	if err != nil {
		return models.PhotoRecord{}, notFoundOr(err)
	}
	c, err := s.store.GetCase(ctx, p.CaseID)
	switch {
	case err == nil:
		if !actor.Scope.Covers(&c) {
			return models.PhotoRecord{}, models.ErrNotFound
		}
	case models.IsNotFound(err):
		if p.UploaderID != actor.UserID {
			return models.PhotoRecord{}, models.ErrNotFound
		}
	default:
		return models.PhotoRecord{}, fmt.Errorf("uploads: case lookup: %w", err)
	}
	return p, nil
}

func notFoundOr(err error) error {
	if models.IsNotFound(err) || errors.Is(err, ErrInvalidHash) {
		return models.ErrNotFound
	}
	return fmt.Errorf("uploads: %w", err)
}

// problemContentType is the media type of RFC 9457 problem documents.
const problemContentType = "application/problem+json"

// problem is the error body every fieldsync endpoint sends.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	Hint   string `json:"hint,omitempty"`
	Field  string `json:"field,omitempty"`
}

// StatusFor maps error codes to HTTP statuses for the responses this package
// writes itself (the tus endpoint is not behind the api package's error
// handler). The api package owns the table; server's TestStatusTablesAgree
// fails if the two ever differ.
func StatusFor(code models.Code) int {
	switch code {
	case models.CodeInvalidJSON, models.CodeUnknownField, models.CodeInvalidCursor:
		return http.StatusBadRequest
	case models.CodeInvalidInput, models.CodeUnknownCategory, models.CodeInvalidLocation, models.CodeGuardFailed,
		models.CodeEvidenceMissing, models.CodeHashMismatch, models.CodeImageInvalid:
		return http.StatusUnprocessableEntity
	case models.CodeUnauthenticated, models.CodeInvalidToken, models.CodeInvalidCredentials, models.CodeDeviceRevoked:
		return http.StatusUnauthorized
	case models.CodeForbidden, models.CodeCSRF, models.CodeRoleNotAllowed, models.CodeProofRequired:
		return http.StatusForbidden
	case models.CodeNotFound:
		return http.StatusNotFound
	case models.CodeAlreadyExists, models.CodeIllegalTransition, models.CodeVersionConflict, models.CodeCaseClosed,
		models.CodeSequenceGap, models.CodeConflictResolved:
		return http.StatusConflict
	case models.CodeUploadTooLarge, models.CodeImageTooLarge, models.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case models.CodeUnsupportedImage, models.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case models.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// problemBody renders err as a problem document. Only *models.Error
// messages reach the client; anything else is "internal error".
func problemBody(err error) (int, []byte) {
	p := problem{Type: "about:blank", Code: string(models.CodeInternal), Detail: "internal error"}
	var me *models.Error
	if errors.As(err, &me) {
		p.Code, p.Detail, p.Hint, p.Field = string(me.Code), me.Message, me.Hint, me.Field
		if me.Code == models.CodeInternal {
			p.Detail, p.Hint, p.Field = "internal error", "", ""
		}
	}
	p.Status = StatusFor(models.Code(p.Code))
	p.Title = http.StatusText(p.Status)
	b, _ := json.Marshal(p)
	return p.Status, b
}

// writeProblem sends err as a problem document (no body for HEAD).
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	status, body := problemBody(err)
	w.Header().Set("Content-Type", problemContentType)
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fieldsync"`)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
