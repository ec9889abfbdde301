package models

import (
	"math"
	"time"

	"github.com/google/uuid"
)

// State is a case's place in the workflow.
type State string

// The workflow states of the domain reference.
const (
	StateReported         State = "reported"          // 待受理
	StateNeedsInfo        State = "needs_info"        // 退回补充
	StateVerifying        State = "verifying"         // 待核实
	StateRegistered       State = "registered"        // 已立案
	StateDispatched       State = "dispatched"        // 已派遣
	StateReturned         State = "returned"          // 已回退
	StateExtensionPending State = "extension_pending" // 延期/挂账申请中
	StateSuspended        State = "suspended"         // 挂账
	StateHandled          State = "handled"           // 已处置
	StateChecking         State = "checking"          // 核查中
	StateClosed           State = "closed"            // 已结案
	StateVoided           State = "voided"            // 已作废
)

// States lists every state in workflow order.
var States = []State{
	StateReported, StateNeedsInfo, StateVerifying, StateRegistered, StateDispatched, StateReturned,
	StateExtensionPending, StateSuspended, StateHandled, StateChecking, StateClosed, StateVoided,
}

// StateLabelsZH are the Chinese labels the console and exports show.
var StateLabelsZH = map[State]string{
	StateReported: "待受理", StateNeedsInfo: "退回补充", StateVerifying: "待核实", StateRegistered: "已立案",
	StateDispatched: "已派遣", StateReturned: "已回退", StateExtensionPending: "延期/挂账申请中",
	StateSuspended: "挂账", StateHandled: "已处置", StateChecking: "核查中", StateClosed: "已结案", StateVoided: "已作废",
}

// Valid reports whether s is a known state.
func (s State) Valid() bool { _, ok := StateLabelsZH[s]; return ok }

// Terminal reports whether no action leads out of s.
func (s State) Terminal() bool { return s == StateClosed || s == StateVoided }

// Location is a WGS84 point with its accuracy and a street address.
type Location struct {
	Lat, Lon float64
	Accuracy float64 // metres, 0 when unknown
	Address  string
}

// Validate checks the coordinates are finite and on the globe.
func (l Location) Validate() error {
	if math.IsNaN(l.Lat) || math.IsInf(l.Lat, 0) || l.Lat < -90 || l.Lat > 90 {
		return Errorf(CodeInvalidLocation, "latitude %v is outside -90..90", l.Lat).WithField("location.lat")
	}
	if math.IsNaN(l.Lon) || math.IsInf(l.Lon, 0) || l.Lon < -180 || l.Lon > 180 {
		return Errorf(CodeInvalidLocation, "longitude %v is outside -180..180", l.Lon).WithField("location.lon")
	}
	if math.IsNaN(l.Accuracy) || math.IsInf(l.Accuracy, 0) || l.Accuracy < 0 {
		return Errorf(CodeInvalidLocation, "accuracy must be a non-negative number of metres").WithField("location.accuracy")
	}
	return nil
}

// Source says how a case entered the system.
type Source string

// Case sources.
const (
	SourceDevice  Source = "device"  // reported by an inspector or grid worker on a tablet
	SourceHotline Source = "hotline" // 12345 hotline, entered by a clerk
	SourceWalkIn  Source = "walk_in" // a citizen at the counter, entered by a clerk
	SourceConsole Source = "console" // found by office staff
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	return s == SourceDevice || s == SourceHotline || s == SourceWalkIn || s == SourceConsole
}

