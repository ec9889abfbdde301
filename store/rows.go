package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// Rows are the database shape of the models types. They live only in this
// package: models carries no tags, and no request is ever bound into a row.
// Every row type names its table and disables GORM's automatic timestamps, so
// what the caller set is what is stored. Creates write every column, zero
// values included, because no column has a GORM default.

// ts normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so both dialects return what they were given.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := ts(*t)
	return &u
}

// utc returns a time read from the database in UTC.
func utc(t time.Time) time.Time { return t.UTC() }

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// jsonText encodes v as JSON for a JSON column; a nil slice, map or pointer is
// stored as NULL so it reads back as nil.
func jsonText[T any](v T, isNil bool) *string {
	if isNil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// The values stored as JSON are plain data (strings, numbers, UUIDs);
		// they always marshal.
		panic("store: cannot encode JSON column: " + err.Error())
	}
	s := string(b)
	return &s
}

// fromJSON decodes a JSON column into *dst, leaving it zero for NULL.
func fromJSON[T any](s *string, dst *T) error {
	if s == nil {
		return nil
	}
	return json.Unmarshal([]byte(*s), dst)
}

type categoryRow struct {
	Code       string `gorm:"primaryKey"`
	Kind       string
	GroupCode  string
	GroupZH    string `gorm:"column:group_zh"`
	GroupEN    string `gorm:"column:group_en"`
	NameZH     string `gorm:"column:name_zh"`
	NameEN     string `gorm:"column:name_en"`
	Source     string
	Quantity   string
	LimitValue int
	LimitUnit  string
	Disabled   bool
}

func (categoryRow) TableName() string { return "categories" }

func toCategoryRow(c models.Category) categoryRow {
	return categoryRow{
		Code: c.Code, Kind: c.Kind, GroupCode: c.GroupCode, GroupZH: c.GroupZH, GroupEN: c.GroupEN,
		NameZH: c.NameZH, NameEN: c.NameEN, Source: c.Source, Quantity: c.Quantity,
		LimitValue: c.Limit.Value, LimitUnit: string(c.Limit.Unit), Disabled: c.Disabled,
	}
}

func (r categoryRow) model() models.Category {
	return models.Category{
		Code: r.Code, Kind: r.Kind, GroupCode: r.GroupCode, GroupZH: r.GroupZH, GroupEN: r.GroupEN,
		NameZH: r.NameZH, NameEN: r.NameEN, Source: r.Source, Quantity: r.Quantity,
		Limit: models.TimeLimit{Value: r.LimitValue, Unit: models.LimitUnit(r.LimitUnit)}, Disabled: r.Disabled,
	}
}

type orgUnitRow struct {
	Code       string `gorm:"primaryKey"`
	ParentCode string
	Level      string
	Name       string
	Path       string
	Boundary   *string
	CenterLon  float64
	CenterLat  float64
}

func (orgUnitRow) TableName() string { return "org_units" }

func toOrgUnitRow(o models.OrgUnit) orgUnitRow {
	return orgUnitRow{
		Code: o.Code, ParentCode: o.ParentCode, Level: string(o.Level), Name: o.Name, Path: o.Path,
		Boundary: jsonText(o.Boundary, o.Boundary == nil), CenterLon: o.Center[0], CenterLat: o.Center[1],
	}
}

func (r orgUnitRow) model() (models.OrgUnit, error) {
	o := models.OrgUnit{
		Code: r.Code, ParentCode: r.ParentCode, Level: models.OrgLevel(r.Level), Name: r.Name, Path: r.Path,
		Center: [2]float64{r.CenterLon, r.CenterLat},
	}
	return o, fromJSON(r.Boundary, &o.Boundary)
}

type gridRow struct {
	Code        string `gorm:"primaryKey"`
	Name        string
	VillageCode string
	TownCode    string
	OrgPath     string
	Polygon     *string
	MinLat      float64
	MinLon      float64
	MaxLat      float64
	MaxLon      float64
	WorkerID    uuid.UUID
}

func (gridRow) TableName() string { return "grids" }

