package auth

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q is not argon2id", h)
	}
	if !CheckPassword(h, "correct horse") {
		t.Error("right password refused")
	}
	for _, wrong := range []string{"", "correct horsE", "correct horse "} {
		if CheckPassword(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", h + "$x", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if CheckPassword(bad, "correct horse") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	tok, hash, err := NewToken(PrefixDevice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, PrefixDevice) || HashToken(tok) != hash || strings.Contains(hash, tok) {
		t.Fatalf("token %q hash %q", tok, hash)
	}
	tok2, _, _ := NewToken(PrefixDevice)
	if tok == tok2 {
		t.Fatal("tokens repeat")
	}
}

func FuzzCheckPassword(f *testing.F) {
	h, _ := HashPassword("x")
	f.Add(h, "x")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, enc, pw string) {
		_ = CheckPassword(enc, pw) // must not panic or hang
	})
}
