package sync

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// Placement is where a point falls in the org tree: what the locator returns.
type Placement struct {
	OrgPath       string
	TownCode      string
	VillageCode   string
	GridCode      string
	RoadSegmentID string
	RefVersion    int
}

// Reference is the reference data the engine validates and places cases with.
// The server replaces it when an admin changes categories or grids.
type Reference struct {
	Categories map[string]models.Category
	Locate     func(lat, lon float64) Placement
	// Deadline computes a deadline from a start time for a case's category;
	// nil when the category has no time limit.
	Deadline func(category string, start time.Time) *time.Time
	// Units is the set of responsible unit ids a case may be dispatched to;
	// nil accepts any.
	Units map[string]bool
}

// Config builds an Engine.
type Config struct {
	Store  models.Store
	Ref    func() *Reference // current reference data; called once per batch
	Now    func() time.Time  // server clock; time.Now when nil
	Hub    *Hub              // wake-up notifications; may be nil
	Logger *slog.Logger
	// Jobs keeps commands that wait for evidence, durably; nil disables the
	// wait (commands are then judged on the photos' records alone).
	Jobs models.JobQueue
	// AssumeEvidence counts named photos as arrived without their bytes. Only
	// the demo loader sets it: its photos are placeholders.
	AssumeEvidence bool
	// SkewThreshold flags device clocks further than this from the server's.
	SkewThreshold time.Duration
	// MaxBatch caps the commands of one push.
	MaxBatch int
}

// Engine applies commands: the one write path of fieldsync.
type Engine struct {
	cfg Config
	log *slog.Logger
	// consoleMu serialises console commands per process so a double click does
	// not race itself; the database still arbitrates between processes.
	consoleMu gosync.Mutex
}

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SkewThreshold == 0 {
		cfg.SkewThreshold = 2 * time.Minute
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 500
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Engine{cfg: cfg, log: cfg.Logger}
}

// PushRequest is a device's batch of commands.
type PushRequest struct {
	Commands   []models.Command
	DeviceTime time.Time // the device's clock when it sent the batch; zero if unknown
	AppVersion string
}

// PushResult answers a push: one outcome per command, in sequence order.
type PushResult struct {
	Outcomes    []models.Outcome
	LastSeq     int64 // the device's high-water mark after this push
	ServerTime  time.Time
	ClockOffset time.Duration
}

// Push applies a device's batch in sequence order, exactly once. Commands at
// or below the device's high-water mark are replays: they return their stored
// outcome and change nothing. Each new command gets an outcome; a rejected one
// never blocks those after it. The effects, the outcomes and the new
// high-water mark commit in one transaction, so a dropped response followed by
// a retry can neither lose nor repeat anything.
func (e *Engine) Push(ctx context.Context, actor models.Actor, req PushRequest) (PushResult, error) {
	if !actor.FromDevice() {
		return PushResult{}, models.Errorf(models.CodeForbidden, "push is for enrolled devices").
			WithHint("the console changes cases through the case endpoints")
	}
	if len(req.Commands) > e.cfg.MaxBatch {
		return PushResult{}, models.Errorf(models.CodeInvalidInput, "a push carries at most %d commands", e.cfg.MaxBatch).WithField("commands")
	}
	bySeq := func(a, b models.Command) int { return cmpInt64(a.Seq, b.Seq) }
	cmds := req.Commands // a device sends its commands in order: copied to sort only if not
	if !slices.IsSortedFunc(cmds, bySeq) {
		cmds = slices.Clone(cmds)
		slices.SortStableFunc(cmds, bySeq)
	}
	for i, c := range cmds {
		if c.Seq <= 0 {
			return PushResult{}, models.Errorf(models.CodeInvalidInput, "command %d has no sequence number", i).WithField("commands.seq")
		}
		if i > 0 && cmds[i-1].Seq == c.Seq {
			return PushResult{}, models.Errorf(models.CodeInvalidInput, "sequence number %d appears twice in the batch", c.Seq).WithField("commands.seq")
		}
	}
	seenIDs := make(map[uuid.UUID]bool, len(cmds))
	for _, c := range cmds {
		if c.ID != uuid.Nil && seenIDs[c.ID] {
			return PushResult{}, models.Errorf(models.CodeInvalidInput, "command id %s appears twice in the batch", c.ID).WithField("commands.id")
		}
		seenIDs[c.ID] = true
	}
	// Stored times have microsecond precision: answer with what a replay
	// will read back.
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	var offset time.Duration
	if !req.DeviceTime.IsZero() {
		offset = now.Sub(req.DeviceTime)
	}
	var res PushResult
	var changed []caseChange
	var waits []waitingCmd
	err := e.update(ctx, func(tx models.Tx) error {
		dev, err := tx.LockDevice(ctx, actor.DeviceID)
		if err != nil {
			return err
		}
		if dev.Revoked() {
			return models.Errorf(models.CodeDeviceRevoked, "this device was revoked")
		}
		// cmds are in sequence order, so the replays (at or below the
		// high-water mark) are a prefix and the new commands the rest.
		var replays []int64
		for _, c := range cmds {
			if c.Seq > dev.LastSeq {
				break
			}
			replays = append(replays, c.Seq)
		}
		fresh := cmds[len(replays):]
		b := e.newBatch(ctx, tx, actor, now, offset)
		b.reserve(len(fresh))
		stored := map[int64]models.Outcome{}
		if len(replays) > 0 {
			if stored, err = tx.OutcomesBySeq(ctx, actor.DeviceID, replays); err != nil {
				return err
			}
		}
		if err := b.load(fresh); err != nil {
			return err
		}
		used, err := usedIDs(ctx, tx, fresh)
		if err != nil {
			return err
		}
		for _, c := range fresh {
			var o models.Outcome
			if used[c.ID] {
				// A command id is used once: a reused one would overwrite the
				// first command's outcome, or collide with what it created.
				o = rejected(models.Errorf(models.CodeAlreadyExists, "command id %s was used by an earlier command", c.ID).
					WithHint("mint a new UUIDv7 for every command"))
				o.DeviceID, o.Seq, o.CommandID, o.At = actor.DeviceID, c.Seq, c.ID, now
				o.CaseID = c.CaseID
				b.unstored = append(b.unstored, o)
				dev.LastSeq = c.Seq
				continue
			}
			o = b.apply(c)
			o.DeviceID, o.Seq, o.CommandID, o.At = actor.DeviceID, c.Seq, c.ID, now
			if o.CaseID == uuid.Nil {
				o.CaseID = c.CaseID
			}
			b.outcomes = append(b.outcomes, o)
			dev.LastSeq = c.Seq
		}
		b.finish()
		if b.fatal != nil {
			return b.fatal
		}
		bySeq := make(map[int64]models.Outcome, len(b.outcomes)+len(b.unstored))
		for _, o := range b.unstored {
			bySeq[o.Seq] = o
			dev.Rejected++
		}
		for _, o := range b.outcomes {
			bySeq[o.Seq] = o
			switch o.Status {
			case models.OutcomeRejected:
				dev.Rejected++
			case models.OutcomeConflict:
				dev.Conflicted++
			}
		}
		outs := make([]models.Outcome, 0, len(cmds))
		for _, c := range cmds {
			if o, ok := bySeq[c.Seq]; ok {
				outs = append(outs, o)
				continue
			}
			o, ok := stored[c.Seq]
			if !ok {
				// At or below the high-water mark with no stored outcome: the
				// number was skipped (sent late), or its command was refused for
				// a reused id. Either way it will never apply.
				o = models.Outcome{DeviceID: actor.DeviceID, Seq: c.Seq, CommandID: c.ID, CaseID: c.CaseID, At: now,
					Status: models.OutcomeRejected, Code: models.CodeSequenceGap,
					Reason: "no outcome is stored for this sequence number: it arrived after a higher one, or was refused unstored",
					Hint:   "send new work with new sequence numbers above last_seq; drop this command and pull"}
			}
			outs = append(outs, o)
		}
		if err := b.flush(); err != nil {
			return err
		}
		dev.LastPushAt = &now
		if !req.DeviceTime.IsZero() {
			dev.ClockOffset = offset
		}
		if req.AppVersion != "" {
			dev.AppVersion = req.AppVersion
		}
		if err := tx.SaveDeviceSync(ctx, dev); err != nil {
			return err
		}
		res = PushResult{Outcomes: outs, LastSeq: dev.LastSeq, ServerTime: now, ClockOffset: offset}
		changed = b.changes()
		waits, err = e.queueWaits(ctx, tx, b.waits)
		return err
	})
	if err != nil {
		return PushResult{}, err
	}
	e.publish(changed)
	e.enqueueWaits(ctx, waits)
	return res, nil
}

