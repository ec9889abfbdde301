package client

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// CaseView is a case as the tablet shows it: the server's state as last
// pulled, with the user's own unanswered work replayed on top.
type CaseView struct {
	// Case is the local view of the case. Its Version is the server version
	// last pulled (0 for a case filed here and not pulled yet): the version
	// the next edit is based on.
	models.Case
	Comments  []models.Comment
	Photos    []PhotoView
	Conflicts []models.Conflict
	// Pending counts the commands on this case the server has not answered.
	Pending int
	// LocalOnly says the case was filed on this tablet and the server's copy
	// has not been pulled yet.
	LocalOnly bool
	// Unpredicted lists queued actions the local replay could not apply (the
	// guard needs something only the server knows); the server decides them.
	Unpredicted []models.Action
}

// OpenConflicts counts the case's conflict records nobody resolved yet.
func (v CaseView) OpenConflicts() int {
	n := 0
	for _, cf := range v.Conflicts {
		if cf.Status == models.ConflictOpen {
			n++
		}
	}
	return n
}

// PhotoView is a photo of a case: the server's record when pulled, and for
// photos taken here the local file and the upload state.
type PhotoView struct {
	models.PhotoRecord
	// Mine says the photo was taken on this tablet.
	Mine bool
	// LocalPath is the client's copy of a photo taken here.
	LocalPath string
	// Upload is "" (not ours), "pending", "waiting" (the server has no upload
	// endpoint yet), "uploaded" or "failed".
	Upload string
	// UploadError is the last upload problem: the code and reason of a
	// refusal, or a transient error.
	UploadError string
}

// Cases returns the local view of every case the tablet holds, newest first:
// each pulled case with the pending (unanswered) commands replayed on it in
// sequence order, plus the cases filed here that were not pulled yet.
// Commands the server answered but whose effect the last pull did not carry
// yet are replayed too, with the values the server reported (the merge
// result of an edit), so nothing the user did disappears between push and pull.
func (c *Client) Cases(ctx context.Context) ([]CaseView, error) {
	return c.views(ctx, uuid.Nil)
}

// Case returns the local view of one case, or not_found.
func (c *Client) Case(ctx context.Context, id uuid.UUID) (CaseView, error) {
	vs, err := c.views(ctx, id)
	if err != nil {
		return CaseView{}, err
	}
	if len(vs) == 0 {
		return CaseView{}, models.Errorf(models.CodeNotFound, "case %s is not on this tablet", id)
	}
	return vs[0], nil
}

func (c *Client) views(ctx context.Context, only uuid.UUID) ([]CaseView, error) {
	filter, args := "", []any{}
	if only != uuid.Nil {
		filter, args = " WHERE id = ?", []any{only.String()}
	}
	byID := map[uuid.UUID]*CaseView{}
	rows, err := c.db.QueryContext(ctx, `SELECT body FROM cases`+filter, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return nil, err
		}
		var w wireCase
		if err := json.Unmarshal([]byte(body), &w); err != nil {
			rows.Close()
			return nil, fmt.Errorf("client: stored case: %w", err)
		}
		byID[w.ID] = &CaseView{Case: w.model()}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	caseFilter := strings.Replace(filter, "id", "case_id", 1)
	if err := c.attachComments(ctx, byID, caseFilter, args); err != nil {
		return nil, err
	}
	if err := c.attachConflicts(ctx, byID, caseFilter, args); err != nil {
		return nil, err
	}
	photos, err := c.photoViews(ctx, caseFilter, args)
	if err != nil {
		return nil, err
	}
	me, err := c.Identity(ctx)
	if err != nil {
		return nil, err
	}
	// Replay: the pending commands, and answered ones newer than the pull.
	where := `WHERE (state = ? OR (json_extract(outcome, '$.status') IN (?, ?, ?)
		AND json_extract(outcome, '$.version') > COALESCE((SELECT version FROM cases WHERE cases.id = outbox.case_id), 0)))`
	wargs := []any{statePending, string(models.OutcomeApplied), string(models.OutcomeMerged), string(models.OutcomeConflict)}
	if only != uuid.Nil {
		where += ` AND case_id = ?`
		wargs = append(wargs, only.String())
	}
	cmds, err := loadOutbox(ctx, c.db, where+` ORDER BY seq`, wargs...)
	if err != nil {
		return nil, err
	}
	pending := map[uuid.UUID]int{}
	for _, r := range cmds {
		replay(byID, photos, r, me)
		if r.State == statePending {
			pending[r.CaseID]++
		}
	}
	out := make([]CaseView, 0, len(byID))
	for id, v := range byID {
		v.Photos = photos[id]
		v.Pending = pending[id]
		slices.SortStableFunc(v.Comments, func(a, b models.Comment) int { return a.CreatedAt.Compare(b.CreatedAt) })
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b CaseView) int { return strings.Compare(b.ID.String(), a.ID.String()) })
	return out, nil
}

