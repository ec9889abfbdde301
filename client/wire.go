package client

import (
	"encoding/json"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// The types below are the client's own copy of the /api/v1 wire format. The
// client must not import the server's api package (it pulls in Echo and the
// store), so the JSON shapes are repeated here; the tests run them against a
// real server, which keeps both sides honest.

type wireLocation struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Accuracy float64 `json:"accuracy,omitempty"`
	Address  string  `json:"address,omitempty"`
	CoordSys string  `json:"coord_sys,omitempty"`
}

type wireCase struct {
	ID              uuid.UUID    `json:"id"`
	Category        string       `json:"category"`
	Description     string       `json:"description"`
	Location        wireLocation `json:"location"`
	Party           string       `json:"party,omitempty"`
	Quantity        *float64     `json:"quantity,omitempty"`
	Source          string       `json:"source"`
	OrgPath         string       `json:"org_path"`
	TownCode        string       `json:"town_code,omitempty"`
	VillageCode     string       `json:"village_code,omitempty"`
	GridCode        string       `json:"grid_code,omitempty"`
	RoadSegmentID   string       `json:"road_segment_id,omitempty"`
	UnitID          string       `json:"unit_id,omitempty"`
	AssigneeID      *uuid.UUID   `json:"assignee_id,omitempty"`
	State           string       `json:"state"`
	Deadline        *time.Time   `json:"deadline,omitempty"`
	Disposition     string       `json:"disposition,omitempty"`
	ReworkCount     int          `json:"rework_count"`
	Escalated       bool         `json:"escalated"`
	ForceClosed     bool         `json:"force_closed"`
	PendingRequest  string       `json:"pending_request,omitempty"`
	PendingDeadline *time.Time   `json:"pending_deadline,omitempty"`
	LinkedCase      *uuid.UUID   `json:"linked_case,omitempty"`
	ReporterID      uuid.UUID    `json:"reporter_id"`
	ReporterRole    string       `json:"reporter_role,omitempty"`
	DeviceID        *uuid.UUID   `json:"device_id,omitempty"`
	ClientCreatedAt *time.Time   `json:"client_created_at,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
	DispatchedAt    *time.Time   `json:"dispatched_at,omitempty"`
	HandledAt       *time.Time   `json:"handled_at,omitempty"`
	ClosedAt        *time.Time   `json:"closed_at,omitempty"`
	Version         int64        `json:"version"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (w wireCase) model() models.Case {
	return models.Case{
		ID: w.ID, Category: w.Category, Description: w.Description,
		Location: models.Location{Lat: w.Location.Lat, Lon: w.Location.Lon, Accuracy: w.Location.Accuracy, Address: w.Location.Address},
		Party:    w.Party, Quantity: w.Quantity, Source: models.Source(w.Source), OrgPath: w.OrgPath, TownCode: w.TownCode,
		VillageCode: w.VillageCode, GridCode: w.GridCode, RoadSegmentID: w.RoadSegmentID, UnitID: w.UnitID,
		AssigneeID: deref(w.AssigneeID), State: models.State(w.State), Deadline: w.Deadline, Disposition: w.Disposition,
		ReworkCount: w.ReworkCount, Escalated: w.Escalated, ForceClosed: w.ForceClosed,
		Pending: models.PendingRequest(w.PendingRequest), PendingDeadline: w.PendingDeadline,
		LinkedCase: deref(w.LinkedCase), ReporterID: w.ReporterID, ReporterRole: models.Role(w.ReporterRole),
		DeviceID: deref(w.DeviceID), ClientCreatedAt: deref(w.ClientCreatedAt), CreatedAt: w.CreatedAt,
		UpdatedAt: w.UpdatedAt, DispatchedAt: w.DispatchedAt, HandledAt: w.HandledAt, ClosedAt: w.ClosedAt,
		Version: w.Version,
	}
}

type wireComment struct {
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

func (w wireComment) model() models.Comment {
	return models.Comment{ID: w.ID, CaseID: w.CaseID, Body: w.Body, AuthorID: w.AuthorID, Author: w.Author,
		Role: models.Role(w.Role), DeviceID: deref(w.DeviceID), CreatedAt: w.CreatedAt, ClientAt: w.ClientAt}
}

type wireGPS struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Accuracy float64 `json:"accuracy,omitempty"`
	Altitude float64 `json:"altitude,omitempty"`
	Bearing  float64 `json:"bearing,omitempty"`
	Source   string  `json:"source,omitempty"`
	Mock     bool    `json:"mock,omitempty"`
	CoordSys string  `json:"coord_sys,omitempty"`
}

func gpsWire(g *models.PhotoGPS) *wireGPS {
	if g == nil {
		return nil
	}
	return &wireGPS{Lat: g.Lat, Lon: g.Lon, Accuracy: g.Accuracy, Altitude: g.Altitude, Bearing: g.Bearing,
		Source: g.Source, Mock: g.Mock, CoordSys: g.CoordSys}
}

func (g *wireGPS) model() *models.PhotoGPS {
	if g == nil {
		return nil
	}
	return &models.PhotoGPS{Lat: g.Lat, Lon: g.Lon, Accuracy: g.Accuracy, Altitude: g.Altitude, Bearing: g.Bearing,
		Source: g.Source, Mock: g.Mock, CoordSys: g.CoordSys}
}

type wirePhoto struct {
	ID           uuid.UUID  `json:"id"`
	CaseID       uuid.UUID  `json:"case_id"`
	Stage        string     `json:"stage"`
	Type         string     `json:"type"`
	SHA256       string     `json:"sha256"`
	Size         int64      `json:"size,omitempty"`
	CapturedAt   *time.Time `json:"captured_at,omitempty"`
	GPS          *wireGPS   `json:"gps,omitempty"`
	AppVersion   string     `json:"app_version,omitempty"`
	UploaderID   uuid.UUID  `json:"uploader_id"`
	DeviceID     *uuid.UUID `json:"device_id,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	Verified     bool       `json:"verified"`
	ReceivedAt   *time.Time `json:"received_at,omitempty"`
	ContentType  string     `json:"content_type,omitempty"`
	Width        int        `json:"width,omitempty"`
	Height       int        `json:"height,omitempty"`
	Flags        []string   `json:"flags,omitempty"`
	ThumbSmall   string     `json:"thumb_small,omitempty"`
	ThumbLarge   string     `json:"thumb_large,omitempty"`
	Deleted      bool       `json:"deleted,omitempty"`
	DeleteReason string     `json:"delete_reason,omitempty"`
}

func (w wirePhoto) model() models.PhotoRecord {
	return models.PhotoRecord{ID: w.ID, CaseID: w.CaseID, Stage: w.Stage, Type: models.PhotoType(w.Type), SHA256: w.SHA256,
		Size: w.Size, CapturedAt: w.CapturedAt, GPS: w.GPS.model(), AppVersion: w.AppVersion, UploaderID: w.UploaderID,
		DeviceID: deref(w.DeviceID), CreatedAt: w.CreatedAt, Verified: w.Verified, ReceivedAt: w.ReceivedAt,
		ContentType: w.ContentType, Width: w.Width, Height: w.Height, Flags: w.Flags, ThumbSmall: w.ThumbSmall,
		ThumbLarge: w.ThumbLarge, Deleted: w.Deleted, DeleteReason: w.DeleteReason}
}

type wireAuthorship struct {
	UserID   *uuid.UUID `json:"user_id,omitempty"`
	Name     string     `json:"name,omitempty"`
	Role     string     `json:"role,omitempty"`
	DeviceID *uuid.UUID `json:"device_id,omitempty"`
	Version  int64      `json:"version"`
	At       *time.Time `json:"at,omitempty"`
}

func (w wireAuthorship) model() models.Authorship {
	return models.Authorship{UserID: deref(w.UserID), Name: w.Name, Role: models.Role(w.Role), DeviceID: deref(w.DeviceID),
		Version: w.Version, At: deref(w.At)}
}

type wireConflict struct {
	ID            uuid.UUID      `json:"id"`
	CaseID        uuid.UUID      `json:"case_id"`
	Kind          string         `json:"kind"`
	Field         string         `json:"field,omitempty"`
	Base          string         `json:"base"`
	Kept          string         `json:"kept"`
	SetAside      string         `json:"set_aside"`
	KeptBy        wireAuthorship `json:"kept_by"`
	SetAsideBy    wireAuthorship `json:"set_aside_by"`
	CommandID     *uuid.UUID     `json:"command_id,omitempty"`
	Status        string         `json:"status"`
	Resolution    string         `json:"resolution,omitempty"`
	ResolvedValue string         `json:"resolved_value,omitempty"`
	ResolvedBy    *uuid.UUID     `json:"resolved_by,omitempty"`
	ResolvedAt    *time.Time     `json:"resolved_at,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
}

func (w wireConflict) model() models.Conflict {
	return models.Conflict{ID: w.ID, CaseID: w.CaseID, Kind: models.ConflictKind(w.Kind), Field: w.Field, Base: w.Base,
		Kept: w.Kept, SetAside: w.SetAside, KeptBy: w.KeptBy.model(), SetAsideBy: w.SetAsideBy.model(),
		CommandID: deref(w.CommandID), Status: models.ConflictStatus(w.Status), Resolution: w.Resolution,
		ResolvedValue: w.ResolvedValue, ResolvedBy: deref(w.ResolvedBy), ResolvedAt: w.ResolvedAt, CreatedAt: w.CreatedAt}
}

type wireParams struct {
	Comment     string      `json:"comment,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Deadline    *time.Time  `json:"deadline,omitempty"`
	UnitID      string      `json:"unit_id,omitempty"`
	AssigneeID  *uuid.UUID  `json:"assignee_id,omitempty"`
	Disposition string      `json:"disposition,omitempty"`
	Result      string      `json:"result,omitempty"`
	Category    string      `json:"category,omitempty"`
	Photos      []uuid.UUID `json:"photos,omitempty"`
}

func (p *wireParams) model() models.ActionParams {
	if p == nil {
		return models.ActionParams{}
	}
	return models.ActionParams{Comment: p.Comment, Reason: p.Reason, Deadline: p.Deadline, UnitID: p.UnitID,
		AssigneeID: deref(p.AssigneeID), Disposition: p.Disposition, Result: models.VerifyResult(p.Result),
		Category: p.Category, Photos: p.Photos}
}

type wireDraft struct {
	Category    string       `json:"category"`
	Description string       `json:"description"`
	Location    wireLocation `json:"location"`
	Party       string       `json:"party,omitempty"`
	Quantity    *float64     `json:"quantity,omitempty"`
	Photos      []uuid.UUID  `json:"photos,omitempty"`
	LinkedCase  *uuid.UUID   `json:"linked_case,omitempty"`
}

type wirePhotoIn struct {
	ID         uuid.UUID  `json:"id"`
	CaseID     uuid.UUID  `json:"case_id,omitempty"`
	Stage      string     `json:"stage"`
	Type       string     `json:"type"`
	SHA256     string     `json:"sha256"`
	Size       int64      `json:"size,omitempty"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	GPS        *wireGPS   `json:"gps,omitempty"`
	AppVersion string     `json:"app_version,omitempty"`
}

// wireCommand is one command as it is kept in the outbox and sent. The
// sequence number lives in the outbox row, not here, so renumbering a command
// never rewrites its body.
type wireCommand struct {
	ID          uuid.UUID         `json:"id"`
	Seq         int64             `json:"seq"`
	Kind        string            `json:"kind"`
	CaseID      uuid.UUID         `json:"case_id"`
	BaseVersion int64             `json:"base_version"`
	ClientTime  time.Time         `json:"client_time"`
	Case        *wireDraft        `json:"case,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
	Action      string            `json:"action,omitempty"`
	Params      *wireParams       `json:"params,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Photo       *wirePhotoIn      `json:"photo,omitempty"`
}

type wireOutcome struct {
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

func (w wireOutcome) model() models.Outcome {
	return models.Outcome{Seq: w.Seq, CommandID: w.CommandID, CaseID: deref(w.CaseID), Status: models.OutcomeStatus(w.Status),
		Version: w.Version, Final: w.Final, ConflictID: w.ConflictIDs, Code: models.Code(w.Code), Reason: w.Reason,
		Hint: w.Hint, Pending: w.PendingPhotos, At: w.At}
}

type pushRequest struct {
	DeviceTime *time.Time    `json:"device_time,omitempty"`
	AppVersion string        `json:"app_version,omitempty"`
	Commands   []wireCommand `json:"commands"`
}

type pushResponse struct {
	Outcomes      []wireOutcome `json:"outcomes"`
	LastSeq       int64         `json:"last_seq"`
	ServerTime    time.Time     `json:"server_time"`
	ClockOffsetMS int64         `json:"clock_offset_ms"`
}

type wireRemoval struct {
	CaseID uuid.UUID `json:"case_id"`
	Reason string    `json:"reason"`
}

type pullResponse struct {
	Cases         []jsonCase     `json:"cases"`
	Comments      []wireComment  `json:"comments"`
	Photos        []wirePhoto    `json:"photos"`
	Conflicts     []wireConflict `json:"conflicts"`
	Removals      []wireRemoval  `json:"removals"`
	Cursor        string         `json:"cursor"`
	HasMore       bool           `json:"has_more"`
	Reset         bool           `json:"reset"`
	ServerTime    time.Time      `json:"server_time"`
	ClockOffsetMS int64          `json:"clock_offset_ms"`
}

type outcomeList struct {
	Items []wireOutcome `json:"items"`
}

type ackRequest struct {
	UpToSeq int64 `json:"up_to_seq"`
}

type meResponse struct {
	User struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
		Name     string    `json:"name"`
		Role     string    `json:"role"`
	} `json:"user"`
	DeviceID string `json:"device_id,omitempty"`
}

type problem struct {
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Hint      string `json:"hint,omitempty"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// jsonCase is a pulled case: decoded for its id and version, and kept as the
// server sent it so the local store holds exactly the server's state.
type jsonCase struct {
	wireCase
	raw []byte
}

// UnmarshalJSON keeps the raw bytes alongside the decoded case.
func (j *jsonCase) UnmarshalJSON(b []byte) error {
	j.raw = append([]byte(nil), b...)
	return json.Unmarshal(b, &j.wireCase)
}
