// Command fieldsync-bench measures the sync path end to end (push, pull, an
// empty tablet's first sync, pull cost against log size) and, with --peer,
// runs the pouchdb peer right after and prints the ratios. The thumbs
// subcommand measures the evidence pipeline instead: thumbnails of a 12 MP
// JPEG against vipsthumbnail, photos per second with two workers, peak heap
// per worker, and tus upload MB/s against a plain file copy.
//
//	go run ./cmd/fieldsync-bench --peer ../shared/peers/pouchdb/run.sh
//	go run ./cmd/fieldsync-bench thumbs
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/fieldsync/fieldsync/cli"
	"github.com/fieldsync/fieldsync/internal/bench"
	"github.com/fieldsync/fieldsync/internal/childproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Re-run as the server under test; stop when the parent closes stdin.
	childproc.ServeIfChild(bench.ChildEnv, func(ctx context.Context, args []string) int {
		return cli.Main(ctx, args, cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	})
	if len(os.Args) > 1 && os.Args[1] == "thumbs" {
		if err := bench.RunThumbs(ctx, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fieldsync-bench thumbs:", err)
			os.Exit(1)
		}
		return
	}
	var o bench.Options
	flag.IntVar(&o.N, "n", 10000, "cases pushed by one client and pulled back")
	flag.IntVar(&o.Clients, "clients", 8, "concurrent pushers")
	flag.IntVar(&o.PerClient, "per-client", 2000, "cases per concurrent pusher")
	flag.IntVar(&o.Runs, "runs", 3, "measured runs (after one warm-up)")
	flag.StringVar(&o.Peer, "peer", "", "path to the peer's run.sh (../shared/peers/pouchdb/run.sh)")
	flag.IntVar(&o.Warm, "warm", 10000, "reports a warm-up device pushes into each fresh server before it is measured, as the peer runs a warm-up run in its process first (0: none)")
	flag.IntVar(&o.Large, "large", 1000000, "change-log size for the pull-cost comparison (0 skips it)")
	flag.IntVar(&o.Small, "small", 10000, "small change-log size for the pull-cost comparison")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	o.Self = self
	if err := bench.Run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fieldsync-bench:", err)
		os.Exit(1)
	}
}
