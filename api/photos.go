package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"slices"

	"github.com/fieldsync/fieldsync/models"
	"github.com/labstack/echo/v5"
)

var hashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// photoOriginal serves the original evidence bytes, with Range support, to
// callers whose scope covers the case.
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

// thumbnail serves one thumbnail by content hash. Content-addressed bytes never
// change, so the ETag is the hash and caches may keep them forever.
func (a *API) thumbnail(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	hash := c.Param("hash")
	if !hashRE.MatchString(hash) {
		return models.Errorf(models.CodeNotFound, "thumbnail not found")
	}
	if inm := c.Request().Header.Get("If-None-Match"); inm == `"`+hash+`"` {
		return c.NoContent(http.StatusNotModified)
	}
	f, err := a.d.Photos.OpenThumb(c.Request().Context(), actor, hash)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set("ETag", `"`+hash+`"`)
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("Content-Type", "image/jpeg")
	_, err = io.Copy(c.Response(), f)
	return err
}

// ThumbBatchRequest asks for many thumbnails at once.
type ThumbBatchRequest struct {
	Hashes []string `json:"hashes"`
}

// ThumbBatchResponse carries the thumbnails found and names the others.
type ThumbBatchResponse struct {
	Items   []ThumbDTO `json:"items"`
	Missing []string   `json:"missing"`
}

// ThumbDTO is one thumbnail, base64 in JSON so any client can read it.
type ThumbDTO struct {
	Hash        string `json:"hash"`
	ContentType string `json:"content_type"`
	Data        string `json:"data"`
}

// maxThumbBatch bounds one batch: 50 small thumbnails are ~1 MB, so a tablet
// that lacks 200 fetches them in 4 requests.
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
	if len(req.Hashes) == 0 || len(req.Hashes) > maxThumbBatch {
		return models.Errorf(models.CodeInvalidInput, "ask for 1 to %d hashes", maxThumbBatch).WithField("hashes")
	}
	res := ThumbBatchResponse{Items: []ThumbDTO{}, Missing: []string{}}
	seen := map[string]bool{}
	for _, h := range req.Hashes {
		if seen[h] {
			continue
		}
		seen[h] = true
		if !hashRE.MatchString(h) {
			return models.Errorf(models.CodeInvalidInput, "%q is not a content hash", h).WithField("hashes")
		}
		f, err := a.d.Photos.OpenThumb(c.Request().Context(), actor, h)
		if models.IsNotFound(err) {
			res.Missing = append(res.Missing, h)
			continue
		} else if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, 4<<20))
		f.Close()
		if err != nil {
			return err
		}
		res.Items = append(res.Items, ThumbDTO{Hash: h, ContentType: "image/jpeg", Data: base64.StdEncoding.EncodeToString(b)})
	}
	slices.Sort(res.Missing)
	return ok(c, res)
}
