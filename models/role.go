package models

import (
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Role is what a user does in the system; it decides which workflow actions they
// may take and which cases they see.
type Role string

// The roles of the domain reference.
const (
	RoleInspector   Role = "inspector"
	RoleGridWorker  Role = "grid_worker"
	RoleClerk       Role = "clerk"
	RoleSupervisor  Role = "supervisor"
	RoleUnitHandler Role = "unit_handler"
	RoleAdmin       Role = "admin"
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleInspector, RoleGridWorker, RoleClerk, RoleSupervisor, RoleUnitHandler, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// IsOffice reports whether r works in the web console (password login) rather
// than on an enrolled device.
func (r Role) IsOffice() bool {
	return r == RoleClerk || r == RoleSupervisor || r == RoleAdmin
}

// Actor is who performs a request or command: a user, the role they act in, the
// device they use (uuid.Nil from the console) and the scope they see.
type Actor struct {
	UserID   uuid.UUID
	Username string
	Name     string
	Role     Role
	DeviceID uuid.UUID
	Scope    Scope
}

// FromDevice reports whether the actor acts through an enrolled device.
func (a Actor) FromDevice() bool { return a.DeviceID != uuid.Nil }

// Scope is the set of cases a user may see and act on. It is derived from the
// user's role, org path, grids and unit (see ScopeFor); a case is visible when
// any clause covers it.
//
// The visibility table (the domain reference names one but leaves it to us):
//
//	admin        all cases
//	supervisor   cases under their org path (district level: all)
//	clerk        cases under their org path (district centre: all)
//	inspector    cases under their org path (their town or squad area), and cases they reported
//	grid_worker  cases in their responsibility grids, and cases they reported
//	unit_handler cases dispatched to their unit
type Scope struct {
	All         bool
	OrgPrefixes []string // org paths; a case whose OrgPath equals or descends from one is covered
	Grids       []string // grid codes
	UnitIDs     []string // responsible units
	ReporterID  uuid.UUID
}

// ScopeFor derives the scope of a user from their role and assignments.
func ScopeFor(u User, grids []string) Scope {
	switch u.Role {
	case RoleAdmin:
		return Scope{All: true}
	case RoleSupervisor, RoleClerk:
		if u.OrgPath == "" || !strings.Contains(u.OrgPath, "/") {
			// District level (or no org given): the whole district.
			return Scope{All: true}
		}
		return Scope{OrgPrefixes: []string{u.OrgPath}}
	case RoleInspector:
		s := Scope{ReporterID: u.ID}
		if u.OrgPath != "" {
			s.OrgPrefixes = []string{u.OrgPath}
		}
		return s
	case RoleGridWorker:
		// Reporters must see their own reports come back (ask_more, resubmit)
		// even when the point fell outside their grids.
		return Scope{Grids: slices.Clone(grids), ReporterID: u.ID}
	case RoleUnitHandler:
		if u.UnitID != "" {
			return Scope{UnitIDs: []string{u.UnitID}}
		}
	}
	return Scope{}
}

// Covers reports whether the scope includes a case with the given attributes.
func (s Scope) Covers(c *Case) bool {
	if c == nil {
		return false
	}
	if s.All {
		return true
	}
	for _, p := range s.OrgPrefixes {
		if PathWithin(c.OrgPath, p) {
			return true
		}
	}
	if c.GridCode != "" && slices.Contains(s.Grids, c.GridCode) {
		return true
	}
	if c.UnitID != "" && slices.Contains(s.UnitIDs, c.UnitID) {
		return true
	}
	return s.ReporterID != uuid.Nil && c.ReporterID == s.ReporterID
}

// Empty reports whether the scope covers nothing.
func (s Scope) Empty() bool {
	return !s.All && len(s.OrgPrefixes) == 0 && len(s.Grids) == 0 && len(s.UnitIDs) == 0 && s.ReporterID == uuid.Nil
}

// Fingerprint is a stable string that changes whenever the scope changes. Sync
// cursors carry it so a device whose scope changed starts again from zero.
func (s Scope) Fingerprint() string {
	if s.All {
		return "all"
	}
	var b strings.Builder
	for _, part := range [][]string{sortedCopy(s.OrgPrefixes), sortedCopy(s.Grids), sortedCopy(s.UnitIDs)} {
		b.WriteString(strings.Join(part, ","))
		b.WriteByte('|')
	}
	if s.ReporterID != uuid.Nil {
		b.WriteString(s.ReporterID.String())
	}
	return b.String()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// PathWithin reports whether org path p equals prefix or lies below it.
// Paths are slash-separated codes, "370402/370402101/370402101001".
func PathWithin(p, prefix string) bool {
	if prefix == "" {
		return false
	}
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}
