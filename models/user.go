package models

import (
	"time"

	"github.com/google/uuid"
)

// User is a person who logs in: office staff with a password, field staff
// through their enrolled devices.
type User struct {
	ID           uuid.UUID
	Username     string
	Name         string
	Role         Role
	OrgPath      string // where in the org tree they work
	UnitID       string // for unit handlers
	PasswordHash string // argon2id/bcrypt encoded; "" for users who only use devices
	Disabled     bool
	CreatedAt    time.Time
}

// Device is an enrolled tablet or phone. Its bearer token is stored only as a hash.
type Device struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Name      string
	TokenHash string
	CreatedAt time.Time
	RevokedAt *time.Time

	// Sync state.
	LastSeq     int64 // highest command sequence number applied (the high-water mark)
	LastPushAt  *time.Time
	LastPullAt  *time.Time
	ClockOffset time.Duration // server time − device time at the last exchange
	AppVersion  string
	Rejected    int64 // commands rejected so far
	Conflicted  int64 // commands that produced a conflict record
	PendingAcks int64 // outcomes not yet acknowledged (derived on read)
	LastPullSeq int64 // change sequence of the device's last pull cursor
}

// Revoked reports whether the device may no longer sync.
func (d *Device) Revoked() bool { return d.RevokedAt != nil }

// Session is a logged-in office user: a bearer token or console cookie.
type Session struct {
	ID        string // hash of the token
	UserID    uuid.UUID
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}
