package models

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
)

// update rewrites the golden files under testdata instead of comparing with them.
var update = flag.Bool("update", false, "rewrite golden files in testdata")

// readmeTable restates, by hand, the "Case workflow" table of the domain
// reference (shared/domain/README.md): action | from states | roles | to.
// It is deliberately written out rather than derived from the package's own
// workflow map, so that the test fails when the two disagree.
//
//   - "new" is StateNew, the case that does not exist yet.
//   - "open" is every state but closed and voided (force_close: "any open").
//   - resubmit: the README says "the reporter"; only inspectors and grid workers
//     submit, so only they can be the reporter of a case; the guard checks the user.
//   - approve's target depends on the request: "request" means dispatched for
//     an extension, suspended for a suspension.
//   - escalate: "=" keeps the state (it only sets a flag).
const readmeTable = `
submit            | new                           | inspector grid_worker  | reported
ask_more          | reported                      | clerk                  | needs_info
resubmit          | needs_info                    | inspector grid_worker  | reported
send_verify       | reported                      | clerk                  | verifying
verify            | verifying                     | inspector grid_worker  | reported
register          | reported                      | clerk                  | registered
void              | reported verifying needs_info | clerk                  | voided
void_registered   | registered dispatched         | supervisor             | voided
dispatch          | registered returned           | clerk                  | dispatched
self_handle       | reported                      | inspector              | handled
return            | dispatched                    | unit_handler inspector | returned
request_extension | dispatched                    | unit_handler inspector | extension_pending
request_suspend   | dispatched                    | unit_handler inspector | extension_pending
approve           | extension_pending             | supervisor             | request
deny              | extension_pending             | supervisor             | dispatched
resume            | suspended                     | supervisor clerk       | dispatched
report_done       | dispatched                    | unit_handler inspector | handled
send_check        | handled                       | clerk                  | checking
check_pass        | checking                      | clerk                  | closed
check_fail        | checking                      | clerk                  | dispatched
force_close       | open                          | supervisor             | closed
escalate          | dispatched suspended          | supervisor             | =
`

// openStates is "any open" of the README, written out.
var openStates = []State{
	StateReported, StateNeedsInfo, StateVerifying, StateRegistered, StateDispatched, StateReturned,
	StateExtensionPending, StateSuspended, StateHandled, StateChecking,
}

// allStates is every state of the README plus the pseudo-state of a case not yet submitted.
var allStates = append([]State{StateNew}, States...)

type specRow struct {
	from  []State
	roles []Role
	to    string
}

func parseSpec(t testing.TB) map[Action]specRow {
	t.Helper()
	spec := map[Action]specRow{}
	for _, line := range strings.Split(strings.TrimSpace(readmeTable), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			t.Fatalf("bad spec line %q", line)
		}
		a := Action(strings.TrimSpace(f[0]))
		if !slices.Contains(Actions, a) {
			t.Fatalf("spec names unknown action %q", a)
		}
		var row specRow
		for _, s := range strings.Fields(f[1]) {
			switch {
			case s == "new":
				row.from = append(row.from, StateNew)
			case s == "open":
				row.from = append(row.from, openStates...)
			case State(s).Valid():
				row.from = append(row.from, State(s))
			default:
				t.Fatalf("spec %s names unknown state %q", a, s)
			}
		}
		for _, r := range strings.Fields(f[2]) {
			if !Role(r).Valid() {
				t.Fatalf("spec %s names unknown role %q", a, r)
			}
			row.roles = append(row.roles, Role(r))
		}
		row.to = strings.TrimSpace(f[3])
		if row.to != "request" && row.to != "=" && !State(row.to).Valid() {
			t.Fatalf("spec %s names unknown target %q", a, row.to)
		}
		if _, dup := spec[a]; dup {
			t.Fatalf("spec lists %s twice", a)
		}
		spec[a] = row
	}
	for _, a := range Actions {
		if _, ok := spec[a]; !ok {
			t.Fatalf("action %s is not in the README table restated here", a)
		}
	}
	return spec
}

// expect is the outcome the README table gives for action a by role r on a case
// in state s: the target state, or the refusal code. A case that does not exist
// yet is not found for anything but submit.
func expect(spec map[Action]specRow, a Action, s State, r Role, pending PendingRequest) (State, Code) {
	row := spec[a]
	if !slices.Contains(row.from, s) {
		if s == StateNew {
			return "", CodeNotFound
		}
		return "", CodeIllegalTransition
	}
	if !slices.Contains(row.roles, r) {
		return "", CodeRoleNotAllowed
	}
	switch row.to {
	case "=":
		return s, ""
	case "request":
		if pending == PendingSuspend {
			return StateSuspended, ""
		}
		return StateDispatched, ""
	}
	return State(row.to), ""
}