func (c *Client) attachComments(ctx context.Context, byID map[uuid.UUID]*CaseView, filter string, args []any) error {
	rows, err := c.db.QueryContext(ctx, `SELECT body FROM comments`+filter, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return err
		}
		var w wireComment
		if err := json.Unmarshal([]byte(body), &w); err != nil {
			return fmt.Errorf("client: stored comment: %w", err)
		}
		if v := byID[w.CaseID]; v != nil {
			v.Comments = append(v.Comments, w.model())
		}
	}
	return rows.Err()
}

func (c *Client) attachConflicts(ctx context.Context, byID map[uuid.UUID]*CaseView, filter string, args []any) error {
	list, err := c.conflicts(ctx, filter, args)
	if err != nil {
		return err
	}
	for _, cf := range list {
		if v := byID[cf.CaseID]; v != nil {
			v.Conflicts = append(v.Conflicts, cf)
		}
	}
	return nil
}

// photoViews returns every photo by case, ours and pulled.
func (c *Client) photoViews(ctx context.Context, filter string, args []any) (map[uuid.UUID][]PhotoView, error) {
	list, err := loadPhotos(ctx, c.db, filter+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]PhotoView{}
	for _, p := range list {
		pv := PhotoView{Mine: p.Path != "", LocalPath: p.Path, Upload: p.Upload}
		if p.UploadCode != "" {
			pv.UploadError = p.UploadCode + ": " + p.UploadE
		} else {
			pv.UploadError = p.UploadE
		}
		if p.Server != nil {
			pv.PhotoRecord = p.Server.model()
		} else {
			pv.PhotoRecord = models.PhotoRecord{ID: p.ID, CaseID: p.CaseID, Stage: p.Stage, Type: models.PhotoType(p.Type),
				SHA256: p.SHA256, Size: p.Size}
			if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil {
				pv.CapturedAt = &t
			}
		}
		out[p.CaseID] = append(out[p.CaseID], pv)
	}
	return out, nil
}

