package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/fieldsync/fieldsync/api"
)

// Every test that talks to a server through Env checks each response against
// the OpenAPI document the server publishes, so the document cannot drift from
// the Go DTOs without a test failing. Requests are not validated: tests send
// bad requests on purpose.
func init() { Hook = ValidateOpenAPI }

// openAPIValidator is the document prepared for response validation.
type openAPIValidator struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	openAPIOnce sync.Once
	openAPIVal  *openAPIValidator
	openAPIErr  error
)

// loadOpenAPI loads api.OpenAPIDocument once, in its strict form.
func loadOpenAPI() (*openAPIValidator, error) {
	openAPIOnce.Do(func() { openAPIVal, openAPIErr = newOpenAPIValidator(api.OpenAPIDocument) })
	return openAPIVal, openAPIErr
}

// StrictOpenAPI returns the document with additionalProperties: false on every
// component schema that lists properties and leaves additionalProperties
// open. The published document stays open so clients tolerate new fields;
// the tests use the strict one so that a field the server sends but the
// document does not name fails them.
func StrictOpenAPI(doc []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	comps, _ := m["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	for _, v := range schemas {
		s, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if _, has := s["properties"]; !has {
			continue
		}
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
	}
	return json.Marshal(m)
}

func newOpenAPIValidator(raw []byte) (*openAPIValidator, error) {
	strict, err := StrictOpenAPI(raw)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(strict)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	// kin-openapi checks only date and date-time by default; ids are UUIDs.
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &openAPIValidator{doc: doc, router: router}, nil
}

// ValidateOpenAPI is the Hook: it fails t unless r's response is what the
// OpenAPI document says its route answers (status, content type and, for
// JSON, the body). tus uploads are skipped (tusd owns that protocol), and so
// are paths outside /api/v1 the document does not name (console assets).
func ValidateOpenAPI(t testing.TB, r Response) {
	t.Helper()
	if r.Request == nil || r.Request.URL == nil {
		return
	}
	path := r.Request.URL.Path
	if path == "/api/v1/uploads" || strings.HasPrefix(path, "/api/v1/uploads/") {
		return
	}
	v, err := loadOpenAPI()
	if err != nil {
		t.Errorf("openapi: %v", err)
		return
	}
	if err := v.check(r); err != nil {
		if errors.Is(err, errNotDocumented) {
			return
		}
		t.Errorf("openapi: %s %s answered %d, which the document does not allow: %v", r.Request.Method, path, r.StatusCode, err)
	}
}

var errNotDocumented = errors.New("not an API path")

// check validates one exchange; errNotDocumented means it is none of the
// document's business.
func (v *openAPIValidator) check(r Response) error {
	req := r.Request
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
			return errNotDocumented
		}
		// The server must refuse a path or method it does not have with a
		// not_found problem (Echo's 405 is mapped to it).
		if r.StatusCode != http.StatusNotFound {
			return fmt.Errorf("no documented route (%v), yet the status is not 404", err)
		}
		return v.checkProblem(r)
	}
	jsonBody := isJSON(r.Header.Get("Content-Type"))
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		// Thumbnails, originals, metrics and the event stream are checked by
		// status and content type only.
		ExcludeResponseBody:     !jsonBody,
		SchemaValidationOptions: v.doc.GetSchemaValidationOptions(),
	}
	opts.WithCustomSchemaErrorFunc(shortSchemaError)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: opts,
		},
		Status:  r.StatusCode,
		Header:  r.Header,
		Body:    io.NopCloser(bytes.NewReader(r.Body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	if !jsonBody {
		return checkContentType(route, r)
	}
	return nil
}

// checkContentType checks a non-JSON response's content type against the
// operation's, which ValidateResponse skips along with the body.
func checkContentType(route *routers.Route, r Response) error {
	resp := route.Operation.Responses.Status(r.StatusCode)
	if resp == nil || resp.Value == nil {
		// ValidateResponse refused an undocumented status already, or it
		// is one it never checks (304).
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if len(resp.Value.Content) == 0 {
		if len(r.Body) > 0 {
			return fmt.Errorf("status %d is documented without a body, got %d bytes of %q", r.StatusCode, len(r.Body), ct)
		}
		return nil
	}
	if resp.Value.Content.Get(ct) == nil {
		return fmt.Errorf("content type %q is not documented for status %d", ct, r.StatusCode)
	}
	return nil
}

// checkProblem validates a response that no documented route produced: it
// must be a problem body.
func (v *openAPIValidator) checkProblem(r Response) error {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/problem+json" {
		return fmt.Errorf("content type %q, want application/problem+json", r.Header.Get("Content-Type"))
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	problem := v.doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value == nil {
		return errors.New("the document has no Problem schema")
	}
	opts := append(v.doc.GetSchemaValidationOptions(), openapi3.MultiErrors(), openapi3.VisitAsResponse(),
		openapi3.EnableJSONSchema2020(), openapi3.SetSchemaErrorMessageCustomizer(shortSchemaError))
	return problem.Value.VisitJSON(body, opts...)
}

// shortSchemaError says where the body is wrong and how, without kin-openapi's
// dump of the whole schema and value, which buries the point in a large body.
func shortSchemaError(err *openapi3.SchemaError) string {
	v, _ := json.Marshal(err.Value)
	if len(v) > 200 {
		v = append(v[:200], "…"...)
	}
	return fmt.Sprintf("at /%s: %s (value %s)", strings.Join(err.JSONPointer(), "/"), err.Reason, v)
}

func isJSON(contentType string) bool {
	ct, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}
