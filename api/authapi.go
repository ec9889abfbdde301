package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/labstack/echo/v5"
)

// LoginRequest is a password login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse carries the bearer token (also set as the console cookie) and
// the CSRF token the console sends back on unsafe requests.
type LoginResponse struct {
	Token     string    `json:"token"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      UserDTO   `json:"user"`
}

// dummyHash makes a login for an unknown user cost what a wrong password
// costs, so response times do not reveal which usernames exist.
var dummyHash, _ = auth.HashPassword("fieldsync-dummy")

func (a *API) login(c *echo.Context) error {
	var req LoginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	bad := models.Errorf(models.CodeInvalidCredentials, "wrong username or password")
	u, err := a.d.Store.UserByUsername(ctx, strings.TrimSpace(req.Username))
	if models.IsNotFound(err) {
		auth.CheckPassword(dummyHash, req.Password)
		return bad
	} else if err != nil {
		return err
	}
	if u.PasswordHash == "" || !auth.CheckPassword(u.PasswordHash, req.Password) || u.Disabled {
		return bad
	}
	if !u.Role.IsOffice() {
		return models.Errorf(models.CodeForbidden, "field staff sign in on an enrolled device").
			WithHint("ask an administrator to enrol your tablet")
	}
	tok, hash, err := auth.NewToken(auth.PrefixSession)
	if err != nil {
		return err
	}
	csrf, _, err := auth.NewToken("")
	if err != nil {
		return err
	}
	now := a.now().UTC()
	s := models.Session{ID: hash, UserID: u.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(a.d.SessionTTL)}
	if err := a.d.Store.CreateSession(ctx, s); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: a.d.SecureCookies, Expires: s.ExpiresAt})
	return c.JSON(http.StatusOK, LoginResponse{Token: tok, CSRFToken: csrf, ExpiresAt: s.ExpiresAt, User: userDTO(u)})
}

func (a *API) logout(c *echo.Context) error {
	if _, err := actorOf(c); err != nil {
		return err
	}
	if s, ok := c.Request().Context().Value(keySession).(models.Session); ok {
		if err := a.d.Store.DeleteSession(c.Request().Context(), s.ID); err != nil && !models.IsNotFound(err) {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return c.NoContent(http.StatusNoContent)
}

// MeResponse says who the caller is and what they may see.
type MeResponse struct {
	User     UserDTO  `json:"user"`
	Scope    ScopeDTO `json:"scope"`
	DeviceID string   `json:"device_id,omitempty"`
	Actions  []string `json:"roles_actions"`
}

func (a *API) me(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	u, err := a.d.Store.UserByID(c.Request().Context(), actor.UserID)
	if err != nil {
		return err
	}
	acts := []string{}
	for _, act := range models.Actions {
		for _, s := range append([]models.State{models.StateNew}, models.States...) {
			if models.Allowed(s, actor.Role, act) {
				acts = append(acts, string(act))
				break
			}
		}
	}
	resp := MeResponse{User: userDTO(u), Scope: scopeDTO(actor.Scope), Actions: acts}
	if actor.FromDevice() {
		resp.DeviceID = actor.DeviceID.String()
	}
	return ok(c, resp)
}