var (
	t0         = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	reporterID = uuid.MustParse("01900000-0000-7000-8000-0000000000a1")
	otherID    = uuid.MustParse("01900000-0000-7000-8000-0000000000b2")
	assigneeID = uuid.MustParse("01900000-0000-7000-8000-0000000000c3")
	caseID     = uuid.MustParse("01900000-0000-7000-8000-0000000000d4")
	photoID    = uuid.MustParse("01900000-0000-7000-8000-0000000000e5")
	earlierID  = uuid.MustParse("01900000-0000-7000-8000-0000000000f6") // a case another repeats
	caseGrid   = "37040210100101"
)

// fixtureCase is a fully populated case in state s: every pointer set, so a
// mutation through any of them shows.
func fixtureCase(s State, pending PendingRequest) *Case {
	deadline, dispatched, created := t0.Add(48*time.Hour), t0.Add(-24*time.Hour), t0.Add(-72*time.Hour)
	q := 12.5
	c := &Case{
		ID: caseID, Category: "E0504", Description: "店外经营占道", Party: "老王烧烤",
		Location: Location{Lat: 34.8106, Lon: 117.3237, Accuracy: 6, Address: "光明路 18 号"},
		Quantity: &q, Source: SourceDevice,
		OrgPath: "370402/370402101/370402101001", TownCode: "370402101", VillageCode: "370402101001",
		GridCode: caseGrid, RoadSegmentID: "seg-7", UnitID: "hw-01", AssigneeID: otherID, RefVersion: 3,
		State: s, Deadline: &deadline, Disposition: "",
		ReporterID: reporterID, ReporterRole: RoleInspector, DeviceID: otherID,
		ClientCreatedAt: created, CreatedAt: created, UpdatedAt: created, DispatchedAt: &dispatched,
		Version: 7, ChangeSeq: 42,
	}
	if s == StateExtensionPending {
		c.Pending = pending
		if pending == PendingExtension {
			pd := t0.Add(96 * time.Hour)
			c.PendingDeadline = &pd
		}
	}
	if s == StateHandled || s == StateChecking {
		h := t0.Add(-2 * time.Hour)
		c.HandledAt, c.HandledBy, c.Disposition = &h, otherID, "劝导整改"
	}
	return c
}

// goodTransition builds a transition whose params and evidence satisfy the
// guard of every action, so that only the state and the role decide.
func goodTransition(a Action, s State, r Role, pending PendingRequest) Transition {
	nd := t0.Add(120 * time.Hour)
	return Transition{
		Case: fixtureCase(s, pending),
		// The actor is the reporter (resubmit) and a worker of the case's grid (verify).
		Actor:  Actor{UserID: reporterID, Username: "u", Role: r, Scope: Scope{Grids: []string{caseGrid}}},
		Action: a,
		Params: ActionParams{
			Comment: "请补充近景照片", Reason: "duplicate", Deadline: &nd, UnitID: "hw-02", AssigneeID: assigneeID,
			Disposition: "劝导整改", Result: VerifyTrue, Category: "E0504", Photos: []uuid.UUID{photoID},
		},
		Evidence: Evidence{Site: 1, Before: 1, After: 1, Check: 1, CheckByOther: true},
		Now:      t0,
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneCase deep-copies c, so DeepEqual against it detects a write through a
// pointer field too.
func cloneCase(c *Case) *Case {
	if c == nil {
		return nil
	}
	d := *c
	d.Quantity = clonePtr(c.Quantity)
	d.Deadline = clonePtr(c.Deadline)
	d.PendingDeadline = clonePtr(c.PendingDeadline)
	d.DispatchedAt = clonePtr(c.DispatchedAt)
	d.HandledAt = clonePtr(c.HandledAt)
	d.ClosedAt = clonePtr(c.ClosedAt)
	return &d
}

// TestCloneCaseIsDeep fails when Case gains a reference field cloneCase does not copy.
func TestCloneCaseIsDeep(t *testing.T) {
	cloned := []string{"Quantity", "Deadline", "PendingDeadline", "DispatchedAt", "HandledAt", "ClosedAt"}
	typ := reflect.TypeFor[Case]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func:
			if !slices.Contains(cloned, f.Name) {
				t.Errorf("Case.%s is a %s: teach cloneCase to copy it", f.Name, f.Type.Kind())
			}
		}
	}
}