// Apply runs one command from the console (a clerk, supervisor or admin) through
// the same path as device commands. A command whose id was applied before
// returns its stored outcome, so a retried request changes nothing.
func (e *Engine) Apply(ctx context.Context, actor models.Actor, cmd models.Command) (models.Outcome, error) {
	out, _, err := e.ApplyOnce(ctx, actor, cmd)
	return out, err
}

// ApplyOnce is Apply, and also reports whether the outcome is the stored one
// of an earlier request with the same command id (replayed): then nothing was
// done now, and nothing should be recorded as done.
func (e *Engine) ApplyOnce(ctx context.Context, actor models.Actor, cmd models.Command) (out models.Outcome, replayed bool, err error) {
	if cmd.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return models.Outcome{}, false, err
		}
		cmd.ID = id
	}
	cmd.Seq = 0
	e.consoleMu.Lock()
	defer e.consoleMu.Unlock()
	now := e.cfg.Now().UTC().Truncate(time.Microsecond)
	var changed []caseChange
	var waits []waitingCmd
	err = e.update(ctx, func(tx models.Tx) error {
		replayed = false
		if prev, err := tx.OutcomeByCommand(ctx, cmd.ID); err == nil {
			out, replayed = prev, true
			return nil
		} else if !models.IsNotFound(err) {
			return err
		}
		b := e.newBatch(ctx, tx, actor, now, 0)
		if err := b.load([]models.Command{cmd}); err != nil {
			return err
		}
		out = b.apply(cmd)
		out.DeviceID, out.CommandID, out.At = actor.DeviceID, cmd.ID, now
		if out.CaseID == uuid.Nil {
			out.CaseID = cmd.CaseID
		}
		b.outcomes = append(b.outcomes, out)
		b.finish()
		if b.fatal != nil {
			return b.fatal
		}
		out = b.outcomes[0]
		if out.Status == models.OutcomeRejected {
			// A refused console request changes nothing: the clerk sees the
			// error at once and nothing needs to be replayed.
			return errRollback
		}
		if err := b.flush(); err != nil {
			return err
		}
		changed = b.changes()
		var err error
		waits, err = e.queueWaits(ctx, tx, b.waits)
		return err
	})
	if err != nil && err != errRollback {
		return models.Outcome{}, false, err
	}
	e.publish(changed)
	e.enqueueWaits(ctx, waits)
	return out, replayed, nil
}

