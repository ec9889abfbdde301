package models

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store is the persistence port of fieldsync. The storage package implements
// it on SQLite and PostgreSQL; one contract test suite runs against both.
//
// Reads outside Update see committed data. Every write to cases, history,
// comments, photos, conflicts and outcomes goes through Update, so the effects
// of a sync batch and the device's high-water mark commit together.
type Store interface {
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// MigrationState returns the number of migrations applied and known.
	MigrationState(ctx context.Context) (applied, known int, err error)
	// Migrate applies every pending migration.
	Migrate(ctx context.Context) error
	// Close releases the database.
	Close() error

	// RefData returns the reference data set (categories, org tree, grids,
	// segments, units) with its version.
	RefData(ctx context.Context) (RefData, error)
	// PutRefData inserts or replaces every item of rd and bumps the version.
	PutRefData(ctx context.Context, rd RefData) error
	// PutCategory inserts or replaces one category and bumps the version.
	PutCategory(ctx context.Context, c Category) error

	// CreateUser inserts u; an existing username gives CodeAlreadyExists.
	CreateUser(ctx context.Context, u User) error
	UserByID(ctx context.Context, id uuid.UUID) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetUserGrids replaces the responsibility grids bound to a user.
	SetUserGrids(ctx context.Context, userID uuid.UUID, grids []string) error
	UserGrids(ctx context.Context, userID uuid.UUID) ([]string, error)

	CreateDevice(ctx context.Context, d Device) error
	DeviceByID(ctx context.Context, id uuid.UUID) (Device, error)
	DeviceByTokenHash(ctx context.Context, hash string) (Device, error)
	// ListDevices returns every device with PendingAcks filled in.
	ListDevices(ctx context.Context) ([]Device, error)
	RevokeDevice(ctx context.Context, id uuid.UUID, at time.Time) error
	// TouchDevice records a pull: its time, clock offset and cursor position.
	TouchDevice(ctx context.Context, id uuid.UUID, pulledAt time.Time, offset time.Duration, seq int64) error

	// CredentialsEpoch returns a counter the store raises after every change
	// it makes to users, grid assignments, device revocations and sessions,
	// so that a cache of resolved tokens can tell when it went stale. Changes
	// made by another process (another server on the same PostgreSQL
	// database, or the command line) do not raise it.
	CredentialsEpoch() uint64

	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id string) (Session, error)
	DeleteSession(ctx context.Context, id string) error

	// GetCase returns one case (deleted ones too) or ErrNotFound.
	GetCase(ctx context.Context, id uuid.UUID) (Case, error)
	// ListCases returns up to q.Limit cases matching q within q.Scope, newest
	// first (by id, which is a UUIDv7), after q.After when it is set.
	ListCases(ctx context.Context, q CaseQuery) ([]Case, error)
	// History returns a case's history, oldest first.
	History(ctx context.Context, caseID uuid.UUID) ([]HistoryEntry, error)
	Comments(ctx context.Context, caseIDs []uuid.UUID) ([]Comment, error)
	Photos(ctx context.Context, caseIDs []uuid.UUID) ([]PhotoRecord, error)
	GetPhoto(ctx context.Context, id uuid.UUID) (PhotoRecord, error)
	Conflicts(ctx context.Context, q ConflictQuery) ([]Conflict, error)
	GetConflict(ctx context.Context, id uuid.UUID) (Conflict, error)
	// Outcomes returns a device's stored outcomes in sequence order; with
	// unackedOnly, only those not yet acknowledged.
	Outcomes(ctx context.Context, deviceID uuid.UUID, unackedOnly bool) ([]Outcome, error)
	// AckOutcomes marks every outcome of the device up to seq acknowledged.
	AckOutcomes(ctx context.Context, deviceID uuid.UUID, upTo int64) error

	// Changes returns one page of the change feed for a scope: see ChangeQuery.
	// It reads one consistent snapshot.
	Changes(ctx context.Context, q ChangeQuery) (ChangePage, error)
	// MaxChangeSeq returns the highest committed change sequence.
	MaxChangeSeq(ctx context.Context) (int64, error)

	// Update runs fn in one read-write transaction; it commits when fn returns
	// nil and rolls back otherwise. On SQLite the transaction takes the write
	// lock at its start, so two Updates never deadlock.
	Update(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the write side of a Store transaction. Change sequence numbers are
// allocated from one counter row whose lock is held until commit, so sequence
// order is commit order on every database, and a pull never skips a change
// committed late by a concurrent transaction.
type Tx interface {
	// LockDevice reads a device and locks it until the transaction ends.
	LockDevice(ctx context.Context, id uuid.UUID) (Device, error)
	// SaveDeviceSync stores the device's sync fields: LastSeq, LastPushAt,
	// ClockOffset, AppVersion, Rejected, Conflicted.
	SaveDeviceSync(ctx context.Context, d Device) error
	// CasesByID returns the cases that exist among ids, locked for update.
	CasesByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Case, error)
	// EditsSince returns the history entries of a case with Version > since, oldest first.
	EditsSince(ctx context.Context, caseID uuid.UUID, since int64) ([]HistoryEntry, error)
	// PutCases inserts or updates cases, giving each a new ChangeSeq (written
	// back into the slice). Exits are recorded for cases whose scope attributes
	// changed or that were deleted: pass the previous versions in prev (nil
	// entries for new cases).
	PutCases(ctx context.Context, cases []Case, prev []*Case) error
	AppendHistory(ctx context.Context, entries []HistoryEntry) error
	AddComments(ctx context.Context, comments []Comment) error
	// PutPhotos inserts or updates photo records.
	PutPhotos(ctx context.Context, photos []PhotoRecord) error
	PhotosByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]PhotoRecord, error)
	// PutConflicts inserts or updates conflict records.
	PutConflicts(ctx context.Context, conflicts []Conflict) error
	GetConflict(ctx context.Context, id uuid.UUID) (Conflict, error)
	// PutOutcomes stores outcomes; device outcomes are keyed by (device, seq).
	PutOutcomes(ctx context.Context, outcomes []Outcome) error
	// OutcomesBySeq returns the stored outcomes of a device for the given seqs.
	OutcomesBySeq(ctx context.Context, deviceID uuid.UUID, seqs []int64) (map[int64]Outcome, error)
	// OutcomeByCommand returns the stored outcome of a console command by id,
	// for idempotent retries; ErrNotFound when there is none.
	OutcomeByCommand(ctx context.Context, commandID uuid.UUID) (Outcome, error)
	// UsedCommandIDs returns which of ids already have a stored outcome.
	UsedCommandIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error)
}

