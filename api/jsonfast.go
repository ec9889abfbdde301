package api

import (
	gojson "github.com/goccy/go-json"
	"github.com/labstack/echo/v5"
)

// fastJSON is Echo's JSON serializer for responses. Pull pages are the hot
// path (a thousand cases per page) and github.com/goccy/go-json encodes the
// same output as encoding/json at a fraction of its CPU (sonic, which
// decodes requests in decodeJSON, encoded a pull page in twice go-json's
// time). Requests go through decodeJSON, not Deserialize.
type fastJSON struct{}

// Serialize writes i as JSON.
func (fastJSON) Serialize(c *echo.Context, i any, indent string) error {
	enc := gojson.NewEncoder(c.Response())
	if indent != "" {
		enc.SetIndent("", indent)
	}
	return enc.Encode(i)
}

// Deserialize reads the request body into i (unused by our handlers, which
// call decodeJSON; kept for Echo's binder).
func (fastJSON) Deserialize(c *echo.Context, i any) error {
	return gojson.NewDecoder(c.Request().Body).Decode(i)
}