// update runs fn in a store transaction, retrying a few times when the
// database aborts it for a reason unrelated to the commands (a deadlock or
// serialisation failure on PostgreSQL). The transaction is all or nothing, so
// a retry is safe.
func (e *Engine) update(ctx context.Context, fn func(models.Tx) error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = e.cfg.Store.Update(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		e.log.WarnContext(ctx, "sync transaction retried", "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	return err
}

// retryable reports whether err is a transient database failure.
func retryable(err error) bool {
	var me *models.Error
	if errors.As(err, &me) {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "deadlock") || strings.Contains(s, "could not serialize") ||
		strings.Contains(s, "40001") || strings.Contains(s, "40p01") || strings.Contains(s, "database is locked")
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// caseChange is what the wake-up hub needs to know of a committed change.
type caseChange struct {
	before, after *models.Case
}

func (e *Engine) publish(changes []caseChange) {
	if e.cfg.Hub == nil || len(changes) == 0 {
		return
	}
	e.cfg.Hub.Publish(changes)
}

// batch is the working state of one transaction: the cases as the commands so
// far left them, and the rows to write at the end.
type batch struct {
	e      *Engine
	ctx    context.Context
	tx     models.Tx
	actor  models.Actor
	now    time.Time
	offset time.Duration
	ref    *Reference

	cases    map[uuid.UUID]*models.Case // current working copies
	prev     map[uuid.UUID]*models.Case // as committed before the batch; nil for new cases
	order    []uuid.UUID                // touched cases in first-touch order
	touched  map[uuid.UUID]bool
	photos   map[uuid.UUID]*models.PhotoRecord // photo records known to the batch
	byCase   map[uuid.UUID][]uuid.UUID         // photo ids per case
	loadedPh map[uuid.UUID]bool                // cases whose photos were read
	orphan   map[uuid.UUID]bool                // add_photo commands whose case did not exist yet
	isNew    map[uuid.UUID]bool                // photos in newPhotos
	keep     map[uuid.UUID]bool                // photos of a report waiting for evidence: written without their case
	waits    []waitingCmd                      // commands waiting for evidence
	unstored []models.Outcome                  // outcomes answered but not stored (reused command ids)
	fatal    error                             // an infrastructure error: the batch must roll back
	// evidenceArrived is set when re-applying a command whose photos were all
	// verified: the gate was passed once.
	evidenceArrived bool

	history   []models.HistoryEntry
	comments  []models.Comment
	newPhotos []uuid.UUID
	conflicts []models.Conflict
	outcomes  []models.Outcome
}

// reserve sizes the batch's outcome and history lists for n commands, so
// appending a hundred of these large structs does not copy them over and over.
func (b *batch) reserve(n int) {
	b.outcomes = make([]models.Outcome, 0, n)
	b.history = make([]models.HistoryEntry, 0, n)
}

func (e *Engine) newBatch(ctx context.Context, tx models.Tx, actor models.Actor, now time.Time, offset time.Duration) *batch {
	ref := e.cfg.Ref()
	return &batch{e: e, ctx: ctx, tx: tx, actor: actor, now: now, offset: offset, ref: ref,
		cases: map[uuid.UUID]*models.Case{}, prev: map[uuid.UUID]*models.Case{}, touched: map[uuid.UUID]bool{},
		photos: map[uuid.UUID]*models.PhotoRecord{}, byCase: map[uuid.UUID][]uuid.UUID{}, loadedPh: map[uuid.UUID]bool{}, orphan: map[uuid.UUID]bool{}, isNew: map[uuid.UUID]bool{}, keep: map[uuid.UUID]bool{}}
}

// load reads every case and photo the commands name, in one query each.
func (b *batch) load(cmds []models.Command) error {
	var ids, photoIDs []uuid.UUID
	for _, c := range cmds {
		if c.CaseID != uuid.Nil {
			ids = append(ids, c.CaseID)
		}
		if c.Photo != nil {
			photoIDs = append(photoIDs, c.Photo.ID)
		}
		if c.Withdraw != nil {
			photoIDs = append(photoIDs, c.Withdraw.PhotoID)
		}
		photoIDs = append(photoIDs, c.Params.Photos...)
		if c.Create != nil {
			photoIDs = append(photoIDs, c.Create.Photos...)
			for _, p := range c.Create.PhotoRecords {
				photoIDs = append(photoIDs, p.ID)
			}
		}
	}
	if len(ids) > 0 {
		// Byte order is the order of the ids' text, which the store sorts by.
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		if err := b.loadCases(slices.Compact(ids)); err != nil {
			return err
		}
	}
	if len(photoIDs) > 0 {
		found, err := b.tx.PhotosByID(b.ctx, photoIDs)
		if err != nil {
			return err
		}
		for id, p := range found {
			p := p
			b.photos[id] = &p
		}
	}
	return nil
}

// loadCases reads the cases among ids that exist into the batch: the
// committed copy (prev) and the working copy the commands change.
func (b *batch) loadCases(ids []uuid.UUID) error {
	found, err := b.tx.CasesByID(b.ctx, ids)
	if err != nil {
		return err
	}
	for id, c := range found {
		committed, working := c, c
		b.prev[id], b.cases[id] = &committed, &working
	}
	return nil
}

// stage makes rec the batch's record of its photo, written at the flush.
func (b *batch) stage(rec models.PhotoRecord) {
	b.photos[rec.ID] = &rec
	if !b.isNew[rec.ID] {
		b.isNew[rec.ID] = true
		b.newPhotos = append(b.newPhotos, rec.ID)
	}
}

// touch marks a case changed by the current command: its version goes up by one.
func (b *batch) touch(c *models.Case) {
	c.Version++
	c.UpdatedAt = b.now
	if !b.touched[c.ID] {
		b.touched[c.ID] = true
		b.order = append(b.order, c.ID)
	}
}

// visible returns the working copy of a case the actor may see, or nil.
func (b *batch) visible(id uuid.UUID) *models.Case {
	c := b.cases[id]
	if c == nil || c.Deleted || !b.actor.Scope.Covers(c) {
		return nil
	}
	return c
}

func (b *batch) entry(c *models.Case, kind models.HistoryKind, cmd models.Command) models.HistoryEntry {
	h := models.HistoryEntry{CaseID: c.ID, Version: c.Version, Kind: kind, ActorID: b.actor.UserID,
		ActorName: b.actor.Name, Role: b.actor.Role, DeviceID: b.actor.DeviceID, CommandID: cmd.ID, At: b.now}
	if !cmd.ClientTime.IsZero() {
		t := cmd.ClientTime.UTC()
		h.ClientAt = &t
		h.ClockOffset = b.offset
		h.ClockSkewed = b.offset > b.e.cfg.SkewThreshold || b.offset < -b.e.cfg.SkewThreshold
	}
	return h
}

func rejected(err error) models.Outcome {
	o := models.Outcome{Status: models.OutcomeRejected, Code: models.ErrorCode(err)}
	var me *models.Error
	if errors.As(err, &me) {
		o.Reason, o.Hint, o.Field = me.Message, me.Hint, me.Field
	} else {
		o.Code, o.Reason = models.CodeInternal, "internal error"
	}
	return o
}

// apply runs one command against the working set and returns its outcome.
func (b *batch) apply(cmd models.Command) models.Outcome {
	if cmd.ID == uuid.Nil {
		return rejected(models.Errorf(models.CodeInvalidInput, "command has no id").WithField("id"))
	}
	if cmd.Kind != models.CmdCreateCase && cmd.Kind != models.CmdResolveConflict && cmd.CaseID != uuid.Nil && b.cases[cmd.CaseID] == nil {
		// The case may not exist yet because its report waits for evidence:
		// then this command waits behind it rather than failing for good.
		waiting, err := b.reportWaiting(cmd.CaseID)
		if err != nil {
			return rejected(err)
		}
		if len(waiting) > 0 {
			if cmd.Kind == models.CmdAddPhoto && cmd.Photo != nil {
				if _, _, err := b.recordPhoto(cmd, cmd.Photo); err != nil {
					return rejected(err)
				}
				b.keep[cmd.Photo.ID] = true
				return models.Outcome{Status: models.OutcomeApplied, CaseID: cmd.CaseID}
			}
			return b.pending(cmd, nil, waiting)
		}
	}
	var o models.Outcome
	var err error
	switch cmd.Kind {
	case models.CmdCreateCase:
		o, err = b.createCase(cmd)
	case models.CmdEditFields:
		o, err = b.editFields(cmd)
	case models.CmdAction:
		o, err = b.action(cmd)
	case models.CmdAddComment:
		o, err = b.addComment(cmd)
	case models.CmdAddPhoto:
		o, err = b.addPhoto(cmd)
	case models.CmdResolveConflict:
		o, err = b.resolve(cmd)
	case models.CmdWithdrawPhoto:
		o, err = b.withdrawPhoto(cmd)
	default:
		err = models.Errorf(models.CodeInvalidInput, "unknown command kind %q", cmd.Kind).WithField("kind").
			WithHint("kinds: create_case, edit_fields, action, add_comment, add_photo, resolve_conflict, withdraw_photo")
	}
	if err != nil {
		var me *models.Error
		if !errors.As(err, &me) && b.fatal == nil {
			// A database failure is not the command's fault: the whole batch
			// rolls back and the device retries it, rather than the command
			// being refused for good.
			b.fatal = err
		}
		o = rejected(err)
	}
	if c := b.cases[cmd.CaseID]; c != nil && o.Version == 0 && o.Status != models.OutcomeRejected {
		o.Version = c.Version
	}
	return o
}

func (b *batch) place(c *models.Case) {
	if b.ref == nil || b.ref.Locate == nil {
		return
	}
	p := b.ref.Locate(c.Location.Lat, c.Location.Lon)
	c.OrgPath, c.TownCode, c.VillageCode, c.GridCode = p.OrgPath, p.TownCode, p.VillageCode, p.GridCode
	c.RoadSegmentID, c.RefVersion = p.RoadSegmentID, p.RefVersion
}

func (b *batch) categoryOK(code string) bool {
	if b.ref == nil {
		return false
	}
	cat, ok := b.ref.Categories[code]
	return ok && !cat.Disabled
}

func (b *batch) deadline(c *models.Case, start time.Time) *time.Time {
	if b.ref == nil || b.ref.Deadline == nil {
		return nil
	}
	return b.ref.Deadline(c.Category, start)
}

// reportWaiting returns the photos a case's report waits for, when the case
// does not exist because its create_case waits for evidence (in this batch,
// or in an earlier one: then its photo records exist, unverified, without
// the case). It returns nil for a case that simply does not exist.
func (b *batch) reportWaiting(caseID uuid.UUID) ([]uuid.UUID, error) {
	if !b.e.gated() || b.evidenceArrived {
		return nil, nil
	}
	var ids []uuid.UUID
	if b.waitsFor(caseID) {
		for _, id := range b.byCase[caseID] {
			if p := b.photos[id]; p != nil && !p.Verified {
				ids = append(ids, id)
			}
		}
		return ids, nil
	}
	list, err := b.e.cfg.Store.Photos(b.ctx, []uuid.UUID{caseID})
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if !p.Verified && !p.Deleted {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// waitsFor reports whether a create_case for caseID waits for evidence in this batch.
func (b *batch) waitsFor(caseID uuid.UUID) bool {
	for _, w := range b.waits {
		if w.Cmd.Kind == models.CmdCreateCase && w.Cmd.CaseID == caseID {
			return true
		}
	}
	return false
}

// finish rejects the add_photo commands whose case never came: a photo may
// precede its create_case in a batch, but not stand alone.
func (b *batch) finish() {
	for i, o := range b.outcomes {
		if o.Status != models.OutcomeApplied || !b.orphan[o.CommandID] {
			continue
		}
		if _, ok := b.cases[o.CaseID]; ok {
			continue
		}
		if b.waitsFor(o.CaseID) {
			continue // its report waits for evidence: the photo is kept
		}
		r := rejected(models.Errorf(models.CodeNotFound, "case not found").
			WithHint("send the case's create_case in the same push as its photos, or after it"))
		r.DeviceID, r.Seq, r.CommandID, r.CaseID, r.At = o.DeviceID, o.Seq, o.CommandID, o.CaseID, o.At
		b.outcomes[i] = r
	}
}

// evidence counts the photos behind an action: those on the case and those the
// command names.
func (b *batch) evidence(c *models.Case, named []uuid.UUID) (models.Evidence, []uuid.UUID, error) {
	var ev models.Evidence
	var waiting []uuid.UUID
	if !b.loadedPh[c.ID] && b.prev[c.ID] != nil {
		list, err := b.e.cfg.Store.Photos(b.ctx, []uuid.UUID{c.ID})
		if err != nil {
			return ev, nil, err
		}
		for _, p := range list {
			if _, ok := b.photos[p.ID]; !ok {
				p := p
				b.photos[p.ID] = &p
			}
			if !slices.Contains(b.byCase[c.ID], p.ID) {
				b.byCase[c.ID] = append(b.byCase[c.ID], p.ID)
			}
		}
		b.loadedPh[c.ID] = true
	}
	seen := map[uuid.UUID]bool{}
	isNamed := map[uuid.UUID]bool{}
	for _, id := range named {
		isNamed[id] = true
	}
	count := func(p *models.PhotoRecord) {
		if seen[p.ID] || p.Deleted || p.CaseID != c.ID {
			return
		}
		seen[p.ID] = true
		if !p.Verified && b.e.gated() && !b.evidenceArrived {
			// Evidence counts once its bytes arrived and their hash checked out.
			// A command that names a photo still on its way waits for it.
			if isNamed[p.ID] {
				waiting = append(waiting, p.ID)
			}
			return
		}
		ev.Add(p.Type)
		if p.Type == models.PhotoCheck && p.UploaderID != c.HandledBy {
			ev.CheckByOther = true
		}
	}
	for _, id := range b.byCase[c.ID] {
		count(b.photos[id])
	}
	for _, id := range named {
		p := b.photos[id]
		if p == nil {
			return ev, nil, models.Errorf(models.CodeEvidenceMissing, "photo %s is not known to the server", id).
				WithHint("send its add_photo command before the command that names it")
		}
		count(p)
	}
	return ev, waiting, nil
}

// pending records a command that waits for its photos: it is not applied
// now, its outcome says evidence_pending, and it applies by itself when the
// last photo is verified (EvidenceArrived).
func (b *batch) pending(cmd models.Command, c *models.Case, waiting []uuid.UUID) models.Outcome {
	b.waits = append(b.waits, waitingCmd{Cmd: cmd, UserID: b.actor.UserID, DeviceID: b.actor.DeviceID})
	if c != nil && b.prev[c.ID] != nil {
		h := b.entry(c, models.HistoryFlag, cmd)
		h.CommandID = uuid.Nil // the command itself is not applied yet
		h.Action = cmd.Action
		h.Note = "evidence pending: " + string(cmd.Action) + " (command " + cmd.ID.String() + ") waits for " + joinIDs(waiting)
		b.history = append(b.history, h)
	}
	return models.Outcome{Status: models.OutcomeEvidencePending, CaseID: cmd.CaseID, Pending: waiting}
}

func joinIDs(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}

func (b *batch) createCase(cmd models.Command) (models.Outcome, error) {
	d := cmd.Create
	if d == nil {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "create_case carries no case").WithField("case")
	}
	if cmd.CaseID == uuid.Nil || cmd.CaseID.Version() != 7 {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "case_id must be a UUIDv7 minted on the client").WithField("case_id")
	}
	if _, exists := b.cases[cmd.CaseID]; exists {
		return models.Outcome{}, models.Errorf(models.CodeAlreadyExists, "case %s already exists", cmd.CaseID).
			WithHint("mint a new UUIDv7 for a new case")
	}
	if !b.categoryOK(d.Category) {
		return models.Outcome{}, models.Errorf(models.CodeUnknownCategory, "unknown category %q", d.Category).WithField("case.category")
	}
	if err := d.Location.Validate(); err != nil {
		return models.Outcome{}, err
	}
	if len(d.Description) > maxText || len(d.Party) > maxText || len(d.Location.Address) > maxText {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "text fields are limited to %d bytes", maxText)
	}
	if d.Quantity != nil && *d.Quantity < 0 {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "quantity must not be negative").WithField("case.quantity")
	}
	c := &models.Case{ID: cmd.CaseID, Category: d.Category, Description: d.Description, Location: d.Location,
		Party: d.Party, Quantity: d.Quantity, ReporterID: b.actor.UserID, ReporterRole: b.actor.Role,
		DeviceID: b.actor.DeviceID, CreatedAt: b.now, LinkedCase: d.LinkedCase, ClientCreatedAt: cmd.ClientTime.UTC()}
	b.place(c)
	named := slices.Clone(d.Photos)
	for i := range d.PhotoRecords {
		p := d.PhotoRecords[i]
		if _, _, err := b.recordPhoto(models.Command{ID: cmd.ID, CaseID: c.ID}, &p); err != nil {
			return models.Outcome{}, err
		}
		if !slices.Contains(named, p.ID) {
			named = append(named, p.ID)
		}
	}
	if b.actor.FromDevice() {
		c.Source = models.SourceDevice
		ev, waiting, err := b.evidence(c, named)
		if err != nil {
			return models.Outcome{}, err
		}
		if len(waiting) > 0 {
			for _, id := range named {
				b.keep[id] = true // the photos are recorded now, so their bytes can be uploaded
			}
			return b.pending(cmd, nil, waiting), nil
		}
		// models.Apply guards submit on the case it is given (a copy it
		// does not change): run it on the draft, still in state new.
		c.State = models.StateNew
		if _, err := models.Apply(models.Transition{Case: c, Actor: b.actor,
			Action: models.ActionSubmit, Params: models.ActionParams{Photos: named}, Evidence: ev, Now: b.now}); err != nil {
			return models.Outcome{}, err
		}
	} else {
		if !b.actor.Role.IsOffice() {
			return models.Outcome{}, models.Errorf(models.CodeForbidden, "only office staff enter cases from the console")
		}
		c.Source = d.Source
		if !c.Source.Valid() || c.Source == models.SourceDevice {
			c.Source = models.SourceConsole
		}
		if strings.TrimSpace(d.Description) == "" {
			// A tablet's report speaks through its photos; a phoned-in one has
			// only its words.
			return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "describe the problem the caller reports").WithField("description")
		}
	}
	c.State = models.StateReported
	b.cases[c.ID] = c
	b.prev[c.ID] = nil
	b.touch(c)
	h := b.entry(c, models.HistoryCreated, cmd)
	h.Action, h.FromState, h.ToState = models.ActionSubmit, models.StateNew, models.StateReported
	h.Comment = cmd.Comment
	b.history = append(b.history, h)
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version}, nil
}

