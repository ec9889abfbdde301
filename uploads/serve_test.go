package uploads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

func TestOpenOriginalAndThumbnails(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	srv := testServer(t, e.svc.TusHandler())
	data := noiseJPEG(t, 400, 300, 40, 85)
	f := e.fixture(data)
	resp, body := uploadAll(t, newTusClient(t, srv.URL, "tok-a"), f.meta, f.data)
	mustStatus(t, resp, body, http.StatusCreated)

	// In scope: A (reporter, org) and B (same org) get the original, byte for byte.
	for _, a := range []models.Actor{inspectorA, inspectorB} {
		b, p, err := e.svc.OpenOriginal(ctx, a, f.meta.PhotoID)
		if err != nil {
			t.Fatalf("%s: %v", a.Username, err)
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if !bytes.Equal(got, data) || p.ID != f.meta.PhotoID || ETag(p.SHA256) != `"`+f.meta.SHA256+`"` {
			t.Fatalf("%s: wrong original", a.Username)
		}
	}
	// Out of scope, anonymous, unknown: not found, and nothing else is said.
	for name, try := range map[string]func() error{
		"outsider":  func() error { _, _, err := e.svc.OpenOriginal(ctx, outsider, f.meta.PhotoID); return err },
		"anonymous": func() error { _, _, err := e.svc.OpenOriginal(ctx, models.Actor{}, f.meta.PhotoID); return err },
		"unknown":   func() error { _, _, err := e.svc.OpenOriginal(ctx, inspectorA, uuid.Must(uuid.NewV7())); return err },
		"thumb, outsider": func() error {
			_, _, err := e.svc.OpenThumbnail(ctx, outsider, f.meta.PhotoID, true)
			return err
		},
		"thumb not made yet": func() error {
			_, _, err := e.svc.OpenThumbnail(ctx, inspectorA, f.meta.PhotoID, false)
			return err
		},
		// A hash alone never opens an original.
		"original by hash": func() error { _, err := e.svc.OpenBlob(ctx, f.meta.SHA256); return err },
		"traversal":        func() error { _, err := e.svc.OpenBlob(ctx, "../blobs/"+f.meta.SHA256[:50]); return err },
	} {
		if err := try(); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}

	runWorkers(t, e.svc, 1)
	waitFor(t, "thumbnails", func() bool { p, _ := e.store.photo(f.meta.PhotoID); return p.ThumbLarge != "" })
	p, _ := e.store.photo(f.meta.PhotoID)
	for _, large := range []bool{false, true} {
		b, _, err := e.svc.OpenThumbnail(ctx, inspectorB, f.meta.PhotoID, large)
		if err != nil {
			t.Fatal(err)
		}
		want := p.ThumbSmall
		if large {
			want = p.ThumbLarge
		}
		got, _ := io.ReadAll(b)
		b.Close()
		if sha256Hex(got) != want {
			t.Fatalf("thumbnail (large=%v) does not hash to its name", large)
		}
	}
	if b, err := e.svc.OpenBlob(ctx, p.ThumbSmall); err != nil {
		t.Fatal(err)
	} else {
		b.Close()
	}
}

func TestOpenOriginalBeforeCaseExists(t *testing.T) {
	e := newTestEnv(t, nil)
	ctx := context.Background()
	data := noiseJPEG(t, 64, 48, 41, 85)
	h, _, _ := e.svc.blobs.Put(ctx, bytes.NewReader(data))
	id := uuid.Must(uuid.NewV7())
	e.store.putPhoto(models.PhotoRecord{ID: id, CaseID: uuid.Must(uuid.NewV7()), SHA256: h, Verified: true,
		UploaderID: inspectorA.UserID})
	if b, _, err := e.svc.OpenOriginal(ctx, inspectorA, id); err != nil {
		t.Fatalf("uploader: %v", err)
	} else {
		b.Close()
	}
	if _, _, err := e.svc.OpenOriginal(ctx, inspectorB, id); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("someone else: %v", err)
	}
	// Not verified: the bytes are not evidence yet.
	id2 := uuid.Must(uuid.NewV7())
	e.store.putPhoto(models.PhotoRecord{ID: id2, CaseID: uuid.Must(uuid.NewV7()), SHA256: h, UploaderID: inspectorA.UserID})
	if _, _, err := e.svc.OpenOriginal(ctx, inspectorA, id2); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unverified: %v", err)
	}
}

func TestProblemBodyHidesInternals(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   models.Code
		detail string
	}{
		{errors.New("pq: password authentication failed for user secret"), 500, models.CodeInternal, "internal error"},
		{&models.Error{Code: models.CodeInternal, Message: "db down at 10.0.0.3", Cause: errors.New("x")}, 500, models.CodeInternal, "internal error"},
		{models.Errorf(models.CodeHashMismatch, "bytes differ"), 422, models.CodeHashMismatch, "bytes differ"},
		{models.Errorf(models.CodeUnsupportedImage, "HEIC"), 415, models.CodeUnsupportedImage, "HEIC"},
		{models.Errorf(models.CodeImageTooLarge, "big"), 413, models.CodeImageTooLarge, "big"},
		{models.Errorf(models.CodeProofRequired, "no"), 403, models.CodeProofRequired, "no"},
		{models.Errorf(models.CodeDeviceRevoked, "revoked"), 401, models.CodeDeviceRevoked, "revoked"},
	} {
		rec := httptest.NewRecorder()
		writeProblem(rec, httptest.NewRequest(http.MethodPatch, "/", nil), tc.err)
		var p problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.status || p.Status != tc.status || p.Code != string(tc.code) || p.Detail != tc.detail ||
			p.Type != "about:blank" || p.Title != http.StatusText(tc.status) || rec.Header().Get("Content-Type") != problemContentType {
			t.Errorf("%v: %d %+v", tc.err, rec.Code, p)
		}
	}
	rec := httptest.NewRecorder()
	writeProblem(rec, httptest.NewRequest(http.MethodHead, "/", nil), models.ErrNotFound)
	if rec.Code != 404 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD problem: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}
