// Command fieldsync is the offline-first sync server for city-management field
// inspection. See `fieldsync help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/fieldsync/fieldsync/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