func (b *batch) editFields(cmd models.Command) (models.Outcome, error) {
	c := b.visible(cmd.CaseID)
	if c == nil {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "case not found")
	}
	fields, err := validateEdit(cmd.Fields, b.categoryOK)
	if err != nil {
		return models.Outcome{}, err
	}
	if cmd.BaseVersion > c.Version || cmd.BaseVersion < 0 {
		return models.Outcome{}, models.Errorf(models.CodeVersionConflict, "base_version %d is not a version of this case (now %d)", cmd.BaseVersion, c.Version).
			WithField("base_version").WithHint("pull the case and edit the version you get")
	}
	if c.State.Terminal() {
		return b.afterClose(c, cmd, models.ConflictEditClosed)
	}
	if _, ok := fields["category"]; ok && !b.actor.Role.IsOffice() && fields["category"] != c.Category &&
		!slices.Contains([]models.State{models.StateReported, models.StateNeedsInfo, models.StateVerifying}, c.State) {
		return models.Outcome{}, models.Errorf(models.CodeGuardFailed, "the category is fixed once the case is registered").
			WithField("fields.category").WithHint("ask a clerk to change it")
	}
	theirs, err := b.theirs(c, cmd.BaseVersion)
	if err != nil {
		return models.Outcome{}, err
	}
	m := Merge(MergeInput{Current: fieldValues(c), Theirs: theirs, Mine: fields})
	before := fieldValues(c)
	if len(m.Set) == 0 && len(m.Conflicts) == 0 {
		return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version, Final: m.Final}, nil
	}
	b.touch(c)
	var changes []models.FieldChange
	for _, f := range sortedKeys(m.Set) {
		setField(c, f, m.Set[f])
		changes = append(changes, models.FieldChange{Field: f, Old: before[f], New: m.Set[f]})
	}
	if _, ok := m.Set["lat"]; ok {
		b.place(c)
	} else if _, ok := m.Set["lon"]; ok {
		b.place(c)
	}
	if len(changes) > 0 {
		h := b.entry(c, models.HistoryEdit, cmd)
		h.Changes, h.Comment = changes, cmd.Comment
		if m.Parallel || len(m.Conflicts) > 0 {
			h.Note = "parallel update"
		}
		b.history = append(b.history, h)
	}
	if len(m.Conflicts) == 0 {
		status := models.OutcomeApplied
		if m.Parallel {
			status = models.OutcomeMerged
		}
		return models.Outcome{Status: status, CaseID: c.ID, Version: c.Version, Final: m.Final}, nil
	}
	keptBy, err := b.keptBy(c, cmd.BaseVersion)
	if err != nil {
		return models.Outcome{}, err
	}
	var ids []uuid.UUID
	for _, fc := range m.Conflicts {
		cf := b.newConflict(c, cmd, models.ConflictField)
		cf.Field, cf.Base, cf.Kept, cf.SetAside = fc.Field, fc.Base, fc.Kept, fc.SetAside
		cf.KeptBy = keptBy[fc.Field]
		ids = append(ids, cf.ID)
		b.conflicts = append(b.conflicts, cf)
		h := b.entry(c, models.HistoryConflict, cmd)
		h.Changes = []models.FieldChange{{Field: fc.Field, Old: fc.Kept, New: fc.SetAside}}
		h.Note = "conflict " + cf.ID.String() + ": server value kept, incoming value set aside"
		b.history = append(b.history, h)
	}
	return models.Outcome{Status: models.OutcomeConflict, CaseID: c.ID, Version: c.Version, Final: m.Final, ConflictID: ids}, nil
}

