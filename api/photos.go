package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// photoOriginal serves the original evidence bytes, byte for byte, with Range
// support, to callers whose scope covers the case. Originals are never pushed
// to devices: they are fetched on demand.
func (a *API) photoOriginal(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	f, p, err := a.d.Photos.OpenOriginal(c.Request().Context(), actor, id)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("ETag", `"`+p.SHA256+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("Content-Type", orWord(p.ContentType, "application/octet-stream"))
	h.Set("X-Content-SHA256", p.SHA256)
	modTime := p.CreatedAt
	if p.ReceivedAt != nil {
		modTime = *p.ReceivedAt
	}
	http.ServeContent(c.Response(), c.Request(), "", modTime, f)
	return nil
}

func thumbSize(c *echo.Context) (bool, error) {
	switch c.QueryParam("size") {
	case "", "small":
		return false, nil
	case "large":
		return true, nil
	}
	return false, models.Errorf(models.CodeInvalidInput, "size is small or large").WithField("size")
}

// thumbnail serves a photo's thumbnail. Thumbnails are content-addressed, so
// the ETag is the content hash and caches may keep them forever.
func (a *API) thumbnail(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	large, err := thumbSize(c)
	if err != nil {
		return err
	}
	f, hash, err := a.d.Photos.OpenThumbnail(c.Request().Context(), actor, id, large)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("ETag", `"`+hash+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	if etagMatch(c.Request().Header.Get("If-None-Match"), hash) {
		return c.NoContent(http.StatusNotModified)
	}
	h.Set("Content-Type", "image/jpeg")
	c.Response().WriteHeader(http.StatusOK)
	_, err = io.Copy(c.Response(), f)
	return err
}

// ThumbBatchRequest asks for many thumbnails at once.
type ThumbBatchRequest struct {
	PhotoIDs []uuid.UUID `json:"photo_ids"`
	Size     string      `json:"size,omitempty"`
}

// ThumbBatchResponse carries the thumbnails found and names the others
// (not in scope, not uploaded yet, or not made yet: ask again later).
type ThumbBatchResponse struct {
	Items   []ThumbDTO  `json:"items"`
	Missing []uuid.UUID `json:"missing"`
}

// ThumbDTO is one thumbnail, base64 in JSON so any client can read it.
type ThumbDTO struct {
	PhotoID     uuid.UUID `json:"photo_id"`
	Hash        string    `json:"hash"`
	ContentType string    `json:"content_type"`
	Data        string    `json:"data"`
}

// maxThumbBatch bounds one batch: 50 small thumbnails are about 1 MB, so a
// tablet that lacks 200 fetches them in 4 requests.
const maxThumbBatch = 50

func (a *API) thumbnailBatch(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	var req ThumbBatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.PhotoIDs) == 0 || len(req.PhotoIDs) > maxThumbBatch {
		return models.Errorf(models.CodeInvalidInput, "ask for 1 to %d photos", maxThumbBatch).WithField("photo_ids")
	}
	var large bool
	switch req.Size {
	case "", "small":
	case "large":
		large = true
	default:
		return models.Errorf(models.CodeInvalidInput, "size is small or large").WithField("size")
	}
	res := ThumbBatchResponse{Items: []ThumbDTO{}, Missing: []uuid.UUID{}}
	seen := map[uuid.UUID]bool{}
	for _, id := range req.PhotoIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		f, hash, err := a.d.Photos.OpenThumbnail(c.Request().Context(), actor, id, large)
		if models.IsNotFound(err) {
			res.Missing = append(res.Missing, id)
			continue
		} else if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, 8<<20))
		f.Close()
		if err != nil {
			return err
		}
		res.Items = append(res.Items, ThumbDTO{PhotoID: id, Hash: hash, ContentType: "image/jpeg", Data: base64.StdEncoding.EncodeToString(b)})
	}
	return ok(c, res)
}

// ProofRequest names a photo whose bytes the server may already hold.
type ProofRequest struct {
	CaseID uuid.UUID `json:"case_id"`
	Stage  string    `json:"stage"`
	Type   string    `json:"type"`
	SHA256 string    `json:"sha256"`
	Nonce  string    `json:"nonce,omitempty"`
	Proof  string    `json:"proof,omitempty"`
}

// ChallengeResponse carries the nonce to prove possession with.
type ChallengeResponse struct {
	Nonce string `json:"nonce"`
}

func (a *API) proofMeta(c *echo.Context) (models.Actor, PhotoMeta, ProofRequest, error) {
	actor, err := actorOf(c)
	if err != nil {
		return actor, PhotoMeta{}, ProofRequest{}, err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return actor, PhotoMeta{}, ProofRequest{}, err
	}
	var req ProofRequest
	if err := decodeJSON(c, &req); err != nil {
		return actor, PhotoMeta{}, req, err
	}
	return actor, PhotoMeta{PhotoID: id, CaseID: req.CaseID, Stage: req.Stage, Type: models.PhotoType(req.Type), SHA256: req.SHA256}, req, nil
}

// photoChallenge starts a proof of possession: a device that holds bytes the
// server already has need not upload them again, but a hash alone never
// gives access to anyone's photo.
func (a *API) photoChallenge(c *echo.Context) error {
	actor, meta, _, err := a.proofMeta(c)
	if err != nil {
		return err
	}
	nonce, err := a.d.Photos.Challenge(c.Request().Context(), actor, meta)
	if err != nil {
		return err
	}
	return ok(c, ChallengeResponse{Nonce: nonce})
}

// photoProve answers the challenge with hex(SHA-256(nonce || bytes)).
func (a *API) photoProve(c *echo.Context) error {
	actor, meta, req, err := a.proofMeta(c)
	if err != nil {
		return err
	}
	p, err := a.d.Photos.Prove(c.Request().Context(), actor, meta, req.Nonce, req.Proof)
	if err != nil {
		return err
	}
	return ok(c, photoDTO(p))
}

// etagMatch reports whether an If-None-Match header matches the strong tag
// of hash, by the weak comparison RFC 9110 §13.1.2 asks for: any listed tag,
// with or without W/, or *.
func etagMatch(header, hash string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+hash+`"` {
			return true
		}
	}
	return false
}
