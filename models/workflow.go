package models

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Action is a workflow action: it moves a case from one state to another (or, for
// escalate, flags it) when the actor's role and the guard allow it.
type Action string

// The workflow actions of the domain reference.
const (
	ActionSubmit           Action = "submit"
	ActionAskMore          Action = "ask_more"
	ActionResubmit         Action = "resubmit"
	ActionSendVerify       Action = "send_verify"
	ActionVerify           Action = "verify"
	ActionRegister         Action = "register"
	ActionVoid             Action = "void"
	ActionVoidRegistered   Action = "void_registered"
	ActionDispatch         Action = "dispatch"
	ActionSelfHandle       Action = "self_handle"
	ActionReturn           Action = "return"
	ActionRequestExtension Action = "request_extension"
	ActionRequestSuspend   Action = "request_suspend"
	ActionApprove          Action = "approve"
	ActionDeny             Action = "deny"
	ActionResume           Action = "resume"
	ActionReportDone       Action = "report_done"
	ActionSendCheck        Action = "send_check"
	ActionCheckPass        Action = "check_pass"
	ActionCheckFail        Action = "check_fail"
	ActionForceClose       Action = "force_close"
	ActionEscalate         Action = "escalate"
)

// StateNew is the pseudo-state of a case that does not exist yet; only submit
// leaves it.
const StateNew State = ""

// VerifyResult is the outcome of a verification (核实).
type VerifyResult string

// Verification results.
const (
	VerifyTrue         VerifyResult = "true"         // 属实
	VerifyFalse        VerifyResult = "false"        // 不属实
	VerifyUnverifiable VerifyResult = "unverifiable" // 无法核实
)

// VoidReasons are the reasons a clerk may give for voiding a case.
var VoidReasons = []string{VoidDuplicate, "not_real", "out_of_scope", "incomplete"}

// VoidDuplicate is the void reason of a case that repeats another; with
// ActionParams.DuplicateOf it links the two (merge as void-duplicate).
const VoidDuplicate = "duplicate"

// Dispositions are the dispositions a case may close with.
var Dispositions = []string{
	"劝导整改", "责令限期改正", "首违不罚", "从轻/减轻处罚", "转执法立案", "移交其他部门", "设施维修完成",
}

// PhotoType is what a photo shows.
type PhotoType string

// Photo types.
const (
	PhotoFar       PhotoType = "far"
	PhotoNear      PhotoType = "near"
	PhotoReference PhotoType = "reference"
	PhotoBefore    PhotoType = "before"
	PhotoAfter     PhotoType = "after"
	PhotoCheck     PhotoType = "check"
)

// PhotoStages are the workflow stages a photo documents: the report, a
// verification, a resubmission, a self-handled fix, a reported fix, a check.
var PhotoStages = []string{"report", "verify", "resubmit", "self_handle", "report_done", "check"}

// PhotoTypes lists every photo type.
var PhotoTypes = []PhotoType{PhotoFar, PhotoNear, PhotoReference, PhotoBefore, PhotoAfter, PhotoCheck}

// Evidence counts the photos that back an action: those already on the case and
// verified, plus those the command names. The caller computes it; the state
// machine only checks it.
type Evidence struct {
	Site   int // far, near or reference
	Before int
	After  int
	Check  int
	// CheckByOther reports whether a check photo was taken by someone other than
	// the user who reported the fix.
	CheckByOther bool
}

// Add counts one photo of type t.
func (e *Evidence) Add(t PhotoType) {
	switch t {
	case PhotoFar, PhotoNear, PhotoReference:
		e.Site++
	case PhotoBefore:
		e.Before++
	case PhotoAfter:
		e.After++
	case PhotoCheck:
		e.Check++
	}
}

// ActionParams are the parameters an action may need.
type ActionParams struct {
	Comment     string
	Reason      string
	Deadline    *time.Time // new deadline: dispatch, extension, resume, check_fail
	UnitID      string     // dispatch target
	AssigneeID  uuid.UUID  // verification or check task
	Disposition string     // report_done, self_handle, check_pass, force_close
	Result      VerifyResult
	Category    string // register may fix the category
	Photos      []uuid.UUID
	DuplicateOf uuid.UUID // void with reason duplicate: the case this one repeats
}

// Transition is the pure state machine's input: the case as it is now, who acts,
// what they do, with what, and the evidence behind it. For submit, Case is the
// new case built from the draft, in StateNew: submit's guard checks its id and
// GPS fix, so a nil Case is always refused with CodeGuardFailed.
type Transition struct {
	Case     *Case
	Actor    Actor
	Action   Action
	Params   ActionParams
	Evidence Evidence
	Now      time.Time
	// DefaultDeadline computes the deadline for a case from a start time when the
	// params name none (register, dispatch, resume, check_fail). It may be nil.
	DefaultDeadline func(c *Case, start time.Time) *time.Time
}

// rule is one row of the workflow table.
type rule struct {
	from  []State
	to    State // "" for escalate (state unchanged) and approve (decided by the request)
	roles []Role
}

// workflow is exactly the table of the domain reference.
var workflow = map[Action]rule{
	ActionSubmit:           {[]State{StateNew}, StateReported, []Role{RoleInspector, RoleGridWorker}},
	ActionAskMore:          {[]State{StateReported}, StateNeedsInfo, []Role{RoleClerk}},
	ActionResubmit:         {[]State{StateNeedsInfo}, StateReported, []Role{RoleInspector, RoleGridWorker}},
	ActionSendVerify:       {[]State{StateReported}, StateVerifying, []Role{RoleClerk}},
	ActionVerify:           {[]State{StateVerifying}, StateReported, []Role{RoleInspector, RoleGridWorker}},
	ActionRegister:         {[]State{StateReported}, StateRegistered, []Role{RoleClerk}},
	ActionVoid:             {[]State{StateReported, StateVerifying, StateNeedsInfo}, StateVoided, []Role{RoleClerk}},
	ActionVoidRegistered:   {[]State{StateRegistered, StateDispatched}, StateVoided, []Role{RoleSupervisor}},
	ActionDispatch:         {[]State{StateRegistered, StateReturned}, StateDispatched, []Role{RoleClerk}},
	ActionSelfHandle:       {[]State{StateReported}, StateHandled, []Role{RoleInspector}},
	ActionReturn:           {[]State{StateDispatched}, StateReturned, []Role{RoleUnitHandler, RoleInspector}},
	ActionRequestExtension: {[]State{StateDispatched}, StateExtensionPending, []Role{RoleUnitHandler, RoleInspector}},
	ActionRequestSuspend:   {[]State{StateDispatched}, StateExtensionPending, []Role{RoleUnitHandler, RoleInspector}},
	ActionApprove:          {[]State{StateExtensionPending}, "", []Role{RoleSupervisor}},
	ActionDeny:             {[]State{StateExtensionPending}, StateDispatched, []Role{RoleSupervisor}},
	ActionResume:           {[]State{StateSuspended}, StateDispatched, []Role{RoleSupervisor, RoleClerk}},
	ActionReportDone:       {[]State{StateDispatched}, StateHandled, []Role{RoleUnitHandler, RoleInspector}},
	ActionSendCheck:        {[]State{StateHandled}, StateChecking, []Role{RoleClerk}},
	ActionCheckPass:        {[]State{StateChecking}, StateClosed, []Role{RoleClerk}},
	ActionCheckFail:        {[]State{StateChecking}, StateDispatched, []Role{RoleClerk}},
	ActionForceClose: {[]State{StateReported, StateNeedsInfo, StateVerifying, StateRegistered, StateDispatched,
		StateReturned, StateExtensionPending, StateSuspended, StateHandled, StateChecking}, StateClosed, []Role{RoleSupervisor}},
	ActionEscalate: {[]State{StateDispatched, StateSuspended}, "", []Role{RoleSupervisor}},
}

// Actions lists every action in a stable order.
var Actions = []Action{
	ActionSubmit, ActionAskMore, ActionResubmit, ActionSendVerify, ActionVerify, ActionRegister, ActionVoid,
	ActionVoidRegistered, ActionDispatch, ActionSelfHandle, ActionReturn, ActionRequestExtension,
	ActionRequestSuspend, ActionApprove, ActionDeny, ActionResume, ActionReportDone, ActionSendCheck,
	ActionCheckPass, ActionCheckFail, ActionForceClose, ActionEscalate,
}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { _, ok := workflow[a]; return ok }

// Allowed reports whether the workflow table lets role take action a in state s,
// without looking at guards. The console uses it to offer actions.
func Allowed(s State, role Role, a Action) bool {
	r, ok := workflow[a]
	return ok && slices.Contains(r.from, s) && slices.Contains(r.roles, role)
}

// AllowedActions lists the actions the table allows role in state s.
func AllowedActions(s State, role Role) []Action {
	var out []Action
	for _, a := range Actions {
		if Allowed(s, role, a) {
			out = append(out, a)
		}
	}
	return out
}

// Apply checks t against the workflow table and the action's guard and returns
// the case as the action leaves it. It never modifies t.Case. On refusal it
// returns an *Error with CodeIllegalTransition (the state does not allow the
// action), CodeRoleNotAllowed (the role may not take it) or CodeGuardFailed (a
// guard is not met), and the zero Case; any action but submit on a case that does
// not exist yet (nil or StateNew) gives CodeNotFound, an unknown action
// CodeInvalidInput.
func Apply(t Transition) (Case, error) {
	r, ok := workflow[t.Action]
	if !ok {
		return Case{}, Errorf(CodeInvalidInput, "unknown action %q", t.Action).WithField("action")
	}
	from := StateNew
	if t.Case != nil {
		from = t.Case.State
	}
	if !slices.Contains(r.from, from) {
		if from == StateNew {
			return Case{}, Errorf(CodeNotFound, "case not found")
		}
		return Case{}, Errorf(CodeIllegalTransition, "%s is not possible in state %s", t.Action, from).
			WithHint("pull the case to see its current state")
	}
	if !slices.Contains(r.roles, t.Actor.Role) {
		return Case{}, Errorf(CodeRoleNotAllowed, "role %s may not %s", t.Actor.Role, t.Action)
	}
	var c Case
	if t.Case != nil {
		c = *t.Case
	}
	if err := guard(t, &c); err != nil {
		return Case{}, err
	}
	if r.to != "" {
		c.State = r.to
	}
	return c, nil
}

func guardErr(format string, args ...any) *Error {
	return Errorf(CodeGuardFailed, format, args...)
}

// guard checks the action's guard and applies its effects to c.
func guard(t Transition, c *Case) error {
	p := t.Params
	deadline := func(start time.Time) *time.Time {
		if p.Deadline != nil {
			d := *p.Deadline
			return &d
		}
		if t.DefaultDeadline != nil {
			return t.DefaultDeadline(c, start)
		}
		return nil
	}
	now := t.Now
	switch t.Action {
	case ActionSubmit:
		if t.Evidence.Site < 1 {
			return guardErr("submit needs at least one site photo (far, near or reference)")
		}
		if c.Location.Lat == 0 && c.Location.Lon == 0 {
			return guardErr("submit needs a GPS fix")
		}
		if c.ID == uuid.Nil {
			return guardErr("submit needs a client-generated case id")
		}
	case ActionAskMore:
		if strings.TrimSpace(p.Comment) == "" {
			return guardErr("ask_more needs a comment telling the reporter what is missing")
		}
	case ActionResubmit:
		if t.Actor.UserID != c.ReporterID {
			return guardErr("only the reporter may resubmit")
		}
		if len(p.Photos) == 0 && strings.TrimSpace(p.Comment) == "" {
			return guardErr("resubmit needs new evidence: a photo or a comment")
		}
	case ActionSendVerify:
		c.AssigneeID = p.AssigneeID
	case ActionVerify:
		if t.Actor.Role == RoleGridWorker && !slices.Contains(t.Actor.Scope.Grids, c.GridCode) {
			return guardErr("only a grid worker of the case's grid may verify it")
		}
		switch p.Result {
		case VerifyTrue, VerifyFalse, VerifyUnverifiable:
		default:
			return guardErr("verify needs a result: true, false or unverifiable")
		}
		c.AssigneeID = uuid.Nil
	case ActionRegister:
		if p.Category != "" {
			c.Category = p.Category
		}
		if c.Category == "" {
			return guardErr("register needs a category")
		}
		c.Deadline = deadline(now)
	case ActionVoid:
		if !slices.Contains(VoidReasons, p.Reason) {
			return guardErr("void needs a reason: one of %s", strings.Join(VoidReasons, ", "))
		}
		if p.DuplicateOf != uuid.Nil {
			if p.Reason != VoidDuplicate {
				return guardErr("duplicate_of goes with the reason %s", VoidDuplicate)
			}
			if p.DuplicateOf == c.ID {
				return guardErr("a case cannot duplicate itself")
			}
			c.LinkedCase = p.DuplicateOf
		}
	case ActionVoidRegistered:
		if strings.TrimSpace(p.Reason) == "" {
			return guardErr("void_registered needs a reason")
		}
	case ActionDispatch:
		if p.UnitID == "" && p.AssigneeID == uuid.Nil {
			return guardErr("dispatch needs a responsible unit or person")
		}
		c.UnitID = p.UnitID
		if p.AssigneeID != uuid.Nil {
			c.AssigneeID = p.AssigneeID
		}
		n := now
		c.DispatchedAt = &n
		if d := deadline(now); d != nil {
			c.Deadline = d
		}
	case ActionSelfHandle:
		if t.Evidence.Before < 1 || t.Evidence.After < 1 {
			return guardErr("self_handle needs a before and an after photo")
		}
		c.Disposition = dispositionOr(p.Disposition, "劝导整改")
		c.HandledBy = t.Actor.UserID
		n := now
		c.HandledAt = &n
	case ActionReturn:
		if strings.TrimSpace(p.Reason) == "" {
			return guardErr("return needs a reason")
		}
		c.UnitID = ""
	case ActionRequestExtension:
		if p.Deadline == nil {
			return guardErr("request_extension needs the new deadline")
		}
		if c.Deadline != nil && !p.Deadline.After(*c.Deadline) {
			return guardErr("the new deadline must be later than the current one")
		}
		d := *p.Deadline
		c.Pending, c.PendingDeadline = PendingExtension, &d
	case ActionRequestSuspend:
		if strings.TrimSpace(p.Reason) == "" {
			return guardErr("request_suspend needs a reason")
		}
		c.Pending, c.PendingDeadline = PendingSuspend, nil
	case ActionApprove:
		switch c.Pending {
		case PendingExtension:
			c.State = StateDispatched
			c.Deadline = c.PendingDeadline
		case PendingSuspend:
			c.State = StateSuspended
		default:
			return guardErr("nothing to approve")
		}
		c.Pending, c.PendingDeadline = PendingNone, nil
	case ActionDeny:
		if strings.TrimSpace(p.Reason) == "" && strings.TrimSpace(p.Comment) == "" {
			return guardErr("deny needs a reason")
		}
		c.Pending, c.PendingDeadline = PendingNone, nil
	case ActionResume:
		if d := deadline(now); d != nil {
			c.Deadline = d
		} else {
			return guardErr("resume needs a new deadline")
		}
	case ActionReportDone:
		if t.Evidence.After < 1 {
			return guardErr("report_done needs at least one after photo (整改后)")
		}
		if p.Disposition != "" && !slices.Contains(Dispositions, p.Disposition) {
			return guardErr("unknown disposition %q", p.Disposition)
		}
		c.Disposition = dispositionOr(p.Disposition, c.Disposition)
		c.HandledBy = t.Actor.UserID
		n := now
		c.HandledAt = &n
	case ActionSendCheck:
		c.AssigneeID = p.AssigneeID
	case ActionCheckPass:
		if t.Evidence.Check < 1 {
			return guardErr("check_pass needs the check report: at least one check photo")
		}
		if !t.Evidence.CheckByOther {
			return guardErr("the person who reported the fix may not be the only one who checks it").
				WithHint("have another grid worker or inspector check it, or ask a supervisor to force_close")
		}
		if p.Disposition != "" {
			c.Disposition = p.Disposition
		}
		n := now
		c.ClosedAt = &n
	case ActionCheckFail:
		if strings.TrimSpace(p.Reason) == "" && strings.TrimSpace(p.Comment) == "" {
			return guardErr("check_fail needs a reason")
		}
		c.ReworkCount++
		c.HandledAt, c.HandledBy = nil, uuid.Nil
		if d := deadline(now); d != nil {
			c.Deadline = d
		}
	case ActionForceClose:
		if strings.TrimSpace(p.Reason) == "" {
			return guardErr("force_close needs a reason")
		}
		c.ForceClosed = true
		if p.Disposition != "" {
			c.Disposition = p.Disposition
		}
		n := now
		c.ClosedAt = &n
		c.Pending, c.PendingDeadline = PendingNone, nil
	case ActionEscalate:
		if c.Escalated {
			return guardErr("the case is already escalated")
		}
		c.Escalated = true
	}
	return nil
}

func dispositionOr(d, def string) string {
	if d != "" {
		return d
	}
	return def
}