// theirs returns the field changes other writers made since base.
func (b *batch) theirs(c *models.Case, base int64) ([]models.FieldChange, error) {
	if base >= c.Version || b.prev[c.ID] == nil {
		return nil, nil
	}
	var out []models.FieldChange
	add := func(h models.HistoryEntry) {
		if h.Version <= base || b.sameWriter(h) {
			return
		}
		if h.Kind == models.HistoryEdit || h.Kind == models.HistoryResolved {
			out = append(out, h.Changes...)
		}
	}
	if b.prev[c.ID].Version > base {
		entries, err := b.tx.EditsSince(b.ctx, c.ID, base)
		if err != nil {
			return nil, err
		}
		for _, h := range entries {
			add(h)
		}
	}
	for _, h := range b.history { // this batch is one writer: never "theirs"
		if h.CaseID == c.ID {
			add(h)
		}
	}
	return out, nil
}

// keptBy says, per field, who wrote the value that stands.
func (b *batch) keptBy(c *models.Case, base int64) (map[string]models.Authorship, error) {
	out := map[string]models.Authorship{}
	entries, err := b.tx.EditsSince(b.ctx, c.ID, base)
	if err != nil {
		return nil, err
	}
	for _, h := range entries {
		if b.sameWriter(h) {
			continue
		}
		for _, ch := range h.Changes {
			out[ch.Field] = models.Authorship{UserID: h.ActorID, Name: h.ActorName, Role: h.Role, DeviceID: h.DeviceID, Version: h.Version, At: h.At}
		}
	}
	return out, nil
}

