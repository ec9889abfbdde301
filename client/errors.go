package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// APIError is a refusal from the server: its HTTP status and the problem body's
// stable code, message and hint. It unwraps to a *models.Error, so
// models.ErrorCode works on it.
type APIError struct {
	Status    int
	Code      models.Code
	Message   string
	Hint      string
	Field     string
	RequestID string
}

// Error renders the code, the message and the hint for a person to read.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	if e.Code == models.CodeInternal && e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns the refusal as a domain error.
func (e *APIError) Unwrap() error {
	return &models.Error{Code: e.Code, Message: e.Message, Hint: e.Hint, Field: e.Field}
}

// apiError builds an APIError from a non-2xx response body. A body that is not
// a problem document (a proxy's HTML page, say) still yields a code derived
// from the status.
func apiError(status int, body []byte) *APIError {
	var p problem
	_ = json.Unmarshal(body, &p)
	e := &APIError{Status: status, Code: models.Code(p.Code), Message: p.Detail, Hint: p.Hint, Field: p.Field, RequestID: p.RequestID}
	if e.Code == "" {
		switch {
		case status == http.StatusNotFound:
			e.Code = models.CodeNotFound
		case status == http.StatusUnauthorized:
			e.Code = models.CodeUnauthenticated
		case status == http.StatusForbidden:
			e.Code = models.CodeForbidden
		case status >= 500:
			e.Code = models.CodeUnavailable
		default:
			e.Code = models.CodeInvalidInput
		}
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("the server answered %d %s", status, http.StatusText(status))
	}
	return e
}

// transient reports whether err is worth retrying with the same request: the
// network failed, or the server said it could not handle the request now
// (5xx, 408, 429). A cancelled context is never transient.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusRequestTimeout || ae.Status == http.StatusTooManyRequests
	}
	var me *models.Error
	if errors.As(err, &me) {
		return false
	}
	return true
}

// ErrNotEnrolled is returned by the network operations of a client that has
// no server URL or device token.
var ErrNotEnrolled = &models.Error{Code: models.CodeUnauthenticated, Message: "this tablet is not enrolled",
	Hint: "enroll it with the server URL and the device token an administrator issued"}
