package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/bytedance/sonic"
	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/labstack/echo/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyActor
	keySession
)

// requestIDOf returns the request id the requestID middleware attached.
func requestIDOf(r *http.Request) string {
	if v, ok := r.Context().Value(keyRequestID).(string); ok {
		return v
	}
	return ""
}

// requestID takes a sane X-Request-Id from the client or mints one, and puts
// it in the context and the response so logs and problem bodies carry it.
func (a *API) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		id := r.Header.Get("X-Request-Id")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set("X-Request-Id", id)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
		return next(c)
	}
}

// recoverer turns a handler panic into a 500 problem and a log line with the
// stack; the server keeps running.
func (a *API) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = &models.Error{Code: models.CodeInternal, Message: "internal error",
					Cause: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			}
		}()
		return next(c)
	}
}

// accessLog writes one structured line per request.
func (a *API) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			a.errorHandler(c, err)
		}
		status := 0
		if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil {
			status = resp.Status
		}
		r := c.Request()
		a.log.LogAttrs(r.Context(), levelFor(status), "http request",
			slogString("request_id", requestIDOf(r)), slogString("method", r.Method),
			slogString("route", routeOf(c)), slogString("path", r.URL.Path), slogInt("status", status),
			slogDuration("duration", time.Since(start)))
		return nil
	}
}

func routeOf(c *echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// httpMetrics counts requests and their latencies by route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fieldsync_http_requests_total",
			Help: "HTTP requests by method, route and status code."}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fieldsync_http_request_duration_seconds",
			Help: "HTTP request latency by method and route.", Buckets: prometheus.DefBuckets}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		route := routeOf(c)
		status := 0
		if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil {
			status = resp.Status
		}
		if err != nil {
			var me *models.Error
			if errors.As(err, &me) {
				status = StatusOf(me.Code)
			} else {
				status = http.StatusInternalServerError
			}
		}
		m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(c.Request().Method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

func (a *API) metricsHandler() echo.HandlerFunc {
	h := promhttp.HandlerFor(a.d.Gatherer, promhttp.HandlerOpts{})
	return echo.WrapHandler(h)
}

// bodyLimit caps request bodies; decodeJSON turns the overflow into body_too_large.
func (a *API) bodyLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		if r.ContentLength > a.d.BodyLimit {
			return models.Errorf(models.CodeBodyTooLarge, "the request body is larger than %d bytes", a.d.BodyLimit)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, a.d.BodyLimit)
		return next(c)
	}
}

// decodeJSON reads a JSON body strictly: unknown fields, trailing data and
// wrong types are errors with stable codes.
func decodeJSON(c *echo.Context, dst any) error {
	r := c.Request()
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return models.Errorf(models.CodeUnsupportedMedia, "send application/json, not %s", ct)
	}
	bp := bodyPool.Get().(*[]byte)
	body, err := readBody(r, *bp)
	defer func() {
		// Both decoders copy what they keep out of the body, so its buffer
		// serves the next request.
		if cap(body) <= maxPooledBody {
			*bp = body[:0]
			bodyPool.Put(bp)
		}
	}()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return models.Errorf(models.CodeBodyTooLarge, "the request body is larger than %d bytes", mbe.Limit)
		}
		return models.Errorf(models.CodeInvalidInput, "could not read the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return models.Errorf(models.CodeInvalidJSON, "the request body is empty; send a JSON object")
	}
	// The fast decoder takes the well-formed bodies (a push carries a hundred
	// commands); anything it refuses is decoded again by encoding/json, whose
	// error types give the stable codes, so both paths agree on every answer.
	if fastDecode(body, dst) == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return models.Errorf(models.CodeInvalidJSON, "the body has data after the JSON value")
	}
	return nil
}

// bodyPool holds request body buffers of up to maxPooledBody bytes: a push
// of a hundred reports is over 100 KB, which allocated and zeroed afresh for
// every request was a large share of a push's garbage.
var bodyPool = gosync.Pool{New: func() any { return new([]byte) }}

const maxPooledBody = 1 << 20

