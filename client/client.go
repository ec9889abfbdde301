// Package client is the reference fieldsync client: what a tablet app (or a
// gomobile binding) embeds to work offline and sync.
//
// Everything a user does is queued as a numbered command in a local SQLite
// outbox and shown at once in the local view (Cases): the server state as last
// pulled, with the commands the server has not answered yet replayed on top.
// Sync pushes the outbox in order, records each outcome, pulls the changes in
// scope and uploads photo bytes with tus. A command keeps its id and sequence
// number across every retry, so the server, which applies each sequence number
// once and answers replays with the stored outcome, never applies it twice.
//
// The package depends on models, database/sql with SQLite and net/http only: no
// server package, no ORM, no web framework.
package client

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// Config configures a Client.
type Config struct {
	// ServerURL is the server's base URL, e.g. https://fieldsync.example.cn.
	// Empty keeps the one stored in the local database.
	ServerURL string
	// Token is the device's bearer token. Empty keeps the stored one.
	Token string
	// HTTP is the client for every request; nil uses a client without a
	// global timeout (each request gets RequestTimeout; Watch gets none).
	HTTP *http.Client
	// Now is the device clock; time.Now when nil.
	Now func() time.Time
	// Backoff bounds the wait between retries of a failed request.
	Backoff Backoff
	// Attempts bounds the tries of one request (and of one photo upload
	// without progress); default 5.
	Attempts int
	// RequestTimeout bounds one request; default 60 s.
	RequestTimeout time.Duration
	// PullLimit is the page size asked of the server; 0 takes its default.
	PullLimit int
	// ChunkSize is the most bytes one tus PATCH carries; default 512 KiB.
	ChunkSize int64
	// AppVersion is reported with every push and photo.
	AppVersion string
}

// Backoff is the range of the exponential backoff between retries: the first
// wait is about Min, each next one doubles, none exceeds Max. Every wait is
// jittered so many tablets coming back online do not retry in step.
type Backoff struct {
	Min, Max time.Duration
}

// Client is a tablet's local store and its link to the server. Its methods are
// safe for concurrent use; Sync runs one at a time.
type Client struct {
	db       *sql.DB
	photoDir string
	cfg      Config
	http     *http.Client

	syncMu sync.Mutex // one Sync (push, pull, upload) at a time

	mu            sync.Mutex // guards server and token
	server, token string
}

// Draft is a new case as the inspector files it on the tablet.
type Draft struct {
	Category    string // category code, e.g. E0504
	Description string
	Location    models.Location // WGS84
	Party       string
	Quantity    *float64
	LinkedCase  uuid.UUID
}

// PhotoInput is a photo taken on the tablet. Path is the file the camera
// wrote; the client copies it, so the original may be deleted afterwards.
// Stage and Type default from the operation (report/far for a new case).
type PhotoInput struct {
	Path       string
	Stage      string // report, self_handle, report_done or check
	Type       models.PhotoType
	CapturedAt *time.Time // device clock; the time of AddPhoto when nil
	GPS        *models.PhotoGPS
}

// Params are a workflow action's parameters. Photos are taken with the action
// (each queued as an add_photo before it); PhotoIDs name photos added earlier
// with AddPhoto.
type Params struct {
	Comment     string
	Reason      string
	Disposition string
	Result      models.VerifyResult
	Category    string
	UnitID      string
	AssigneeID  uuid.UUID
	Deadline    *time.Time
	PhotoIDs    []uuid.UUID
	Photos      []PhotoInput
}