func toGridRow(g models.Grid) gridRow {
	return gridRow{
		Code: g.Code, Name: g.Name, VillageCode: g.VillageCode, TownCode: g.TownCode, OrgPath: g.OrgPath,
		Polygon: jsonText(g.Polygon, g.Polygon == nil),
		MinLat:  g.MinLat, MinLon: g.MinLon, MaxLat: g.MaxLat, MaxLon: g.MaxLon, WorkerID: g.WorkerID,
	}
}

func (r gridRow) model() (models.Grid, error) {
	g := models.Grid{
		Code: r.Code, Name: r.Name, VillageCode: r.VillageCode, TownCode: r.TownCode, OrgPath: r.OrgPath,
		MinLat: r.MinLat, MinLon: r.MinLon, MaxLat: r.MaxLat, MaxLon: r.MaxLon, WorkerID: r.WorkerID,
	}
	return g, fromJSON(r.Polygon, &g.Polygon)
}

type roadSegmentRow struct {
	ID       string `gorm:"primaryKey"`
	Name     string
	TownCode string
	Leader   string
	Line     *string
}

func (roadSegmentRow) TableName() string { return "road_segments" }

func toRoadSegmentRow(s models.RoadSegment) roadSegmentRow {
	return roadSegmentRow{ID: s.ID, Name: s.Name, TownCode: s.TownCode, Leader: s.Leader,
		Line: jsonText(s.Line, s.Line == nil)}
}

func (r roadSegmentRow) model() (models.RoadSegment, error) {
	s := models.RoadSegment{ID: r.ID, Name: r.Name, TownCode: r.TownCode, Leader: r.Leader}
	return s, fromJSON(r.Line, &s.Line)
}

type unitRow struct {
	ID       string `gorm:"primaryKey"`
	Name     string
	Kind     string
	TownCode string
}

func (unitRow) TableName() string { return "units" }

type userRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	Username     string
	Name         string
	Role         string
	OrgPath      string
	UnitID       string
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time `gorm:"autoCreateTime:false"`
}

func (userRow) TableName() string { return "users" }

func toUserRow(u models.User) userRow {
	return userRow{
		ID: u.ID, Username: u.Username, Name: u.Name, Role: string(u.Role), OrgPath: u.OrgPath,
		UnitID: u.UnitID, PasswordHash: u.PasswordHash, Disabled: u.Disabled, CreatedAt: ts(u.CreatedAt),
	}
}

func (r userRow) model() models.User {
	return models.User{
		ID: r.ID, Username: r.Username, Name: r.Name, Role: models.Role(r.Role), OrgPath: r.OrgPath,
		UnitID: r.UnitID, PasswordHash: r.PasswordHash, Disabled: r.Disabled, CreatedAt: utc(r.CreatedAt),
	}
}

type userGridRow struct {
	UserID   uuid.UUID `gorm:"primaryKey"`
	GridCode string    `gorm:"primaryKey"`
}

func (userGridRow) TableName() string { return "user_grids" }

type deviceRow struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	UserID      uuid.UUID
	Name        string
	TokenHash   string
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	RevokedAt   *time.Time
	LastSeq     int64
	LastPushAt  *time.Time
	LastPullAt  *time.Time
	ClockOffset int64 // nanoseconds
	AppVersion  string
	Rejected    int64
	Conflicted  int64
	LastPullSeq int64
	// PendingAcks is computed by ListDevices; it is no column.
	PendingAcks int64 `gorm:"->;-:migration"`
}

func (deviceRow) TableName() string { return "devices" }

func toDeviceRow(d models.Device) deviceRow {
	return deviceRow{
		ID: d.ID, UserID: d.UserID, Name: d.Name, TokenHash: d.TokenHash, CreatedAt: ts(d.CreatedAt),
		RevokedAt: tsp(d.RevokedAt), LastSeq: d.LastSeq, LastPushAt: tsp(d.LastPushAt), LastPullAt: tsp(d.LastPullAt),
		ClockOffset: int64(d.ClockOffset), AppVersion: d.AppVersion, Rejected: d.Rejected, Conflicted: d.Conflicted,
		LastPullSeq: d.LastPullSeq,
	}
}

