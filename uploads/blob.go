package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

// BlobStore keeps immutable byte strings named by their SHA-256. Originals of
// evidence photos and their thumbnails live in blob stores; a blob is never
// modified and never deleted through this interface (evidence is only ever
// superseded). FSBlobStore keeps them on the local disk; an object-store
// implementation can satisfy the same contract.
//
// Every hash is 64 lowercase hex digits; a store refuses any other string with
// ErrInvalidHash, so a hash can never name anything outside the store.
type BlobStore interface {
	// Put stores the bytes read from r and returns their SHA-256 (computed
	// while writing) and length. Storing bytes the store already holds is not
	// an error; the result is the same hash. The blob is durable when Put
	// returns nil.
	Put(ctx context.Context, r io.Reader) (hash string, size int64, err error)
	// Open returns the blob named hash, or an error with models.CodeNotFound.
	Open(ctx context.Context, hash string) (Blob, error)
	// Has reports whether the blob named hash exists.
	Has(ctx context.Context, hash string) (bool, error)
	// Import adds the file at path, which must hash to wantHash, and returns
	// its size. It never removes path nor changes its bytes (on one file
	// system the blob may share the file's inode, which is then made
	// read-only); the caller deletes path once it no longer needs it. A file that does not hash to wantHash is refused with
	// models.CodeHashMismatch and nothing is stored.
	Import(ctx context.Context, path, wantHash string) (size int64, err error)
}

// Blob is an open blob: a read-only file with its size and modification time,
// which is what http.ServeContent needs. Close it when done.
type Blob interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
	ModTime() time.Time
}

// ErrInvalidHash is returned for a blob name that is not 64 lowercase hex digits.
var ErrInvalidHash = &models.Error{Code: models.CodeInvalidInput, Message: "a content hash is 64 lowercase hex digits", Field: "sha256"}

// ValidHash reports whether h is a SHA-256 in lowercase hex, the only form of
// blob name any BlobStore accepts.
func ValidHash(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FSBlobStore is a BlobStore in a directory: the blob with hash abcd… lives at
// <root>/ab/cd/abcd…, read-only. Writes go to a temporary file in <root>/tmp
// (the same file system), which is fsynced and then renamed (or linked) into
// place, and the directory is fsynced, so a blob either exists whole under
// its name or not at all, even across a crash.
type FSBlobStore struct {
	root string
}

// blobFileMode is read-only, for the server's user and group: the bytes are evidence.
const blobFileMode = 0o440

// NewFSBlobStore opens (creating it when missing) a blob store rooted at dir.
func NewFSBlobStore(dir string) (*FSBlobStore, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob store root: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob store root: %w", err)
	}
	return &FSBlobStore{root: root}, nil
}

// Root returns the directory the store lives in.
func (s *FSBlobStore) Root() string { return s.root }

// path returns the file name of a valid hash.
func (s *FSBlobStore) path(h string) string {
	return filepath.Join(s.root, h[0:2], h[2:4], h)
}

// Put implements BlobStore.
func (s *FSBlobStore) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob put: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // a no-op once renamed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob put: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := s.place(tmpName, sum, false); err != nil {
		return "", 0, err
	}
	return sum, n, nil
}

// Import implements BlobStore. On one file system the blob is a hard link to
// path (no copy); otherwise the bytes are copied.
func (s *FSBlobStore) Import(ctx context.Context, path, wantHash string) (int64, error) {
	if !ValidHash(wantHash) {
		return 0, ErrInvalidHash
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("blob import: %w", err)
	}
	defer f.Close()
	got, n, err := hashReader(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("blob import: %w", err)
	}
	if got != wantHash {
		return 0, &models.Error{Code: models.CodeHashMismatch,
			Message: "the bytes do not match the SHA-256 they were announced with"}
	}
	if ok, err := s.Has(ctx, wantHash); err != nil || ok {
		return n, err
	}
	// The file must be on disk before a name in the store points at it.
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("blob import: %w", err)
	}
	if err := s.place(path, wantHash, true); err == nil {
		return n, nil
	} else if !errors.Is(err, errCannotLink) {
		return 0, err
	}
	// Another file system (or one without hard links): copy.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("blob import: %w", err)
	}
	got, n, err = s.Put(ctx, f)
	if err != nil {
		return 0, err
	}
	if got != wantHash { // the file changed under us
		return 0, fmt.Errorf("blob import: %s changed while being imported", path)
	}
	return n, nil
}

// errCannotLink says a hard link into the store is impossible for src.
var errCannotLink = errors.New("cannot link")

// place gives the finished file src the name of hash h: by rename (src is
// our temporary file) or by hard link (src is the caller's file). The file is
// made read-only first, and the directory is fsynced after.
func (s *FSBlobStore) place(src, h string, link bool) error {
	dst := s.path(h)
	if _, err := os.Stat(dst); err == nil {
		return nil // the same bytes are already stored
	}
	if err := s.mkdirs(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("blob place: %w", err)
	}
	if err := os.Chmod(src, blobFileMode); err != nil {
		return fmt.Errorf("blob place: %w", err)
	}
	var err error
	if link {
		err = os.Link(src, dst)
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		var le *os.LinkError
		if errors.As(err, &le) && (errors.Is(le.Err, syscall.EXDEV) || errors.Is(le.Err, syscall.EPERM) ||
			errors.Is(le.Err, syscall.ENOTSUP) || errors.Is(le.Err, syscall.EMLINK)) {
			return errCannotLink
		}
	} else {
		// rename replaces an existing dst atomically; same bytes either way.
		err = os.Rename(src, dst)
	}
	if err != nil {
		return fmt.Errorf("blob place: %w", err)
	}
	return syncDir(filepath.Dir(dst))
}

// mkdirs creates dir and its missing parents below the root, fsyncing each
// parent whose entries changed, so the new blob's path survives a crash.
func (s *FSBlobStore) mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != s.root {
		if err := s.mkdirs(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory so the entries just added to it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// Open implements BlobStore.
func (s *FSBlobStore) Open(ctx context.Context, h string) (Blob, error) {
	if !ValidHash(h) {
		return nil, ErrInvalidHash
	}
	f, err := os.Open(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, models.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob open: %w", err)
	}
	return &fileBlob{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

// Has implements BlobStore.
func (s *FSBlobStore) Has(ctx context.Context, h string) (bool, error) {
	if !ValidHash(h) {
		return false, ErrInvalidHash
	}
	_, err := os.Stat(s.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob stat: %w", err)
	}
	return true, nil
}

// CleanTemp removes temporary files older than age, left behind by writes a
// crash interrupted, and returns how many it removed.
func (s *FSBlobStore) CleanTemp(age time.Duration, now time.Time) (int, error) {
	dir := filepath.Join(s.root, "tmp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n, nil
}

// fileBlob is an open blob file.
type fileBlob struct {
	*os.File
	size int64
	mod  time.Time
}

func (b *fileBlob) Size() int64        { return b.size }
func (b *fileBlob) ModTime() time.Time { return b.mod }

// hashReader returns the SHA-256 in lowercase hex and the length of what r yields.
func hashReader(ctx context.Context, r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashFile returns the SHA-256 in lowercase hex and the length of a file.
func hashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(ctx, f)
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// lowerHex normalises a client-sent hex digest; validity is checked separately.
func lowerHex(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