// Open opens (creating when missing) the local store at path and returns a
// client for it. Photos are kept in the directory path+".photos". A non-empty
// cfg.ServerURL or cfg.Token replaces the stored one; switching to another
// server starts the pull feed over.
func Open(ctx context.Context, path string, cfg Config) (*Client, error) {
	if path == "" {
		return nil, errors.New("client: Open needs a database path")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = 500 * time.Millisecond
	}
	if cfg.Backoff.Max < cfg.Backoff.Min {
		cfg.Backoff.Max = max(30*time.Second, cfg.Backoff.Min)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 512 << 10
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	dir := path + ".photos"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("client: photo directory: %w", err)
	}
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, err
	}
	c := &Client{db: db, photoDir: dir, cfg: cfg, http: hc}
	server := strings.TrimRight(strings.TrimSpace(cfg.ServerURL), "/")
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		stored, err := getMeta(ctx, tx, metaServer)
		if err != nil {
			return err
		}
		if server != "" && server != stored {
			if stored != "" {
				// Another server: its cursor and identity mean nothing here.
				for _, k := range []string{metaCursor, metaUserID, metaUsername, metaRole, metaDeviceID} {
					if err := setMeta(ctx, tx, k, ""); err != nil {
						return err
					}
				}
				if err := setMeta(ctx, tx, metaReset, "1"); err != nil {
					return err
				}
			}
			if err := setMeta(ctx, tx, metaServer, server); err != nil {
				return err
			}
			stored = server
		}
		c.server = stored
		tok, err := getMeta(ctx, tx, metaToken)
		if err != nil {
			return err
		}
		if cfg.Token != "" && cfg.Token != tok {
			if err := setMeta(ctx, tx, metaToken, cfg.Token); err != nil {
				return err
			}
			for _, k := range []string{metaUserID, metaUsername, metaRole, metaDeviceID} {
				if err := setMeta(ctx, tx, k, ""); err != nil {
					return err
				}
			}
			tok = cfg.Token
		}
		c.token = tok
		if n, err := getMetaInt(ctx, tx, metaNextSeq); err != nil {
			return err
		} else if n == 0 {
			return setMetaInt(ctx, tx, metaNextSeq, 1)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the local store.
func (c *Client) Close() error { return c.db.Close() }

// ServerURL returns the server the client syncs with ("" before enrolment).
func (c *Client) ServerURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

func (c *Client) now() time.Time { return c.cfg.Now().UTC() }

// queue appends cmd to the outbox with the next sequence number, which it
// returns. It mints the command id when cmd has none.
func (c *Client) queue(ctx context.Context, tx *sql.Tx, cmd wireCommand) (int64, error) {
	if cmd.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return 0, err
		}
		cmd.ID = id
	}
	if cmd.ClientTime.IsZero() {
		cmd.ClientTime = c.now()
	}
	seq, err := getMetaInt(ctx, tx, metaNextSeq)
	if err != nil {
		return 0, err
	}
	if seq < 1 {
		seq = 1
	}
	cmd.Seq = 0 // the row holds it
	body, err := json.Marshal(cmd)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox(seq, id, kind, case_id, command, state, created_at)
		VALUES(?, ?, ?, ?, ?, ?, ?)`, seq, cmd.ID.String(), cmd.Kind, cmd.CaseID.String(), string(body), statePending,
		cmd.ClientTime.Format(time.RFC3339Nano)); err != nil {
		return 0, err
	}
	return seq, setMetaInt(ctx, tx, metaNextSeq, seq+1)
}

// photoStages are the stages a photo may document. The sync engine also
// takes verify and resubmit, but the upload endpoint takes only these, and a
// photo whose bytes cannot be delivered is no evidence.
var photoStages = []string{"report", "self_handle", "report_done", "check"}

// captured is a photo copied into the client's directory.
type captured struct {
	in     PhotoInput
	id     uuid.UUID
	caseID uuid.UUID
	path   string
	sha    string
	size   int64
	at     time.Time
}

// capture validates in, copies its file into the photo directory and hashes
// it on the way. The SHA-256 computed here is the one the server verifies the
// upload against: it is the photo as taken, whatever happens to it later.
func (c *Client) capture(caseID uuid.UUID, in PhotoInput, stage string, typ models.PhotoType) (captured, error) {
	if in.Stage == "" {
		in.Stage = stage
	}
	if in.Type == "" {
		in.Type = typ
	}
	if !slices.Contains(photoStages, in.Stage) {
		return captured{}, models.Errorf(models.CodeInvalidInput, "unknown photo stage %q", in.Stage).
			WithHint("stages: " + strings.Join(photoStages, ", ")).WithField("stage")
	}
	if !slices.Contains(models.PhotoTypes, in.Type) {
		return captured{}, models.Errorf(models.CodeInvalidInput, "unknown photo type %q", in.Type).
			WithHint("types: far, near, reference, before, after, check").WithField("type")
	}
	if in.GPS != nil {
		if err := (models.Location{Lat: in.GPS.Lat, Lon: in.GPS.Lon, Accuracy: in.GPS.Accuracy}).Validate(); err != nil {
			return captured{}, err
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return captured{}, err
	}
	src, err := os.Open(in.Path)
	if err != nil {
		return captured{}, models.Errorf(models.CodeInvalidInput, "cannot read photo %s: %v", in.Path, errors.Unwrap(err)).WithField("photo")
	}
	defer src.Close()
	if st, err := src.Stat(); err != nil || !st.Mode().IsRegular() {
		return captured{}, models.Errorf(models.CodeInvalidInput, "photo %s is not a file", in.Path).WithField("photo")
	}
	dst := filepath.Join(c.photoDir, id.String()+strings.ToLower(filepath.Ext(in.Path)))
	tmp, err := os.CreateTemp(c.photoDir, ".capture-*")
	if err != nil {
		return captured{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return captured{}, fmt.Errorf("client: copy photo %s: %w", in.Path, err)
	}
	if n == 0 {
		os.Remove(dst)
		return captured{}, models.Errorf(models.CodeInvalidInput, "photo %s is empty", in.Path).WithField("photo")
	}
	at := c.now()
	if in.CapturedAt != nil {
		at = in.CapturedAt.UTC()
	}
	return captured{in: in, id: id, caseID: caseID, path: dst, sha: hex.EncodeToString(h.Sum(nil)), size: n, at: at}, nil
}

// queuePhoto records a captured photo and queues its add_photo command.
func (c *Client) queuePhoto(ctx context.Context, tx *sql.Tx, p captured) error {
	cmdID, err := uuid.NewV7()
	if err != nil {
		return err
	}
	at := p.at
	cmd := wireCommand{ID: cmdID, Kind: string(models.CmdAddPhoto), CaseID: p.caseID,
		Photo: &wirePhotoIn{ID: p.id, CaseID: p.caseID, Stage: p.in.Stage, Type: string(p.in.Type), SHA256: p.sha,
			Size: p.size, CapturedAt: &at, GPS: gpsWire(p.in.GPS), AppVersion: c.cfg.AppVersion}}
	if _, err := c.queue(ctx, tx, cmd); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO photos(id, case_id, command_id, stage, type, sha256, size, path, upload, created_at)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.id.String(), p.caseID.String(), cmdID.String(), p.in.Stage, string(p.in.Type),
		p.sha, p.size, p.path, uploadPending, at.Format(time.RFC3339Nano))
	return err
}

// captureAll captures every input and removes the copies again if one fails.
func (c *Client) captureAll(caseID uuid.UUID, ins []PhotoInput, stage string, typ models.PhotoType) ([]captured, error) {
	var out []captured
	for _, in := range ins {
		p, err := c.capture(caseID, in, stage, typ)
		if err != nil {
			discard(out)
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func discard(ps []captured) {
	for _, p := range ps {
		os.Remove(p.path)
	}
}

// CreateCase files a new case: it mints the case's UUIDv7, copies and hashes
// the photos, and queues one add_photo per photo followed by a create_case
// naming them, all in one local transaction. Photos default to stage report,
// type far. Like the server's submit guard, it wants a GPS fix and at least
// one site photo (far, near or reference), and refuses with guard_failed
// otherwise, so the inspector learns it on the spot rather than at the next
// sync. It returns the new case's id.
func (c *Client) CreateCase(ctx context.Context, d Draft, photos ...PhotoInput) (uuid.UUID, error) {
	if strings.TrimSpace(d.Category) == "" {
		return uuid.Nil, models.Errorf(models.CodeInvalidInput, "a case needs a category").WithField("category")
	}
	if err := d.Location.Validate(); err != nil {
		return uuid.Nil, err
	}
	if d.Location.Lat == 0 && d.Location.Lon == 0 {
		return uuid.Nil, models.Errorf(models.CodeGuardFailed, "a new case needs a GPS fix").WithField("location")
	}
	if d.Quantity != nil && *d.Quantity < 0 {
		return uuid.Nil, models.Errorf(models.CodeInvalidInput, "quantity must not be negative").WithField("quantity")
	}
	caseID, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, err
	}
	caps, err := c.captureAll(caseID, photos, "report", models.PhotoFar)
	if err != nil {
		return uuid.Nil, err
	}
	var ev models.Evidence
	for _, p := range caps {
		ev.Add(p.in.Type)
	}
	if ev.Site < 1 {
		discard(caps)
		return uuid.Nil, models.Errorf(models.CodeGuardFailed, "a new case needs at least one site photo (far, near or reference)").WithField("photos")
	}
	draft := &wireDraft{Category: d.Category, Description: d.Description,
		Location: wireLocation{Lat: d.Location.Lat, Lon: d.Location.Lon, Accuracy: d.Location.Accuracy, Address: d.Location.Address},
		Party:    d.Party, Quantity: d.Quantity}
	if d.LinkedCase != uuid.Nil {
		lc := d.LinkedCase
		draft.LinkedCase = &lc
	}
	for _, p := range caps {
		draft.Photos = append(draft.Photos, p.id)
	}
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		for _, p := range caps {
			if err := c.queuePhoto(ctx, tx, p); err != nil {
				return err
			}
		}
		_, err := c.queue(ctx, tx, wireCommand{Kind: string(models.CmdCreateCase), CaseID: caseID, Case: draft})
		return err
	})
	if err != nil {
		discard(caps)
		return uuid.Nil, err
	}
	return caseID, nil
}

// caseBase returns the version of the case as last pulled, which is what
// the user saw and what an edit is based on: 0 for a case filed on this
// tablet and not pulled yet. A case the tablet does not know is not_found.
func caseBase(ctx context.Context, q querier, caseID uuid.UUID) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT version FROM cases WHERE id = ?`, caseID.String()).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	rows, err := loadOutbox(ctx, q, `WHERE case_id = ? AND kind = ?`, caseID.String(), string(models.CmdCreateCase))
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.Outcome == nil || r.Outcome.Status != string(models.OutcomeRejected) {
			return 0, nil
		}
	}
	return 0, models.Errorf(models.CodeNotFound, "case %s is not on this tablet", caseID).WithHint("sync to pull it")
}

