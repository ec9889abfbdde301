package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// uploadPath is where the server mounts its tus 1.0 endpoint.
const uploadPath = "/api/v1/uploads/"

// tusVersion is the protocol version every tus request names.
const tusVersion = "1.0.0"

// Server headers describing a finished upload (see package uploads).
const (
	headerPhotoVerified = "Fieldsync-Photo-Verified"
	headerPhotoFlags    = "Fieldsync-Photo-Flags"
)

// upResult is how one photo's upload attempt ended.
type upResult int

const (
	upDone     upResult = iota // the server has the bytes
	upRetry                    // try again next sync
	upRefused                  // the server will not take them
	upNoServer                 // the server has no upload endpoint
	upNoAuth                   // the token was refused: stop uploading
)

// upload sends the bytes of every photo of ours whose add_photo the server
// has applied. It never fails the sync: what went wrong is in r.Photos and
// the photo is tried again next time (unless the server refused it for good).
func (c *Client) upload(ctx context.Context, r *SyncReport) {
	list, err := loadPhotos(ctx, c.db, `WHERE path != '' AND upload IN (?, ?) ORDER BY created_at, id`, uploadPending, uploadWaiting)
	if err != nil {
		r.Photos.Errors = append(r.Photos.Errors, err.Error())
		return
	}
	stop := false
	for i, p := range list {
		if stop || ctx.Err() != nil {
			r.Photos.Pending += len(list) - i
			return
		}
		ready, err := c.announced(ctx, p, r)
		if err != nil {
			r.Photos.Errors = append(r.Photos.Errors, err.Error())
			r.Photos.Pending++
			continue
		}
		if !ready {
			continue
		}
		res, fail, err := c.uploadOne(ctx, p)
		switch res {
		case upDone:
			r.Photos.Uploaded++
		case upRefused:
			r.Photos.Failed = append(r.Photos.Failed, fail)
			c.markPhoto(ctx, p, uploadRejected, string(fail.Code), fail.Reason, r)
		case upNoServer:
			// Hold this and every later photo back until the server has
			// the endpoint; push and pull carry on without them.
			for _, q := range list[i:] {
				c.markPhoto(ctx, q, uploadWaiting, "", "waiting for server: it has no upload endpoint yet", r)
			}
			r.Photos.WaitingForServer += len(list) - i
			return
		case upNoAuth:
			stop = true
			fallthrough
		default:
			r.Photos.Pending++
			if err != nil {
				msg := fmt.Sprintf("photo %s: %v", p.ID, err)
				r.Photos.Errors = append(r.Photos.Errors, msg)
				c.markPhoto(ctx, p, uploadPending, "", err.Error(), r)
			}
		}
	}
}

// announced reports whether the server applied the photo's add_photo, which
// it must have before it takes the bytes. A rejected add_photo fails the
// photo for good.
func (c *Client) announced(ctx context.Context, p photoRow, r *SyncReport) (bool, error) {
	rows, err := loadOutbox(ctx, c.db, `WHERE id = ?`, p.CommandID.String())
	if err != nil {
		return false, err
	}
	if len(rows) == 0 || rows[0].State == statePending {
		r.Photos.Pending++
		return false, nil
	}
	if o := rows[0].Outcome; o != nil && o.Status == string(models.OutcomeRejected) {
		f := PhotoFailure{PhotoID: p.ID, CaseID: p.CaseID, Code: models.Code(o.Code), Reason: "add_photo rejected: " + o.Reason, Hint: o.Hint}
		r.Photos.Failed = append(r.Photos.Failed, f)
		c.markPhoto(ctx, p, uploadRejected, o.Code, f.Reason, r)
		return false, nil
	}
	return true, nil
}

func (c *Client) markPhoto(ctx context.Context, p photoRow, state, code, msg string, r *SyncReport) {
	_, err := c.db.ExecContext(ctx, `UPDATE photos SET upload = ?, upload_code = ?, upload_error = ? WHERE id = ? AND upload != ?`,
		state, code, msg, p.ID.String(), uploadDone)
	if err != nil {
		r.Photos.Errors = append(r.Photos.Errors, err.Error())
	}
}

func (c *Client) setUploadURL(ctx context.Context, p photoRow, u string) error {
	_, err := c.db.ExecContext(ctx, `UPDATE photos SET upload_url = ? WHERE id = ?`, u, p.ID.String())
	return err
}