func (r deviceRow) model() models.Device {
	return models.Device{
		ID: r.ID, UserID: r.UserID, Name: r.Name, TokenHash: r.TokenHash, CreatedAt: utc(r.CreatedAt),
		RevokedAt: utcp(r.RevokedAt), LastSeq: r.LastSeq, LastPushAt: utcp(r.LastPushAt), LastPullAt: utcp(r.LastPullAt),
		ClockOffset: time.Duration(r.ClockOffset), AppVersion: r.AppVersion, Rejected: r.Rejected,
		Conflicted: r.Conflicted, PendingAcks: r.PendingAcks, LastPullSeq: r.LastPullSeq,
	}
}

type sessionRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    uuid.UUID
	CSRFToken string    `gorm:"column:csrf_token"`
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt time.Time
}

func (sessionRow) TableName() string { return "sessions" }

type caseRow struct {
	ID              uuid.UUID `gorm:"primaryKey"`
	Category        string
	Description     string
	Lat             float64
	Lon             float64
	Accuracy        float64
	Address         string
	Party           string
	Quantity        *float64
	Source          string
	OrgPath         string
	TownCode        string
	VillageCode     string
	GridCode        string
	RoadSegmentID   string
	UnitID          string
	AssigneeID      uuid.UUID
	RefVersion      int
	State           string
	Deadline        *time.Time
	Disposition     string
	ReworkCount     int
	Escalated       bool
	Pending         string
	PendingDeadline *time.Time
	HandledBy       uuid.UUID
	ForceClosed     bool
	LinkedCase      uuid.UUID
	ReporterID      uuid.UUID
	ReporterRole    string
	DeviceID        uuid.UUID
	ClientCreatedAt time.Time
	CreatedAt       time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt       time.Time `gorm:"autoUpdateTime:false"`
	DispatchedAt    *time.Time
	HandledAt       *time.Time
	ClosedAt        *time.Time
	Deleted         bool
	Version         int64
	ChangeSeq       int64
}

func (caseRow) TableName() string { return "cases" }

func toCaseRow(c *models.Case) caseRow {
	return caseRow{
		ID: c.ID, Category: c.Category, Description: c.Description,
		Lat: c.Location.Lat, Lon: c.Location.Lon, Accuracy: c.Location.Accuracy, Address: c.Location.Address,
		Party: c.Party, Quantity: c.Quantity, Source: string(c.Source),
		OrgPath: c.OrgPath, TownCode: c.TownCode, VillageCode: c.VillageCode, GridCode: c.GridCode,
		RoadSegmentID: c.RoadSegmentID, UnitID: c.UnitID, AssigneeID: c.AssigneeID, RefVersion: c.RefVersion,
		State: string(c.State), Deadline: tsp(c.Deadline), Disposition: c.Disposition, ReworkCount: c.ReworkCount,
		Escalated: c.Escalated, Pending: string(c.Pending), PendingDeadline: tsp(c.PendingDeadline),
		HandledBy: c.HandledBy, ForceClosed: c.ForceClosed, LinkedCase: c.LinkedCase,
		ReporterID: c.ReporterID, ReporterRole: string(c.ReporterRole), DeviceID: c.DeviceID,
		ClientCreatedAt: ts(c.ClientCreatedAt), CreatedAt: ts(c.CreatedAt), UpdatedAt: ts(c.UpdatedAt),
		DispatchedAt: tsp(c.DispatchedAt), HandledAt: tsp(c.HandledAt), ClosedAt: tsp(c.ClosedAt),
		Deleted: c.Deleted, Version: c.Version, ChangeSeq: c.ChangeSeq,
	}
}

func (r *caseRow) model() models.Case {
	return models.Case{
		ID: r.ID, Category: r.Category, Description: r.Description,
		Location: models.Location{Lat: r.Lat, Lon: r.Lon, Accuracy: r.Accuracy, Address: r.Address},
		Party:    r.Party, Quantity: r.Quantity, Source: models.Source(r.Source),
		OrgPath: r.OrgPath, TownCode: r.TownCode, VillageCode: r.VillageCode, GridCode: r.GridCode,
		RoadSegmentID: r.RoadSegmentID, UnitID: r.UnitID, AssigneeID: r.AssigneeID, RefVersion: r.RefVersion,
		State: models.State(r.State), Deadline: utcp(r.Deadline), Disposition: r.Disposition,
		ReworkCount: r.ReworkCount, Escalated: r.Escalated, Pending: models.PendingRequest(r.Pending),
		PendingDeadline: utcp(r.PendingDeadline), HandledBy: r.HandledBy, ForceClosed: r.ForceClosed,
		LinkedCase: r.LinkedCase, ReporterID: r.ReporterID, ReporterRole: models.Role(r.ReporterRole),
		DeviceID: r.DeviceID, ClientCreatedAt: utc(r.ClientCreatedAt), CreatedAt: utc(r.CreatedAt),
		UpdatedAt: utc(r.UpdatedAt), DispatchedAt: utcp(r.DispatchedAt), HandledAt: utcp(r.HandledAt),
		ClosedAt: utcp(r.ClosedAt), Deleted: r.Deleted, Version: r.Version, ChangeSeq: r.ChangeSeq,
	}
}

type historyRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	CaseID    uuid.UUID
	Version   int64
	Kind      string
	Action    string
	FromState string
	ToState   string
	Changes   *string
	Comment   string
	ActorID   uuid.UUID
	ActorName string
	Role      string
	DeviceID  uuid.UUID
	CommandID uuid.UUID
	At        time.Time
	ClientAt  *time.Time
	Note      string
	// ClockOffset is the device clock offset in nanoseconds.
	ClockOffset int64
	ClockSkewed bool
}

func (historyRow) TableName() string { return "history" }

func toHistoryRow(h *models.HistoryEntry) historyRow {
	return historyRow{
		ID: h.ID, CaseID: h.CaseID, Version: h.Version, Kind: string(h.Kind), Action: string(h.Action),
		FromState: string(h.FromState), ToState: string(h.ToState), Changes: jsonText(h.Changes, h.Changes == nil),
		Comment: h.Comment, ActorID: h.ActorID, ActorName: h.ActorName, Role: string(h.Role),
		DeviceID: h.DeviceID, CommandID: h.CommandID, At: ts(h.At), ClientAt: tsp(h.ClientAt), Note: h.Note,
		ClockOffset: int64(h.ClockOffset), ClockSkewed: h.ClockSkewed,
	}
}

func (r *historyRow) model() (models.HistoryEntry, error) {
	h := models.HistoryEntry{
		ID: r.ID, CaseID: r.CaseID, Version: r.Version, Kind: models.HistoryKind(r.Kind),
		Action: models.Action(r.Action), FromState: models.State(r.FromState), ToState: models.State(r.ToState),
		Comment: r.Comment, ActorID: r.ActorID, ActorName: r.ActorName, Role: models.Role(r.Role),
		DeviceID: r.DeviceID, CommandID: r.CommandID, At: utc(r.At), ClientAt: utcp(r.ClientAt), Note: r.Note,
		ClockOffset: time.Duration(r.ClockOffset), ClockSkewed: r.ClockSkewed,
	}
	return h, fromJSON(r.Changes, &h.Changes)
}

type commentRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	CaseID    uuid.UUID
	Body      string
	AuthorID  uuid.UUID
	Author    string
	Role      string
	DeviceID  uuid.UUID
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	ClientAt  *time.Time
	ChangeSeq int64
}

func (commentRow) TableName() string { return "comments" }

func toCommentRow(c *models.Comment) commentRow {
	return commentRow{
		ID: c.ID, CaseID: c.CaseID, Body: c.Body, AuthorID: c.AuthorID, Author: c.Author, Role: string(c.Role),
		DeviceID: c.DeviceID, CreatedAt: ts(c.CreatedAt), ClientAt: tsp(c.ClientAt), ChangeSeq: c.ChangeSeq,
	}
}

func (r *commentRow) model() models.Comment {
	return models.Comment{
		ID: r.ID, CaseID: r.CaseID, Body: r.Body, AuthorID: r.AuthorID, Author: r.Author, Role: models.Role(r.Role),
		DeviceID: r.DeviceID, CreatedAt: utc(r.CreatedAt), ClientAt: utcp(r.ClientAt), ChangeSeq: r.ChangeSeq,
	}
}

type photoRow struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	CaseID       uuid.UUID
	Stage        string
	Type         string
	SHA256       string `gorm:"column:sha256"`
	Size         int64
	CapturedAt   *time.Time
	GPS          *string `gorm:"column:gps"`
	AppVersion   string
	UploaderID   uuid.UUID
	DeviceID     uuid.UUID
	CreatedAt    time.Time `gorm:"autoCreateTime:false"`
	Verified     bool
	ReceivedAt   *time.Time
	ContentType  string
	Width        int
	Height       int
	EXIF         *string `gorm:"column:exif"`
	Flags        *string
	ThumbSmall   string
	ThumbLarge   string
	Deleted      bool
	DeleteReason string
	ChangeSeq    int64
}

func (photoRow) TableName() string { return "photos" }

func toPhotoRow(p *models.PhotoRecord) photoRow {
	var exif *models.EXIFInfo
	if p.EXIF != nil {
		e := *p.EXIF
		e.TakenAt = tsp(e.TakenAt)
		exif = &e
	}
	return photoRow{
		ID: p.ID, CaseID: p.CaseID, Stage: p.Stage, Type: string(p.Type), SHA256: p.SHA256, Size: p.Size,
		CapturedAt: tsp(p.CapturedAt), GPS: jsonText(p.GPS, p.GPS == nil), AppVersion: p.AppVersion,
		UploaderID: p.UploaderID, DeviceID: p.DeviceID, CreatedAt: ts(p.CreatedAt), Verified: p.Verified,
		ReceivedAt: tsp(p.ReceivedAt), ContentType: p.ContentType, Width: p.Width, Height: p.Height,
		EXIF: jsonText(exif, exif == nil), Flags: jsonText(p.Flags, p.Flags == nil),
		ThumbSmall: p.ThumbSmall, ThumbLarge: p.ThumbLarge, Deleted: p.Deleted, DeleteReason: p.DeleteReason,
		ChangeSeq: p.ChangeSeq,
	}
}

func (r *photoRow) model() (models.PhotoRecord, error) {
	p := models.PhotoRecord{
		ID: r.ID, CaseID: r.CaseID, Stage: r.Stage, Type: models.PhotoType(r.Type), SHA256: r.SHA256, Size: r.Size,
		CapturedAt: utcp(r.CapturedAt), AppVersion: r.AppVersion, UploaderID: r.UploaderID, DeviceID: r.DeviceID,
		CreatedAt: utc(r.CreatedAt), Verified: r.Verified, ReceivedAt: utcp(r.ReceivedAt),
		ContentType: r.ContentType, Width: r.Width, Height: r.Height, ThumbSmall: r.ThumbSmall,
		ThumbLarge: r.ThumbLarge, Deleted: r.Deleted, DeleteReason: r.DeleteReason, ChangeSeq: r.ChangeSeq,
	}
	if err := fromJSON(r.GPS, &p.GPS); err != nil {
		return p, err
	}
	if err := fromJSON(r.EXIF, &p.EXIF); err != nil {
		return p, err
	}
	if p.EXIF != nil {
		p.EXIF.TakenAt = utcp(p.EXIF.TakenAt)
	}
	return p, fromJSON(r.Flags, &p.Flags)
}

// authorshipJSON is Authorship's stored shape.
func authorshipJSON(a models.Authorship) *string {
	a.At = ts(a.At)
	return jsonText(a, false)
}

type conflictRow struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	CaseID        uuid.UUID
	Kind          string
	Field         string
	Base          string
	Kept          string
	SetAside      string
	KeptBy        *string
	SetAsideBy    *string
	CommandID     uuid.UUID
	Payload       *string
	Status        string
	Resolution    string
	ResolvedValue string
	ResolvedBy    uuid.UUID
	ResolvedAt    *time.Time
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	ChangeSeq     int64
}

func (conflictRow) TableName() string { return "conflicts" }

func toConflictRow(c *models.Conflict) conflictRow {
	var payload *string
	if c.Payload != nil {
		s := string(c.Payload)
		payload = &s
	}
	return conflictRow{
		ID: c.ID, CaseID: c.CaseID, Kind: string(c.Kind), Field: c.Field, Base: c.Base, Kept: c.Kept,
		SetAside: c.SetAside, KeptBy: authorshipJSON(c.KeptBy), SetAsideBy: authorshipJSON(c.SetAsideBy),
		CommandID: c.CommandID, Payload: payload, Status: string(c.Status), Resolution: c.Resolution,
		ResolvedValue: c.ResolvedValue, ResolvedBy: c.ResolvedBy, ResolvedAt: tsp(c.ResolvedAt),
		CreatedAt: ts(c.CreatedAt), ChangeSeq: c.ChangeSeq,
	}
}