// Edit queues an edit_fields command. Its base_version is the version of the
// case as last pulled: the server merges it field by field against whatever
// others changed since, and sets aside (as a conflict record) any value of
// ours for a field someone else changed to something else. Fields are
// models.EditableFields, values as strings (numbers in decimal).
func (c *Client) Edit(ctx context.Context, caseID uuid.UUID, fields map[string]string) error {
	if len(fields) == 0 {
		return models.Errorf(models.CodeInvalidInput, "an edit names at least one field").WithField("fields")
	}
	for f := range fields {
		if !slices.Contains(models.EditableFields, f) {
			return models.Errorf(models.CodeUnknownField, "field %q cannot be edited", f).
				WithHint("editable fields: " + strings.Join(models.EditableFields, ", ")).WithField("fields." + f)
		}
	}
	return inTx(ctx, c.db, func(tx *sql.Tx) error {
		base, err := caseBase(ctx, tx, caseID)
		if err != nil {
			return err
		}
		_, err = c.queue(ctx, tx, wireCommand{Kind: string(models.CmdEditFields), CaseID: caseID, BaseVersion: base,
			Fields: maps(fields)})
		return err
	})
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// actionPhoto is the stage and type a photo taken with an action gets by default.
func actionPhoto(a models.Action) (string, models.PhotoType) {
	switch a {
	case models.ActionSelfHandle, models.ActionReportDone:
		return string(a), models.PhotoAfter
	case models.ActionVerify, models.ActionResubmit:
		return "report", models.PhotoReference // more of the site, as reported
	case models.ActionCheckPass, models.ActionCheckFail:
		return "check", models.PhotoCheck
	}
	return "report", models.PhotoReference
}

// Act queues a workflow action (report_done, return, verify, ...) on a case,
// preceded by an add_photo for each photo in p.Photos; the action names those
// photos and p.PhotoIDs as its evidence. The server decides whether the
// action is allowed; a refusal comes back as a rejected outcome at sync.
func (c *Client) Act(ctx context.Context, caseID uuid.UUID, action string, p Params) error {
	a := models.Action(action)
	if !a.Valid() || a == models.ActionSubmit {
		return models.Errorf(models.CodeInvalidInput, "unknown action %q", action).WithField("action")
	}
	if p.Result != "" && p.Result != models.VerifyTrue && p.Result != models.VerifyFalse && p.Result != models.VerifyUnverifiable {
		return models.Errorf(models.CodeInvalidInput, "result is true, false or unverifiable").WithField("result")
	}
	stage, typ := actionPhoto(a)
	caps, err := c.captureAll(caseID, p.Photos, stage, typ)
	if err != nil {
		return err
	}
	wp := &wireParams{Comment: p.Comment, Reason: p.Reason, Deadline: p.Deadline, UnitID: p.UnitID,
		Disposition: p.Disposition, Result: string(p.Result), Category: p.Category, Photos: slices.Clone(p.PhotoIDs)}
	if p.AssigneeID != uuid.Nil {
		id := p.AssigneeID
		wp.AssigneeID = &id
	}
	for _, ph := range caps {
		wp.Photos = append(wp.Photos, ph.id)
	}
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		base, err := caseBase(ctx, tx, caseID)
		if err != nil {
			return err
		}
		for _, ph := range caps {
			if err := c.queuePhoto(ctx, tx, ph); err != nil {
				return err
			}
		}
		_, err = c.queue(ctx, tx, wireCommand{Kind: string(models.CmdAction), CaseID: caseID, BaseVersion: base,
			Action: action, Params: wp})
		return err
	})
	if err != nil {
		discard(caps)
	}
	return err
}

