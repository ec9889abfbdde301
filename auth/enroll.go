package auth

import (
	"context"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// EnrollDevice creates a device for user and returns it with its bearer
// token. The token is shown once: only its hash is stored.
func EnrollDevice(ctx context.Context, st models.Store, user models.User, name string, now time.Time) (models.Device, string, error) {
	if user.Role.IsOffice() {
		return models.Device{}, "", models.Errorf(models.CodeInvalidInput, "devices are for field staff; %s signs in to the console", user.Role)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return models.Device{}, "", err
	}
	tok, hash, err := NewToken(PrefixDevice)
	if err != nil {
		return models.Device{}, "", err
	}
	d := models.Device{ID: id, UserID: user.ID, Name: name, TokenHash: hash, CreatedAt: now.UTC()}
	if err := st.CreateDevice(ctx, d); err != nil {
		return models.Device{}, "", err
	}
	return d, tok, nil
}
