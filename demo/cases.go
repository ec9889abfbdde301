package demo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// op is one thing that happens to a case.
type op int

const (
	opSubmit op = iota
	opAskMore
	opResubmit
	opSendVerify
	opVerifyTrue
	opVerifyFalse
	opRegister
	opDispatch
	opRedispatch
	opReturn
	opReqExtension
	opReqSuspend
	opApprove
	opDeny
	opResume
	opReportDone
	opSelfHandle
	opSendCheck
	opCheckPhoto
	opCheckPhotoBad
	opCheckPass
	opCheckFail
	opEscalate
	opForceClose
	opVoidDuplicate
	opVoidNotReal
	opVoidIncomplete
	opVoidOutOfScope
	opVoidRegistered
	opNoteReporter
	opNoteHandler
	opNoteClerk
)

// office reports whether an op is done from the console.
func (o op) office() bool {
	switch o {
	case opSubmit, opResubmit, opVerifyTrue, opVerifyFalse, opReturn, opReqExtension, opReqSuspend,
		opReportDone, opSelfHandle, opCheckPhoto, opCheckPhotoBad, opNoteReporter, opNoteHandler:
		return false
	}
	return true
}

// scenario is a path through the workflow and how many demo cases take it.
type scenario struct {
	name      string
	n         int
	open      bool // the case is still open at now
	inspector bool // the reporter must be an inspector (self_handle)
	ops       []op
}

// The paths, with counts that add up to 200 and reach every state.
var (
	toClose    = []op{opSendCheck, opCheckPhoto, opCheckPass}
	toDispatch = []op{opSubmit, opRegister, opDispatch}
)

func seq(parts ...[]op) []op { return slices.Concat(parts...) }

var scenarios = []scenario{
	// Closed, the ordinary way and its variants.
	{name: "closed", n: 40, ops: seq(toDispatch, []op{opReportDone}, toClose)},
	{name: "closed_verified", n: 8, ops: seq([]op{opSubmit, opSendVerify, opVerifyTrue, opRegister, opDispatch, opReportDone}, toClose)},
	{name: "closed_ask_more", n: 6, ops: seq([]op{opSubmit, opAskMore, opResubmit, opRegister, opDispatch, opReportDone}, toClose)},
	{name: "closed_rework", n: 7, ops: seq(toDispatch, []op{opReportDone, opSendCheck, opCheckPhotoBad, opCheckFail, opReportDone}, toClose)},
	{name: "closed_extension", n: 6, ops: seq(toDispatch, []op{opReqExtension, opApprove, opReportDone}, toClose)},
	{name: "closed_denied", n: 3, ops: seq(toDispatch, []op{opReqExtension, opDeny, opReportDone}, toClose)},
	{name: "closed_returned", n: 5, ops: seq(toDispatch, []op{opReturn, opRedispatch, opReportDone}, toClose)},
	{name: "closed_self_handled", n: 10, inspector: true, ops: seq([]op{opSubmit, opSelfHandle}, toClose)},
	{name: "closed_resumed", n: 3, ops: seq(toDispatch, []op{opReqSuspend, opApprove, opResume, opReportDone}, toClose)},
	{name: "force_closed_suspended", n: 3, ops: seq(toDispatch, []op{opReqSuspend, opApprove, opEscalate, opForceClose})},
	{name: "force_closed_overdue", n: 3, ops: seq(toDispatch, []op{opEscalate, opForceClose})},
	// Voided.
	{name: "void_duplicate", n: 6, ops: []op{opSubmit, opVoidDuplicate}},
	{name: "void_not_real", n: 4, ops: []op{opSubmit, opSendVerify, opVerifyFalse, opVoidNotReal}},
	{name: "void_incomplete", n: 3, ops: []op{opSubmit, opAskMore, opVoidIncomplete}},
	{name: "void_out_of_scope", n: 2, ops: []op{opSubmit, opVoidOutOfScope}},
	{name: "void_registered", n: 2, ops: seq(toDispatch, []op{opVoidRegistered})},
	// Still open at now.
	{name: "reported", n: 8, open: true, ops: []op{opSubmit}},
	{name: "reported_verified", n: 2, open: true, ops: []op{opSubmit, opSendVerify, opVerifyTrue}},
	{name: "needs_info", n: 6, open: true, ops: []op{opSubmit, opAskMore}},
	{name: "verifying", n: 6, open: true, ops: []op{opSubmit, opSendVerify}},
	{name: "registered", n: 7, open: true, ops: []op{opSubmit, opRegister}},
	{name: "dispatched", n: 14, open: true, ops: toDispatch},
	{name: "dispatched_escalated", n: 3, open: true, ops: seq(toDispatch, []op{opEscalate})},
	{name: "dispatched_rework", n: 2, open: true, ops: seq(toDispatch, []op{opReportDone, opSendCheck, opCheckPhotoBad, opCheckFail})},
	{name: "returned", n: 5, open: true, ops: seq(toDispatch, []op{opReturn})},
	{name: "extension_pending", n: 5, open: true, ops: seq(toDispatch, []op{opReqExtension})},
	{name: "suspend_pending", n: 3, open: true, ops: seq(toDispatch, []op{opReqSuspend})},
	{name: "suspended", n: 4, open: true, ops: seq(toDispatch, []op{opReqSuspend, opApprove})},
	{name: "suspended_escalated", n: 2, open: true, ops: seq(toDispatch, []op{opReqSuspend, opApprove, opEscalate})},
	{name: "handled", n: 8, open: true, ops: seq(toDispatch, []op{opReportDone})},
	{name: "handled_self", n: 3, open: true, inspector: true, ops: []op{opSubmit, opSelfHandle}},
	{name: "checking", n: 6, open: true, ops: seq(toDispatch, []op{opReportDone, opSendCheck})},
	{name: "checking_photo", n: 5, open: true, ops: seq(toDispatch, []op{opReportDone, opSendCheck, opCheckPhoto})},
}

