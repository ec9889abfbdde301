package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Watch listens to the server's change notifications (GET /api/v1/sync/events,
// server-sent events) and calls onChange for every "changed" event, which
// means something in the device's scope committed and a Sync would pull it.
// It reconnects with backoff whenever the stream ends, and calls onChange
// once on every reconnection too, since events sent while it was away are
// lost. It blocks until ctx ends (returning ctx.Err()) or the server refuses
// the token (returning that *APIError). onChange runs on Watch's goroutine;
// a slow onChange delays reading, never loses a wake-up (the events carry no
// data: one Sync catches up with all of them).
func (c *Client) Watch(ctx context.Context, onChange func()) error {
	// The stream stays open for hours: no overall client timeout.
	hc := *c.http
	hc.Timeout = 0
	attempt := 0
	connected := false
	for {
		got, err := c.watchOnce(ctx, &hc, onChange, connected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ae *APIError
		if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
			return err
		}
		if errors.Is(err, ErrNotEnrolled) {
			return err
		}
		if got {
			connected, attempt = true, 0
		}
		if err := sleep(ctx, c.backoff(attempt)); err != nil {
			return err
		}
		attempt++
	}
}

// watchOnce holds one event stream open until it ends. got reports that the
// server accepted the stream.
func (c *Client) watchOnce(ctx context.Context, hc *http.Client, onChange func(), reconnect bool) (got bool, err error) {
	server, token, err := c.endpoint()
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/api/v1/sync/events", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	res, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return false, apiError(res.StatusCode, b)
	}
	if reconnect {
		onChange()
	}
	// A stream silent for longer than this is dead (the server sends a
	// comment every 25 s), even if TCP has not noticed.
	const idle = 90 * time.Second
	lines := make(chan string)
	done := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop) // runs before the body closes: the reader gives up
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		done <- err
	}()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	event := ""
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case err := <-done:
			return true, err
		case <-timer.C:
			return true, errors.New("client: the event stream went silent")
		case line := <-lines:
			timer.Reset(idle)
			switch {
			case line == "":
				if event == "changed" {
					onChange()
				}
				event = ""
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			}
		}
	}
}