// Case is one reported problem and everything the workflow did to it.
type Case struct {
	ID          uuid.UUID // UUIDv7, minted on the device (or by the server for console entries)
	Category    string    // category code, e.g. E0504
	Description string
	Location    Location
	Party       string   // shop name, stall holder, owner: whoever is responsible on site
	Quantity    *float64 // in the category's quantity unit, when it has one
	Source      Source

	// Assignment, derived from the location and the workflow.
	OrgPath       string // district/town/village[/grid] codes, slash-separated
	TownCode      string
	VillageCode   string
	GridCode      string // "" when no grid polygon contains the point (the town is responsible)
	RoadSegmentID string // nearest segment within ~30 m, or ""
	UnitID        string // responsible unit once dispatched
	AssigneeID    uuid.UUID
	RefVersion    int // version of the reference data used for the assignment

	State           State
	Deadline        *time.Time
	Disposition     string
	ReworkCount     int
	Escalated       bool
	Pending         PendingRequest // what an extension_pending case waits for
	PendingDeadline *time.Time     // the deadline an extension asks for
	HandledBy       uuid.UUID      // who reported the fix; they may not be the only checker
	ForceClosed     bool
	LinkedCase      uuid.UUID // the earlier case a recurrence or duplicate refers to

	ReporterID      uuid.UUID
	ReporterRole    Role
	DeviceID        uuid.UUID
	ClientCreatedAt time.Time // device clock, raw
	CreatedAt       time.Time // server clock
	UpdatedAt       time.Time
	DispatchedAt    *time.Time
	HandledAt       *time.Time
	ClosedAt        *time.Time
	Deleted         bool

	Version   int64 // bumped by every change; commands name the version they saw
	ChangeSeq int64 // server change sequence of the last change; sync cursors are built on it
}

// Open reports whether the case is still in the workflow.
func (c *Case) Open() bool { return !c.State.Terminal() }

// Overdue reports whether the case's deadline has passed at now while it is open.
func (c *Case) Overdue(now time.Time) bool {
	return c.Deadline != nil && c.Open() && now.After(*c.Deadline)
}

// PendingRequest is what a unit asked a supervisor to approve.
type PendingRequest string

// Pending requests.
const (
	PendingNone      PendingRequest = ""
	PendingExtension PendingRequest = "extension"
	PendingSuspend   PendingRequest = "suspend"
)

// HistoryEntry records one change to a case: a transition, an edit, a comment,
// a photo or a conflict. History is append-only.
type HistoryEntry struct {
	ID        int64
	CaseID    uuid.UUID
	Version   int64 // the case version this entry produced (0 for entries that did not change it)
	Kind      HistoryKind
	Action    Action // for transitions
	FromState State
	ToState   State
	Changes   []FieldChange // for edits: old and new value of each field
	Comment   string
	ActorID   uuid.UUID
	ActorName string
	Role      Role
	DeviceID  uuid.UUID
	CommandID uuid.UUID
	At        time.Time  // server time
	ClientAt  *time.Time // device clock, raw, as sent
	// ClockOffset is server time − device time measured at the sync that
	// carried the entry; ClientAt+ClockOffset is the corrected client time.
	ClockOffset time.Duration
	ClockSkewed bool   // |ClockOffset| beyond the skew threshold
	Note        string // e.g. "parallel update" when merged with another edit
}

// HistoryKind classifies history entries.
type HistoryKind string

// History kinds.
const (
	HistoryCreated    HistoryKind = "created"
	HistoryTransition HistoryKind = "transition"
	HistoryEdit       HistoryKind = "edit"
	HistoryComment    HistoryKind = "comment"
	HistoryPhoto      HistoryKind = "photo"
	HistoryWithdrawn  HistoryKind = "photo_withdrawn"
	HistoryConflict   HistoryKind = "conflict"
	HistoryResolved   HistoryKind = "conflict_resolved"
	HistoryFlag       HistoryKind = "flag"
	HistoryDuplicate  HistoryKind = "duplicate_merged" // on the case a voided duplicate was merged into
)

// FieldChange is one field's old and new value in an edit.
type FieldChange struct {
	Field string
	Old   string
	New   string
}

// Comment is an append-only note on a case.
type Comment struct {
	ID        uuid.UUID
	CaseID    uuid.UUID
	Body      string
	AuthorID  uuid.UUID
	Author    string
	Role      Role
	DeviceID  uuid.UUID
	CreatedAt time.Time
	ClientAt  *time.Time
	ChangeSeq int64
}
