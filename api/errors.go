package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/fieldsync/fieldsync/models"
	"github.com/labstack/echo/v5"
)

// statusOf is the one table that maps stable error codes to HTTP statuses.
var statusOf = map[models.Code]int{
	models.CodeInvalidJSON:        http.StatusBadRequest,
	models.CodeUnknownField:       http.StatusBadRequest,
	models.CodeInvalidInput:       http.StatusUnprocessableEntity,
	models.CodeUnknownCategory:    http.StatusUnprocessableEntity,
	models.CodeInvalidLocation:    http.StatusUnprocessableEntity,
	models.CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	models.CodeInvalidCursor:      http.StatusBadRequest,
	models.CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	models.CodeUnauthenticated:    http.StatusUnauthorized,
	models.CodeInvalidToken:       http.StatusUnauthorized,
	models.CodeInvalidCredentials: http.StatusUnauthorized,
	models.CodeDeviceRevoked:      http.StatusUnauthorized,
	models.CodeForbidden:          http.StatusForbidden,
	models.CodeCSRF:               http.StatusForbidden,
	models.CodeNotFound:           http.StatusNotFound,
	models.CodeAlreadyExists:      http.StatusConflict,
	models.CodeIllegalTransition:  http.StatusConflict,
	models.CodeRoleNotAllowed:     http.StatusForbidden,
	models.CodeGuardFailed:        http.StatusUnprocessableEntity,
	models.CodeVersionConflict:    http.StatusConflict,
	models.CodeCaseClosed:         http.StatusConflict,
	models.CodeSequenceGap:        http.StatusConflict,
	models.CodeConflictResolved:   http.StatusConflict,
	models.CodeEvidenceMissing:    http.StatusUnprocessableEntity,
	models.CodeHashMismatch:       http.StatusUnprocessableEntity,
	models.CodeImageInvalid:       http.StatusUnprocessableEntity,
	models.CodeImageTooLarge:      http.StatusRequestEntityTooLarge,
	models.CodeUnsupportedImage:   http.StatusUnsupportedMediaType,
	models.CodeUploadTooLarge:     http.StatusRequestEntityTooLarge,
	models.CodeProofRequired:      http.StatusForbidden,
	models.CodeUnavailable:        http.StatusServiceUnavailable,
	models.CodeInternal:           http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for a code (500 for an unknown one).
func StatusOf(code models.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem details body with fieldsync's extensions.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Hint      string `json:"hint,omitempty"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// problemFor turns any error into a problem body. Only *models.Error messages
// reach clients; anything else is an internal error whose cause stays in the log.
func problemFor(err error, requestID string) (Problem, bool) {
	var me *models.Error
	internal := false
	if !errors.As(err, &me) {
		var sc echo.HTTPStatusCoder
		if errors.As(err, &sc) {
			me = httpErrorToModel(sc.StatusCode(), err)
		} else {
			me = &models.Error{Code: models.CodeInternal, Message: "internal error"}
			internal = true
		}
	}
	status := StatusOf(me.Code)
	if me.Code == models.CodeInternal || me.Code == models.CodeUnavailable {
		internal = true
	}
	msg := me.Message
	if me.Code == models.CodeInternal {
		msg = "internal error; quote the request id when reporting it"
	}
	return Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: msg,
		Code: string(me.Code), Hint: me.Hint, Field: me.Field, RequestID: requestID}, internal
}

// httpErrorToModel maps Echo's own errors (no route, method not allowed) to codes.
func httpErrorToModel(status int, cause error) *models.Error {
	switch status {
	case http.StatusNotFound:
		return models.Errorf(models.CodeNotFound, "no such resource")
	case http.StatusMethodNotAllowed:
		return models.Errorf(models.CodeNotFound, "method not allowed here")
	case http.StatusRequestEntityTooLarge:
		return models.Errorf(models.CodeBodyTooLarge, "the request body is too large")
	case http.StatusUnsupportedMediaType:
		return models.Errorf(models.CodeUnsupportedMedia, "unsupported content type")
	case http.StatusUnauthorized:
		return models.Errorf(models.CodeUnauthenticated, "authentication required")
	case http.StatusForbidden:
		return models.Errorf(models.CodeForbidden, "forbidden")
	case http.StatusServiceUnavailable:
		return models.Errorf(models.CodeUnavailable, "service unavailable")
	}
	if status >= 400 && status < 500 {
		return models.Errorf(models.CodeInvalidInput, "%s", http.StatusText(status))
	}
	return &models.Error{Code: models.CodeInternal, Message: "internal error", Cause: cause}
}

// writeProblem writes a problem body for err. The internal cause, if any, is
// logged exactly once here, with the request id.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	rid := requestIDOf(r)
	p, internal := problemFor(err, rid)
	if internal {
		log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// errorHandler is Echo's error handler: every error becomes a problem body.
func (a *API) errorHandler(c *echo.Context, err error) {
	if resp, uErr := echo.UnwrapResponse(c.Response()); uErr == nil && resp.Committed {
		return
	}
	writeProblem(c.Response(), c.Request(), a.log, err)
}

// Codes lists every code the status table knows, for tests that check other
// tables against it.
func Codes() []models.Code {
	out := make([]models.Code, 0, len(statusOf))
	for c := range statusOf {
		out = append(out, c)
	}
	return out
}
