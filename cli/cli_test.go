package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/cli"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/store"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return code, out.String(), errb.String()
}

// TestAdminCommands: migrate, user add and device enroll work on a fresh data
// directory, print what they did, and the device token is stored only as a hash.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, nil, "migrate", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "migrations:") {
		t.Fatalf("migrate: %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, nil, "user", "add", "--data-dir", dir, "--username", "li", "--role", "clerk")
	if code != 1 || !strings.Contains(errs, "password") {
		t.Fatalf("clerk without password: %d %q", code, errs)
	}
	code, out, errs = run(t, map[string]string{"FIELDSYNC_PASSWORD": "long enough pw"}, "user", "add", "--data-dir", dir, "--username", "li", "--role", "clerk", "--org", "370402")
	if code != 0 || !strings.Contains(out, "user li (clerk) added") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, nil, "user", "add", "--data-dir", dir, "--username", "gw7", "--role", "grid_worker", "--grids", "37040210300101,37040210300102")
	if code != 0 {
		t.Fatalf("grid worker: %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, nil, "device", "enroll", "--data-dir", dir, "--username", "gw7", "--name", "TAB-0417")
	if code != 0 || !strings.Contains(out, "token (shown once") {
		t.Fatalf("device enroll: %d %q %q", code, out, errs)
	}
	tok := strings.TrimSpace(out[strings.LastIndex(out, ": ")+2:])
	if !strings.HasPrefix(tok, "fsd_") {
		t.Fatalf("token %q", tok)
	}
	code, _, errs = run(t, nil, "device", "enroll", "--data-dir", dir, "--username", "li", "--name", "x")
	if code != 1 || !strings.Contains(errs, "field staff") {
		t.Fatalf("enrolling an office user: %d %q", code, errs)
	}
	code, _, _ = run(t, nil, "user", "add", "--data-dir", dir, "--username", "x", "--role", "wizard")
	if code != 2 {
		t.Fatalf("unknown role: exit %d, want 2", code)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, "gw7")
	if err != nil || u.Role != models.RoleGridWorker {
		t.Fatalf("gw7 = %+v, %v", u, err)
	}
	grids, err := st.UserGrids(ctx, u.ID)
	if err != nil || len(grids) != 2 {
		t.Fatalf("grids = %v, %v", grids, err)
	}
	devs, err := st.ListDevices(ctx)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices = %+v, %v", devs, err)
	}
	if devs[0].TokenHash == tok || strings.Contains(devs[0].TokenHash, tok) {
		t.Fatal("the token is stored in clear")
	}
	clerk, err := st.UserByUsername(ctx, "li")
	if err != nil || !strings.HasPrefix(clerk.PasswordHash, "$argon2id$") || clerk.OrgPath != "370402" {
		t.Fatalf("clerk = %+v, %v", clerk, err)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errs := run(t, nil); code != 2 || !strings.Contains(errs, "Usage") {
		t.Fatalf("no args: %d %q", code, errs)
	}
	if code, _, errs := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown: %d %q", code, errs)
	}
	if code, out, _ := run(t, nil, "help"); code != 0 || !strings.Contains(out, "fieldsync serve") {
		t.Fatalf("help: %d %q", code, out)
	}
	for _, bad := range []string{"soon", "-1s"} {
		code, _, errs := run(t, nil, "serve", "--data-dir", t.TempDir(), "--credential-ttl", bad)
		if code == 0 || !strings.Contains(errs, "--credential-ttl") {
			t.Errorf("serve --credential-ttl %s: exit %d, stderr %q", bad, code, errs)
		}
	}
}
