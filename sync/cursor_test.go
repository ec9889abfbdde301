package sync

import (
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []Cursor{{}, {Seq: 1, Scope: 2}, {Seq: 1 << 62, Scope: ^uint64(0)}} {
		got, err := DecodeCursor(EncodeCursor(c))
		if err != nil || got != c {
			t.Errorf("round trip %+v = %+v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"x", "c1.", "c1.!!!!", "c1.AAAA", "c2.AAAAAAAAAAAAAAAAAAAAAA", "c1.gAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := DecodeCursor(bad); models.ErrorCode(err) != models.CodeInvalidCursor {
			t.Errorf("DecodeCursor(%q) err = %v, want invalid_cursor", bad, err)
		}
	}
}

func TestScopeHashChangesWithScope(t *testing.T) {
	a := ScopeHash(models.Scope{Grids: []string{"1", "2"}})
	b := ScopeHash(models.Scope{Grids: []string{"2", "1"}})
	c := ScopeHash(models.Scope{Grids: []string{"1"}})
	if a != b {
		t.Error("grid order must not change the fingerprint")
	}
	if a == c {
		t.Error("a different scope must change the fingerprint")
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(Cursor{Seq: 42, Scope: 7}))
	f.Add("")
	f.Add("c1.zzzz")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if models.ErrorCode(err) != models.CodeInvalidCursor {
				t.Fatalf("unexpected error code %v", err)
			}
			return
		}
		if c.Seq < 0 {
			t.Fatalf("negative seq from %q", s)
		}
		if s != "" && EncodeCursor(c) != s {
			t.Fatalf("non-canonical cursor accepted: %q", s)
		}
	})
}