func (b *batch) sameWriter(h models.HistoryEntry) bool {
	if b.actor.FromDevice() {
		return h.DeviceID == b.actor.DeviceID
	}
	return h.DeviceID == uuid.Nil && h.ActorID == b.actor.UserID
}

func (b *batch) newConflict(c *models.Case, cmd models.Command, kind models.ConflictKind) models.Conflict {
	id, _ := uuid.NewV7()
	return models.Conflict{ID: id, CaseID: c.ID, Kind: kind, Status: models.ConflictOpen, CommandID: cmd.ID,
		CreatedAt: b.now, SetAsideBy: models.Authorship{UserID: b.actor.UserID, Name: b.actor.Name, Role: b.actor.Role,
			DeviceID: b.actor.DeviceID, Version: cmd.BaseVersion, At: clientOr(cmd.ClientTime, b.now)},
		KeptBy: models.Authorship{Version: c.Version}}
}

func clientOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t.UTC()
}

// afterClose records device work that reached a closed or voided case as a
// review item: the case is not reopened, and the work is not lost.
func (b *batch) afterClose(c *models.Case, cmd models.Command, kind models.ConflictKind) (models.Outcome, error) {
	cf := b.newConflict(c, cmd, kind)
	cf.Kept = string(c.State)
	payload, err := json.Marshal(commandPayload(cmd))
	if err != nil {
		return models.Outcome{}, err
	}
	cf.Payload = payload
	cf.SetAside = summarize(cmd)
	b.touch(c)
	b.conflicts = append(b.conflicts, cf)
	h := b.entry(c, models.HistoryConflict, cmd)
	h.Note = string(kind) + " " + cf.ID.String() + ": the case is " + string(c.State) + "; the work is kept for review"
	h.Comment = cmd.Comment
	b.history = append(b.history, h)
	return models.Outcome{Status: models.OutcomeConflict, CaseID: c.ID, Version: c.Version, ConflictID: []uuid.UUID{cf.ID}}, nil
}

// summarize renders the set-aside side of a review item for people.
func summarize(cmd models.Command) string {
	switch cmd.Kind {
	case models.CmdEditFields:
		var parts []string
		for _, f := range sortedKeys(cmd.Fields) {
			parts = append(parts, f+"="+cmd.Fields[f])
		}
		return strings.Join(parts, "; ")
	case models.CmdAction:
		s := string(cmd.Action)
		if cmd.Params.Comment != "" {
			s += ": " + cmd.Params.Comment
		}
		return s
	}
	return string(cmd.Kind)
}

func (b *batch) action(cmd models.Command) (models.Outcome, error) {
	c := b.visible(cmd.CaseID)
	if c == nil {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "case not found")
	}
	if !cmd.Action.Valid() || cmd.Action == models.ActionSubmit {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "unknown action %q", cmd.Action).WithField("action")
	}
	ev, waiting, err := b.evidence(c, cmd.Params.Photos)
	if err != nil {
		return models.Outcome{}, err
	}
	if len(waiting) > 0 && models.Allowed(c.State, b.actor.Role, cmd.Action) {
		return b.pending(cmd, c, waiting), nil
	}
	if cmd.Params.Category != "" && !b.categoryOK(cmd.Params.Category) {
		return models.Outcome{}, models.Errorf(models.CodeUnknownCategory, "unknown category %q", cmd.Params.Category).WithField("params.category")
	}
	if cmd.Params.UnitID != "" && !b.unitOK(cmd.Params.UnitID) {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "unknown unit %q", cmd.Params.UnitID).WithField("params.unit_id")
	}
	var original *models.Case
	if id := cmd.Params.DuplicateOf; id != uuid.Nil && id != c.ID {
		if original, err = b.caseToLink(id); err != nil {
			return models.Outcome{}, err
		}
	}
	next, err := models.Apply(models.Transition{Case: c, Actor: b.actor, Action: cmd.Action, Params: cmd.Params,
		Evidence: ev, Now: b.now, DefaultDeadline: b.deadline})
	if err != nil {
		carriesWork := len(cmd.Params.Photos) > 0 || strings.TrimSpace(cmd.Params.Comment) != "" ||
			cmd.Params.Result != "" || cmd.Params.Disposition != ""
		if c.State.Terminal() && b.actor.FromDevice() && carriesWork {
			return b.afterClose(c, cmd, models.ConflictActionStale)
		}
		return models.Outcome{}, err
	}
	from := c.State
	*c = next
	b.touch(c)
	h := b.entry(c, models.HistoryTransition, cmd)
	h.Action, h.FromState, h.ToState = cmd.Action, from, c.State
	h.Comment = joinNonEmpty(cmd.Params.Reason, cmd.Params.Comment, cmd.Comment)
	if cmd.Params.Result != "" {
		h.Note = "result: " + string(cmd.Params.Result)
	}
	if original != nil {
		h.Note = "duplicate of " + original.ID.String()
	}
	b.history = append(b.history, h)
	if original != nil {
		// The case it repeats says so too, and its new version carries the
		// note to the devices that hold it.
		b.touch(original)
		o := b.entry(original, models.HistoryDuplicate, cmd)
		o.Note = "duplicate merged: " + c.ID.String()
		b.history = append(b.history, o)
	}
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version}, nil
}

// caseToLink returns the case a duplicate is merged into, loading it into the
// batch: one the actor may see, neither deleted nor itself voided.
func (b *batch) caseToLink(id uuid.UUID) (*models.Case, error) {
	if _, ok := b.cases[id]; !ok {
		if err := b.loadCases([]uuid.UUID{id}); err != nil {
			return nil, err
		}
	}
	o := b.visible(id)
	if o == nil {
		return nil, models.Errorf(models.CodeNotFound, "case %s, of which this would be a duplicate, not found", id).
			WithField("params.duplicate_of")
	}
	if o.State == models.StateVoided {
		return nil, models.Errorf(models.CodeGuardFailed, "case %s is voided itself: link the duplicate to the case that stands", id).
			WithField("params.duplicate_of")
	}
	return o, nil
}

func (b *batch) unitOK(id string) bool {
	return b.ref == nil || b.ref.Units == nil || b.ref.Units[id]
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if s := strings.TrimSpace(p); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " — ")
}

