package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// The audit log records who viewed, changed and exported what. Handlers call
// the helpers below after the action succeeded:
//
//   - auditView and auditExport run before any case data leaves, and their
//     failure fails the request: nothing is shown or exported unrecorded.
//   - auditCommand runs after a console command committed; the change stands
//     whatever happens to the record (it is in the case history with its
//     actor anyway), so a failure to record is logged, not returned.

// errNoAudit answers when the store keeps no audit log.
var errNoAudit = models.Errorf(models.CodeUnavailable, "this server keeps no audit log")

// record appends one entry for actor.
func (a *API) record(ctx context.Context, actor models.Actor, action models.AuditAction, caseID uuid.UUID, detail map[string]any) error {
	if a.d.Audit == nil {
		return errNoAudit
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	if detail == nil {
		b = []byte("{}")
	}
	e := models.AuditEntry{At: a.now(), ActorID: actor.UserID, ActorName: actor.Name, Role: actor.Role,
		DeviceID: actor.DeviceID, Action: action, CaseID: caseID, Detail: string(b), RequestID: requestIDFromCtx(ctx)}
	_, err = a.d.Audit.AppendAudit(ctx, []models.AuditEntry{e})
	return err
}

func requestIDFromCtx(ctx context.Context) string {
	if v, ok := ctx.Value(keyRequestID).(string); ok {
		return v
	}
	return ""
}

// auditView records that an office user opened a case. Field roles read
// cases all day through sync; what the audit log is for is who in the office
// looked at which case.
func (a *API) auditView(c *echo.Context, actor models.Actor, cs models.Case) error {
	if !actor.Role.IsOffice() || a.d.Audit == nil {
		return nil
	}
	err := a.record(c.Request().Context(), actor, models.AuditView, cs.ID,
		map[string]any{"state": cs.State, "version": cs.Version})
	if err != nil {
		return &models.Error{Code: models.CodeUnavailable, Message: "the view could not be recorded in the audit log; try again",
			Cause: err}
	}
	return nil
}

// auditActions maps command kinds to what the audit log calls them.
var auditActions = map[models.CommandKind]models.AuditAction{
	models.CmdCreateCase:      models.AuditCreate,
	models.CmdEditFields:      models.AuditEdit,
	models.CmdAction:          models.AuditTransition,
	models.CmdAddComment:      models.AuditComment,
	models.CmdResolveConflict: models.AuditResolve,
	models.CmdWithdrawPhoto:   models.AuditWithdraw,
}

// auditCommand records a console command that was not rejected. The detail
// names the command, its outcome and what it touched (field names, the
// action, the conflict), never the free text it carried.
func (a *API) auditCommand(c *echo.Context, actor models.Actor, cmd models.Command, out models.Outcome) {
	if a.d.Audit == nil {
		return
	}
	action, ok := auditActions[cmd.Kind]
	if !ok {
		return
	}
	d := map[string]any{"command_id": cmd.ID, "outcome": out.Status, "version": out.Version}
	if out.CommandID != uuid.Nil {
		d["command_id"] = out.CommandID
	}
	switch cmd.Kind {
	case models.CmdAction:
		d["action"] = cmd.Action
		if cmd.Params.UnitID != "" {
			d["unit_id"] = cmd.Params.UnitID
		}
		if cmd.Params.Deadline != nil {
			d["deadline"] = cmd.Params.Deadline.UTC()
		}
	case models.CmdEditFields:
		fields := make([]string, 0, len(cmd.Fields))
		for _, f := range models.EditableFields {
			if _, ok := cmd.Fields[f]; ok {
				fields = append(fields, f)
			}
		}
		for f := range cmd.Fields {
			if !contains(models.EditableFields, f) {
				fields = append(fields, f)
			}
		}
		d["fields"] = fields
	case models.CmdResolveConflict:
		if cmd.Resolve != nil {
			d["conflict_id"], d["take"] = cmd.Resolve.ConflictID, cmd.Resolve.Take
		}
	case models.CmdWithdrawPhoto:
		if cmd.Withdraw != nil {
			d["photo_id"] = cmd.Withdraw.PhotoID
		}
	case models.CmdCreateCase:
		if cmd.Create != nil {
			d["category"], d["source"] = cmd.Create.Category, cmd.Create.Source
		}
	}
	if len(out.ConflictID) > 0 {
		d["conflict_ids"] = out.ConflictID
	}
	caseID := out.CaseID
	if caseID == uuid.Nil {
		caseID = cmd.CaseID
	}
	ctx := c.Request().Context()
	if err := a.record(ctx, actor, action, caseID, d); err != nil {
		a.log.ErrorContext(ctx, "audit: could not record a command", "request_id", requestIDOf(c.Request()),
			"command_id", cmd.ID, "case_id", caseID, "action", action, "err", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// AuditEntryDTO is one line of the audit log with its place in the chain.
type AuditEntryDTO struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	ActorID   uuid.UUID       `json:"actor_id"`
	ActorName string          `json:"actor_name"`
	Role      string          `json:"role"`
	DeviceID  *uuid.UUID      `json:"device_id,omitempty"`
	Action    string          `json:"action"`
	CaseID    *uuid.UUID      `json:"case_id,omitempty"`
	Detail    json.RawMessage `json:"detail"`
	RequestID string          `json:"request_id,omitempty"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

func auditDTO(e models.AuditEntry) AuditEntryDTO {
	detail := json.RawMessage(e.Detail)
	if !json.Valid(detail) || len(e.Detail) == 0 || e.Detail[0] != '{' {
		// Not written by this server: show it, as text, rather than fail.
		b, _ := json.Marshal(map[string]string{"text": e.Detail})
		detail = b
	}
	return AuditEntryDTO{Seq: e.Seq, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, Role: string(e.Role),
		DeviceID: optUUID(e.DeviceID), Action: string(e.Action), CaseID: optUUID(e.CaseID), Detail: detail,
		RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash}
}

// AuditList is one page of the audit log, newest first.
type AuditList struct {
	Items      []AuditEntryDTO `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// listAudit searches the audit log. Admins and district supervisors see every
// entry, a town's supervisor the entries about the town's cases and by its
// people, a clerk their own.
func (a *API) listAudit(c *echo.Context) error {
	actor, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	if a.d.Audit == nil {
		return errNoAudit
	}
	p := c.QueryParams()
	q := models.AuditQuery{Limit: defaultListLimit}
	for _, f := range []struct {
		name string
		dst  *uuid.UUID
	}{{"case", &q.CaseID}, {"user", &q.ActorID}} {
		if s := p.Get(f.name); s != "" {
			id, err := uuid.Parse(s)
			if err != nil {
				return models.Errorf(models.CodeInvalidInput, "%s must be an id", f.name).WithField(f.name)
			}
			*f.dst = id
		}
	}
	if actor.Role == models.RoleSupervisor && !actor.Scope.All {
		// A town's supervisor audits the town: its cases and its people.
		q.Scope = &actor.Scope
	}
	if actor.Role == models.RoleClerk {
		if q.ActorID != uuid.Nil && q.ActorID != actor.UserID {
			return models.Errorf(models.CodeForbidden, "a clerk sees their own audit entries only").WithField("user")
		}
		q.ActorID = actor.UserID
	}
	if s := p.Get("action"); s != "" {
		q.Action = models.AuditAction(s)
		if !q.Action.Valid() {
			return models.Errorf(models.CodeInvalidInput, "unknown audit action %q", s).WithField("action")
		}
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := p.Get(f.name); s != "" {
			t, err := parseTimeParam(s)
			if err != nil {
				return models.Errorf(models.CodeInvalidInput, "%s must be an RFC 3339 time or a date (2026-01-31)", f.name).WithField(f.name)
			}
			*f.dst = &t
		}
	}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListLimit {
			return models.Errorf(models.CodeInvalidInput, "limit must be 1 to %d", maxListLimit).WithField("limit")
		}
		q.Limit = n
	}
	if s := p.Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return models.Errorf(models.CodeInvalidCursor, "the cursor is not one this server issued").WithField("cursor")
		}
		q.Before = n
	}
	limit := q.Limit
	q.Limit = limit + 1
	list, err := a.d.Audit.ListAudit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	res := AuditList{Items: make([]AuditEntryDTO, 0, len(list))}
	for i, e := range list {
		if i == limit {
			res.NextCursor = strconv.FormatInt(list[i-1].Seq, 10)
			break
		}
		res.Items = append(res.Items, auditDTO(e))
	}
	return ok(c, res)
}

// AuditVerification is the result of recomputing the whole chain.
type AuditVerification struct {
	OK bool `json:"ok"`
	// Checked is how many entries verified before the first broken link (all
	// of them when OK).
	Checked int64 `json:"checked"`
	// Head is the hash of the last verified entry: write it down, and a later
	// verification that passes it proves nothing before it changed.
	Head   string         `json:"head"`
	Broken *AuditBreakDTO `json:"broken,omitempty"`
	At     time.Time      `json:"verified_at"`
}

// AuditBreakDTO is the first broken link.
type AuditBreakDTO struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// auditVerifyPage is how many entries one read of the verification takes.
const auditVerifyPage = 1000

// verifyAudit recomputes the chain from its first entry and reports the first
// broken link. Admins only.
func (a *API) verifyAudit(c *echo.Context) error {
	if _, err := requireRole(c, models.RoleAdmin); err != nil {
		return err
	}
	if a.d.Audit == nil {
		return errNoAudit
	}
	ctx := c.Request().Context()
	v := models.NewAuditVerifier()
	res := AuditVerification{OK: true}
	var after int64
	for res.OK {
		page, err := a.d.Audit.AuditChain(ctx, after, auditVerifyPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if err := v.Check(e); err != nil {
				var br *models.AuditBreak
				if !errors.As(err, &br) {
					return err
				}
				res.OK, res.Broken = false, &AuditBreakDTO{Seq: br.Seq, Reason: br.Reason}
				break
			}
		}
		after = page[len(page)-1].Seq
	}
	if res.OK {
		// A chain that verifies may still have lost its newest entries.
		n, err := a.d.Audit.AuditLength(ctx)
		if err != nil {
			return err
		}
		if n > v.Checked() {
			res.OK = false
			res.Broken = &AuditBreakDTO{Seq: v.Checked() + 1,
				Reason: "the log ends at entry " + strconv.FormatInt(v.Checked(), 10) + " but " +
					strconv.FormatInt(n, 10) + " were appended: its newest entries were removed"}
		}
	}
	res.Checked, res.Head, res.At = v.Checked(), v.Head(), a.now().UTC()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, res)
}