// readBody reads a request body whole into buf (reused when it is large
// enough), in one read when the client declared its length (growing the
// buffer by doubling copied a push several times).
func readBody(r *http.Request, buf []byte) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= maxPreallocBody {
		if int64(cap(buf)) < n+1 {
			buf = make([]byte, n+1)
		}
		buf = buf[:n+1] // one spare byte, so a longer body than declared shows
		k, err := io.ReadFull(r.Body, buf)
		switch {
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			return buf[:k], nil
		case err != nil:
			return nil, err
		}
		rest, err := io.ReadAll(r.Body)
		return append(buf, rest...), err
	}
	b := bytes.NewBuffer(buf[:0])
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

// maxPreallocBody caps what readBody allocates on a client's word.
const maxPreallocBody = 8 << 20

// fastJSONDecoder decodes request bodies as encoding/json with
// DisallowUnknownFields would, or fails. github.com/bytedance/sonic scans
// strings with SIMD: a push body is mostly report text in Chinese, which
// go-json validated and copied a byte at a time (a 100-report push decoded in
// half the CPU, BenchmarkDecodePush). CopyString because the body's buffer is
// pooled and reused: a decoded string must not point into it.
// ValidateString because encoding/json replaces invalid UTF-8 with U+FFFD:
// sonic refuses it instead, and the slow path then decodes it as
// encoding/json does.
var fastJSONDecoder = sonic.Config{DisallowUnknownFields: true, CopyString: true, ValidateString: true}.Froze()