// replay applies one command to the local view, the way the server will.
func replay(byID map[uuid.UUID]*CaseView, photos map[uuid.UUID][]PhotoView, r outboxRow, me Identity) {
	cmd := r.Cmd
	v := byID[cmd.CaseID]
	pending := r.State == statePending
	switch models.CommandKind(cmd.Kind) {
	case models.CmdCreateCase:
		if v != nil || cmd.Case == nil {
			return
		}
		d := cmd.Case
		v = &CaseView{LocalOnly: true, Case: models.Case{ID: cmd.CaseID, Category: d.Category, Description: d.Description,
			Location: models.Location{Lat: d.Location.Lat, Lon: d.Location.Lon, Accuracy: d.Location.Accuracy, Address: d.Location.Address},
			Party:    d.Party, Quantity: d.Quantity, LinkedCase: deref(d.LinkedCase), Source: models.SourceDevice,
			State: models.StateReported, ReporterID: me.UserID, ReporterRole: me.Role, DeviceID: me.DeviceID,
			ClientCreatedAt: cmd.ClientTime, CreatedAt: cmd.ClientTime, UpdatedAt: cmd.ClientTime}}
		byID[cmd.CaseID] = v
	case models.CmdEditFields:
		if v == nil {
			return
		}
		fields := cmd.Fields
		if !pending && r.Outcome != nil && r.Outcome.Final != nil {
			fields = r.Outcome.Final // what the server kept after merging
		}
		for f, val := range fields {
			setField(&v.Case, f, val)
		}
		v.UpdatedAt = cmd.ClientTime
	case models.CmdAction:
		if v == nil {
			return
		}
		if r.Outcome != nil && r.Outcome.Status == string(models.OutcomeConflict) {
			return // it reached a closed case; the server kept it for review
		}
		params := cmd.Params.model()
		ev := evidence(v, photos[v.ID])
		// The server put the case in our scope; the replay cannot check
		// more than that.
		actor := models.Actor{UserID: me.UserID, Username: me.Username, Role: me.Role, DeviceID: me.DeviceID,
			Scope: models.Scope{Grids: []string{v.GridCode}}}
		next, err := models.Apply(models.Transition{Case: &v.Case, Actor: actor, Action: models.Action(cmd.Action),
			Params: params, Evidence: ev, Now: cmd.ClientTime})
		if err != nil {
			v.Unpredicted = append(v.Unpredicted, models.Action(cmd.Action))
			return
		}
		next.Version, next.ChangeSeq = v.Version, v.ChangeSeq
		next.UpdatedAt = cmd.ClientTime
		v.Case = next
	case models.CmdAddComment:
		if v == nil {
			return
		}
		if slices.ContainsFunc(v.Comments, func(cm models.Comment) bool { return cm.ID == cmd.ID }) {
			return
		}
		at := cmd.ClientTime
		v.Comments = append(v.Comments, models.Comment{ID: cmd.ID, CaseID: cmd.CaseID, Body: cmd.Comment, AuthorID: me.UserID,
			Author: me.Username, Role: me.Role, DeviceID: me.DeviceID, CreatedAt: at, ClientAt: &at})
	}
}

// evidence counts the photos behind an action as the server does. The photos
// an action names are the case's photos (ours are recorded with the case at
// capture), so counting the case's photos covers them.
func evidence(v *CaseView, photos []PhotoView) models.Evidence {
	var ev models.Evidence
	seen := map[uuid.UUID]bool{}
	count := func(p PhotoView) {
		if seen[p.ID] || p.Deleted || p.Upload == uploadRejected {
			return
		}
		seen[p.ID] = true
		ev.Add(p.Type)
		if p.Type == models.PhotoCheck && p.UploaderID != v.HandledBy {
			ev.CheckByOther = true
		}
	}
	for _, p := range photos {
		count(p)
	}
	return ev
}

// setField writes one edited field into c, the way the server's edit does.
var setField = models.SetField

// Conflicts returns the conflict records pulled for the tablet's cases, open
// ones first, newest first within each.
func (c *Client) Conflicts(ctx context.Context) ([]models.Conflict, error) {
	return c.conflicts(ctx, "", nil)
}