func applyChecked(t *testing.T, name string, tr Transition) (Case, error) {
	t.Helper()
	before := cloneCase(tr.Case)
	out, err := Apply(tr)
	if !reflect.DeepEqual(tr.Case, before) {
		t.Errorf("%s: Apply modified its input case (err %v):\n got %+v\nwant %+v", name, err, tr.Case, before)
	}
	if err != nil && !reflect.DeepEqual(out, Case{}) {
		t.Errorf("%s: refused Apply returned a non-zero case %+v", name, out)
	}
	return out, err
}

// TestApplyMatrix runs every action × role × state through Apply with inputs
// that satisfy every guard and compares with the README table restated above.
func TestApplyMatrix(t *testing.T) {
	spec := parseSpec(t)
	n := 0
	for _, a := range Actions {
		pendings := []PendingRequest{PendingExtension}
		if a == ActionApprove {
			pendings = append(pendings, PendingSuspend)
		}
		for _, s := range allStates {
			for _, r := range Roles {
				for _, p := range pendings {
					n++
					name := fmt.Sprintf("%s by %s in %q (%s)", a, r, s, p)
					tr := goodTransition(a, s, r, p)
					wantState, wantCode := expect(spec, a, s, r, p)
					out, err := applyChecked(t, name, tr)
					if got := ErrorCode(err); got != wantCode {
						t.Errorf("%s: code %q (%v), want %q", name, got, err, wantCode)
						continue
					}
					if err != nil {
						if _, ok := err.(*Error); !ok {
							t.Errorf("%s: error %T is not *Error", name, err)
						}
						continue
					}
					if out.State != wantState {
						t.Errorf("%s: state %s, want %s", name, out.State, wantState)
					}
					if msg := checkEffects(a, *tr.Case, out, tr); msg != "" {
						t.Errorf("%s: %s", name, msg)
					}
				}
			}
		}
	}
	if want := len(Actions)*len(allStates)*len(Roles) + len(allStates)*len(Roles); n != want {
		t.Fatalf("ran %d combinations, want %d", n, want)
	}
}

// TestAllowedMatchesReadme checks the console's action offer against the table.
func TestAllowedMatchesReadme(t *testing.T) {
	spec := parseSpec(t)
	for _, s := range allStates {
		for _, r := range Roles {
			var want []Action
			for _, a := range Actions {
				_, code := expect(spec, a, s, r, PendingExtension)
				if got := Allowed(s, r, a); got != (code == "") {
					t.Errorf("Allowed(%q, %s, %s) = %v, want %v", s, r, a, got, code == "")
				}
				if code == "" {
					want = append(want, a)
				}
			}
			if got := AllowedActions(s, r); !slices.Equal(got, want) {
				t.Errorf("AllowedActions(%q, %s) = %v, want %v", s, r, got, want)
			}
		}
	}
	if Allowed(StateDispatched, RoleSupervisor, "reopen") || Action("reopen").Valid() {
		t.Error("an unknown action is allowed or valid")
	}
}