func (r *conflictRow) model() (models.Conflict, error) {
	c := models.Conflict{
		ID: r.ID, CaseID: r.CaseID, Kind: models.ConflictKind(r.Kind), Field: r.Field, Base: r.Base,
		Kept: r.Kept, SetAside: r.SetAside, CommandID: r.CommandID, Status: models.ConflictStatus(r.Status),
		Resolution: r.Resolution, ResolvedValue: r.ResolvedValue, ResolvedBy: r.ResolvedBy,
		ResolvedAt: utcp(r.ResolvedAt), CreatedAt: utc(r.CreatedAt), ChangeSeq: r.ChangeSeq,
	}
	if r.Payload != nil {
		c.Payload = json.RawMessage(*r.Payload)
	}
	if err := fromJSON(r.KeptBy, &c.KeptBy); err != nil {
		return c, err
	}
	if err := fromJSON(r.SetAsideBy, &c.SetAsideBy); err != nil {
		return c, err
	}
	c.KeptBy.At, c.SetAsideBy.At = utc(c.KeptBy.At), utc(c.SetAsideBy.At)
	return c, nil
}

type outcomeRow struct {
	CommandID   uuid.UUID `gorm:"primaryKey"`
	DeviceID    uuid.UUID
	Seq         int64
	CaseID      uuid.UUID
	Status      string
	Version     int64
	Final       *string
	ConflictIDs *string `gorm:"column:conflict_ids"`
	Code        string
	Reason      string
	Hint        string
	Pending     *string
	At          time.Time
	Acked       bool
}

func (outcomeRow) TableName() string { return "outcomes" }

func toOutcomeRow(o *models.Outcome) outcomeRow {
	return outcomeRow{
		CommandID: o.CommandID, DeviceID: o.DeviceID, Seq: o.Seq, CaseID: o.CaseID, Status: string(o.Status),
		Version: o.Version, Final: jsonText(o.Final, o.Final == nil),
		ConflictIDs: jsonText(o.ConflictID, o.ConflictID == nil), Code: string(o.Code), Reason: o.Reason,
		Hint: o.Hint, Pending: jsonText(o.Pending, o.Pending == nil), At: ts(o.At), Acked: o.Acked,
	}
}

func (r *outcomeRow) model() (models.Outcome, error) {
	o := models.Outcome{
		DeviceID: r.DeviceID, Seq: r.Seq, CommandID: r.CommandID, CaseID: r.CaseID,
		Status: models.OutcomeStatus(r.Status), Version: r.Version, Code: models.Code(r.Code), Reason: r.Reason,
		Hint: r.Hint, At: utc(r.At), Acked: r.Acked,
	}
	if err := fromJSON(r.Final, &o.Final); err != nil {
		return o, err
	}
	if err := fromJSON(r.ConflictIDs, &o.ConflictID); err != nil {
		return o, err
	}
	return o, fromJSON(r.Pending, &o.Pending)
}

type exitRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	Seq        int64
	CaseID     uuid.UUID
	OrgPath    string
	GridCode   string
	UnitID     string
	ReporterID uuid.UUID
	Reason     string
}

func (exitRow) TableName() string { return "exits" }

type jobRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	Kind      string
	Key       string
	Payload   []byte
	Attempts  int
	RunAfter  time.Time
	LeaseTill *time.Time
	LastError string
	Done      bool
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
}

func (jobRow) TableName() string { return "jobs" }

func (r *jobRow) model() models.Job {
	return models.Job{
		ID: r.ID, Kind: r.Kind, Key: r.Key, Payload: r.Payload, Attempts: r.Attempts, RunAfter: utc(r.RunAfter),
		LeaseTill: utcp(r.LeaseTill), LastError: r.LastError, Done: r.Done, CreatedAt: utc(r.CreatedAt),
	}
}
