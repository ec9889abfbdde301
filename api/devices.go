package api

import (
	"net/http"
	"strings"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// DeviceList lists devices and their sync health.
type DeviceList struct {
	Items []DeviceDTO `json:"items"`
}

func (a *API) listDevices(c *echo.Context) error {
	if _, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin); err != nil {
		return err
	}
	ctx := c.Request().Context()
	devs, err := a.d.Store.ListDevices(ctx)
	if err != nil {
		return err
	}
	users, err := a.d.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	res := DeviceList{Items: make([]DeviceDTO, 0, len(devs))}
	for _, d := range devs {
		res.Items = append(res.Items, deviceDTO(d, names[d.UserID], a.d.SkewThreshold))
	}
	return ok(c, res)
}

// EnrollRequest enrols a device for a field user.
type EnrollRequest struct {
	Username string `json:"username"`
	Name     string `json:"name"`
}

// EnrollResponse shows the device token once; only its hash is stored.
type EnrollResponse struct {
	Device DeviceDTO `json:"device"`
	Token  string    `json:"token"`
}

func (a *API) enrollDevice(c *echo.Context) error {
	if _, err := requireRole(c, models.RoleAdmin, models.RoleSupervisor); err != nil {
		return err
	}
	var req EnrollRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := a.d.Store.UserByUsername(ctx, strings.TrimSpace(req.Username))
	if models.IsNotFound(err) {
		return models.Errorf(models.CodeInvalidInput, "no user %q", req.Username).WithField("username")
	} else if err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return models.Errorf(models.CodeInvalidInput, "name the device (e.g. the tablet's asset tag)").WithField("name")
	}
	d, tok, err := auth.EnrollDevice(ctx, a.d.Store, u, req.Name, a.now())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, EnrollResponse{Device: deviceDTO(d, u.Username, a.d.SkewThreshold), Token: tok})
}

func (a *API) revokeDevice(c *echo.Context) error {
	if _, err := requireRole(c, models.RoleAdmin, models.RoleSupervisor); err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	if err := a.d.Store.RevokeDevice(c.Request().Context(), id, a.now().UTC()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