// uploadOne runs the tus protocol for one photo: create the upload unless
// one is remembered, learn the offset with HEAD when it is not known, then
// PATCH chunk after chunk. A cut connection is answered with HEAD and a PATCH
// from the offset the server has; every try without progress counts against
// cfg.Attempts. The upload URL is stored, so a restart resumes the same upload.
func (c *Client) uploadOne(ctx context.Context, p photoRow) (upResult, PhotoFailure, error) {
	fail := func(e *APIError) PhotoFailure {
		return PhotoFailure{PhotoID: p.ID, CaseID: p.CaseID, Code: e.Code, Reason: e.Message, Hint: e.Hint}
	}
	f, err := os.Open(p.Path)
	if err != nil {
		return upRefused, PhotoFailure{PhotoID: p.ID, CaseID: p.CaseID, Code: models.CodeNotFound,
			Reason: "the photo's file is gone from the tablet: " + err.Error()}, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return upRetry, PhotoFailure{}, err
	}
	size := st.Size()
	loc := p.UploadURL
	offset := int64(-1) // unknown until HEAD or creation says
	restarts := 0
	var last error
	for attempt := 0; attempt < c.cfg.Attempts; {
		if ctx.Err() != nil {
			return upRetry, PhotoFailure{}, ctx.Err()
		}
		if attempt > 0 && last != nil {
			if err := sleep(ctx, c.backoff(attempt-1)); err != nil {
				return upRetry, PhotoFailure{}, err
			}
		}
		if loc == "" {
			u, done, err := c.tusCreate(ctx, p, size)
			var ae *APIError
			switch {
			case err == nil && done:
				return upDone, PhotoFailure{}, c.finishPhoto(ctx, p, "")
			case err == nil:
				loc, offset = u, 0
				if err := c.setUploadURL(ctx, p, loc); err != nil {
					return upRetry, PhotoFailure{}, err
				}
				continue
			case errors.Is(err, errNoEndpoint):
				return upNoServer, PhotoFailure{}, err
			case errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized):
				return upNoAuth, PhotoFailure{}, err
			case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
				// The case is not on the server (yet): not this photo's fault.
				return upRetry, PhotoFailure{}, err
			case transient(err):
				last = err
				attempt++
				continue
			case errors.As(err, &ae):
				return upRefused, fail(ae), nil
			default:
				return upRetry, PhotoFailure{}, err
			}
		}
		if offset < 0 {
			off, length, verified, flags, err := c.tusHead(ctx, loc)
			var ae *APIError
			switch {
			case err == nil:
			case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusGone || ae.Status == http.StatusForbidden):
				// The upload expired or was removed: start a new one.
				if restarts++; restarts > 2 {
					return upRetry, PhotoFailure{}, err
				}
				loc = ""
				if err := c.setUploadURL(ctx, p, ""); err != nil {
					return upRetry, PhotoFailure{}, err
				}
				continue
			case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
				return upNoAuth, PhotoFailure{}, err
			default:
				last = err
				attempt++
				continue
			}
			if length >= 0 && length != size {
				return upRefused, PhotoFailure{PhotoID: p.ID, CaseID: p.CaseID, Code: models.CodeInvalidInput,
					Reason: fmt.Sprintf("the server's upload is %d bytes, the photo %d", length, size)}, nil
			}
			if off >= size {
				if verified {
					return upDone, PhotoFailure{}, c.finishPhoto(ctx, p, flags)
				}
				// All bytes are there and the server is still deciding.
				return upRetry, PhotoFailure{}, errors.New("the server has every byte and has not verified the photo yet")
			}
			offset = off
		}
		n := min(c.cfg.ChunkSize, size-offset)
		next, _, flags, err := c.tusPatch(ctx, loc, f, offset, n)
		if err != nil {
			var ae *APIError
			switch {
			case errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Code != models.CodeAlreadyExists:
				offset = -1 // our offset was wrong: ask
			case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusGone):
				offset = -1 // HEAD will tell whether the upload is gone
			case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
				return upNoAuth, PhotoFailure{}, err
			case errors.As(err, &ae) && ae.Code == models.CodeAlreadyExists:
				return upDone, PhotoFailure{}, c.finishPhoto(ctx, p, "")
			case transient(err):
				offset = -1 // the connection may have carried part of it
			case errors.As(err, &ae):
				return upRefused, fail(ae), nil
			default:
				offset = -1
			}
			last = err
			attempt++
			continue
		}
		if next <= offset {
			last = fmt.Errorf("the server did not move the upload offset past %d", offset)
			offset = -1
			attempt++
			continue
		}
		offset, attempt, last = next, 0, nil
		if offset >= size {
			// The final PATCH answers 2xx only once the server verified the
			// bytes; a refusal is an error response instead.
			return upDone, PhotoFailure{}, c.finishPhoto(ctx, p, flags)
		}
	}
	return upRetry, PhotoFailure{}, last
}