// CaseQuery filters a case list.
type CaseQuery struct {
	Scope         Scope
	States        []State
	Categories    []string
	OrgPath       string // org path prefix
	Grid          string
	UnitID        string
	ReporterID    uuid.UUID
	Source        Source
	BBox          *BBox
	From, To      *time.Time // created between
	Text          string     // substring of description, address or party
	Overdue       bool
	Now           time.Time // for Overdue
	Rework        bool      // rework count ≥ 1
	HasConflict   bool
	RoadSegmentID string
	Disposition   string
	// Sort orders the page: SortNewest (default) or SortDeadline.
	Sort           CaseSort
	After          uuid.UUID // keyset cursor: return cases with id < After
	Limit          int
	IncludeDeleted bool
}

// CaseSort is the order of a case list.
type CaseSort string

// Case list orders.
const (
	SortNewest   CaseSort = ""         // newest first (by id, a UUIDv7)
	SortDeadline CaseSort = "deadline" // soonest deadline first, within a page
)

// BBox is a WGS84 bounding box.
type BBox struct{ MinLon, MinLat, MaxLon, MaxLat float64 }

// ConflictQuery filters conflict records.
type ConflictQuery struct {
	Scope  Scope
	CaseID uuid.UUID
	Status ConflictStatus // "" for all
	Limit  int
}

// ChangeQuery asks for the changes after a change sequence, within a scope.
type ChangeQuery struct {
	Scope Scope
	After int64
	Limit int
}

// ChangePage is one page of the change feed. Upserts are the current versions of
// cases that changed after the cursor and lie in scope, in change order, with
// their comments and photos. Removals are cases that were deleted or left the
// scope after the cursor and are not in it now. Next is the sequence to resume
// from; HasMore says another page is ready now.
type ChangePage struct {
	Upserts   []Case
	Comments  []Comment
	Photos    []PhotoRecord
	Conflicts []Conflict
	Removals  []Removal
	Next      int64
	HasMore   bool
}

// Removal tells a device to drop a case it holds.
type Removal struct {
	CaseID uuid.UUID
	Seq    int64
	Reason string // "deleted" or "out_of_scope"
}
