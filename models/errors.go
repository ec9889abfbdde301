package models

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. Clients switch on it; it never
// changes meaning once published. The api package maps each code to one HTTP status.
type Code string

// The stable error codes. Add new ones at the end of their group; never rename.
const (
	// Input.
	CodeInvalidJSON      Code = "invalid_json"
	CodeUnknownField     Code = "unknown_field"
	CodeInvalidInput     Code = "invalid_input"
	CodeUnknownCategory  Code = "unknown_category"
	CodeInvalidLocation  Code = "invalid_location"
	CodeBodyTooLarge     Code = "body_too_large"
	CodeInvalidCursor    Code = "invalid_cursor"
	CodeUnsupportedMedia Code = "unsupported_media_type"

	// Identity and permission.
	CodeUnauthenticated    Code = "unauthenticated"
	CodeInvalidToken       Code = "invalid_token"
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeDeviceRevoked      Code = "device_revoked"
	CodeForbidden          Code = "forbidden"
	CodeCSRF               Code = "csrf_failed"

	// Existence and state.
	CodeNotFound          Code = "not_found"
	CodeAlreadyExists     Code = "already_exists"
	CodeIllegalTransition Code = "illegal_transition"
	CodeRoleNotAllowed    Code = "role_not_allowed"
	CodeGuardFailed       Code = "guard_failed"
	CodeVersionConflict   Code = "version_conflict"
	CodeCaseClosed        Code = "case_closed"
	CodeSequenceGap       Code = "sequence_gap"
	CodeConflictResolved  Code = "conflict_already_resolved"
	CodeEvidenceMissing   Code = "evidence_missing"
	CodeHashMismatch      Code = "hash_mismatch"
	CodeImageInvalid      Code = "image_invalid"
	CodeImageTooLarge     Code = "image_too_large"
	CodeUnsupportedImage  Code = "unsupported_image"
	CodeUploadTooLarge    Code = "upload_too_large"
	CodeProofRequired     Code = "proof_required"

	// Server side.
	CodeUnavailable Code = "unavailable"
	CodeInternal    Code = "internal"
)

// Error is a domain error: a stable code, a message safe to show to a client, an
// optional hint on what to do about it and the field it concerns. Cause is the
// internal error behind it; it is logged, never sent to a client.
type Error struct {
	Code    Code
	Message string
	Hint    string
	Field   string
	Cause   error
}

// Error implements error. It includes the cause so logs keep it.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with code and a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns a copy of e with hint set.
func (e *Error) WithHint(hint string) *Error {
	c := *e
	c.Hint = hint
	return &c
}

// WithField returns a copy of e naming the offending field.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}

// ErrorCode returns the code of err: the code of the first *Error in its chain,
// or CodeInternal for anything else (and "" for nil).
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsNotFound reports whether err carries CodeNotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }
