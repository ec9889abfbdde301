package api

import (
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// The DTOs below are the wire format of /api/v1. They are mapped to and from
// models explicitly; no request is ever bound into a database row.

// LocationDTO is a WGS84 point. coord_sys names the datum the client sent
// (wgs84 by default; gcj02 and bd09 are converted on input).
type LocationDTO struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Accuracy float64 `json:"accuracy,omitempty"`
	Address  string  `json:"address,omitempty"`
	CoordSys string  `json:"coord_sys,omitempty"`
}

// CaseDTO is a case as clients see it.
type CaseDTO struct {
	ID              uuid.UUID   `json:"id"`
	Category        string      `json:"category"`
	Description     string      `json:"description"`
	Location        LocationDTO `json:"location"`
	Party           string      `json:"party,omitempty"`
	Quantity        *float64    `json:"quantity,omitempty"`
	Source          string      `json:"source"`
	OrgPath         string      `json:"org_path"`
	TownCode        string      `json:"town_code,omitempty"`
	VillageCode     string      `json:"village_code,omitempty"`
	GridCode        string      `json:"grid_code,omitempty"`
	RoadSegmentID   string      `json:"road_segment_id,omitempty"`
	UnitID          string      `json:"unit_id,omitempty"`
	AssigneeID      *uuid.UUID  `json:"assignee_id,omitempty"`
	State           string      `json:"state"`
	StateLabel      string      `json:"state_label"`
	Deadline        *time.Time  `json:"deadline,omitempty"`
	Overdue         bool        `json:"overdue"`
	Disposition     string      `json:"disposition,omitempty"`
	ReworkCount     int         `json:"rework_count"`
	Escalated       bool        `json:"escalated"`
	ForceClosed     bool        `json:"force_closed"`
	PendingRequest  string      `json:"pending_request,omitempty"`
	PendingDeadline *time.Time  `json:"pending_deadline,omitempty"`
	LinkedCase      *uuid.UUID  `json:"linked_case,omitempty"`
	ReporterID      uuid.UUID   `json:"reporter_id"`
	ReporterRole    string      `json:"reporter_role,omitempty"`
	DeviceID        *uuid.UUID  `json:"device_id,omitempty"`
	ClientCreatedAt *time.Time  `json:"client_created_at,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	DispatchedAt    *time.Time  `json:"dispatched_at,omitempty"`
	HandledAt       *time.Time  `json:"handled_at,omitempty"`
	ClosedAt        *time.Time  `json:"closed_at,omitempty"`
	Version         int64       `json:"version"`
}

func optUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func caseDTO(c *models.Case, now time.Time) CaseDTO {
	return CaseDTO{
		ID: c.ID, Category: c.Category, Description: c.Description,
		Location: LocationDTO{Lat: c.Location.Lat, Lon: c.Location.Lon, Accuracy: c.Location.Accuracy, Address: c.Location.Address},
		Party:    c.Party, Quantity: c.Quantity, Source: string(c.Source), OrgPath: c.OrgPath, TownCode: c.TownCode,
		VillageCode: c.VillageCode, GridCode: c.GridCode, RoadSegmentID: c.RoadSegmentID, UnitID: c.UnitID,
		AssigneeID: optUUID(c.AssigneeID), State: string(c.State), StateLabel: models.StateLabelsZH[c.State],
		Deadline: c.Deadline, Overdue: c.Overdue(now), Disposition: c.Disposition, ReworkCount: c.ReworkCount,
		Escalated: c.Escalated, ForceClosed: c.ForceClosed, PendingRequest: string(c.Pending),
		PendingDeadline: c.PendingDeadline, LinkedCase: optUUID(c.LinkedCase), ReporterID: c.ReporterID,
		ReporterRole: string(c.ReporterRole), DeviceID: optUUID(c.DeviceID), ClientCreatedAt: optTime(c.ClientCreatedAt),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DispatchedAt: c.DispatchedAt, HandledAt: c.HandledAt,
		ClosedAt: c.ClosedAt, Version: c.Version,
	}
}

// FieldChangeDTO is one field's old and new value.
type FieldChangeDTO struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// HistoryDTO is one history entry.
type HistoryDTO struct {
	ID          int64            `json:"id"`
	Version     int64            `json:"version"`
	Kind        string           `json:"kind"`
	Action      string           `json:"action,omitempty"`
	FromState   string           `json:"from_state,omitempty"`
	ToState     string           `json:"to_state,omitempty"`
	Changes     []FieldChangeDTO `json:"changes,omitempty"`
	Comment     string           `json:"comment,omitempty"`
	Note        string           `json:"note,omitempty"`
	ActorID     uuid.UUID        `json:"actor_id"`
	ActorName   string           `json:"actor_name"`
	Role        string           `json:"role"`
	DeviceID    *uuid.UUID       `json:"device_id,omitempty"`
	CommandID   *uuid.UUID       `json:"command_id,omitempty"`
	At          time.Time        `json:"at"`
	ClientAt    *time.Time       `json:"client_at,omitempty"`
	ClientAtFix *time.Time       `json:"client_at_corrected,omitempty"`
	ClockSkewed bool             `json:"clock_skewed,omitempty"`
}

func changesDTO(cs []models.FieldChange) []FieldChangeDTO {
	out := make([]FieldChangeDTO, 0, len(cs))
	for _, c := range cs {
		out = append(out, FieldChangeDTO{Field: c.Field, Old: c.Old, New: c.New})
	}
	return out
}

func historyDTO(h models.HistoryEntry) HistoryDTO {
	d := HistoryDTO{ID: h.ID, Version: h.Version, Kind: string(h.Kind), Action: string(h.Action),
		FromState: string(h.FromState), ToState: string(h.ToState), Comment: h.Comment, Note: h.Note,
		ActorID: h.ActorID, ActorName: h.ActorName, Role: string(h.Role), DeviceID: optUUID(h.DeviceID),
		CommandID: optUUID(h.CommandID), At: h.At, ClientAt: h.ClientAt, ClockSkewed: h.ClockSkewed}
	if len(h.Changes) > 0 {
		d.Changes = changesDTO(h.Changes)
	}
	if h.ClientAt != nil {
		fixed := h.ClientAt.Add(h.ClockOffset)
		d.ClientAtFix = &fixed
	}
	return d
}

// CommentDTO is a comment on a case.
type CommentDTO struct {
	ID        uuid.UUID  `json:"id"`
	CaseID    uuid.UUID  `json:"case_id"`
	Body      string     `json:"body"`
	AuthorID  uuid.UUID  `json:"author_id"`
	Author    string     `json:"author"`
	Role      string     `json:"role"`
	DeviceID  *uuid.UUID `json:"device_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ClientAt  *time.Time `json:"client_at,omitempty"`
}

func commentDTO(c models.Comment) CommentDTO {
	return CommentDTO{ID: c.ID, CaseID: c.CaseID, Body: c.Body, AuthorID: c.AuthorID, Author: c.Author,
		Role: string(c.Role), DeviceID: optUUID(c.DeviceID), CreatedAt: c.CreatedAt, ClientAt: c.ClientAt}
}

// GPSDTO is the fix a device recorded with a photo.
type GPSDTO struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Accuracy float64 `json:"accuracy,omitempty"`
	Altitude float64 `json:"altitude,omitempty"`
	Bearing  float64 `json:"bearing,omitempty"`
	Source   string  `json:"source,omitempty"`
	Mock     bool    `json:"mock,omitempty"`
	CoordSys string  `json:"coord_sys,omitempty"`
}

// EXIFDTO is what the server read from a photo's EXIF.
type EXIFDTO struct {
	Lat         *float64   `json:"lat,omitempty"`
	Lon         *float64   `json:"lon,omitempty"`
	Altitude    *float64   `json:"altitude,omitempty"`
	TakenAt     *time.Time `json:"taken_at,omitempty"`
	OffsetTime  string     `json:"offset_time,omitempty"`
	Orientation int        `json:"orientation,omitempty"`
	Make        string     `json:"make,omitempty"`
	Model       string     `json:"model,omitempty"`
}

// PhotoDTO is a photo record: metadata and thumbnail hashes, never the bytes.
type PhotoDTO struct {
	ID           uuid.UUID  `json:"id"`
	CaseID       uuid.UUID  `json:"case_id"`
	Stage        string     `json:"stage"`
	Type         string     `json:"type"`
	SHA256       string     `json:"sha256"`
	Size         int64      `json:"size,omitempty"`
	CapturedAt   *time.Time `json:"captured_at,omitempty"`
	GPS          *GPSDTO    `json:"gps,omitempty"`
	AppVersion   string     `json:"app_version,omitempty"`
	UploaderID   uuid.UUID  `json:"uploader_id"`
	DeviceID     *uuid.UUID `json:"device_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	Verified     bool       `json:"verified"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
	ContentType  string     `json:"content_type,omitempty"`
	Width        int        `json:"width,omitempty"`
	Height       int        `json:"height,omitempty"`
	EXIF         *EXIFDTO   `json:"exif,omitempty"`
	Flags        []string   `json:"flags,omitempty"`
	ThumbSmall   string     `json:"thumb_small,omitempty"`
	ThumbLarge   string     `json:"thumb_large,omitempty"`
	Deleted      bool       `json:"deleted,omitempty"`
	DeleteReason string     `json:"delete_reason,omitempty"`
}

func photoDTO(p models.PhotoRecord) PhotoDTO {
	d := PhotoDTO{ID: p.ID, CaseID: p.CaseID, Stage: p.Stage, Type: string(p.Type), SHA256: p.SHA256, Size: p.Size,
		CapturedAt: p.CapturedAt, AppVersion: p.AppVersion, UploaderID: p.UploaderID, DeviceID: optUUID(p.DeviceID),
		CreatedAt: p.CreatedAt, Verified: p.Verified, ReceivedAt: p.ReceivedAt, ContentType: p.ContentType,
		Width: p.Width, Height: p.Height, Flags: p.Flags, ThumbSmall: p.ThumbSmall, ThumbLarge: p.ThumbLarge,
		Deleted: p.Deleted, DeleteReason: p.DeleteReason}
	if g := p.GPS; g != nil {
		d.GPS = &GPSDTO{Lat: g.Lat, Lon: g.Lon, Accuracy: g.Accuracy, Altitude: g.Altitude, Bearing: g.Bearing,
			Source: g.Source, Mock: g.Mock, CoordSys: g.CoordSys}
	}
	if e := p.EXIF; e != nil {
		d.EXIF = &EXIFDTO{Lat: e.Lat, Lon: e.Lon, Altitude: e.Altitude, TakenAt: e.TakenAt, OffsetTime: e.OffsetTime,
			Orientation: e.Orientation, Make: e.Make, Model: e.Model}
	}
	return d
}

// AuthorshipDTO says who wrote a value.
type AuthorshipDTO struct {
	UserID   *uuid.UUID `json:"user_id,omitempty"`
	Name     string     `json:"name,omitempty"`
	Role     string     `json:"role,omitempty"`
	DeviceID *uuid.UUID `json:"device_id,omitempty"`
	Version  int64      `json:"version"`
	At       *time.Time `json:"at,omitempty"`
}

func authorshipDTO(a models.Authorship) AuthorshipDTO {
	return AuthorshipDTO{UserID: optUUID(a.UserID), Name: a.Name, Role: string(a.Role), DeviceID: optUUID(a.DeviceID),
		Version: a.Version, At: optTime(a.At)}
}

// ConflictDTO is a conflict record.
type ConflictDTO struct {
	ID            uuid.UUID     `json:"id"`
	CaseID        uuid.UUID     `json:"case_id"`
	Kind          string        `json:"kind"`
	Field         string        `json:"field,omitempty"`
	Base          string        `json:"base"`
	Kept          string        `json:"kept"`
	SetAside      string        `json:"set_aside"`
	KeptBy        AuthorshipDTO `json:"kept_by"`
	SetAsideBy    AuthorshipDTO `json:"set_aside_by"`
	CommandID     *uuid.UUID    `json:"command_id,omitempty"`
	Status        string        `json:"status"`
	Resolution    string        `json:"resolution,omitempty"`
	ResolvedValue string        `json:"resolved_value,omitempty"`
	ResolvedBy    *uuid.UUID    `json:"resolved_by,omitempty"`
	ResolvedAt    *time.Time    `json:"resolved_at,omitempty"`
	CreatedAt     time.Time     `json:"created_at"`
}

func conflictDTO(c models.Conflict) ConflictDTO {
	return ConflictDTO{ID: c.ID, CaseID: c.CaseID, Kind: string(c.Kind), Field: c.Field, Base: c.Base, Kept: c.Kept,
		SetAside: c.SetAside, KeptBy: authorshipDTO(c.KeptBy), SetAsideBy: authorshipDTO(c.SetAsideBy),
		CommandID: optUUID(c.CommandID), Status: string(c.Status), Resolution: c.Resolution,
		ResolvedValue: c.ResolvedValue, ResolvedBy: optUUID(c.ResolvedBy), ResolvedAt: c.ResolvedAt, CreatedAt: c.CreatedAt}
}

// ParamsDTO are a workflow action's parameters.
type ParamsDTO struct {
	Comment     string      `json:"comment,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Deadline    *time.Time  `json:"deadline,omitempty"`
	UnitID      string      `json:"unit_id,omitempty"`
	AssigneeID  *uuid.UUID  `json:"assignee_id,omitempty"`
	Disposition string      `json:"disposition,omitempty"`
	Result      string      `json:"result,omitempty"`
	Category    string      `json:"category,omitempty"`
	Photos      []uuid.UUID `json:"photos,omitempty"`
	DuplicateOf *uuid.UUID  `json:"duplicate_of,omitempty"`
}

func (p ParamsDTO) model() models.ActionParams {
	m := models.ActionParams{Comment: p.Comment, Reason: p.Reason, Deadline: p.Deadline, UnitID: p.UnitID,
		Disposition: p.Disposition, Result: models.VerifyResult(p.Result), Category: p.Category, Photos: p.Photos}
	if p.AssigneeID != nil {
		m.AssigneeID = *p.AssigneeID
	}
	if p.DuplicateOf != nil {
		m.DuplicateOf = *p.DuplicateOf
	}
	return m
}

// DraftDTO is the case a create_case command or a console entry carries.
type DraftDTO struct {
	Category    string      `json:"category"`
	Description string      `json:"description"`
	Location    LocationDTO `json:"location"`
	Party       string      `json:"party,omitempty"`
	Quantity    *float64    `json:"quantity,omitempty"`
	Source      string      `json:"source,omitempty"`
	Photos      []uuid.UUID `json:"photos,omitempty"`
	// PhotoRecords carries the metadata of the report's photos inline, so a
	// report is one command; each counts as an add_photo just before it.
	PhotoRecords []PhotoInDTO `json:"photo_records,omitempty"`
	LinkedCase   *uuid.UUID   `json:"linked_case,omitempty"`
}

// PhotoInDTO is the metadata an add_photo command carries.
type PhotoInDTO struct {
	ID         uuid.UUID  `json:"id"`
	CaseID     uuid.UUID  `json:"case_id,omitempty"`
	Stage      string     `json:"stage"`
	Type       string     `json:"type"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	GPS        *GPSDTO    `json:"gps,omitempty"`
	AppVersion string     `json:"app_version,omitempty"`
}

// ResolveDTO resolves a conflict record: take "kept", "set_aside" or "new" (with value).
type ResolveDTO struct {
	ConflictID uuid.UUID `json:"conflict_id,omitempty"`
	Take       string    `json:"take"`
	Value      string    `json:"value,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	CommandID  uuid.UUID `json:"command_id,omitempty"`
}

// CommandDTO is one command of a push.
type CommandDTO struct {
	ID          uuid.UUID         `json:"id"`
	Seq         int64             `json:"seq"`
	Kind        string            `json:"kind"`
	CaseID      uuid.UUID         `json:"case_id"`
	BaseVersion int64             `json:"base_version"`
	ClientTime  time.Time         `json:"client_time"`
	Case        *DraftDTO         `json:"case,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Action      string            `json:"action,omitempty"`
	Params      *ParamsDTO        `json:"params,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Photo       *PhotoInDTO       `json:"photo,omitempty"`
	Resolve     *ResolveDTO       `json:"resolve,omitempty"`
}

// model maps a command DTO to the domain, converting shifted Chinese datums
// to WGS84 on the way in.
func (d CommandDTO) model(conv coordConverter) models.Command {
	cmd := models.Command{ID: d.ID, Seq: d.Seq, Kind: models.CommandKind(d.Kind), CaseID: d.CaseID,
		BaseVersion: d.BaseVersion, ClientTime: d.ClientTime, Fields: d.Fields, Action: models.Action(d.Action),
		Comment: d.Comment}
	if d.Case != nil {
		cmd.Create = d.Case.model(conv)
	}
	if d.Params != nil {
		cmd.Params = d.Params.model()
	}
	if p := d.Photo; p != nil {
		cmd.Photo = p.model(conv)
	}
	if r := d.Resolve; r != nil {
		cmd.Resolve = &models.Resolution{ConflictID: r.ConflictID, Take: r.Take, Value: r.Value}
	}
	return cmd
}

func (p PhotoInDTO) model(conv coordConverter) *models.PhotoRecord {
	rec := p.record(conv)
	return &rec
}

// record is model by value, for the photos a report carries inline.
func (p PhotoInDTO) record(conv coordConverter) models.PhotoRecord {
	rec := models.PhotoRecord{ID: p.ID, CaseID: p.CaseID, Stage: p.Stage, Type: models.PhotoType(p.Type),
		SHA256: p.SHA256, Size: p.Size, CapturedAt: p.CapturedAt, AppVersion: p.AppVersion}
	if g := p.GPS; g != nil {
		lat, lon := conv(g.CoordSys, g.Lat, g.Lon)
		rec.GPS = &models.PhotoGPS{Lat: lat, Lon: lon, Accuracy: g.Accuracy, Altitude: g.Altitude, Bearing: g.Bearing,
			Source: g.Source, Mock: g.Mock, CoordSys: g.CoordSys}
	}
	return rec
}

func (d DraftDTO) model(conv coordConverter) *models.CaseDraft {
	lat, lon := conv(d.Location.CoordSys, d.Location.Lat, d.Location.Lon)
	m := &models.CaseDraft{Category: d.Category, Description: d.Description,
		Location: models.Location{Lat: lat, Lon: lon, Accuracy: d.Location.Accuracy, Address: d.Location.Address},
		Party:    d.Party, Quantity: d.Quantity, Source: models.Source(d.Source), Photos: d.Photos, Submit: true}
	if d.LinkedCase != nil {
		m.LinkedCase = *d.LinkedCase
	}
	if len(d.PhotoRecords) > 0 {
		m.PhotoRecords = make([]models.PhotoRecord, 0, len(d.PhotoRecords))
	}
	for _, p := range d.PhotoRecords {
		m.PhotoRecords = append(m.PhotoRecords, p.record(conv))
	}
	return m
}

// coordConverter converts a point in the named datum to WGS84.
type coordConverter func(sys string, lat, lon float64) (float64, float64)

// OutcomeDTO is the server's answer to one command.
type OutcomeDTO struct {
	Seq           int64             `json:"seq,omitempty"`
	CommandID     uuid.UUID         `json:"command_id"`
	CaseID        *uuid.UUID        `json:"case_id,omitempty"`
	Status        string            `json:"status"`
	Version       int64             `json:"version,omitempty"`
	Final         map[string]string `json:"final,omitempty"`
	ConflictIDs   []uuid.UUID       `json:"conflict_ids,omitempty"`
	Code          string            `json:"code,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	Hint          string            `json:"hint,omitempty"`
	PendingPhotos []uuid.UUID       `json:"pending_photos,omitempty"`
	At            time.Time         `json:"at"`
}

func outcomeDTO(o models.Outcome) OutcomeDTO {
	return OutcomeDTO{Seq: o.Seq, CommandID: o.CommandID, CaseID: optUUID(o.CaseID), Status: string(o.Status),
		Version: o.Version, Final: o.Final, ConflictIDs: o.ConflictID, Code: string(o.Code), Reason: o.Reason,
		Hint: o.Hint, PendingPhotos: o.Pending, At: o.At}
}

// UserDTO is a user without credentials.
type UserDTO struct {
	ID       uuid.UUID `json:"id"`
	Username string    `json:"username"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	OrgPath  string    `json:"org_path,omitempty"`
	UnitID   string    `json:"unit_id,omitempty"`
	Disabled bool      `json:"disabled,omitempty"`
}

func userDTO(u models.User) UserDTO {
	return UserDTO{ID: u.ID, Username: u.Username, Name: u.Name, Role: string(u.Role), OrgPath: u.OrgPath,
		UnitID: u.UnitID, Disabled: u.Disabled}
}

// ScopeDTO is what a caller may see.
type ScopeDTO struct {
	All         bool     `json:"all"`
	OrgPrefixes []string `json:"org_prefixes,omitempty"`
	Grids       []string `json:"grids,omitempty"`
	UnitIDs     []string `json:"unit_ids,omitempty"`
	OwnReports  bool     `json:"own_reports"`
}

func scopeDTO(s models.Scope) ScopeDTO {
	return ScopeDTO{All: s.All, OrgPrefixes: s.OrgPrefixes, Grids: s.Grids, UnitIDs: s.UnitIDs, OwnReports: s.ReporterID != uuid.Nil}
}

// DeviceDTO is a device and its sync health.
type DeviceDTO struct {
	ID            uuid.UUID  `json:"id"`
	UserID        uuid.UUID  `json:"user_id"`
	Username      string     `json:"username,omitempty"`
	Name          string     `json:"name"`
	CreatedAt     time.Time  `json:"created_at"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	LastSeq       int64      `json:"last_seq"`
	LastPushAt    *time.Time `json:"last_push_at,omitempty"`
	LastPullAt    *time.Time `json:"last_pull_at,omitempty"`
	ClockOffsetMS int64      `json:"clock_offset_ms"`
	ClockSkewed   bool       `json:"clock_skewed"`
	AppVersion    string     `json:"app_version,omitempty"`
	Rejected      int64      `json:"rejected"`
	Conflicted    int64      `json:"conflicted"`
	PendingAcks   int64      `json:"pending_acks"`
}

func deviceDTO(d models.Device, username string, skew time.Duration) DeviceDTO {
	return DeviceDTO{ID: d.ID, UserID: d.UserID, Username: username, Name: d.Name, CreatedAt: d.CreatedAt,
		RevokedAt: d.RevokedAt, LastSeq: d.LastSeq, LastPushAt: d.LastPushAt, LastPullAt: d.LastPullAt,
		ClockOffsetMS: d.ClockOffset.Milliseconds(), ClockSkewed: d.ClockOffset > skew || d.ClockOffset < -skew,
		AppVersion: d.AppVersion, Rejected: d.Rejected, Conflicted: d.Conflicted, PendingAcks: d.PendingAcks}
}

// CategoryDTO is a category with its time limit.
type CategoryDTO struct {
	Code       string `json:"code"`
	Kind       string `json:"kind"`
	GroupCode  string `json:"group_code"`
	GroupZH    string `json:"group_zh"`
	GroupEN    string `json:"group_en"`
	NameZH     string `json:"name_zh"`
	NameEN     string `json:"name_en"`
	Source     string `json:"source"`
	Quantity   string `json:"quantity,omitempty"`
	LimitValue int    `json:"limit_value,omitempty"`
	LimitUnit  string `json:"limit_unit,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
}

func categoryDTO(c models.Category) CategoryDTO {
	return CategoryDTO{Code: c.Code, Kind: c.Kind, GroupCode: c.GroupCode, GroupZH: c.GroupZH, GroupEN: c.GroupEN,
		NameZH: c.NameZH, NameEN: c.NameEN, Source: c.Source, Quantity: c.Quantity, LimitValue: c.Limit.Value,
		LimitUnit: string(c.Limit.Unit), Disabled: c.Disabled}
}

// OrgUnitDTO is a node of the org tree.
type OrgUnitDTO struct {
	Code       string         `json:"code"`
	ParentCode string         `json:"parent_code,omitempty"`
	Level      string         `json:"level"`
	Name       string         `json:"name"`
	Path       string         `json:"path"`
	Boundary   [][][2]float64 `json:"boundary,omitempty"`
	Center     *[2]float64    `json:"center,omitempty"`
}

// GridDTO is a grid with its GeoJSON polygon.
type GridDTO struct {
	Code        string          `json:"code"`
	Name        string          `json:"name"`
	VillageCode string          `json:"village_code"`
	TownCode    string          `json:"town_code"`
	OrgPath     string          `json:"org_path"`
	Polygon     GeoJSONGeometry `json:"polygon"`
	WorkerID    *uuid.UUID      `json:"worker_id,omitempty"`
}

// GeoJSONGeometry is a GeoJSON geometry object (RFC 7946).
type GeoJSONGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// RoadSegmentDTO is a road segment with its GeoJSON line.
type RoadSegmentDTO struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	TownCode string          `json:"town_code,omitempty"`
	Leader   string          `json:"leader,omitempty"`
	Line     GeoJSONGeometry `json:"line"`
}

// UnitDTO is a responsible unit.
type UnitDTO struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind,omitempty"`
	TownCode string `json:"town_code,omitempty"`
}
