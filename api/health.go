package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
)

// healthz answers 200 while the process serves HTTP at all.
func (a *API) healthz(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 only when the database answers and every migration is
// applied, so a load balancer holds traffic during a migration or an outage.
func (a *API) readyz(c *echo.Context) error {
	if a.d.Ready == nil {
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.d.Ready(ctx); err != nil {
		a.log.WarnContext(ctx, "not ready", "request_id", requestIDOf(c.Request()), "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": readyReason(err)})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// readyReason is the client-safe summary of a readiness failure.
func readyReason(err error) string {
	if r, ok := err.(interface{ Reason() string }); ok {
		return r.Reason()
	}
	return "database unavailable"
}