// simCase is a case being generated: the case as the server will hold it
// after each step, and the steps so far.
type simCase struct {
	sc       *scenario
	c        models.Case
	reporter *person
	photos   []simPhoto
	steps    []Step
	handler  *person // acts for the unit the case is dispatched to
	verifier *person
	checker  *person
	start    time.Time
	closedAt time.Time
	place    string // {addr} of the description
	reported string // the category the reporter chose
	// returnedFrom is the unit that sent the case back, so the clerk
	// dispatches it elsewhere.
	returnedFrom string
}

type simPhoto struct {
	id       uuid.UUID
	typ      models.PhotoType
	uploader uuid.UUID
}

func (g *gen) buildCases() {
	var plan []*scenario
	for i := range scenarios {
		for range scenarios[i].n {
			plan = append(plan, &scenarios[i])
		}
	}
	g.r.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	for _, sc := range plan {
		g.cases = append(g.cases, g.buildCase(sc))
	}
	g.linkRecurrences()
}

// buildCase draws a reporter, a place, a category and a timeline for one
// scenario and plays its ops.
func (g *gen) buildCase(sc *scenario) *simCase {
	s := &simCase{sc: sc}
	var rep *person
	if sc.inspector || g.chance(0.45) {
		rep = pick(g, g.withRole(models.RoleInspector))
	} else {
		rep = pick(g, g.withRole(models.RoleGridWorker))
	}
	s.reporter = rep
	loc, code := g.placeAndCategory(sc, rep)
	s.c.Location = loc
	s.c.Category = code
	s.reported = code

	ops := slices.Clone(sc.ops)
	// Notes people add on the way, where the case is visible to them.
	if i := slices.Index(ops, opSubmit); i >= 0 && g.chance(0.3) {
		ops = slices.Insert(ops, i+1, opNoteReporter)
	}
	if i := slices.Index(ops, opDispatch); i >= 0 && g.chance(0.25) {
		ops = slices.Insert(ops, i+1, opNoteHandler)
	}
	if i := slices.Index(ops, opRegister); i >= 0 && g.chance(0.12) {
		ops = slices.Insert(ops, i+1, opNoteClerk)
	}
	times := g.timeline(sc, ops, code)
	for i, o := range ops {
		g.play(s, o, times[i])
	}
	return s
}

// placeAndCategory chooses where a report is made and what it is about.
func (g *gen) placeAndCategory(sc *scenario, rep *person) (models.Location, string) {
	var t *town
	var c *cell
	if rep.role() == models.RoleGridWorker {
		c = g.grids[pick(g, rep.grids)]
		t = c.village.town
	} else {
		t = g.townByID[pick(g, rep.patrol)]
	}
	var code string
	switch {
	case strings.HasPrefix(sc.name, "void_out_of_scope"):
		code = weighted(g, outOfScopeCategories)
	case sc.inspector:
		code = weighted(g, minorCategories)
	case rep.parking:
		code = weighted(g, parkingCategories)
	case t.def.rural:
		code = weighted(g, ruralCategories)
	default:
		code = weighted(g, urbanCategories)
	}

	var p xy
	switch {
	case c != nil && !g.chance(0.05):
		p = g.inCell(c)
	case c != nil:
		p = g.outsideGrids(c.village)
	case roadside[code] && !t.def.rural && g.chance(0.6) && len(g.segsIn(t)) > 0:
		p = g.nearRoad(pick(g, g.segsIn(t)))
	case g.chance(0.12):
		p = g.outsideGrids(pick(g, t.villages))
	default:
		v := pick(g, t.villages)
		if len(v.cells) == 0 {
			p = g.outsideGrids(v)
		} else {
			p = g.inCell(pick(g, v.cells))
		}
	}
	ll := lonLat(p)
	loc := models.Location{Lon: ll[0], Lat: ll[1], Accuracy: math.Round(g.between(3, 15))}
	loc.Address = g.address(ll)
	return loc, code
}

