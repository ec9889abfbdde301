package sync

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// cursorPrefix versions the cursor format so it can change without breaking
// devices that hold an old one (they get invalid_cursor and start over).
const cursorPrefix = "c1."

// Cursor is the decoded form of a pull cursor: the change sequence to resume
// after, and a fingerprint of the scope it was issued for.
type Cursor struct {
	Seq   int64
	Scope uint64
}

// ScopeHash returns the fingerprint a cursor carries for a scope.
func ScopeHash(s models.Scope) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s.Fingerprint()))
	return h.Sum64()
}

// EncodeCursor renders c as an opaque string. Clients must not parse it.
func EncodeCursor(c Cursor) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.Seq))
	binary.BigEndian.PutUint64(b[8:], c.Scope)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeCursor parses a cursor. The empty string is the start of the feed.
func DecodeCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := models.Errorf(models.CodeInvalidCursor, "the cursor is not one this server issued").
		WithField("cursor").WithHint("pull without a cursor to start over")
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) != 16 {
		return Cursor{}, bad
	}
	seq := int64(binary.BigEndian.Uint64(b[:8]))
	if seq < 0 {
		return Cursor{}, bad
	}
	c := Cursor{Seq: seq, Scope: binary.BigEndian.Uint64(b[8:])}
	if EncodeCursor(c) != s {
		// The base64 decoder skips line breaks: accept only the one spelling
		// this server issues, so a cursor means one thing.
		return Cursor{}, bad
	}
	return c, nil
}