// checkEffects states what each successful action must do to the case beyond its
// state (the README's effects), and that it leaves identity and evidence alone.
func checkEffects(a Action, in, out Case, tr Transition) string {
	p := tr.Params
	if out.ID != in.ID || out.ReporterID != in.ReporterID || out.Location != in.Location || out.Version != in.Version {
		return "identity, reporter, location or version changed"
	}
	eqTime := func(x *time.Time, y time.Time) bool { return x != nil && x.Equal(y) }
	switch a {
	case ActionDispatch:
		if out.UnitID != p.UnitID || out.AssigneeID != p.AssigneeID || !eqTime(out.DispatchedAt, tr.Now) ||
			!eqTime(out.Deadline, *p.Deadline) {
			return fmt.Sprintf("dispatch: unit %q assignee %v dispatched %v deadline %v", out.UnitID, out.AssigneeID, out.DispatchedAt, out.Deadline)
		}
	case ActionRegister:
		if out.Category != p.Category || !eqTime(out.Deadline, *p.Deadline) {
			return "register: category or deadline not fixed"
		}
	case ActionSelfHandle, ActionReportDone:
		if out.HandledBy != tr.Actor.UserID || !eqTime(out.HandledAt, tr.Now) || out.Disposition != p.Disposition {
			return "handled: who, when or disposition not recorded"
		}
	case ActionRequestExtension:
		if out.Pending != PendingExtension || !eqTime(out.PendingDeadline, *p.Deadline) || !eqTime(out.Deadline, *in.Deadline) {
			return "request_extension: request not recorded, or the deadline moved before approval"
		}
	case ActionRequestSuspend:
		if out.Pending != PendingSuspend || out.PendingDeadline != nil {
			return "request_suspend: request not recorded"
		}
	case ActionApprove:
		if out.Pending != PendingNone || out.PendingDeadline != nil {
			return "approve: request not cleared"
		}
		if in.Pending == PendingExtension && !eqTime(out.Deadline, *in.PendingDeadline) {
			return "approve: extension did not move the deadline"
		}
		if in.Pending == PendingSuspend && !eqTime(out.Deadline, *in.Deadline) {
			return "approve: suspension moved the deadline"
		}
	case ActionDeny:
		if out.Pending != PendingNone || out.PendingDeadline != nil || !eqTime(out.Deadline, *in.Deadline) {
			return "deny: request not cleared or deadline moved"
		}
	case ActionResume, ActionCheckFail:
		if !eqTime(out.Deadline, *p.Deadline) {
			return "no new deadline"
		}
		if a == ActionCheckFail && (out.ReworkCount != in.ReworkCount+1 || out.HandledAt != nil || out.HandledBy != uuid.Nil) {
			return "check_fail: rework count not incremented or handling not reset"
		}
	case ActionCheckPass:
		if !eqTime(out.ClosedAt, tr.Now) || out.ForceClosed {
			return "check_pass: closing time not recorded, or flagged as forced"
		}
	case ActionForceClose:
		if !out.ForceClosed || !eqTime(out.ClosedAt, tr.Now) || out.Pending != PendingNone {
			return "force_close: not flagged, timed or request not cleared"
		}
	case ActionEscalate:
		if !out.Escalated {
			return "escalate: flag not set"
		}
	}
	if a != ActionEscalate && out.Escalated != in.Escalated {
		return "escalation flag changed"
	}
	return ""
}