func (g *gen) inCell(c *cell) xy {
	return xy{c.x0 + g.between(8, cellSize-8), c.y0 + g.between(8, cellSize-8)}
}

// outsideGrids returns a point of the village that no grid covers: in its gap
// or along its edges.
func (g *gen) outsideGrids(v *village) xy {
	for range 200 {
		p := bilinear(v.quad, g.between(0.04, 0.96), g.between(0.04, 0.96))
		ll := lonLat(p)
		if a := g.loc.Locate(ll[1], ll[0]); a.GridCode == "" && a.VillageCode == v.code {
			return p
		}
	}
	return v.gapCenter // the gap's centre is never covered
}

func (g *gen) segsIn(t *town) []*segment {
	var out []*segment
	for _, s := range g.segs {
		if s.town == t.def.code {
			out = append(out, s)
		}
	}
	return out
}

// nearRoad returns a point on the pavement beside a segment, 5–18 m off it.
func (g *gen) nearRoad(s *segment) xy {
	p := lerp(s.a, s.b, g.between(0.1, 0.9))
	dx, dy := s.b.x-s.a.x, s.b.y-s.a.y
	l := math.Hypot(dx, dy)
	off := g.between(5, 18)
	if g.chance(0.5) {
		off = -off
	}
	return xy{p.x - dy/l*off, p.y + dx/l*off}
}

// address names a place the way a report would: the road and number when it
// is on a road segment, else the community or village.
func (g *gen) address(ll [2]float64) string {
	a := g.loc.Locate(ll[1], ll[0])
	townName := ""
	if t := g.townByID[a.TownCode]; t != nil {
		townName = t.def.name
	}
	if a.RoadSegmentID != "" {
		for _, s := range g.segs {
			if s.id == a.RoadSegmentID {
				return fmt.Sprintf("%s%s%d号附近", townName, s.road, g.addrNumber())
			}
		}
	}
	if v := g.villages[a.VillageCode]; v != nil {
		if v.town.def.rural {
			return fmt.Sprintf("%s%s%d号", townName, v.name, g.addrNumber())
		}
		return fmt.Sprintf("%s%s%d号楼附近", townName, v.name, 1+g.r.IntN(40))
	}
	return townName + "辖区"
}

// place is the short name of where the case is, for its description.
func (g *gen) placeName(c *models.Case) string {
	if c.RoadSegmentID != "" {
		for _, s := range g.segs {
			if s.id == c.RoadSegmentID {
				return s.road
			}
		}
	}
	if v := g.villages[c.VillageCode]; v != nil {
		return v.name
	}
	if t := g.townByID[c.TownCode]; t != nil {
		return t.def.name
	}
	return DistrictName
}

// delay returns how long after the previous op an op happens.
func (g *gen) delay(o op, code string) time.Duration {
	h, m, d := time.Hour, time.Minute, 24*time.Hour
	switch o {
	case opAskMore, opSendVerify, opRegister, opVoidDuplicate, opVoidNotReal, opVoidIncomplete, opVoidOutOfScope:
		return g.dur(10*m, 3*h)
	case opResubmit, opVerifyTrue, opVerifyFalse:
		return g.dur(h, 20*h)
	case opDispatch:
		return g.dur(5*m, h)
	case opRedispatch:
		return g.dur(20*m, 3*h)
	case opReturn:
		return g.dur(30*m, 6*h)
	case opReqExtension:
		return g.dur(2*h, 20*h)
	case opReqSuspend:
		return g.dur(4*h, 2*d)
	case opApprove, opDeny:
		return g.dur(30*m, 20*h)
	case opResume:
		return g.dur(3*d, 12*d)
	case opReportDone:
		switch lim := g.cats[code].Limit; lim.Unit {
		case models.LimitHours:
			return g.dur(20*m, time.Duration(lim.Value)*h*3/2)
		case models.LimitWorkHours:
			return g.dur(40*m, 26*h)
		default:
			return g.dur(6*h, time.Duration(min(lim.Value, 8))*d+d)
		}
	case opSelfHandle:
		return g.dur(5*m, 40*m)
	case opSendCheck:
		return g.dur(15*m, 4*h)
	case opCheckPhoto, opCheckPhotoBad:
		return g.dur(h, 22*h)
	case opCheckPass, opCheckFail:
		return g.dur(10*m, 3*h)
	case opEscalate:
		return g.dur(d, 4*d)
	case opForceClose:
		return g.dur(2*d, 10*d)
	case opVoidRegistered:
		return g.dur(h, 2*d)
	case opNoteReporter, opNoteHandler, opNoteClerk:
		return g.dur(2*m, 90*m)
	}
	return 0
}