// Comment queues a comment on a case. Comments never conflict.
func (c *Client) Comment(ctx context.Context, caseID uuid.UUID, body string) error {
	body = strings.TrimSpace(body)
	if body == "" {
		return models.Errorf(models.CodeInvalidInput, "a comment needs text").WithField("comment")
	}
	return inTx(ctx, c.db, func(tx *sql.Tx) error {
		base, err := caseBase(ctx, tx, caseID)
		if err != nil {
			return err
		}
		_, err = c.queue(ctx, tx, wireCommand{Kind: string(models.CmdAddComment), CaseID: caseID, BaseVersion: base, Comment: body})
		return err
	})
}

// AddPhoto takes a photo for a case on its own: it computes the SHA-256 at
// capture, copies the file into the client's directory and queues an
// add_photo. The stage defaults to report; the type is required. It returns
// the photo's id, which a later Act may name in Params.PhotoIDs.
func (c *Client) AddPhoto(ctx context.Context, caseID uuid.UUID, in PhotoInput) (uuid.UUID, error) {
	if in.Type == "" {
		return uuid.Nil, models.Errorf(models.CodeInvalidInput, "a photo needs a type: far, near, reference, before, after or check").WithField("type")
	}
	p, err := c.capture(caseID, in, "report", in.Type)
	if err != nil {
		return uuid.Nil, err
	}
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		if _, err := caseBase(ctx, tx, caseID); err != nil {
			return err
		}
		return c.queuePhoto(ctx, tx, p)
	})
	if err != nil {
		os.Remove(p.path)
		return uuid.Nil, err
	}
	return p.id, nil
}