func (b *batch) addComment(cmd models.Command) (models.Outcome, error) {
	c := b.visible(cmd.CaseID)
	if c == nil {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "case not found")
	}
	body := strings.TrimSpace(cmd.Comment)
	if body == "" || len(body) > maxText {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "a comment needs 1 to %d bytes of text", maxText).WithField("comment")
	}
	// Comments are an append-only set: they never conflict, and they do not
	// reopen anything.
	b.touch(c)
	cm := models.Comment{ID: cmd.ID, CaseID: c.ID, Body: body, AuthorID: b.actor.UserID, Author: b.actor.Name,
		Role: b.actor.Role, DeviceID: b.actor.DeviceID, CreatedAt: b.now}
	if !cmd.ClientTime.IsZero() {
		t := cmd.ClientTime.UTC()
		cm.ClientAt = &t
	}
	b.comments = append(b.comments, cm)
	h := b.entry(c, models.HistoryComment, cmd)
	h.Comment = body
	b.history = append(b.history, h)
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version}, nil
}

func (b *batch) addPhoto(cmd models.Command) (models.Outcome, error) {
	c, pendingCreate, err := b.recordPhoto(cmd, cmd.Photo)
	if err != nil {
		return models.Outcome{}, err
	}
	if pendingCreate {
		b.orphan[cmd.ID] = true
		return models.Outcome{Status: models.OutcomeApplied, CaseID: cmd.Photo.CaseID}, nil
	}
	b.touch(c)
	h := b.entry(c, models.HistoryPhoto, cmd)
	h.Note = string(cmd.Photo.Type) + " photo " + cmd.Photo.ID.String() + " (" + b.photos[cmd.Photo.ID].Stage + ")"
	b.history = append(b.history, h)
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version}, nil
}

// withdrawPhoto marks a photo of a case withdrawn, with the supervisor's
// reason. The photo's bytes and metadata stay as they are: the record says
// it was withdrawn and why, the case's history says who did it and when, and
// the case's new version carries the record to every device in its scope.
// A withdrawn photo no longer counts as evidence for later guards.
func (b *batch) withdrawPhoto(cmd models.Command) (models.Outcome, error) {
	if b.actor.Role != models.RoleSupervisor && b.actor.Role != models.RoleAdmin {
		return models.Outcome{}, models.Errorf(models.CodeForbidden, "only supervisors and admins withdraw evidence photos")
	}
	w := cmd.Withdraw
	if w == nil || w.PhotoID == uuid.Nil {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "withdraw_photo names no photo").WithField("photo_id")
	}
	reason := strings.TrimSpace(w.Reason)
	if reason == "" {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "a withdrawal needs a reason").WithField("reason").
			WithHint("say why the photo is withdrawn: it is kept with the evidence")
	}
	if utf8.RuneCountInString(reason) > models.MaxWithdrawReason {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "the reason is longer than %d characters", models.MaxWithdrawReason).
			WithField("reason")
	}
	c := b.visible(cmd.CaseID)
	if c == nil {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "case not found")
	}
	p := b.photos[w.PhotoID]
	if p == nil || p.CaseID != c.ID {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "photo %s is not a photo of this case", w.PhotoID).WithField("photo_id")
	}
	if p.Deleted {
		return models.Outcome{}, models.Errorf(models.CodeAlreadyExists, "photo %s was already withdrawn", w.PhotoID).
			WithField("photo_id").WithHint("the earlier withdrawal and its reason are in the case history")
	}
	rec := *p
	rec.Deleted, rec.DeleteReason = true, reason
	b.stage(rec)
	b.touch(c)
	h := b.entry(c, models.HistoryWithdrawn, cmd)
	h.Note = string(rec.Type) + " photo " + rec.ID.String() + " (" + rec.Stage + ") withdrawn"
	h.Comment = reason
	b.history = append(b.history, h)
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version}, nil
}

// recordPhoto validates photo metadata and records it for the case the
// command names. It returns the case, or pendingCreate when the case does not
// exist yet (its create_case may follow in the batch).
func (b *batch) recordPhoto(cmd models.Command, p *models.PhotoRecord) (c *models.Case, pendingCreate bool, err error) {
	if p == nil || p.ID == uuid.Nil {
		return nil, false, models.Errorf(models.CodeInvalidInput, "add_photo carries no photo id").WithField("photo.id")
	}
	caseID := cmd.CaseID
	if caseID == uuid.Nil {
		caseID = p.CaseID
	}
	if p.CaseID != uuid.Nil && p.CaseID != caseID {
		return nil, false, models.Errorf(models.CodeInvalidInput, "photo.case_id and case_id differ").WithField("photo.case_id")
	}
	if !slices.Contains(models.PhotoTypes, p.Type) {
		return nil, false, models.Errorf(models.CodeInvalidInput, "unknown photo type %q", p.Type).WithField("photo.type")
	}
	if !slices.Contains(models.PhotoStages, p.Stage) {
		return nil, false, models.Errorf(models.CodeInvalidInput, "unknown photo stage %q", p.Stage).WithField("photo.stage")
	}
	if !validSHA256(p.SHA256) {
		return nil, false, models.Errorf(models.CodeInvalidInput, "sha256 must be 64 lowercase hex digits").WithField("photo.sha256")
	}
	if p.GPS != nil {
		if err := (models.Location{Lat: p.GPS.Lat, Lon: p.GPS.Lon, Accuracy: p.GPS.Accuracy}).Validate(); err != nil {
			return nil, false, err
		}
	}
	c = b.cases[caseID]
	// A photo may arrive in the same batch as, and before, the create_case that
	// names it: the device shoots first and files the report after.
	pendingCreate = c == nil
	if c != nil && (c.Deleted || !b.actor.Scope.Covers(c)) {
		return nil, false, models.Errorf(models.CodeNotFound, "case not found")
	}
	rec := *p
	rec.CaseID = caseID
	if old := b.photos[p.ID]; old != nil {
		if old.CaseID != rec.CaseID || old.SHA256 != rec.SHA256 {
			return nil, false, models.Errorf(models.CodeAlreadyExists, "photo %s is already recorded with other content", p.ID)
		}
		// Already known (uploaded first): keep what the server verified.
		merged := *old
		merged.Stage, merged.Type, merged.CapturedAt, merged.GPS, merged.AppVersion = rec.Stage, rec.Type, rec.CapturedAt, rec.GPS, rec.AppVersion
		rec = merged
	} else {
		rec.Verified, rec.ReceivedAt, rec.EXIF, rec.Flags, rec.ThumbSmall, rec.ThumbLarge = false, nil, nil, nil, "", ""
		rec.UploaderID, rec.DeviceID, rec.CreatedAt = b.actor.UserID, b.actor.DeviceID, b.now
	}
	b.stage(rec)
	if !slices.Contains(b.byCase[rec.CaseID], rec.ID) {
		b.byCase[rec.CaseID] = append(b.byCase[rec.CaseID], rec.ID)
	}
	p.CaseID = caseID
	return c, pendingCreate, nil
}