// fastDecode is decodeJSON's fast path: nil only when body decoded into dst
// exactly as encoding/json would have (FuzzDecodeAgreement).
func fastDecode(body []byte, dst any) error {
	return fastJSONDecoder.Unmarshal(body, dst)
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return models.Errorf(models.CodeInvalidJSON, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		return models.Errorf(models.CodeInvalidInput, "%s must be %s, not %s", orWord(field, "the body"), typ.Type.String(), typ.Value).WithField(field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return models.Errorf(models.CodeUnknownField, "unknown field %q", name).WithField(name)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return models.Errorf(models.CodeInvalidJSON, "the JSON body ends too early")
	}
	// Errors from a type's UnmarshalJSON (a bad UUID, a bad time) are the client's.
	return models.Errorf(models.CodeInvalidInput, "invalid value: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// session cookie and CSRF header names.
const (
	cookieName = "fieldsync_session"
	csrfHeader = "X-CSRF-Token"
)

// authenticate resolves the caller from a bearer token (device or session) or
// the console's session cookie. Anonymous requests pass on; handlers that need
// an actor call actorOf. Cookie-authenticated unsafe requests must carry the
// session's CSRF token in a header, which a cross-site form cannot set.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		var actor models.Actor
		var sess *models.Session
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || tok == "" {
				return models.Errorf(models.CodeInvalidToken, "the Authorization header must be Bearer <token>")
			}
			var err error
			actor, sess, err = a.resolveToken(ctx, strings.TrimSpace(tok))
			if err != nil {
				return err
			}
		} else if ck, err := r.Cookie(cookieName); err == nil && ck.Value != "" {
			s, act, err := a.resolveSession(ctx, ck.Value)
			if err != nil {
				if models.IsNotFound(err) || models.ErrorCode(err) == models.CodeInvalidToken {
					// A stale cookie is no identity: carry on anonymous.
					return next(c)
				}
				return err
			}
			if !safeMethod(r.Method) && r.Header.Get(csrfHeader) != s.CSRFToken {
				return models.Errorf(models.CodeCSRF, "missing or wrong %s header", csrfHeader).
					WithHint("send the csrf_token from login in the " + csrfHeader + " header")
			}
			actor, sess = act, &s
		}
		if actor.UserID != [16]byte{} {
			ctx = context.WithValue(ctx, keyActor, actor)
			if sess != nil {
				ctx = context.WithValue(ctx, keySession, *sess)
			}
			c.SetRequest(r.WithContext(ctx))
		}
		return next(c)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func (a *API) resolveToken(ctx context.Context, tok string) (models.Actor, *models.Session, error) {
	bad := models.Errorf(models.CodeInvalidToken, "the token is not valid").WithHint("log in again or re-enrol the device")
	switch {
	case strings.HasPrefix(tok, auth.PrefixDevice):
		h := auth.HashToken(tok)
		e, err := a.creds.resolve(h, a.d.Store.CredentialsEpoch(), func() (credEntry, error) {
			dev, err := a.d.Store.DeviceByTokenHash(ctx, h)
			if models.IsNotFound(err) {
				return credEntry{}, bad
			} else if err != nil {
				return credEntry{}, err
			}
			if dev.Revoked() {
				return credEntry{}, models.Errorf(models.CodeDeviceRevoked, "this device was revoked").
					WithHint("ask an administrator to enrol it again")
			}
			actor, err := a.actorFor(ctx, dev.UserID)
			actor.DeviceID = dev.ID
			return credEntry{actor: actor}, err
		})
		if err != nil {
			return models.Actor{}, nil, err
		}
		return e.actor, nil, nil
	case strings.HasPrefix(tok, auth.PrefixSession):
		s, actor, err := a.resolveSession(ctx, tok)
		if err != nil {
			return models.Actor{}, nil, err
		}
		return actor, &s, nil
	}
	return models.Actor{}, nil, bad
}

func (a *API) resolveSession(ctx context.Context, tok string) (models.Session, models.Actor, error) {
	h := auth.HashToken(tok)
	e, err := a.creds.resolve(h, a.d.Store.CredentialsEpoch(), func() (credEntry, error) {
		s, err := a.d.Store.SessionByID(ctx, h)
		if models.IsNotFound(err) {
			return credEntry{}, models.Errorf(models.CodeInvalidToken, "the session is not valid").WithHint("log in again")
		} else if err != nil {
			return credEntry{}, err
		}
		actor, err := a.actorFor(ctx, s.UserID)
		return credEntry{actor: actor, sess: s}, err
	})
	if err != nil {
		return models.Session{}, models.Actor{}, err
	}
	if a.now().After(e.sess.ExpiresAt) {
		return e.sess, models.Actor{}, models.Errorf(models.CodeInvalidToken, "the session expired").WithHint("log in again")
	}
	return e.sess, e.actor, nil
}

// actorFor builds the actor of a user, with the scope their role and
// assignments give.
func (a *API) actorFor(ctx context.Context, userID [16]byte) (models.Actor, error) {
	u, err := a.d.Store.UserByID(ctx, userID)
	if models.IsNotFound(err) {
		return models.Actor{}, models.Errorf(models.CodeInvalidToken, "the account no longer exists")
	} else if err != nil {
		return models.Actor{}, err
	}
	if u.Disabled {
		return models.Actor{}, models.Errorf(models.CodeInvalidToken, "the account is disabled")
	}
	var grids []string
	if u.Role == models.RoleGridWorker {
		if grids, err = a.d.Store.UserGrids(ctx, u.ID); err != nil {
			return models.Actor{}, err
		}
	}
	return models.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, Scope: models.ScopeFor(u, grids)}, nil
}

// actorOf returns the authenticated caller or an unauthenticated error.
func actorOf(c *echo.Context) (models.Actor, error) {
	if a, ok := c.Request().Context().Value(keyActor).(models.Actor); ok {
		return a, nil
	}
	return models.Actor{}, models.Errorf(models.CodeUnauthenticated, "authentication required").
		WithHint("send Authorization: Bearer <token>, or log in to the console")
}

// requireRole returns the caller if their role is one of roles.
func requireRole(c *echo.Context, roles ...models.Role) (models.Actor, error) {
	a, err := actorOf(c)
	if err != nil {
		return a, err
	}
	if !slices.Contains(roles, a.Role) {
		return a, models.Errorf(models.CodeForbidden, "this needs the role %s", joinRoles(roles))
	}
	return a, nil
}

func joinRoles(roles []models.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// AuthenticateRequest resolves the caller of a request that does not pass
// through the API's middleware (the tus upload handler): a bearer token, or
// the console cookie with its CSRF header on unsafe methods.
func (a *API) AuthenticateRequest(r *http.Request) (models.Actor, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return models.Actor{}, models.Errorf(models.CodeInvalidToken, "the Authorization header must be Bearer <token>")
		}
		actor, _, err := a.resolveToken(ctx, strings.TrimSpace(tok))
		return actor, err
	}
	if ck, err := r.Cookie(cookieName); err == nil && ck.Value != "" {
		s, actor, err := a.resolveSession(ctx, ck.Value)
		if err != nil {
			return models.Actor{}, err
		}
		if !safeMethod(r.Method) && r.Header.Get(csrfHeader) != s.CSRFToken {
			return models.Actor{}, models.Errorf(models.CodeCSRF, "missing or wrong %s header", csrfHeader)
		}
		return actor, nil
	}
	return models.Actor{}, models.Errorf(models.CodeUnauthenticated, "authentication required")
}
