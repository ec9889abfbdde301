package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

// CreateUser inserts u; an existing username or id gives CodeAlreadyExists.
func (d *DB) CreateUser(ctx context.Context, u models.User) error {
	row := toUserRow(u)
	if err := d.credentialsChanged(d.write(ctx, func(g *gorm.DB) error { return g.Create(&row).Error })); err != nil {
		return exists(err, "a user with this username already exists")
	}
	return nil
}

// UserByID returns a user or ErrNotFound.
func (d *DB) UserByID(ctx context.Context, id uuid.UUID) (models.User, error) {
	var row userRow
	if err := d.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.User{}, lookupErr(err, "user", id)
	}
	return row.model(), nil
}

// UserByUsername returns the user with exactly this username or ErrNotFound.
func (d *DB) UserByUsername(ctx context.Context, username string) (models.User, error) {
	var row userRow
	if err := d.read(ctx).Where("username = ?", username).Take(&row).Error; err != nil {
		return models.User{}, lookupErr(err, "user", username)
	}
	return row.model(), nil
}

// ListUsers returns every user ordered by username.
func (d *DB) ListUsers(ctx context.Context) ([]models.User, error) {
	var rows []userRow
	if err := d.read(ctx).Order("username").Find(&rows).Error; err != nil {
		return nil, dbErr(err)
	}
	out := make([]models.User, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// SetUserGrids replaces the grids bound to a user; duplicates are ignored.
func (d *DB) SetUserGrids(ctx context.Context, userID uuid.UUID, grids []string) error {
	grids = slices.Clone(grids)
	slices.Sort(grids)
	grids = slices.Compact(grids)
	return d.credentialsChanged(d.writeTx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("id = ?", userID).Count(&n).Error; err != nil {
			return dbErr(err)
		}
		if n == 0 {
			return notFound("user", userID)
		}
		if err := tx.Where("user_id = ?", userID).Delete(&userGridRow{}).Error; err != nil {
			return dbErr(err)
		}
		if len(grids) == 0 {
			return nil
		}
		rows := make([]userGridRow, len(grids))
		for i, g := range grids {
			rows[i] = userGridRow{UserID: userID, GridCode: g}
		}
		return dbErr(tx.CreateInBatches(rows, batchSize).Error)
	}))
}

// UserGrids returns the grid codes bound to a user, sorted.
func (d *DB) UserGrids(ctx context.Context, userID uuid.UUID) ([]string, error) {
	var grids []string
	err := d.read(ctx).Model(&userGridRow{}).Where("user_id = ?", userID).Order("grid_code").
		Pluck("grid_code", &grids).Error
	return grids, dbErr(err)
}

// CreateDevice inserts a device; its id and token hash must be new.
func (d *DB) CreateDevice(ctx context.Context, dev models.Device) error {
	row := toDeviceRow(dev)
	if err := d.write(ctx, func(g *gorm.DB) error { return g.Omit("PendingAcks").Create(&row).Error }); err != nil {
		return exists(err, "the device is already enrolled")
	}
	return nil
}

// DeviceByID returns a device (without PendingAcks) or ErrNotFound.
func (d *DB) DeviceByID(ctx context.Context, id uuid.UUID) (models.Device, error) {
	var row deviceRow
	if err := d.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Device{}, lookupErr(err, "device", id)
	}
	return row.model(), nil
}

// DeviceByTokenHash returns the device whose token hashes to hash, revoked or
// not (the caller refuses revoked ones), or ErrNotFound.
func (d *DB) DeviceByTokenHash(ctx context.Context, hash string) (models.Device, error) {
	var row deviceRow
	if hash == "" {
		return models.Device{}, notFound("device", "token")
	}
	if err := d.read(ctx).Where("token_hash = ?", hash).Take(&row).Error; err != nil {
		return models.Device{}, lookupErr(err, "device", "token")
	}
	return row.model(), nil
}

// ListDevices returns every device, oldest first, with PendingAcks counted.
func (d *DB) ListDevices(ctx context.Context) ([]models.Device, error) {
	var rows []deviceRow
	err := d.read(ctx).Model(&deviceRow{}).
		Select("devices.*, (SELECT count(*) FROM outcomes o WHERE o.device_id = devices.id AND o.seq > 0 AND NOT o.acked) AS pending_acks").
		Order("created_at, id").Find(&rows).Error
	if err != nil {
		return nil, dbErr(err)
	}
	out := make([]models.Device, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// RevokeDevice marks a device revoked at at; ErrNotFound when it does not exist.
func (d *DB) RevokeDevice(ctx context.Context, id uuid.UUID, at time.Time) error {
	return d.credentialsChanged(d.write(ctx, func(g *gorm.DB) error {
		return affected(g.Model(&deviceRow{}).Where("id = ?", id).Update("revoked_at", ts(at)), "device", id)
	}))
}

// TouchDevice records a pull: its time, the clock offset and the cursor's
// change sequence.
func (d *DB) TouchDevice(ctx context.Context, id uuid.UUID, pulledAt time.Time, offset time.Duration, seq int64) error {
	return d.write(ctx, func(g *gorm.DB) error {
		return affected(g.Model(&deviceRow{}).Where("id = ?", id).Updates(map[string]any{
			"last_pull_at":  ts(pulledAt),
			"clock_offset":  int64(offset),
			"last_pull_seq": seq,
		}), "device", id)
	})
}

// CreateSession stores a session; its id must be new.
func (d *DB) CreateSession(ctx context.Context, s models.Session) error {
	row := sessionRow{ID: s.ID, UserID: s.UserID, CSRFToken: s.CSRFToken, CreatedAt: ts(s.CreatedAt), ExpiresAt: ts(s.ExpiresAt)}
	if err := d.write(ctx, func(g *gorm.DB) error { return g.Create(&row).Error }); err != nil {
		return exists(err, "the session already exists")
	}
	return nil
}

// SessionByID returns a session, expired or not (the caller checks ExpiresAt),
// or ErrNotFound.
func (d *DB) SessionByID(ctx context.Context, id string) (models.Session, error) {
	var row sessionRow
	if err := d.read(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Session{}, lookupErr(err, "session", "id")
	}
	return models.Session{ID: row.ID, UserID: row.UserID, CSRFToken: row.CSRFToken,
		CreatedAt: utc(row.CreatedAt), ExpiresAt: utc(row.ExpiresAt)}, nil
}

// DeleteSession removes a session. Deleting one that does not exist is not an
// error, so a repeated logout succeeds.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	return d.credentialsChanged(d.write(ctx, func(g *gorm.DB) error {
		return dbErr(g.Where("id = ?", id).Delete(&sessionRow{}).Error)
	}))
}

// lookupErr maps a failed single-row read: no row is ErrNotFound naming what
// was looked for.
func lookupErr(err error, what string, key any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return notFound(what, key)
	}
	return dbErr(err)
}

// affected maps the result of an update of one row by key.
func affected(res *gorm.DB, what string, key any) error {
	if res.Error != nil {
		return dbErr(res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound(what, key)
	}
	return nil
}

// batchSize is how many rows one INSERT carries. No table has more than 50
// columns, so a batch stays below SQLite's 32766 bind parameters and
// PostgreSQL's 65535.
const batchSize = 500