// TestApplyGuards breaks each guard one at a time, starting from inputs that
// pass, and checks a few passing variants at the edges of the guards.
func TestApplyGuards(t *testing.T) {
	tests := []struct {
		name   string
		action Action
		state  State
		role   Role
		edit   func(*Transition)
		want   Code  // "" for success
		to     State // on success
		check  func(Case) string
	}{
		// submit
		{"submit ok", ActionSubmit, StateNew, RoleGridWorker, nil, "", StateReported, nil},
		{"submit nil case", ActionSubmit, StateNew, RoleInspector, func(tr *Transition) { tr.Case = nil }, CodeGuardFailed, "", nil},
		{"submit without site photo", ActionSubmit, StateNew, RoleInspector,
			func(tr *Transition) { tr.Evidence = Evidence{Before: 1, After: 1, Check: 1} }, CodeGuardFailed, "", nil},
		{"submit without GPS fix", ActionSubmit, StateNew, RoleInspector,
			func(tr *Transition) { tr.Case.Location = Location{Address: "光明路"} }, CodeGuardFailed, "", nil},
		{"submit without client id", ActionSubmit, StateNew, RoleInspector,
			func(tr *Transition) { tr.Case.ID = uuid.Nil }, CodeGuardFailed, "", nil},
		{"submit onto an existing case", ActionSubmit, StateReported, RoleInspector, nil, CodeIllegalTransition, "", nil},
		{"action on a missing case", ActionRegister, StateNew, RoleClerk, func(tr *Transition) { tr.Case = nil }, CodeNotFound, "", nil},

		// ask_more
		{"ask_more without comment", ActionAskMore, StateReported, RoleClerk, func(tr *Transition) { tr.Params.Comment = "" }, CodeGuardFailed, "", nil},
		{"ask_more with blank comment", ActionAskMore, StateReported, RoleClerk, func(tr *Transition) { tr.Params.Comment = " \t\n" }, CodeGuardFailed, "", nil},

		// resubmit
		{"resubmit by a non-reporter", ActionResubmit, StateNeedsInfo, RoleInspector, func(tr *Transition) { tr.Actor.UserID = otherID }, CodeGuardFailed, "", nil},
		{"resubmit by another grid worker", ActionResubmit, StateNeedsInfo, RoleGridWorker, func(tr *Transition) { tr.Actor.UserID = otherID }, CodeGuardFailed, "", nil},
		{"resubmit without new evidence", ActionResubmit, StateNeedsInfo, RoleInspector,
			func(tr *Transition) { tr.Params.Photos, tr.Params.Comment = nil, "" }, CodeGuardFailed, "", nil},
		{"resubmit with only a photo", ActionResubmit, StateNeedsInfo, RoleInspector,
			func(tr *Transition) { tr.Params.Comment = "" }, "", StateReported, nil},
		{"resubmit with only a comment", ActionResubmit, StateNeedsInfo, RoleGridWorker,
			func(tr *Transition) { tr.Params.Photos = nil }, "", StateReported, nil},

		// send_verify
		{"send_verify assigns the task", ActionSendVerify, StateReported, RoleClerk, nil, "", StateVerifying,
			func(c Case) string { return unless(c.AssigneeID == assigneeID, "assignee not set") }},

		// verify
		{"verify by a grid worker of another grid", ActionVerify, StateVerifying, RoleGridWorker,
			func(tr *Transition) { tr.Actor.Scope.Grids = []string{"37040210100199"} }, CodeGuardFailed, "", nil},
		{"verify by a grid worker without grids", ActionVerify, StateVerifying, RoleGridWorker,
			func(tr *Transition) { tr.Actor.Scope = Scope{} }, CodeGuardFailed, "", nil},
		{"verify by a grid worker of one of their grids", ActionVerify, StateVerifying, RoleGridWorker,
			func(tr *Transition) { tr.Actor.Scope.Grids = []string{"37040210100199", caseGrid} }, "", StateReported, nil},
		{"verify by an inspector of any grid", ActionVerify, StateVerifying, RoleInspector,
			func(tr *Transition) { tr.Actor.Scope = Scope{OrgPrefixes: []string{"370402/370402102"}} }, "", StateReported, nil},
		{"verify without result", ActionVerify, StateVerifying, RoleInspector, func(tr *Transition) { tr.Params.Result = "" }, CodeGuardFailed, "", nil},
		{"verify with unknown result", ActionVerify, StateVerifying, RoleInspector, func(tr *Transition) { tr.Params.Result = "maybe" }, CodeGuardFailed, "", nil},
		{"verify not real", ActionVerify, StateVerifying, RoleInspector, func(tr *Transition) { tr.Params.Result = VerifyFalse }, "", StateReported,
			func(c Case) string { return unless(c.AssigneeID == uuid.Nil, "verification task not cleared") }},
		{"verify unverifiable", ActionVerify, StateVerifying, RoleGridWorker, func(tr *Transition) { tr.Params.Result = VerifyUnverifiable }, "", StateReported, nil},

		// register
		{"register without any category", ActionRegister, StateReported, RoleClerk,
			func(tr *Transition) { tr.Case.Category, tr.Params.Category = "", "" }, CodeGuardFailed, "", nil},
		{"register keeps the reported category", ActionRegister, StateReported, RoleClerk,
			func(tr *Transition) { tr.Params.Category = "" }, "", StateRegistered,
			func(c Case) string { return unless(c.Category == "E0504", "category lost") }},
		{"register recategorises and computes the deadline", ActionRegister, StateReported, RoleClerk,
			func(tr *Transition) {
				tr.Params.Category, tr.Params.Deadline = "E0101", nil
				tr.DefaultDeadline = func(c *Case, start time.Time) *time.Time {
					// The deadline depends on the category the case is registered under.
					d := start.Add(time.Duration(len(c.Category)) * time.Hour)
					if c.Category != "E0101" {
						d = start
					}
					return &d
				}
			}, "", StateRegistered,
			func(c Case) string {
				return unless(c.Category == "E0101" && c.Deadline != nil && c.Deadline.Equal(t0.Add(5*time.Hour)), "deadline not computed for the new category")
			}},

		// void
		{"void with unknown reason", ActionVoid, StateReported, RoleClerk, func(tr *Transition) { tr.Params.Reason = "spam" }, CodeGuardFailed, "", nil},
		{"void without reason", ActionVoid, StateVerifying, RoleClerk, func(tr *Transition) { tr.Params.Reason = "" }, CodeGuardFailed, "", nil},
		{"void not real", ActionVoid, StateNeedsInfo, RoleClerk, func(tr *Transition) { tr.Params.Reason = "not_real" }, "", StateVoided, nil},
		{"void out of scope", ActionVoid, StateReported, RoleClerk, func(tr *Transition) { tr.Params.Reason = "out_of_scope" }, "", StateVoided, nil},
		{"void as a duplicate links the case it repeats", ActionVoid, StateReported, RoleClerk,
			func(tr *Transition) { tr.Params.Reason, tr.Params.DuplicateOf = VoidDuplicate, earlierID }, "", StateVoided,
			func(c Case) string { return unless(c.LinkedCase == earlierID, "linked_case not set") }},
		{"void as a duplicate of itself", ActionVoid, StateReported, RoleClerk,
			func(tr *Transition) { tr.Params.Reason, tr.Params.DuplicateOf = VoidDuplicate, tr.Case.ID }, CodeGuardFailed, "", nil},
		{"duplicate_of with another reason", ActionVoid, StateReported, RoleClerk,
			func(tr *Transition) { tr.Params.Reason, tr.Params.DuplicateOf = "not_real", earlierID }, CodeGuardFailed, "", nil},
		{"void incomplete", ActionVoid, StateReported, RoleClerk, func(tr *Transition) { tr.Params.Reason = "incomplete" }, "", StateVoided, nil},
		{"void_registered without reason", ActionVoidRegistered, StateDispatched, RoleSupervisor, func(tr *Transition) { tr.Params.Reason = " " }, CodeGuardFailed, "", nil},

		// dispatch
		{"dispatch without unit or person", ActionDispatch, StateRegistered, RoleClerk,
			func(tr *Transition) { tr.Params.UnitID, tr.Params.AssigneeID = "", uuid.Nil }, CodeGuardFailed, "", nil},
		{"dispatch to a person only", ActionDispatch, StateReturned, RoleClerk,
			func(tr *Transition) { tr.Params.UnitID = "" }, "", StateDispatched,
			func(c Case) string { return unless(c.AssigneeID == assigneeID && c.UnitID == "", "assignee not set") }},
		{"dispatch without any deadline keeps the old one", ActionDispatch, StateRegistered, RoleClerk,
			func(tr *Transition) { tr.Params.Deadline = nil }, "", StateDispatched,
			func(c Case) string {
				return unless(c.Deadline != nil && c.Deadline.Equal(t0.Add(48*time.Hour)), "deadline lost")
			}},

		// self_handle
		{"self_handle without before photo", ActionSelfHandle, StateReported, RoleInspector, func(tr *Transition) { tr.Evidence.Before = 0 }, CodeGuardFailed, "", nil},
		{"self_handle without after photo", ActionSelfHandle, StateReported, RoleInspector, func(tr *Transition) { tr.Evidence.After = 0 }, CodeGuardFailed, "", nil},
		{"self_handle without before and after", ActionSelfHandle, StateReported, RoleInspector,
			func(tr *Transition) { tr.Evidence = Evidence{Site: 3, Check: 1} }, CodeGuardFailed, "", nil},
		{"self_handle defaults to persuasion", ActionSelfHandle, StateReported, RoleInspector,
			func(tr *Transition) { tr.Params.Disposition = "" }, "", StateHandled,
			func(c Case) string { return unless(c.Disposition == "劝导整改", "disposition "+c.Disposition) }},

		// return
		{"return without reason", ActionReturn, StateDispatched, RoleUnitHandler, func(tr *Transition) { tr.Params.Reason = "" }, CodeGuardFailed, "", nil},

		// request_extension / request_suspend
		{"request_extension without deadline", ActionRequestExtension, StateDispatched, RoleUnitHandler,
			func(tr *Transition) { tr.Params.Deadline = nil }, CodeGuardFailed, "", nil},
		{"request_extension with an earlier deadline", ActionRequestExtension, StateDispatched, RoleUnitHandler,
			func(tr *Transition) { d := t0.Add(24 * time.Hour); tr.Params.Deadline = &d }, CodeGuardFailed, "", nil},
		{"request_extension with the same deadline", ActionRequestExtension, StateDispatched, RoleInspector,
			func(tr *Transition) { d := t0.Add(48 * time.Hour); tr.Params.Deadline = &d }, CodeGuardFailed, "", nil},
		{"request_extension on a case without deadline", ActionRequestExtension, StateDispatched, RoleUnitHandler,
			func(tr *Transition) { tr.Case.Deadline = nil }, "", StateExtensionPending, nil},
		{"request_suspend without reason", ActionRequestSuspend, StateDispatched, RoleUnitHandler, func(tr *Transition) { tr.Params.Reason = "" }, CodeGuardFailed, "", nil},

		// approve / deny
		{"approve with nothing pending", ActionApprove, StateExtensionPending, RoleSupervisor,
			func(tr *Transition) { tr.Case.Pending, tr.Case.PendingDeadline = PendingNone, nil }, CodeGuardFailed, "", nil},
		{"deny without reason", ActionDeny, StateExtensionPending, RoleSupervisor,
			func(tr *Transition) { tr.Params.Reason, tr.Params.Comment = "", "" }, CodeGuardFailed, "", nil},
		{"deny with a comment only", ActionDeny, StateExtensionPending, RoleSupervisor,
			func(tr *Transition) { tr.Params.Reason = "" }, "", StateDispatched, nil},

		// resume
		{"resume without deadline", ActionResume, StateSuspended, RoleClerk, func(tr *Transition) { tr.Params.Deadline = nil }, CodeGuardFailed, "", nil},
		{"resume with the category's deadline", ActionResume, StateSuspended, RoleSupervisor,
			func(tr *Transition) {
				tr.Params.Deadline = nil
				tr.DefaultDeadline = func(_ *Case, start time.Time) *time.Time { d := start.Add(4 * time.Hour); return &d }
			}, "", StateDispatched,
			func(c Case) string {
				return unless(c.Deadline != nil && c.Deadline.Equal(t0.Add(4*time.Hour)), "default deadline not used")
			}},

		// report_done
		{"report_done without after photo", ActionReportDone, StateDispatched, RoleUnitHandler,
			func(tr *Transition) { tr.Evidence = Evidence{Site: 2, Before: 1, Check: 1} }, CodeGuardFailed, "", nil},
		{"report_done with unknown disposition", ActionReportDone, StateDispatched, RoleInspector,
			func(tr *Transition) { tr.Params.Disposition = "随便" }, CodeGuardFailed, "", nil},
		{"report_done every disposition", ActionReportDone, StateDispatched, RoleUnitHandler,
			func(tr *Transition) { tr.Params.Disposition = "移交其他部门" }, "", StateHandled, nil},

		// send_check
		{"send_check assigns the task", ActionSendCheck, StateHandled, RoleClerk, nil, "", StateChecking,
			func(c Case) string { return unless(c.AssigneeID == assigneeID, "assignee not set") }},

		// check_pass / check_fail
		{"check_pass without check photo", ActionCheckPass, StateChecking, RoleClerk, func(tr *Transition) { tr.Evidence.Check = 0 }, CodeGuardFailed, "", nil},
		{"check_pass checked only by the handler", ActionCheckPass, StateChecking, RoleClerk, func(tr *Transition) { tr.Evidence.CheckByOther = false }, CodeGuardFailed, "", nil},
		{"check_pass with neither", ActionCheckPass, StateChecking, RoleClerk, func(tr *Transition) { tr.Evidence = Evidence{Site: 1, After: 1} }, CodeGuardFailed, "", nil},
		{"check_fail without reason", ActionCheckFail, StateChecking, RoleClerk,
			func(tr *Transition) { tr.Params.Reason, tr.Params.Comment = "", "" }, CodeGuardFailed, "", nil},
		{"check_fail twice counts twice", ActionCheckFail, StateChecking, RoleClerk,
			func(tr *Transition) { tr.Case.ReworkCount = 1 }, "", StateDispatched,
			func(c Case) string { return unless(c.ReworkCount == 2, "rework count not 2") }},

		// force_close
		{"force_close without reason", ActionForceClose, StateDispatched, RoleSupervisor, func(tr *Transition) { tr.Params.Reason = "" }, CodeGuardFailed, "", nil},
		{"force_close a closed case", ActionForceClose, StateClosed, RoleSupervisor, nil, CodeIllegalTransition, "", nil},

		// escalate
		{"escalate twice", ActionEscalate, StateDispatched, RoleSupervisor, func(tr *Transition) { tr.Case.Escalated = true }, CodeGuardFailed, "", nil},
		{"escalate a suspended case", ActionEscalate, StateSuspended, RoleSupervisor, nil, "", StateSuspended, nil},

		// roles outside the table
		{"unknown role", ActionRegister, StateReported, "mayor", nil, CodeRoleNotAllowed, "", nil},
		{"no role", ActionForceClose, StateDispatched, "", nil, CodeRoleNotAllowed, "", nil},
		{"unknown action", "reopen", StateClosed, RoleSupervisor, nil, CodeInvalidInput, "", nil},
	}
	for _, tt := range tests {
		tr := goodTransition(tt.action, tt.state, tt.role, PendingExtension)
		if tt.edit != nil {
			tt.edit(&tr)
		}
		out, err := applyChecked(t, tt.name, tr)
		if got := ErrorCode(err); got != tt.want {
			t.Errorf("%s: code %q (%v), want %q", tt.name, got, err, tt.want)
			continue
		}
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Message == "" {
				t.Errorf("%s: want an *Error with a message, got %#v", tt.name, err)
			}
			continue
		}
		if out.State != tt.to {
			t.Errorf("%s: state %s, want %s", tt.name, out.State, tt.to)
		}
		if tt.check != nil {
			if msg := tt.check(out); msg != "" {
				t.Errorf("%s: %s", tt.name, msg)
			}
		}
	}
}

