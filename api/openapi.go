package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v5"
)

// OpenAPIDocument is the OpenAPI 3.1 description of /api/v1.
//
//go:embed openapi/openapi.json
var OpenAPIDocument []byte

func (a *API) openapi(c *echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "application/json", OpenAPIDocument)
}
