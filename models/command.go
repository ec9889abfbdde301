package models

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// CommandKind is what a sync command does.
type CommandKind string

// Command kinds. Devices send the first five; the console also sends
// resolve_conflict and withdraw_photo. Every change to a case is one of these.
const (
	CmdCreateCase      CommandKind = "create_case"
	CmdEditFields      CommandKind = "edit_fields"
	CmdAction          CommandKind = "action"
	CmdAddComment      CommandKind = "add_comment"
	CmdAddPhoto        CommandKind = "add_photo"
	CmdResolveConflict CommandKind = "resolve_conflict"
	CmdWithdrawPhoto   CommandKind = "withdraw_photo"
)

// Command is one change a device or the console asks for. Devices number their
// commands with an increasing Seq; the server applies them in that order,
// exactly once.
type Command struct {
	ID          uuid.UUID // UUIDv7 minted by the client
	Seq         int64     // the device's own sequence number; 0 from the console
	Kind        CommandKind
	CaseID      uuid.UUID
	BaseVersion int64     // the case version the client saw (0 for create_case)
	ClientTime  time.Time // device clock, raw; never used for ordering

	// Payloads; which are set depends on Kind.
	Create   *CaseDraft        // create_case
	Fields   map[string]string // edit_fields: field name → new value (see EditableFields)
	Action   Action            // action
	Params   ActionParams      // action
	Comment  string            // add_comment (and a note with any other kind)
	Photo    *PhotoRecord      // add_photo
	Resolve  *Resolution       // resolve_conflict
	Withdraw *PhotoWithdrawal  // withdraw_photo
}

// PhotoWithdrawal is what a withdraw_photo command carries. Evidence is never
// deleted or changed: a supervisor withdraws a photo (taken by mistake, of
// the wrong case, showing a bystander) with a reason, the photo stays stored
// byte for byte, and its record says it was withdrawn and why.
type PhotoWithdrawal struct {
	PhotoID uuid.UUID
	Reason  string
}

// MaxWithdrawReason is the longest reason a withdrawal may give, in characters.
const MaxWithdrawReason = 500

// CaseDraft is what a create_case command carries.
type CaseDraft struct {
	Category    string
	Description string
	Location    Location
	Party       string
	Quantity    *float64
	Source      Source
	Photos      []uuid.UUID // photos named for the submit guard
	// PhotoRecords are photo metadata sent inside the create_case, as if each
	// were an add_photo command just before it: one command per report.
	PhotoRecords []PhotoRecord
	Submit       bool // create and submit at once (devices always do)
	LinkedCase   uuid.UUID
}

// EditableFields are the descriptive fields an edit_fields command may change.
// Workflow and assignment fields change only through actions.
var EditableFields = []string{"category", "description", "address", "lat", "lon", "accuracy", "party", "quantity"}

// OutcomeStatus is what happened to a command.
type OutcomeStatus string

// Outcome statuses.
const (
	OutcomeApplied         OutcomeStatus = "applied"
	OutcomeMerged          OutcomeStatus = "merged"
	OutcomeConflict        OutcomeStatus = "conflict"
	OutcomeRejected        OutcomeStatus = "rejected"
	OutcomeEvidencePending OutcomeStatus = "evidence_pending"
)

// Outcome is the server's answer to one command. It is stored with the device's
// sequence number so a replayed command gets the same answer.
type Outcome struct {
	DeviceID   uuid.UUID
	Seq        int64
	CommandID  uuid.UUID
	CaseID     uuid.UUID
	Status     OutcomeStatus
	Version    int64             // case version after the command (applied, merged, conflict)
	Final      map[string]string // merged: the final values of the fields the command touched
	ConflictID []uuid.UUID       // conflict: the conflict records
	Code       Code              // rejected: stable code
	Reason     string            // rejected: human-readable
	Hint       string            // rejected: what to do
	Field      string            // rejected: the input it concerns, when one (not stored)
	Pending    []uuid.UUID       // evidence_pending: photos still missing
	At         time.Time
	Acked      bool
}

// ConflictKind says what kind of disagreement a conflict record holds.
type ConflictKind string

// Conflict kinds.
const (
	ConflictField       ConflictKind = "field"            // the same field changed on both sides
	ConflictEditClosed  ConflictKind = "edit_after_close" // an offline edit reached a closed or voided case
	ConflictActionStale ConflictKind = "action_after_close"
)

// ConflictStatus is whether a person has looked at a conflict yet.
type ConflictStatus string

// Conflict statuses.
const (
	ConflictOpen     ConflictStatus = "open"
	ConflictResolved ConflictStatus = "resolved"
)

// Conflict is a value set aside: what was kept, what was not, and who wrote each.
// Nothing overwritten is ever lost: it is either in the case or in one of these.
type Conflict struct {
	ID       uuid.UUID
	CaseID   uuid.UUID
	Kind     ConflictKind
	Field    string
	Base     string // the value both sides started from
	Kept     string // the value that stands in the case
	SetAside string // the value that did not
	// Who wrote each side.
	KeptBy        Authorship
	SetAsideBy    Authorship
	CommandID     uuid.UUID       // the command whose value was set aside
	Payload       json.RawMessage // edit_after_close: the whole command, so nothing is lost
	Status        ConflictStatus
	Resolution    string // kept, set_aside or new
	ResolvedValue string
	ResolvedBy    uuid.UUID
	ResolvedAt    *time.Time
	CreatedAt     time.Time
	ChangeSeq     int64
}

// Authorship says who wrote a value, when, and from which device.
type Authorship struct {
	UserID   uuid.UUID
	Name     string
	Role     Role
	DeviceID uuid.UUID
	Version  int64
	At       time.Time
}

// Resolution is how a clerk resolves a conflict record.
type Resolution struct {
	ConflictID uuid.UUID
	Take       string // "kept", "set_aside" or "new"
	Value      string // with "new"
}

// PhotoRecord is the metadata of an evidence photo. Its bytes arrive separately
// (resumable upload) and are verified against SHA256.
type PhotoRecord struct {
	ID         uuid.UUID
	CaseID     uuid.UUID
	Stage      string // report, self_handle, report_done, check
	Type       PhotoType
	SHA256     string // hex, computed on the device at capture
	Size       int64
	CapturedAt *time.Time // device clock
	GPS        *PhotoGPS
	AppVersion string
	UploaderID uuid.UUID
	DeviceID   uuid.UUID
	CreatedAt  time.Time

	// Set by the server once the bytes arrive.
	Verified     bool
	ReceivedAt   *time.Time
	ContentType  string
	Width        int
	Height       int
	EXIF         *EXIFInfo
	Flags        []string // e.g. far_from_case, time_skew, exif_gps_invalid
	ThumbSmall   string   // content hash of the ~320 px thumbnail
	ThumbLarge   string   // content hash of the ~1280 px thumbnail
	Deleted      bool
	DeleteReason string
	ChangeSeq    int64
}

// PhotoGPS is the fix a device recorded with a photo.
type PhotoGPS struct {
	Lat, Lon, Accuracy, Altitude, Bearing float64
	Source                                string // gps, network, fused
	Mock                                  bool   // the OS reported a mock location
	CoordSys                              string // wgs84 (default), gcj02 or bd09: converted on input
}

// EXIFInfo is what the server read from a photo's EXIF, validated.
type EXIFInfo struct {
	Lat, Lon, Altitude *float64
	TakenAt            *time.Time
	OffsetTime         string
	Orientation        int
	Make, Model        string
}
