package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/cli"
	"github.com/fieldsync/fieldsync/internal/childproc"
)

// TestMain lets the test binary run as the server under test, as the bench
// command's own binary does.
func TestMain(m *testing.M) {
	childproc.ServeIfChild(ChildEnv, func(ctx context.Context, args []string) int {
		return cli.Main(ctx, args, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	})
	os.Exit(m.Run())
}

// TestRunSmall runs the sync benchmark end to end on a small scale, so the
// command that measures the acceptance figures keeps working: every phase
// must push and pull exactly its cases (the warm-up's stay out of the
// measured town) and the pull-cost comparison must find its 100 changes.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	var out bytes.Buffer
	o := Options{N: 300, Clients: 2, PerClient: 100, Runs: 0, Warm: 200, Large: 2000, Small: 1000, Self: os.Args[0]}
	if err := Run(context.Background(), o, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"push1", "push8", "pull (pages of 1000)", "empty tablet pulls 300 cases",
		"warm-up push of 200 reports", "pull of the last 100 changes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunPeerRelativePath: the peer's script is given relative to the
// working directory, as the README's command does, and runs in its folder.
func TestRunPeerRelativePath(t *testing.T) {
	dir := t.TempDir()
	peer := filepath.Join(dir, "peers", "fake")
	if err := os.MkdirAll(peer, 0o755); err != nil {
		t.Fatal(err)
	}
	script := `test -f run.sh || exit 3
echo 'SUMMARY {"push1":{"rps_median":6400,"server_cpu_ms_per_1k":150},"push8":{"rps_median":7000},"pull":{"rps_median":10800}}'
echo '{"repl_s":4.5}'
`
	if err := os.WriteFile(filepath.Join(peer, "run.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	f, err := runPeer(context.Background(), Options{Peer: "peers/fake/run.sh", Runs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f.push1 != 6400 || f.push8 != 7000 || f.pull != 10800 || f.push1CPU != 150 || f.replicate != 4.5 {
		t.Errorf("peer figures %+v", f)
	}
}
