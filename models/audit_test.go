package models

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// auditChain seals n entries with fixed content.
func auditChain(t testing.TB, n int) []AuditEntry {
	t.Helper()
	prev := AuditGenesis
	var out []AuditEntry
	actions := []AuditAction{AuditView, AuditTransition, AuditExport, AuditComment}
	for i := range n {
		e := AuditEntry{
			At:        time.Date(2026, 10, 8, 9, 30, i, 123456789, chinaTime),
			ActorID:   uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("user", i%2))),
			ActorName: "受理员" + fmt.Sprint(i%2),
			Role:      RoleClerk,
			Action:    actions[i%len(actions)],
			CaseID:    uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("case", i))),
			Detail:    fmt.Sprintf(`{"n":%d,"note":"君山路"}`, i),
			RequestID: fmt.Sprintf("req-%d", i),
		}
		s, err := e.Seal(int64(i+1), prev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
		prev = s.Hash
	}
	return out
}

func verifyAll(entries []AuditEntry) error {
	v := NewAuditVerifier()
	for _, e := range entries {
		if err := v.Check(e); err != nil {
			return err
		}
	}
	return nil
}

// TestAuditGolden pins the canonical content and the hashes: changing either
// would make every stored chain unverifiable. Run `go test ./models -run
// TestAuditGolden -update` only for a deliberate new layout (with a new
// auditVersion).
func TestAuditGolden(t *testing.T) {
	var b bytes.Buffer
	for _, e := range auditChain(t, 3) {
		fmt.Fprintf(&b, "%d %s\n  prev %s\n  hash %s\n", e.Seq, e.Canonical(), e.PrevHash, e.Hash)
	}
	path := filepath.Join("testdata", "audit_chain.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, b.Bytes()) {
		t.Errorf("audit chain differs from %s:\n%s", path, lineDiff(string(want), b.String()))
	}
}

func TestAuditVerify(t *testing.T) {
	chain := auditChain(t, 6)
	if err := verifyAll(chain); err != nil {
		t.Fatalf("an intact chain fails: %v", err)
	}
	v := NewAuditVerifier()
	for _, e := range chain {
		_ = v.Check(e)
	}
	if v.Checked() != 6 || v.Head() != chain[5].Hash {
		t.Errorf("verifier checked %d, head %s", v.Checked(), v.Head())
	}

	tamper := []struct {
		name    string
		mutate  func(c []AuditEntry) []AuditEntry
		wantSeq int64
	}{
		{"detail", func(c []AuditEntry) []AuditEntry { c[2].Detail = `{"n":2,"note":"解放路"}`; return c }, 3},
		{"actor", func(c []AuditEntry) []AuditEntry { c[1].ActorID = uuid.New(); return c }, 2},
		{"name", func(c []AuditEntry) []AuditEntry { c[1].ActorName = "别人"; return c }, 2},
		{"role", func(c []AuditEntry) []AuditEntry { c[4].Role = RoleAdmin; return c }, 5},
		{"action", func(c []AuditEntry) []AuditEntry { c[0].Action = AuditEdit; return c }, 1},
		{"case", func(c []AuditEntry) []AuditEntry { c[3].CaseID = uuid.Nil; return c }, 4},
		{"time", func(c []AuditEntry) []AuditEntry { c[5].At = c[5].At.Add(time.Microsecond); return c }, 6},
		{"device", func(c []AuditEntry) []AuditEntry { c[2].DeviceID = uuid.New(); return c }, 3},
		{"request id", func(c []AuditEntry) []AuditEntry { c[2].RequestID = "x"; return c }, 3},
		{"deleted entry", func(c []AuditEntry) []AuditEntry { return append(c[:2], c[3:]...) }, 3},
		{"deleted first", func(c []AuditEntry) []AuditEntry { return c[1:] }, 1},
		{"swapped", func(c []AuditEntry) []AuditEntry { c[2], c[3] = c[3], c[2]; return c }, 3},
		{"renumbered after a deletion", func(c []AuditEntry) []AuditEntry {
			c = append(c[:2], c[3:]...)
			for i := 2; i < len(c); i++ {
				c[i].Seq--
			}
			return c
		}, 3},
		{"rehashed entry", func(c []AuditEntry) []AuditEntry {
			// Whoever rewrites an entry and its own hash still breaks the
			// next link.
			c[1].Detail = "{}"
			c[1].Hash, _ = ChainHash(c[1].PrevHash, c[1])
			return c
		}, 3},
		{"bad hash text", func(c []AuditEntry) []AuditEntry { c[0].PrevHash = "zz"; return c }, 1},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.mutate(auditChain(t, 6))
			err := verifyAll(c)
			var br *AuditBreak
			if !errors.As(err, &br) {
				t.Fatalf("tampered chain verifies: %v", err)
			}
			if br.Seq != tc.wantSeq {
				t.Errorf("break at %d (%s), want %d", br.Seq, br.Reason, tc.wantSeq)
			}
		})
	}
}

func TestAuditNormalize(t *testing.T) {
	e := AuditEntry{At: time.Date(2026, 10, 8, 9, 30, 0, 123456789, chinaTime), ActorName: "a\x00b\xff",
		Detail: "{\"x\":\"\xc3\"}", RequestID: "r\x00"}
	n := e.Normalize()
	if n.ActorName != "ab\uFFFD" || n.Detail != "{\"x\":\"\uFFFD\"}" || n.RequestID != "r" {
		t.Errorf("Normalize text: %q %q %q", n.ActorName, n.Detail, n.RequestID)
	}
	if n.At.Location() != time.UTC || n.At.Nanosecond() != 123456000 {
		t.Errorf("Normalize time: %v", n.At)
	}
	// A sealed entry read back (normalized again) hashes the same.
	s, err := e.Seal(1, AuditGenesis)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := ChainHash(AuditGenesis, s.Normalize()); h != s.Hash {
		t.Error("normalizing a sealed entry changes its hash")
	}
	if _, err := e.Seal(1, "abc"); err == nil {
		t.Error("Seal accepted a malformed previous hash")
	}
	for _, a := range AuditActions {
		if !a.Valid() {
			t.Errorf("%s not valid", a)
		}
	}
	if AuditAction("case.delete").Valid() {
		t.Error("an unknown action is valid")
	}
}

// FuzzAuditSeal checks that any text seals into an entry that verifies after
// the round trip a database makes (Normalize), and that changing its detail
// breaks it.
func FuzzAuditSeal(f *testing.F) {
	f.Add("受理员", `{"filter":"category=E0504"}`, int64(1700000000123456789))
	f.Add("\xff\x00", "\x00", int64(0))
	f.Fuzz(func(t *testing.T, name, detail string, nanos int64) {
		e := AuditEntry{At: time.Unix(0, nanos), ActorName: name, Detail: detail, Action: AuditExport}
		s, err := e.Seal(1, AuditGenesis)
		if err != nil {
			t.Fatal(err)
		}
		if err := NewAuditVerifier().Check(s.Normalize()); err != nil {
			t.Fatalf("round trip breaks the seal: %v", err)
		}
		s.Detail += "!"
		if err := NewAuditVerifier().Check(s); err == nil {
			t.Fatal("a changed detail verifies")
		}
	})
}