func unless(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

// TestApplyDefaultDeadlineSeesNoInput checks the deadline callback works on the
// copy: whatever it does to the case it is given, the input stays as it was.
func TestApplyDefaultDeadlineSeesNoInput(t *testing.T) {
	tr := goodTransition(ActionRegister, StateReported, RoleClerk, PendingNone)
	tr.Params.Deadline = nil
	tr.DefaultDeadline = func(c *Case, start time.Time) *time.Time {
		c.Description = "scribbled"
		return nil
	}
	if _, err := applyChecked(t, "register with a scribbling callback", tr); err != nil {
		t.Fatal(err)
	}
}

// TestWorkflowGolden renders what Apply does for every action × state × role
// (inputs satisfying every guard) so a reviewer sees the whole machine at once.
// Run `go test ./models -run TestWorkflowGolden -update` after a deliberate change.
func TestWorkflowGolden(t *testing.T) {
	got := renderMatrix()
	path := filepath.Join("testdata", "workflow_matrix.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("workflow matrix differs from %s; if the change is deliberate, rerun with -update.\n%s", path, lineDiff(string(want), string(got)))
	}
}

func stateName(s State) string {
	if s == StateNew {
		return "(new)"
	}
	return string(s)
}

func renderMatrix() []byte {
	var b bytes.Buffer
	b.WriteString(`# What models.Apply does for every action × state × role, with params and evidence
# that satisfy every guard. Generated by TestWorkflowGolden (go test ./models -update).
#
# A cell is the state the case is left in (+escalated: the 督办 flag was set), or why
# Apply refused:
#   ·           role_not_allowed: the state allows the action, the role does not
#   GUARD       guard_failed (should not appear: the inputs satisfy every guard)
# States in which no role may take the action are listed under the refusal code
# (illegal_transition; not_found for a case that does not exist yet).
`)
	type block struct {
		title   string
		action  Action
		pending PendingRequest
	}
	var blocks []block
	for _, a := range Actions {
		if a == ActionApprove {
			blocks = append(blocks, block{"approve (extension request)", a, PendingExtension}, block{"approve (suspend request)", a, PendingSuspend})
			continue
		}
		blocks = append(blocks, block{string(a), a, PendingExtension})
	}
	for _, bl := range blocks {
		fmt.Fprintf(&b, "\n%s\n", bl.title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprint(tw, "  from\\role")
		for _, r := range Roles {
			fmt.Fprintf(tw, "\t%s", r)
		}
		fmt.Fprintln(tw)
		refused := map[Code][]string{}
		for _, s := range allStates {
			var cells []string
			var codes []Code
			for _, r := range Roles {
				tr := goodTransition(bl.action, s, r, bl.pending)
				out, err := Apply(tr)
				code := ErrorCode(err)
				codes = append(codes, code)
				switch code {
				case "":
					cell := stateName(out.State)
					if out.Escalated && !tr.Case.Escalated {
						cell += "+escalated"
					}
					cells = append(cells, cell)
				case CodeRoleNotAllowed:
					cells = append(cells, "·")
				case CodeGuardFailed:
					cells = append(cells, "GUARD")
				default:
					cells = append(cells, string(code))
				}
			}
			if c := codes[0]; (c == CodeIllegalTransition || c == CodeNotFound) && allSame(codes) {
				refused[c] = append(refused[c], stateName(s))
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\n", stateName(s), strings.Join(cells, "\t"))
		}
		tw.Flush()
		for _, c := range []Code{CodeIllegalTransition, CodeNotFound} {
			if len(refused[c]) > 0 {
				fmt.Fprintf(&b, "  %s: %s\n", c, strings.Join(refused[c], " "))
			}
		}
	}
	return b.Bytes()
}

func allSame(codes []Code) bool {
	for _, c := range codes {
		if c != codes[0] {
			return false
		}
	}
	return true
}

// lineDiff lists the lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n   got %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
