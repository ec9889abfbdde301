// Package childproc starts a fieldsync server as a separate process (the
// calling binary re-run with an environment variable that makes it serve)
// and finds its address from its own log, so no port is ever guessed: a
// port picked beforehand can be taken by another process in between.
package childproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Server is a running server process.
type Server struct {
	Cmd   *exec.Cmd
	URL   string
	stdin io.WriteCloser
	done  chan struct{}
}

// Start runs exe with env var name set to the serve arguments (joined by
// \x1f; --addr 127.0.0.1:0 and JSON info logs are added), and waits until
// the server logs the address it listens on.
func Start(exe, envName string, args []string, extraEnv ...string) (*Server, error) {
	args = append(append([]string{}, args...), "--addr", "127.0.0.1:0", "--log-level", "info", "--log-format", "json")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(append(os.Environ(), extraEnv...), envName+"="+strings.Join(args, "\x1f"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Cmd: cmd, stdin: stdin, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Bytes()
			var rec struct {
				Msg   string `json:"msg"`
				Addr  string `json:"addr"`
				Level string `json:"level"`
			}
			if json.Unmarshal(line, &rec) == nil && !found && rec.Msg == "fieldsync listening" {
				found = true
				addr <- rec.Addr
				continue
			}
			if rec.Level == "ERROR" || rec.Level == "WARN" || json.Valid(line) == false {
				fmt.Fprintln(os.Stderr, string(line))
			}
		}
	}()
	go func() { cmd.Wait(); close(s.done) }()
	select {
	case a := <-addr:
		s.URL = "http://" + a
		return s, nil
	case <-s.done:
		return nil, errors.New("the server process exited before listening")
	case <-time.After(60 * time.Second):
		s.Stop()
		return nil, errors.New("the server process did not start listening within 60 s")
	}
}

// Pid returns the process id.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Stop closes the process's stdin (its signal to shut down) and waits,
// killing it after 15 s.
func (s *Server) Stop() {
	s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.Cmd.Process.Kill()
		<-s.done
	}
}

// ServeIfChild is the other half of Start: in a process that Start began
// (envName is set) it runs main with the serve arguments until the parent
// closes stdin, then exits with main's code. Elsewhere it returns at once.
// main is cli.Main in practice, passed in so this package needs no server.
func ServeIfChild(envName string, main func(ctx context.Context, args []string) int) {
	args := os.Getenv(envName)
	if args == "" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // the parent closes our stdin to stop us
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf)
		cancel()
	}()
	os.Exit(main(ctx, strings.Split(args, "\x1f")))
}