// workHours moves t forward into the hours people work: the command centre
// 08:00–20:00, the field 07:00–21:30 (China time). What falls outside is
// spread over the first hours of the next shift, as a backlog is.
func workHours(t time.Time, office bool) time.Time {
	from, to := 7*60, 21*60+30
	if office {
		from, to = 8*60, 20*60
	}
	l := t.In(china)
	mins := l.Hour()*60 + l.Minute()
	if mins >= from && mins < to {
		return t
	}
	y, mo, d := l.Date()
	if mins >= to {
		d++
	}
	overflow := (mins - to + 24*60) % (24 * 60) // minutes since the shift ended
	spread := time.Duration(overflow%150)*time.Minute + time.Duration(l.Second())*time.Second
	return time.Date(y, mo, d, 0, 0, 0, 0, china).Add(time.Duration(from)*time.Minute + spread).UTC()
}

// timeline returns the time of every op: the report first, then each op a
// drawn delay later, within working hours, all within the 90 days before now
// and at least a minute before it. Open cases are recent; closed ones spread
// over the whole period.
func (g *gen) timeline(sc *scenario, ops []op, code string) []time.Time {
	delays := make([]time.Duration, len(ops))
	var total time.Duration
	for i, o := range ops {
		delays[i] = g.delay(o, code)
		total += delays[i]
	}
	earliest := g.now.Add(-90*24*time.Hour + time.Hour)
	latest := g.now.Add(-time.Minute)
	var start time.Time
	if sc.open {
		start = g.now.Add(-total - g.dur(time.Hour, 12*24*time.Hour))
	} else {
		start = g.now.Add(-g.dur(time.Hour, 89*24*time.Hour))
	}
	run := func(start time.Time) []time.Time {
		ts := make([]time.Time, len(ops))
		t := start
		for i, o := range ops {
			t = workHours(t.Add(delays[i]), o.office())
			ts[i] = t.Truncate(time.Second)
		}
		return ts
	}
	for range 40 {
		start = maxTime(start, earliest)
		ts := run(start)
		last := ts[len(ts)-1]
		if !last.After(latest) {
			return ts
		}
		if start.Equal(earliest) {
			// Too long for the period: speed everything up.
			for i := range delays {
				delays[i] /= 2
			}
			continue
		}
		start = start.Add(-last.Sub(latest) - 30*time.Minute)
	}
	panic("demo: no timeline fits the period") // unreachable: delays halve to nothing
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (g *gen) clerk() *person      { return pick(g, g.withRole(models.RoleClerk)) }
func (g *gen) supervisor() *person { return pick(g, g.withRole(models.RoleSupervisor)) }

// play performs one op at time t.
func (g *gen) play(s *simCase, o op, t time.Time) {
	c := &s.c
	switch o {
	case opSubmit:
		g.submit(s, t)
	case opNoteReporter:
		g.comment(s, s.reporter, t, pick(g, reporterNotes))
	case opNoteHandler:
		g.comment(s, s.handler, t, pick(g, handlerNotes))
	case opNoteClerk:
		g.comment(s, g.clerk(), t, pick(g, clerkNotes))
	case opAskMore:
		g.act(s, g.clerk(), t, models.ActionAskMore, models.ActionParams{Comment: pick(g, askMoreNotes)})
	case opResubmit:
		ph := g.photo(s, s.reporter, t, "resubmit", models.PhotoNear)
		g.act(s, s.reporter, t, models.ActionResubmit, models.ActionParams{Comment: pick(g, resubmitNotes), Photos: []uuid.UUID{ph}})
	case opSendVerify:
		s.verifier = g.fieldCheckerFor(c, s.reporter)
		g.act(s, g.clerk(), t, models.ActionSendVerify, models.ActionParams{AssigneeID: s.verifier.user.ID, Comment: "请核实该问题"})
	case opVerifyTrue, opVerifyFalse:
		res, note := models.VerifyTrue, pick(g, verifyTrueNote)
		if o == opVerifyFalse {
			res, note = models.VerifyFalse, pick(g, verifyFalseNot)
		}
		ph := g.photo(s, s.verifier, t, "verify", models.PhotoNear)
		g.act(s, s.verifier, t, models.ActionVerify, models.ActionParams{Result: res, Comment: note, Photos: []uuid.UUID{ph}})
	case opRegister:
		p := models.ActionParams{}
		if c.Category == "E0501" && g.chance(0.3) {
			// A vendor found at a fixed spot is a stall, not a mobile vendor.
			p.Category, p.Comment = "E0560", "经核实为固定摊点，按占道经营立案"
		}
		g.act(s, g.clerk(), t, models.ActionRegister, p)
	case opDispatch, opRedispatch:
		unit := g.unitFor(c)
		if o == opRedispatch {
			unit = g.otherUnit(c, s.returnedFrom)
		}
		g.act(s, g.clerk(), t, models.ActionDispatch, models.ActionParams{UnitID: unit, Comment: pick(g, dispatchNotes)})
		s.handler = g.handlerFor(c)
	case opReturn:
		s.returnedFrom = c.UnitID
		g.act(s, s.handler, t, models.ActionReturn, models.ActionParams{Reason: pick(g, returnReasons)})
	case opReqExtension:
		base := t
		if c.Deadline != nil {
			base = *c.Deadline
		}
		d := base.Add(g.dur(2*24*time.Hour, 7*24*time.Hour)).Truncate(time.Minute)
		g.act(s, s.handler, t, models.ActionRequestExtension, models.ActionParams{Deadline: &d, Reason: pick(g, extReasons)})
	case opReqSuspend:
		g.act(s, s.handler, t, models.ActionRequestSuspend, models.ActionParams{Reason: pick(g, suspendReasons)})
	case opApprove:
		g.act(s, g.supervisor(), t, models.ActionApprove, models.ActionParams{Comment: "同意"})
	case opDeny:
		g.act(s, g.supervisor(), t, models.ActionDeny, models.ActionParams{Reason: pick(g, denyReasons)})
	case opResume:
		d := g.cal.Deadline(t, models.TimeLimit{Value: 5, Unit: models.LimitWorkDays}).UTC()
		who := g.supervisor()
		if g.chance(0.5) {
			who = g.clerk()
		}
		g.act(s, who, t, models.ActionResume, models.ActionParams{Deadline: &d, Comment: pick(g, resumeNotes)})
	case opReportDone:
		ph := g.photo(s, s.handler, t, "report_done", models.PhotoAfter)
		g.act(s, s.handler, t, models.ActionReportDone, models.ActionParams{Photos: []uuid.UUID{ph},
			Disposition: g.dispositionFor(c.Category), Comment: pick(g, doneNotes)})
	case opSelfHandle:
		before := g.photo(s, s.reporter, t, "self_handle", models.PhotoBefore)
		after := g.photo(s, s.reporter, t, "self_handle", models.PhotoAfter)
		g.act(s, s.reporter, t, models.ActionSelfHandle, models.ActionParams{Photos: []uuid.UUID{before, after},
			Disposition: pick(g, []string{"劝导整改", "首违不罚"}), Comment: "现场劝导，当事人当场整改"})
	case opSendCheck:
		s.checker = g.fieldCheckerFor(c, g.personByID(c.HandledBy))
		g.act(s, g.clerk(), t, models.ActionSendCheck, models.ActionParams{AssigneeID: s.checker.user.ID, Comment: "请核查整改情况"})
	case opCheckPhoto, opCheckPhotoBad:
		g.photo(s, s.checker, t, "check", models.PhotoCheck)
		note := pick(g, checkOKNotes)
		if o == opCheckPhotoBad {
			note = pick(g, checkBadNotes)
		}
		g.comment(s, s.checker, t.Add(time.Minute), note)
	case opCheckPass:
		g.act(s, g.clerk(), t, models.ActionCheckPass, models.ActionParams{Photos: s.checkPhotos(), Comment: pick(g, passNotes)})
		s.closedAt = t
	case opCheckFail:
		g.act(s, g.clerk(), t, models.ActionCheckFail, models.ActionParams{Reason: pick(g, failReasons)})
	case opEscalate:
		g.act(s, g.supervisor(), t, models.ActionEscalate, models.ActionParams{Comment: pick(g, escalateNotes)})
	case opForceClose:
		g.act(s, g.supervisor(), t, models.ActionForceClose, models.ActionParams{Reason: pick(g, forceReasons)})
		s.closedAt = t
	case opVoidDuplicate:
		g.act(s, g.clerk(), t, models.ActionVoid, models.ActionParams{Reason: "duplicate", Comment: "与同一点位已受理案件重复"})
	case opVoidNotReal:
		g.act(s, g.clerk(), t, models.ActionVoid, models.ActionParams{Reason: "not_real", Comment: "经核实不属实"})
	case opVoidIncomplete:
		g.act(s, g.clerk(), t, models.ActionVoid, models.ActionParams{Reason: "incomplete", Comment: "逾期未补充材料"})
	case opVoidOutOfScope:
		g.act(s, g.clerk(), t, models.ActionVoid, models.ActionParams{Reason: "out_of_scope", Comment: "不属于城市管理职责范围，已告知转办"})
	case opVoidRegistered:
		g.act(s, g.supervisor(), t, models.ActionVoidRegistered, models.ActionParams{Reason: pick(g, voidRegReasons)})
	default:
		panic(fmt.Sprintf("demo: unknown op %d", o))
	}
}

// submit shoots the report photos on the reporter's device and files the
// case with them: the photos' add_photo steps come first, at the same time.
func (g *gen) submit(s *simCase, t time.Time) {
	rep := s.reporter
	clientAt := t.Add(-g.dur(5*time.Second, 5*time.Minute))
	s.start = t
	s.c.ID = g.uuid7(clientAt)
	a := g.loc.Locate(s.c.Location.Lat, s.c.Location.Lon)
	s.c.OrgPath, s.c.TownCode, s.c.VillageCode, s.c.GridCode = a.OrgPath, a.TownCode, a.VillageCode, a.GridCode
	s.c.RoadSegmentID, s.c.RefVersion = a.RoadSegmentID, a.RefVersion
	s.place = g.placeName(&s.c)
	s.c.Description, s.c.Party, s.c.Quantity = g.describe(s.c.Category, s.place)
	s.c.ReporterID, s.c.ReporterRole, s.c.DeviceID = rep.user.ID, rep.role(), rep.device.ID
	s.c.Source = models.SourceDevice
	s.c.ClientCreatedAt = clientAt

	types := []models.PhotoType{models.PhotoFar, models.PhotoNear}
	if g.chance(0.4) {
		types = append(types, models.PhotoReference)
	}
	var ids []uuid.UUID
	for i, typ := range types {
		shot := clientAt.Add(-time.Duration(len(types)-i) * g.dur(20*time.Second, 70*time.Second))
		rec := g.photoRecord(s, rep, shot, "report", typ)
		ids = append(ids, rec.ID)
		s.photos = append(s.photos, simPhoto{rec.ID, typ, rep.user.ID})
		s.steps = append(s.steps, Step{Username: rep.user.Username, DeviceName: rep.device.Name, At: t,
			Cmd: models.Command{Kind: models.CmdAddPhoto, CaseID: s.c.ID, ClientTime: shot, Photo: rec}})
	}
	draft := &models.CaseDraft{Category: s.c.Category, Description: s.c.Description, Location: s.c.Location,
		Party: s.c.Party, Quantity: s.c.Quantity, Source: models.SourceDevice, Photos: ids, Submit: true}
	next, err := models.Apply(models.Transition{Case: &s.c, Actor: actorOf(rep), Action: models.ActionSubmit,
		Params: models.ActionParams{Photos: ids}, Evidence: s.evidence(ids), Now: t})
	if err != nil {
		panic(fmt.Sprintf("demo: submit of %s refused: %v", s.sc.name, err))
	}
	s.c = next
	s.c.CreatedAt, s.c.UpdatedAt = t, t
	if !rep.covers(&s.c) {
		panic(fmt.Sprintf("demo: %s cannot see the case they reported", rep.user.Username))
	}
	s.steps = append(s.steps, Step{Username: rep.user.Username, DeviceName: rep.device.Name, At: t,
		Cmd: models.Command{Kind: models.CmdCreateCase, CaseID: s.c.ID, ClientTime: clientAt, Create: draft}})
}

// photoRecord returns the metadata a device records for a photo it shoots of
// the case at time shot.
func (g *gen) photoRecord(s *simCase, p *person, shot time.Time, stage string, typ models.PhotoType) *models.PhotoRecord {
	id := g.uuid7(shot)
	at := shot
	// GPS a few metres from the case, as a handheld fix is.
	dLat := g.between(-8, 8) / mPerDegLat
	dLon := g.between(-8, 8) / mPerDegLon
	return &models.PhotoRecord{ID: id, CaseID: s.c.ID, Stage: stage, Type: typ, SHA256: fakeSHA256(id),
		Size: int64(800_000 + g.r.IntN(2_800_000)), CapturedAt: &at,
		GPS: &models.PhotoGPS{Lat: round7(s.c.Location.Lat + dLat), Lon: round7(s.c.Location.Lon + dLon),
			Accuracy: math.Round(g.between(3, 12)), Altitude: math.Round(g.between(60, 120)),
			Bearing: math.Round(g.between(0, 360)), Source: pick(g, []string{"gps", "fused"}), CoordSys: "wgs84"},
		AppVersion: "1.4.2", UploaderID: p.user.ID, DeviceID: p.device.ID}
}

// photo adds a photo to an existing case from p's device at time t.
func (g *gen) photo(s *simCase, p *person, t time.Time, stage string, typ models.PhotoType) uuid.UUID {
	if p.device == nil || !p.covers(&s.c) {
		panic(fmt.Sprintf("demo: %s cannot add a photo to a %s case", p.user.Username, s.c.State))
	}
	shot := t.Add(-g.dur(30*time.Second, 4*time.Minute))
	rec := g.photoRecord(s, p, shot, stage, typ)
	s.photos = append(s.photos, simPhoto{rec.ID, typ, p.user.ID})
	s.steps = append(s.steps, g.step(p, t, models.Command{Kind: models.CmdAddPhoto, CaseID: s.c.ID, Photo: rec}, shot))
	return rec.ID
}

// comment adds a comment by p at time t.
func (g *gen) comment(s *simCase, p *person, t time.Time, body string) {
	if p == nil || !p.covers(&s.c) {
		panic(fmt.Sprintf("demo: a comment on a %s case by someone who cannot see it", s.c.State))
	}
	s.steps = append(s.steps, g.step(p, t, models.Command{Kind: models.CmdAddComment, CaseID: s.c.ID, Comment: body}, time.Time{}))
}

// act takes a workflow action and checks it against the state machine, as
// the server will.
func (g *gen) act(s *simCase, p *person, t time.Time, a models.Action, params models.ActionParams) {
	if !models.Allowed(s.c.State, p.role(), a) {
		panic(fmt.Sprintf("demo: %s (%s) may not %s a %s case (%s)", p.user.Username, p.role(), a, s.c.State, s.sc.name))
	}
	if !p.covers(&s.c) {
		panic(fmt.Sprintf("demo: %s cannot see the %s case to %s it (%s)", p.user.Username, s.c.State, a, s.sc.name))
	}
	next, err := models.Apply(models.Transition{Case: &s.c, Actor: actorOf(p), Action: a, Params: params,
		Evidence: s.evidence(params.Photos), Now: t, DefaultDeadline: g.defaultDeadline})
	if err != nil {
		panic(fmt.Sprintf("demo: %s refused for %s: %v", a, s.sc.name, err))
	}
	s.c = next
	s.steps = append(s.steps, g.step(p, t, models.Command{Kind: models.CmdAction, CaseID: s.c.ID, Action: a, Params: params}, time.Time{}))
}

// step wraps a command as p sends it at server time t. Device commands carry
// the device clock, a little before t (the device synced a moment later);
// clientAt, when set, is that clock.
func (g *gen) step(p *person, t time.Time, cmd models.Command, clientAt time.Time) Step {
	st := Step{Username: p.user.Username, At: t}
	if p.device != nil && !p.role().IsOffice() {
		st.DeviceName = p.device.Name
		if clientAt.IsZero() {
			clientAt = t.Add(-g.dur(3*time.Second, 4*time.Minute))
		}
		cmd.ClientTime = clientAt
	} else {
		cmd.ClientTime = t
	}
	st.Cmd = cmd
	return st
}

// defaultDeadline is the server's deadline rule: the category's time limit on
// the district calendar.
func (g *gen) defaultDeadline(c *models.Case, start time.Time) *time.Time {
	cat, ok := g.cats[c.Category]
	if !ok || cat.Limit.Value <= 0 {
		return nil
	}
	d := g.cal.Deadline(start, cat.Limit).UTC()
	return &d
}

// evidence counts the photos on the case and those named, as the server does.
func (s *simCase) evidence(named []uuid.UUID) models.Evidence {
	var ev models.Evidence
	for _, p := range s.photos {
		ev.Add(p.typ)
		if p.typ == models.PhotoCheck && p.uploader != s.c.HandledBy {
			ev.CheckByOther = true
		}
	}
	for _, id := range named {
		if !slices.ContainsFunc(s.photos, func(p simPhoto) bool { return p.id == id }) {
			panic("demo: an action names a photo the case does not have")
		}
	}
	return ev
}

func (s *simCase) checkPhotos() []uuid.UUID {
	var out []uuid.UUID
	for _, p := range s.photos {
		if p.typ == models.PhotoCheck {
			out = append(out, p.id)
		}
	}
	return out[len(out)-1:] // the latest round's
}

func actorOf(p *person) models.Actor {
	a := models.Actor{UserID: p.user.ID, Username: p.user.Username, Name: p.user.Name, Role: p.role(), Scope: p.scope}
	if p.device != nil && !p.role().IsOffice() {
		a.DeviceID = p.device.ID
	}
	return a
}

func (g *gen) personByID(id uuid.UUID) *person {
	for _, p := range g.people {
		if p.user.ID == id {
			return p
		}
	}
	return nil
}

// fieldCheckerFor picks who verifies a report or checks a fix: the grid
// worker of the case's grid, else an inspector who covers the case; never
// skip (the reporter, or whoever reported the fix).
func (g *gen) fieldCheckerFor(c *models.Case, skip *person) *person {
	if cl := g.grids[c.GridCode]; cl != nil && cl.worker != nil && cl.worker != skip {
		return cl.worker
	}
	if ins := g.inspectorsCovering(c, skip); len(ins) > 0 {
		return ins[0]
	}
	panic("demo: nobody can check case in " + c.OrgPath)
}

// unitFor returns the unit a clerk dispatches a case to (权责清单): cleaning to
// the sanitation centre in town and to the town (or its contractor) outside,
// illegal building and wires to the town (属地), water to the water bureau,
// parking to the vehicle squad, the rest to the area's enforcement squad.
func (g *gen) unitFor(c *models.Case) string {
	t := g.townByID[c.TownCode]
	code := c.Category
	switch code {
	case "E0102", "E0103", "E0104", "E0105", "E0106", "E0108", "E0109", "C0301", "C0304", "C0305", "C0360":
		switch {
		case c.TownCode == tMengzh:
			return unitProperty
		case t != nil && t.def.rural:
			return townUnit(c.TownCode)
		}
		return unitSanitation
	case "E0101", "E0160", "E0161", "E0162", "E0561", "E0562", "C0402", "C0405":
		return townUnit(c.TownCode)
	case "E0402", "E0404", "E0406":
		return unitWater
	case "E0505", "E0506":
		return unitParking
	}
	if strings.HasPrefix(code, "E04") {
		return townUnit(c.TownCode)
	}
	return squadFor(c.TownCode)
}

// otherUnit is where a returned case goes next: the town when a squad or
// centre sent it back, the squad when the town did.
func (g *gen) otherUnit(c *models.Case, returnedFrom string) string {
	if first := g.unitFor(c); first != returnedFrom {
		return first
	}
	if returnedFrom == townUnit(c.TownCode) {
		return squadFor(c.TownCode)
	}
	return townUnit(c.TownCode)
}

// handlerFor returns who acts for the unit a case is dispatched to: its unit
// handler when it has one, else an inspector who covers the case.
func (g *gen) handlerFor(c *models.Case) *person {
	if h := g.unitHandler(c.UnitID); h != nil {
		return h
	}
	if ins := g.inspectorsCovering(c); len(ins) > 0 {
		return ins[0]
	}
	panic("demo: nobody handles unit " + c.UnitID)
}

// linkRecurrences links a few new reports to an earlier closed case of the
// same category in the same village: the problem came back, and a closed case
// is never reopened.
func (g *gen) linkRecurrences() {
	linked := 0
	for _, s := range g.cases {
		if linked >= 6 || strings.HasPrefix(s.sc.name, "void") {
			continue
		}
		for _, old := range g.cases {
			if old == s || old.closedAt.IsZero() || !old.closedAt.Before(s.start) ||
				old.c.Category != s.reported || old.c.VillageCode != s.c.VillageCode || old.c.VillageCode == "" {
				continue
			}
			for _, st := range s.steps {
				if st.Cmd.Kind == models.CmdCreateCase {
					st.Cmd.Create.LinkedCase = old.c.ID
					st.Cmd.Create.Description += "（同一点位问题反弹，关联已结案件）"
					s.c.Description = st.Cmd.Create.Description
				}
			}
			s.c.LinkedCase = old.c.ID
			linked++
			break
		}
	}
}