func (c *Client) finishPhoto(ctx context.Context, p photoRow, flags string) error {
	_, err := c.db.ExecContext(ctx, `UPDATE photos SET upload = ?, upload_code = '', upload_error = ? WHERE id = ?`,
		uploadDone, flags, p.ID.String())
	return err
}

// errNoEndpoint says the server answered 404 without speaking tus: the upload
// endpoint is not mounted.
var errNoEndpoint = errors.New("the server has no upload endpoint yet")

// tusMetadata encodes Upload-Metadata: comma-separated "key base64(value)".
func tusMetadata(p photoRow) string {
	pairs := [][2]string{{"photo_id", p.ID.String()}, {"case_id", p.CaseID.String()}, {"stage", p.Stage},
		{"type", p.Type}, {"sha256", p.SHA256}, {"filename", filepath.Base(p.Path)}}
	if p.CreatedAt != "" {
		pairs = append(pairs, [2]string{"captured_at", p.CreatedAt})
	}
	parts := make([]string, 0, len(pairs))
	for _, kv := range pairs {
		parts = append(parts, kv[0]+" "+base64.StdEncoding.EncodeToString([]byte(kv[1])))
	}
	return strings.Join(parts, ",")
}

// tusDo makes one tus request with the protocol and auth headers and returns
// the response with its (bounded) body.
func (c *Client) tusDo(ctx context.Context, method, u string, body io.Reader, n int64, hdr map[string]string) (*http.Response, []byte, error) {
	_, token, err := c.endpoint()
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	req.ContentLength = n
	req.Header.Set("Tus-Resumable", tusVersion)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	return res, b, nil
}

// tusCreate creates an upload and returns its absolute URL. done says the
// server already has the photo verified (nothing to send).
func (c *Client) tusCreate(ctx context.Context, p photoRow, size int64) (loc string, done bool, err error) {
	server, _, err := c.endpoint()
	if err != nil {
		return "", false, err
	}
	base, err := url.Parse(server + uploadPath)
	if err != nil {
		return "", false, err
	}
	res, b, err := c.tusDo(ctx, http.MethodPost, base.String(), nil, 0, map[string]string{
		"Upload-Length": strconv.FormatInt(size, 10), "Upload-Metadata": tusMetadata(p)})
	if err != nil {
		return "", false, err
	}
	if res.StatusCode == http.StatusNotFound && res.Header.Get("Tus-Resumable") == "" {
		return "", false, errNoEndpoint
	}
	if res.StatusCode != http.StatusCreated {
		e := apiError(res.StatusCode, b)
		if e.Code == models.CodeAlreadyExists {
			return "", true, nil
		}
		return "", false, e
	}
	l, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.Header.Get("Location") == "" {
		return "", false, fmt.Errorf("the server created an upload without a usable Location")
	}
	return base.ResolveReference(l).String(), false, nil
}

// tusHead asks how much of an upload the server has. length is -1 when the
// server did not say.
func (c *Client) tusHead(ctx context.Context, u string) (offset, length int64, verified bool, flags string, err error) {
	res, b, err := c.tusDo(ctx, http.MethodHead, u, nil, 0, nil)
	if err != nil {
		return 0, 0, false, "", err
	}
	if res.StatusCode/100 != 2 {
		return 0, 0, false, "", apiError(res.StatusCode, b)
	}
	offset, err = strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		return 0, 0, false, "", fmt.Errorf("HEAD %s: no valid Upload-Offset", u)
	}
	length = -1
	if s := res.Header.Get("Upload-Length"); s != "" {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, 0, false, "", fmt.Errorf("HEAD %s: bad Upload-Length", u)
		}
	}
	return offset, length, res.Header.Get(headerPhotoVerified) == "true", res.Header.Get(headerPhotoFlags), nil
}

// tusPatch sends n bytes of f from offset and returns the server's new offset.
func (c *Client) tusPatch(ctx context.Context, u string, f *os.File, offset, n int64) (next int64, verified bool, flags string, err error) {
	res, b, err := c.tusDo(ctx, http.MethodPatch, u, io.NewSectionReader(f, offset, n), n, map[string]string{
		"Upload-Offset": strconv.FormatInt(offset, 10), "Content-Type": "application/offset+octet-stream"})
	if err != nil {
		return 0, false, "", err
	}
	if res.StatusCode/100 != 2 {
		return 0, false, "", apiError(res.StatusCode, b)
	}
	next, err = strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, false, "", fmt.Errorf("PATCH %s: no valid Upload-Offset", u)
	}
	return next, res.Header.Get(headerPhotoVerified) == "true", res.Header.Get(headerPhotoFlags), nil
}