func validSHA256(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func (b *batch) resolve(cmd models.Command) (models.Outcome, error) {
	if !b.actor.Role.IsOffice() {
		return models.Outcome{}, models.Errorf(models.CodeForbidden, "only clerks, supervisors and admins resolve conflicts")
	}
	r := cmd.Resolve
	if r == nil || r.ConflictID == uuid.Nil {
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "resolve_conflict names no conflict").WithField("conflict_id")
	}
	cf, err := b.tx.GetConflict(b.ctx, r.ConflictID)
	if err != nil {
		if models.IsNotFound(err) {
			return models.Outcome{}, models.Errorf(models.CodeNotFound, "conflict not found")
		}
		return models.Outcome{}, err
	}
	if cmd.CaseID == uuid.Nil {
		cmd.CaseID = cf.CaseID
	}
	if _, ok := b.cases[cf.CaseID]; !ok {
		if err := b.loadCases([]uuid.UUID{cf.CaseID}); err != nil {
			return models.Outcome{}, err
		}
	}
	c := b.visible(cf.CaseID)
	if c == nil {
		return models.Outcome{}, models.Errorf(models.CodeNotFound, "conflict not found")
	}
	if cf.Status == models.ConflictResolved {
		return models.Outcome{}, models.Errorf(models.CodeConflictResolved, "the conflict was already resolved").
			WithHint("reload the conflict list")
	}
	var set map[string]string
	switch r.Take {
	case "kept":
	case "set_aside":
		switch cf.Kind {
		case models.ConflictField:
			set = map[string]string{cf.Field: cf.SetAside}
		case models.ConflictEditClosed:
			var p payload
			if err := json.Unmarshal(cf.Payload, &p); err != nil {
				return models.Outcome{}, err
			}
			set = p.Fields
		default:
			return models.Outcome{}, models.Errorf(models.CodeGuardFailed, "an action that reached a closed case cannot be applied").
				WithHint("take kept to acknowledge it, or open a new case linked to this one")
		}
	case "new":
		if cf.Kind != models.ConflictField {
			return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "a new value resolves field conflicts only").WithField("take")
		}
		set = map[string]string{cf.Field: r.Value}
	default:
		return models.Outcome{}, models.Errorf(models.CodeInvalidInput, "take must be kept, set_aside or new").WithField("take")
	}
	if len(set) > 0 {
		if set, err = validateEdit(set, b.categoryOK); err != nil {
			return models.Outcome{}, err
		}
	}
	b.touch(c)
	before := fieldValues(c)
	var changes []models.FieldChange
	for _, f := range sortedKeys(set) {
		if before[f] == set[f] {
			continue
		}
		setField(c, f, set[f])
		changes = append(changes, models.FieldChange{Field: f, Old: before[f], New: set[f]})
	}
	if _, ok := set["lat"]; ok {
		b.place(c)
	} else if _, ok := set["lon"]; ok {
		b.place(c)
	}
	now := b.now
	cf.Status, cf.Resolution, cf.ResolvedBy, cf.ResolvedAt = models.ConflictResolved, r.Take, b.actor.UserID, &now
	if r.Take == "new" {
		cf.ResolvedValue = r.Value
	} else if r.Take == "set_aside" {
		cf.ResolvedValue = cf.SetAside
	} else {
		cf.ResolvedValue = cf.Kept
	}
	b.conflicts = append(b.conflicts, cf)
	h := b.entry(c, models.HistoryResolved, cmd)
	h.Changes = changes
	h.Note = "conflict " + cf.ID.String() + " resolved: " + r.Take
	h.Comment = cmd.Comment
	b.history = append(b.history, h)
	final := map[string]string{}
	after := fieldValues(c)
	for f := range set {
		final[f] = after[f]
	}
	return models.Outcome{Status: models.OutcomeApplied, CaseID: c.ID, Version: c.Version, ConflictID: []uuid.UUID{cf.ID}, Final: final}, nil
}

// payload is the stored form of a command set aside for review.
type payload struct {
	ID         uuid.UUID            `json:"id"`
	Seq        int64                `json:"seq,omitempty"`
	Kind       models.CommandKind   `json:"kind"`
	CaseID     uuid.UUID            `json:"case_id"`
	Base       int64                `json:"base_version"`
	ClientTime time.Time            `json:"client_time"`
	Fields     map[string]string    `json:"fields,omitempty"`
	Action     models.Action        `json:"action,omitempty"`
	Params     *models.ActionParams `json:"params,omitempty"`
	Comment    string               `json:"comment,omitempty"`
}

func commandPayload(cmd models.Command) payload {
	p := payload{ID: cmd.ID, Seq: cmd.Seq, Kind: cmd.Kind, CaseID: cmd.CaseID, Base: cmd.BaseVersion,
		ClientTime: cmd.ClientTime, Fields: cmd.Fields, Action: cmd.Action, Comment: cmd.Comment}
	if cmd.Kind == models.CmdAction {
		params := cmd.Params
		p.Params = &params
	}
	return p
}

// flush writes the batch's effects. Cases go first: the other rows refer to them.
func (b *batch) flush() error {
	if len(b.order) > 0 {
		cases := make([]models.Case, 0, len(b.order))
		prev := make([]*models.Case, 0, len(b.order))
		for _, id := range b.order {
			cases = append(cases, *b.cases[id])
			prev = append(prev, b.prev[id])
		}
		if err := b.tx.PutCases(b.ctx, cases, prev); err != nil {
			return err
		}
		for _, c := range cases {
			*b.cases[c.ID] = c // keep the assigned change sequence
		}
	}
	if len(b.history) > 0 {
		if err := b.tx.AppendHistory(b.ctx, b.history); err != nil {
			return err
		}
	}
	if len(b.comments) > 0 {
		if err := b.tx.AddComments(b.ctx, b.comments); err != nil {
			return err
		}
	}
	if len(b.newPhotos) > 0 {
		list := make([]models.PhotoRecord, 0, len(b.newPhotos))
		for _, id := range b.newPhotos {
			p := b.photos[id]
			if _, ok := b.cases[p.CaseID]; !ok && !b.keep[id] {
				continue // its case never came: the outcome said so
			}
			list = append(list, *p)
		}
		if len(list) > 0 {
			if err := b.tx.PutPhotos(b.ctx, list); err != nil {
				return err
			}
		}
	}
	if len(b.conflicts) > 0 {
		if err := b.tx.PutConflicts(b.ctx, b.conflicts); err != nil {
			return err
		}
	}
	if len(b.outcomes) > 0 {
		if err := b.tx.PutOutcomes(b.ctx, b.outcomes); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) changes() []caseChange {
	out := make([]caseChange, 0, len(b.order))
	for _, id := range b.order {
		out = append(out, caseChange{before: b.prev[id], after: b.cases[id]})
	}
	return out
}

// usedIDs returns which fresh commands' ids already have a stored outcome.
func usedIDs(ctx context.Context, tx models.Tx, cmds []models.Command) (map[uuid.UUID]bool, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, 0, len(cmds))
	for _, c := range cmds {
		ids = append(ids, c.ID)
	}
	return tx.UsedCommandIDs(ctx, ids)
}