func (c *Client) conflicts(ctx context.Context, filter string, args []any) ([]models.Conflict, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT body FROM conflicts`+filter, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []models.Conflict
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var w wireConflict
		if err := json.Unmarshal([]byte(body), &w); err != nil {
			return nil, fmt.Errorf("client: stored conflict: %w", err)
		}
		out = append(out, w.model())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Conflict) int {
		if ao, bo := a.Status == models.ConflictOpen, b.Status == models.ConflictOpen; ao != bo {
			if ao {
				return -1
			}
			return 1
		}
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID.String(), a.ID.String()))
	})
	return out, nil
}

// OutboxEntry is one command of the outbox and, once answered, its outcome.
type OutboxEntry struct {
	Seq       int64
	ID        uuid.UUID
	Kind      models.CommandKind
	CaseID    uuid.UUID
	State     string // pending, done (outcome recorded) or acked (the server was told)
	CreatedAt time.Time
	Summary   string
	Command   models.Command
	Outcome   *models.Outcome
}

// Outbox returns every command queued on this tablet, in sequence order.
func (c *Client) Outbox(ctx context.Context) ([]OutboxEntry, error) {
	rows, err := loadOutbox(ctx, c.db, `ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	out := make([]OutboxEntry, 0, len(rows))
	for _, r := range rows {
		e := OutboxEntry{Seq: r.Seq, ID: r.ID, Kind: models.CommandKind(r.Kind), CaseID: r.CaseID, State: r.State,
			Summary: summary(r.Cmd), Command: r.Cmd.model()}
		e.CreatedAt, _ = time.Parse(time.RFC3339Nano, r.CreatedAt)
		if r.Outcome != nil {
			o := r.Outcome.model()
			e.Outcome = &o
		}
		out = append(out, e)
	}
	return out, nil
}

// Outcomes returns the server's answers recorded so far, in sequence order;
// rejected ones keep their code, reason and hint for the user.
func (c *Client) Outcomes(ctx context.Context) ([]models.Outcome, error) {
	rows, err := loadOutbox(ctx, c.db, `WHERE outcome != '' ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	out := make([]models.Outcome, 0, len(rows))
	for _, r := range rows {
		o := r.Outcome.model()
		if o.Seq == 0 {
			o.Seq = r.Seq
		}
		out = append(out, o)
	}
	return out, nil
}

// model maps a stored command to the domain.
func (w wireCommand) model() models.Command {
	cmd := models.Command{ID: w.ID, Seq: w.Seq, Kind: models.CommandKind(w.Kind), CaseID: w.CaseID, BaseVersion: w.BaseVersion,
		ClientTime: w.ClientTime, Fields: w.Fields, Action: models.Action(w.Action), Comment: w.Comment}
	if d := w.Case; d != nil {
		cmd.Create = &models.CaseDraft{Category: d.Category, Description: d.Description,
			Location: models.Location{Lat: d.Location.Lat, Lon: d.Location.Lon, Accuracy: d.Location.Accuracy, Address: d.Location.Address},
			Party:    d.Party, Quantity: d.Quantity, Source: models.SourceDevice, Photos: d.Photos, Submit: true, LinkedCase: deref(d.LinkedCase)}
	}
	if w.Params != nil {
		cmd.Params = w.Params.model()
	}
	if p := w.Photo; p != nil {
		cmd.Photo = &models.PhotoRecord{ID: p.ID, CaseID: p.CaseID, Stage: p.Stage, Type: models.PhotoType(p.Type), SHA256: p.SHA256,
			Size: p.Size, CapturedAt: p.CapturedAt, GPS: p.GPS.model(), AppVersion: p.AppVersion}
	}
	return cmd
}

// summary renders a command in a line for people.
func summary(cmd wireCommand) string {
	switch models.CommandKind(cmd.Kind) {
	case models.CmdCreateCase:
		if cmd.Case != nil {
			return fmt.Sprintf("report %s: %s", cmd.Case.Category, cmd.Case.Description)
		}
	case models.CmdEditFields:
		keys := make([]string, 0, len(cmd.Fields))
		for k := range cmd.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+"="+cmd.Fields[k])
		}
		return fmt.Sprintf("edit (base v%d) %s", cmd.BaseVersion, strings.Join(parts, "; "))
	case models.CmdAction:
		s := cmd.Action
		if cmd.Params != nil {
			for _, p := range []string{cmd.Params.Reason, cmd.Params.Comment} {
				if p != "" {
					s += ": " + p
					break
				}
			}
		}
		return s
	case models.CmdAddComment:
		return "comment: " + cmd.Comment
	case models.CmdAddPhoto:
		if cmd.Photo != nil {
			return fmt.Sprintf("photo %s %s (%s)", cmd.Photo.Type, cmd.Photo.ID, cmd.Photo.Stage)
		}
	}
	return cmd.Kind
}
