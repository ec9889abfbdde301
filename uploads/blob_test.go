package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newTestBlobs(t *testing.T) *FSBlobStore {
	t.Helper()
	s, err := NewFSBlobStore(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidHash(t *testing.T) {
	good := sha256Hex([]byte("x"))
	if !ValidHash(good) {
		t.Fatalf("ValidHash(%q) = false", good)
	}
	for _, h := range []string{
		"", "../../../../etc/passwd", strings.ToUpper(good), good[:63], good + "0",
		"../" + good[3:], good[:62] + "/.", strings.Repeat("g", 64), good[:32] + "\x00" + good[33:],
		"..%2F" + good[5:], good[:60] + "/../",
	} {
		if ValidHash(h) {
			t.Errorf("ValidHash(%q) = true", h)
		}
	}
}

func TestFSBlobStorePutOpenHas(t *testing.T) {
	ctx := context.Background()
	s := newTestBlobs(t)
	data := bytes.Repeat([]byte("evidence "), 10000)
	h, n, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if h != sha256Hex(data) || n != int64(len(data)) {
		t.Fatalf("Put = %s %d", h, n)
	}
	want := filepath.Join(s.Root(), h[:2], h[2:4], h)
	fi, err := os.Stat(want)
	if err != nil {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	if fi.Mode().Perm()&0o222 != 0 {
		t.Fatalf("blob is writable: %v", fi.Mode())
	}
	if ok, err := s.Has(ctx, h); !ok || err != nil {
		t.Fatalf("Has = %v %v", ok, err)
	}
	// Storing the same bytes again is fine and changes nothing.
	if h2, _, err := s.Put(ctx, bytes.NewReader(data)); err != nil || h2 != h {
		t.Fatalf("second Put = %s %v", h2, err)
	}
	b, err := s.Open(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(data)) || b.ModTime().IsZero() {
		t.Fatalf("Size %d ModTime %v", b.Size(), b.ModTime())
	}
	if _, err := b.Seek(9, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	if !bytes.Equal(got, data[9:]) {
		t.Fatal("read after seek differs")
	}
	tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if len(tmp) != 0 {
		t.Fatalf("temp files left: %d", len(tmp))
	}
	missing := sha256Hex([]byte("nothing"))
	if ok, err := s.Has(ctx, missing); ok || err != nil {
		t.Fatalf("Has(missing) = %v %v", ok, err)
	}
	if _, err := s.Open(ctx, missing); !models.IsNotFound(err) {
		t.Fatalf("Open(missing) = %v", err)
	}
}

func TestFSBlobStoreRefusesPathsOutsideRoot(t *testing.T) {
	ctx := context.Background()
	s := newTestBlobs(t)
	// A file just outside the root that a traversal would reach.
	secret := filepath.Join(filepath.Dir(s.Root()), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"../secret", "../../secret", "/etc/passwd", "ab/../../secret", "", strings.Repeat(".", 64)} {
		if _, err := s.Open(ctx, h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Open(%q) = %v, want ErrInvalidHash", h, err)
		}
		if _, err := s.Has(ctx, h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Has(%q) = %v", h, err)
		}
		if _, err := s.Import(ctx, secret, h); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("Import(_, %q) = %v", h, err)
		}
	}
}

func TestFSBlobStoreImport(t *testing.T) {
	ctx := context.Background()
	s := newTestBlobs(t)
	src := filepath.Join(t.TempDir(), "upload")
	data := []byte("the original bytes, kept byte for byte")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	// A wrong hash stores nothing.
	wrong := sha256Hex([]byte("other"))
	if _, err := s.Import(ctx, src, wrong); models.ErrorCode(err) != models.CodeHashMismatch {
		t.Fatalf("Import with wrong hash = %v", err)
	}
	if ok, _ := s.Has(ctx, wrong); ok {
		t.Fatal("mismatched import stored a blob")
	}
	h := sha256Hex(data)
	n, err := s.Import(ctx, src, h)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Import = %d %v", n, err)
	}
	// The source is left in place, unchanged.
	if got, err := os.ReadFile(src); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("source after import: %q %v", got, err)
	}
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	b, err := s.Open(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("imported blob differs")
	}
	// Importing bytes already held is a no-op.
	src2 := filepath.Join(t.TempDir(), "again")
	os.WriteFile(src2, data, 0o640)
	if _, err := s.Import(ctx, src2, h); err != nil {
		t.Fatal(err)
	}
}

func TestFSBlobStoreConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	s := newTestBlobs(t)
	data := bytes.Repeat([]byte{7}, 1<<16)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, _, err := s.Put(ctx, bytes.NewReader(data)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	b, err := s.Open(ctx, sha256Hex(data))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, _ := io.ReadAll(b); !bytes.Equal(got, data) {
		t.Fatal("blob corrupted by concurrent puts")
	}
}

func TestFSBlobStorePutCancelled(t *testing.T) {
	s := newTestBlobs(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Put(ctx, bytes.NewReader([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled ctx = %v", err)
	}
	if tmp, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(tmp) != 0 {
		t.Fatal("cancelled Put left a temp file")
	}
}

func TestFSBlobStoreCleanTemp(t *testing.T) {
	s := newTestBlobs(t)
	old := filepath.Join(s.Root(), "tmp", "put-old")
	young := filepath.Join(s.Root(), "tmp", "put-young")
	os.WriteFile(old, []byte("x"), 0o600)
	os.WriteFile(young, []byte("x"), 0o600)
	now := time.Now()
	os.Chtimes(old, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	if n, err := s.CleanTemp(time.Hour, now); err != nil || n != 1 {
		t.Fatalf("CleanTemp = %d %v", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("old temp file kept")
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatal("young temp file removed")
	}
}
