package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// CaseList is one page of cases.
type CaseList struct {
	Items      []CaseDTO `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// list limits.
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// caseQuery parses the case list filters. Bad values are errors, never ignored.
func (a *API) caseQuery(c *echo.Context, actor models.Actor) (models.CaseQuery, error) {
	q := models.CaseQuery{Scope: actor.Scope, Limit: defaultListLimit, Now: a.now()}
	p := c.QueryParams()
	for _, s := range csv(p.Get("state")) {
		st := models.State(s)
		if !st.Valid() {
			return q, models.Errorf(models.CodeInvalidInput, "unknown state %q", s).WithField("state")
		}
		q.States = append(q.States, st)
	}
	q.Categories = csv(p.Get("category"))
	q.OrgPath = p.Get("org_path")
	q.Grid = p.Get("grid")
	q.UnitID = p.Get("unit")
	q.RoadSegmentID = p.Get("road_segment")
	q.Disposition = p.Get("disposition")
	switch s := p.Get("sort"); s {
	case "", "newest":
	case "deadline":
		q.Sort = models.SortDeadline
	default:
		return q, models.Errorf(models.CodeInvalidInput, "sort is newest or deadline").WithField("sort")
	}
	q.Text = strings.TrimSpace(p.Get("q"))
	if s := p.Get("source"); s != "" {
		q.Source = models.Source(s)
		if !q.Source.Valid() {
			return q, models.Errorf(models.CodeInvalidInput, "unknown source %q", s).WithField("source")
		}
	}
	if s := p.Get("reporter"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return q, models.Errorf(models.CodeInvalidInput, "reporter must be a user id").WithField("reporter")
		}
		q.ReporterID = id
	}
	if s := p.Get("bbox"); s != "" {
		parts := csv(s)
		var v [4]float64
		if len(parts) != 4 {
			return q, models.Errorf(models.CodeInvalidInput, "bbox is min_lon,min_lat,max_lon,max_lat").WithField("bbox")
		}
		for i, part := range parts {
			f, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return q, models.Errorf(models.CodeInvalidInput, "bbox is min_lon,min_lat,max_lon,max_lat").WithField("bbox")
			}
			v[i] = f
		}
		bb := models.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
		if bb.MinLat < -90 || bb.MaxLat > 90 || bb.MinLon < -180 || bb.MaxLon > 180 || bb.MinLat > bb.MaxLat || bb.MinLon > bb.MaxLon {
			return q, models.Errorf(models.CodeInvalidLocation, "bbox is outside the globe or inverted").WithField("bbox")
		}
		q.BBox = &bb
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := p.Get(f.name); s != "" {
			t, err := parseTimeParam(s)
			if err != nil {
				return q, models.Errorf(models.CodeInvalidInput, "%s must be an RFC 3339 time or a date (2026-01-31)", f.name).WithField(f.name)
			}
			*f.dst = &t
		}
	}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"overdue", &q.Overdue}, {"rework", &q.Rework}, {"has_conflict", &q.HasConflict}} {
		if s := p.Get(f.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return q, models.Errorf(models.CodeInvalidInput, "%s must be true or false", f.name).WithField(f.name)
			}
			*f.dst = b
		}
	}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			return q, models.Errorf(models.CodeInvalidInput, "limit must be 1 to %d", maxListLimit).WithField("limit")
		}
		q.Limit = n
	}
	if s := p.Get("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != 16 {
			return q, models.Errorf(models.CodeInvalidCursor, "the cursor is not one this server issued").WithField("cursor")
		}
		q.After = uuid.UUID(b)
	}
	return q, nil
}

func parseTimeParam(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, time.FixedZone("CST", 8*3600))
}

func (a *API) listCases(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	q, err := a.caseQuery(c, actor)
	if err != nil {
		return err
	}
	limit := q.Limit
	q.Limit = limit + 1
	list, err := a.listFiltered(c, q) // ListCases, or the ids filter (console.go)
	if err != nil {
		return err
	}
	res := CaseList{Items: make([]CaseDTO, 0, len(list))}
	now := a.now()
	for i := range list {
		if i == limit {
			res.NextCursor = base64.RawURLEncoding.EncodeToString(list[i-1].ID[:])
			break
		}
		res.Items = append(res.Items, caseDTO(&list[i], now))
	}
	return ok(c, res)
}

// CaseDetail is a case with everything the console shows on its page.
type CaseDetail struct {
	Case      CaseDTO       `json:"case"`
	History   []HistoryDTO  `json:"history"`
	Comments  []CommentDTO  `json:"comments"`
	Photos    []PhotoDTO    `json:"photos"`
	Conflicts []ConflictDTO `json:"conflicts"`
	Actions   []string      `json:"actions"`
}

// loadVisible returns a case the actor may see. Anything else is 404, so the
// existence of cases outside one's scope does not leak.
func (a *API) loadVisible(c *echo.Context, actor models.Actor) (models.Case, error) {
	id, err := pathUUID(c, "id")
	if err != nil {
		return models.Case{}, err
	}
	cs, err := a.d.Store.GetCase(c.Request().Context(), id)
	if models.IsNotFound(err) || (err == nil && (cs.Deleted || !actor.Scope.Covers(&cs))) {
		return models.Case{}, models.Errorf(models.CodeNotFound, "case not found")
	}
	return cs, err
}

// caseRequest is the common start of a command on one case: the caller
// (with one of roles, when any are named), the case if they may see it, and
// the decoded body.
func (a *API) caseRequest(c *echo.Context, body any, roles ...models.Role) (models.Actor, models.Case, error) {
	actor, err := actorOf(c)
	if err == nil && len(roles) > 0 {
		actor, err = requireRole(c, roles...)
	}
	if err != nil {
		return actor, models.Case{}, err
	}
	cs, err := a.loadVisible(c, actor)
	if err != nil {
		return actor, cs, err
	}
	return actor, cs, decodeJSON(c, body)
}

func (a *API) getCase(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	cs, err := a.loadVisible(c, actor)
	if err != nil {
		return err
	}
	if err := a.auditView(c, actor, cs); err != nil {
		return err
	}
	return a.caseDetail(c, actor, cs, http.StatusOK)
}

func (a *API) caseDetail(c *echo.Context, actor models.Actor, cs models.Case, status int) error {
	ctx := c.Request().Context()
	hist, err := a.d.Store.History(ctx, cs.ID)
	if err != nil {
		return err
	}
	comments, err := a.d.Store.Comments(ctx, []uuid.UUID{cs.ID})
	if err != nil {
		return err
	}
	photos, err := a.d.Store.Photos(ctx, []uuid.UUID{cs.ID})
	if err != nil {
		return err
	}
	conflicts, err := a.d.Store.Conflicts(ctx, models.ConflictQuery{Scope: actor.Scope, CaseID: cs.ID})
	if err != nil {
		return err
	}
	d := CaseDetail{Case: caseDTO(&cs, a.now()), History: make([]HistoryDTO, 0, len(hist)),
		Comments: make([]CommentDTO, 0, len(comments)), Photos: make([]PhotoDTO, 0, len(photos)),
		Conflicts: make([]ConflictDTO, 0, len(conflicts)), Actions: []string{}}
	for _, h := range hist {
		d.History = append(d.History, historyDTO(h))
	}
	for _, cm := range comments {
		d.Comments = append(d.Comments, commentDTO(cm))
	}
	for _, p := range photos {
		d.Photos = append(d.Photos, photoDTO(p))
	}
	for _, cf := range conflicts {
		d.Conflicts = append(d.Conflicts, conflictDTO(cf))
	}
	for _, act := range models.AllowedActions(cs.State, actor.Role) {
		d.Actions = append(d.Actions, string(act))
	}
	return c.JSON(status, d)
}

// CreateCaseRequest is a case entered in the console (12345 hotline, walk-in).
type CreateCaseRequest struct {
	ID        uuid.UUID `json:"id,omitempty"`
	CommandID uuid.UUID `json:"command_id,omitempty"`
	DraftDTO
}

func (a *API) createCase(c *echo.Context) error {
	actor, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	var req CreateCaseRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ID == uuid.Nil {
		if req.ID, err = uuid.NewV7(); err != nil {
			return err
		}
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdCreateCase, CaseID: req.ID, Create: req.DraftDTO.model(a.conv)}
	return a.applyAndShow(c, actor, cmd, http.StatusCreated)
}

// applyAndShow runs a console command through the engine. A rejected command
// is an error response; anything else answers with the outcome and the case.
// A retried request (a command id already applied) is answered the same and
// audited once, when it was done.
func (a *API) applyAndShow(c *echo.Context, actor models.Actor, cmd models.Command, status int) error {
	ctx := c.Request().Context()
	out, replayed, err := a.d.Engine.ApplyOnce(ctx, actor, cmd)
	if err != nil {
		return err
	}
	if out.Status == models.OutcomeRejected {
		return &models.Error{Code: out.Code, Message: out.Reason, Hint: out.Hint, Field: out.Field}
	}
	if !replayed {
		a.auditCommand(c, actor, cmd, out)
	}
	cs, err := a.d.Store.GetCase(ctx, out.CaseID)
	if err != nil {
		return err
	}
	return c.JSON(status, CommandResult{Outcome: outcomeDTO(out), Case: caseDTO(&cs, a.now())})
}

// CommandResult answers a console command: its outcome and the case after it.
type CommandResult struct {
	Outcome OutcomeDTO `json:"outcome"`
	Case    CaseDTO    `json:"case"`
}

// EditRequest edits descriptive fields against the version the clerk saw.
type EditRequest struct {
	BaseVersion int64             `json:"base_version"`
	Fields      map[string]string `json:"fields"`
	Comment     string            `json:"comment,omitempty"`
	CommandID   uuid.UUID         `json:"command_id,omitempty"`
}

func (a *API) editCase(c *echo.Context) error {
	var req EditRequest
	actor, cs, err := a.caseRequest(c, &req, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdEditFields, CaseID: cs.ID, BaseVersion: req.BaseVersion,
		Fields: req.Fields, Comment: req.Comment}
	return a.applyAndShow(c, actor, cmd, http.StatusOK)
}

// TransitionRequest runs a workflow action.
type TransitionRequest struct {
	Action      string     `json:"action"`
	Comment     string     `json:"comment,omitempty"`
	Params      *ParamsDTO `json:"params,omitempty"`
	BaseVersion int64      `json:"base_version,omitempty"`
	CommandID   uuid.UUID  `json:"command_id,omitempty"`
}

func (a *API) transition(c *echo.Context) error {
	var req TransitionRequest
	actor, cs, err := a.caseRequest(c, &req)
	if err != nil {
		return err
	}
	if !models.Action(req.Action).Valid() {
		return models.Errorf(models.CodeInvalidInput, "unknown action %q", req.Action).WithField("action")
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdAction, CaseID: cs.ID, BaseVersion: req.BaseVersion,
		Action: models.Action(req.Action)}
	if req.Params != nil {
		cmd.Params = req.Params.model()
	}
	if req.Comment != "" && cmd.Params.Comment == "" {
		cmd.Params.Comment = req.Comment
	}
	if req.BaseVersion != 0 && req.BaseVersion != cs.Version {
		return models.Errorf(models.CodeVersionConflict, "the case changed since you loaded it (version %d, now %d)", req.BaseVersion, cs.Version).
			WithHint("reload the case and try again")
	}
	return a.applyAndShow(c, actor, cmd, http.StatusOK)
}

// CommentRequest adds a comment.
type CommentRequest struct {
	Body      string    `json:"body"`
	CommandID uuid.UUID `json:"command_id,omitempty"`
}

func (a *API) addComment(c *echo.Context) error {
	var req CommentRequest
	actor, cs, err := a.caseRequest(c, &req)
	if err != nil {
		return err
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdAddComment, CaseID: cs.ID, Comment: req.Body}
	return a.applyAndShow(c, actor, cmd, http.StatusCreated)
}

// WithdrawRequest withdraws an evidence photo of a case, with the reason.
type WithdrawRequest struct {
	Reason    string    `json:"reason"`
	CommandID uuid.UUID `json:"command_id,omitempty"`
}

// withdrawPhoto is a supervisor's soft delete of an evidence photo: the
// original stays stored byte for byte, its record is marked withdrawn with
// the reason, and the case history and the audit log say who did it.
func (a *API) withdrawPhoto(c *echo.Context) error {
	var req WithdrawRequest
	actor, cs, err := a.caseRequest(c, &req, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	photoID, err := pathUUID(c, "photo_id")
	if err != nil {
		return err
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdWithdrawPhoto, CaseID: cs.ID,
		Withdraw: &models.PhotoWithdrawal{PhotoID: photoID, Reason: req.Reason}}
	return a.applyAndShow(c, actor, cmd, http.StatusOK)
}

// ConflictList is a list of conflict records.
type ConflictList struct {
	Items []ConflictDTO `json:"items"`
}

func (a *API) listConflicts(c *echo.Context) error {
	actor, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	q := models.ConflictQuery{Scope: actor.Scope, Limit: maxListLimit}
	switch s := c.QueryParam("status"); s {
	case "", "open":
		q.Status = models.ConflictOpen
	case "resolved":
		q.Status = models.ConflictResolved
	case "all":
	default:
		return models.Errorf(models.CodeInvalidInput, "status is open, resolved or all").WithField("status")
	}
	if s := c.QueryParam("case"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return models.Errorf(models.CodeInvalidInput, "case must be a case id").WithField("case")
		}
		q.CaseID = id
	}
	list, err := a.d.Store.Conflicts(c.Request().Context(), q)
	if err != nil {
		return err
	}
	res := ConflictList{Items: make([]ConflictDTO, 0, len(list))}
	for _, cf := range list {
		res.Items = append(res.Items, conflictDTO(cf))
	}
	return ok(c, res)
}

func (a *API) resolveConflict(c *echo.Context) error {
	actor, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathUUID(c, "id")
	if err != nil {
		return err
	}
	var req ResolveDTO
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ConflictID != uuid.Nil && req.ConflictID != id {
		return models.Errorf(models.CodeInvalidInput, "conflict_id differs from the path").WithField("conflict_id")
	}
	cmd := models.Command{ID: req.CommandID, Kind: models.CmdResolveConflict, Comment: req.Comment,
		Resolve: &models.Resolution{ConflictID: id, Take: req.Take, Value: req.Value}}
	return a.applyAndShow(c, actor, cmd, http.StatusOK)
}
