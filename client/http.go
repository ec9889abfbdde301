package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// maxResponse bounds a response body the client reads into memory.
const maxResponse = 64 << 20

func (c *Client) endpoint() (server, token string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.server == "" || c.token == "" {
		return "", "", ErrNotEnrolled
	}
	return c.server, c.token, nil
}

// send makes one JSON request. A non-2xx answer is an *APIError; a 2xx body is
// decoded into out when out is not nil.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	server, token, err := c.endpoint()
	if err != nil {
		return err
	}
	var raw []byte
	if body != nil {
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	u := server + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("client: %s %s: read response: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		return apiError(res.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("client: %s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// retry runs fn until it succeeds, fails for good, or has been tried
// cfg.Attempts times, waiting a jittered, growing backoff between tries. fn
// must send the same request every time: that is what makes a retry safe.
func (c *Client) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !transient(err) || attempt+1 >= c.cfg.Attempts {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := sleep(ctx, c.backoff(attempt)); err != nil {
			return err
		}
	}
}

// backoff returns the wait before retry number attempt+1: Min·2^attempt capped
// at Max, of which a random half is jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Backoff.Min
	for i := 0; i < attempt && d < c.cfg.Backoff.Max; i++ {
		d *= 2
	}
	d = min(d, c.cfg.Backoff.Max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
