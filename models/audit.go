package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// AuditAction names what an audit entry records.
type AuditAction string

// The audited actions: who viewed, changed and exported what.
const (
	AuditView       AuditAction = "case.view"        // an office user opened a case
	AuditCreate     AuditAction = "case.create"      // a case entered in the console
	AuditEdit       AuditAction = "case.edit"        // descriptive fields changed
	AuditTransition AuditAction = "case.transition"  // a workflow action
	AuditComment    AuditAction = "case.comment"     // a comment added
	AuditResolve    AuditAction = "conflict.resolve" // a conflict record resolved
	AuditWithdraw   AuditAction = "photo.withdraw"   // an evidence photo withdrawn
	AuditExport     AuditAction = "export"           // cases exported (CSV, GeoJSON, KML)
)

// AuditActions lists every audited action.
var AuditActions = []AuditAction{AuditView, AuditCreate, AuditEdit, AuditTransition, AuditComment, AuditResolve, AuditWithdraw, AuditExport}

// Valid reports whether a is a known audited action.
func (a AuditAction) Valid() bool {
	for _, x := range AuditActions {
		if a == x {
			return true
		}
	}
	return false
}

// AuditEntry is one line of the audit log. The log is append-only and hash
// chained: Hash is SHA-256 over the previous entry's hash and this entry's
// canonical content (see Canonical), so changing, removing or reordering any
// entry breaks every link after it.
type AuditEntry struct {
	Seq       int64 // position in the chain, from 1, without gaps
	At        time.Time
	ActorID   uuid.UUID
	ActorName string
	Role      Role
	DeviceID  uuid.UUID
	Action    AuditAction
	CaseID    uuid.UUID // uuid.Nil when the entry concerns no single case (exports)
	// Detail is a JSON object with what the action needs to be understood:
	// the command, the workflow action, the export's filter. It is hashed as
	// the exact text stored.
	Detail    string
	RequestID string
	PrevHash  string // hex; AuditGenesis for the first entry
	Hash      string // hex
}

// AuditGenesis is the previous hash of the first entry.
var AuditGenesis = strings.Repeat("0", 64)

// auditVersion is the first element of the canonical content: a future change
// of the content's layout names itself, so old links stay verifiable.
const auditVersion = "fieldsync-audit-1"

// cleanText makes s storable and hashable the same on every database: valid
// UTF-8 (invalid bytes become U+FFFD) without NUL, which PostgreSQL text
// refuses.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Normalize returns e as it is stored: At in UTC at microsecond precision
// (what both databases keep) and text cleaned (valid UTF-8, no NUL). Seal
// normalizes before hashing, so what is read back hashes the same.
func (e AuditEntry) Normalize() AuditEntry {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.ActorName = cleanText(e.ActorName)
	e.Detail = cleanText(e.Detail)
	e.RequestID = cleanText(e.RequestID)
	return e
}

// Canonical returns the content an entry's hash covers: a JSON array of the
// layout version, Seq, At (RFC 3339, UTC, microseconds), the actor's id, name,
// role and device, the action, the case id, Detail and RequestID, in that
// order. PrevHash and Hash are not part of it. The encoding is deterministic:
// the same entry always gives the same bytes.
func (e AuditEntry) Canonical() []byte {
	b, err := json.Marshal([]any{auditVersion, e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"),
		e.ActorID.String(), e.ActorName, string(e.Role), e.DeviceID.String(), string(e.Action),
		e.CaseID.String(), e.Detail, e.RequestID})
	if err != nil {
		// Strings, integers and a formatted time always marshal.
		panic("models: audit canonical content: " + err.Error())
	}
	return b
}

// ChainHash returns hex(SHA-256(prev || Canonical(e))), prev being the raw 32
// bytes of the previous entry's hash.
func ChainHash(prev string, e AuditEntry) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sha256.Size {
		return "", fmt.Errorf("models: previous audit hash %q is not 64 hex digits", prev)
	}
	h := sha256.New()
	h.Write(p)
	h.Write(e.Canonical())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Seal returns e normalized, numbered seq and linked to prev: PrevHash = prev
// and Hash = ChainHash(prev, e). The store calls it while it holds the chain's
// head, so no two entries link to the same predecessor.
func (e AuditEntry) Seal(seq int64, prev string) (AuditEntry, error) {
	e = e.Normalize()
	e.Seq, e.PrevHash = seq, prev
	h, err := ChainHash(prev, e)
	if err != nil {
		return e, err
	}
	e.Hash = h
	return e, nil
}

// AuditBreak is the first broken link of the chain.
type AuditBreak struct {
	Seq    int64  // the entry whose link is broken (or the one expected there)
	Reason string // what is wrong, for the administrator
}

// Error implements error.
func (b *AuditBreak) Error() string { return fmt.Sprintf("audit entry %d: %s", b.Seq, b.Reason) }

// AuditVerifier recomputes the chain one entry at a time, in Seq order, so a
// log of any length is verified page by page.
type AuditVerifier struct {
	prev    string
	next    int64
	checked int64
}

// NewAuditVerifier starts at the genesis of the chain.
func NewAuditVerifier() *AuditVerifier { return &AuditVerifier{prev: AuditGenesis, next: 1} }

// Check verifies the next entry: its number follows the last one, its
// PrevHash is the last entry's Hash, and its Hash is what its content and
// that predecessor give. It returns an *AuditBreak for the first entry that
// fails; the verifier should not be used after that.
func (v *AuditVerifier) Check(e AuditEntry) error {
	switch {
	case e.Seq != v.next:
		return &AuditBreak{Seq: v.next, Reason: fmt.Sprintf("entry %d is missing (found %d next)", v.next, e.Seq)}
	case e.PrevHash != v.prev:
		return &AuditBreak{Seq: e.Seq, Reason: "its previous hash is not the hash of the entry before it"}
	}
	h, err := ChainHash(e.PrevHash, e)
	if err != nil || h != e.Hash {
		return &AuditBreak{Seq: e.Seq, Reason: "its content does not match its hash"}
	}
	v.prev, v.next = e.Hash, e.Seq+1
	v.checked++
	return nil
}

// Checked returns how many entries verified so far.
func (v *AuditVerifier) Checked() int64 { return v.checked }

// Head returns the hash of the last verified entry (AuditGenesis before any).
func (v *AuditVerifier) Head() string { return v.prev }

// AuditQuery filters the audit log. Entries come newest first.
type AuditQuery struct {
	// Scope, when set, limits the entries to those about a case it covers
	// and those by a user whose org path lies within one of its org
	// prefixes: a town's supervisor sees the town's cases and the town's
	// people, not another town's.
	Scope    *Scope
	CaseID   uuid.UUID
	ActorID  uuid.UUID
	Action   AuditAction
	From, To *time.Time // At in [From, To)
	Before   int64      // keyset cursor: entries with Seq < Before (0: from the newest)
	Limit    int
}

// AuditLog is the append-only, hash-chained audit log. The storage package
// implements it; it has no method that changes or removes an entry.
type AuditLog interface {
	// AppendAudit seals the entries onto the chain in order (see
	// AuditEntry.Seal), stores them in one transaction and returns them as
	// stored, with Seq, PrevHash and Hash.
	AppendAudit(ctx context.Context, entries []AuditEntry) ([]AuditEntry, error)
	// ListAudit returns up to q.Limit entries matching q, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// AuditChain returns up to limit entries with Seq > after, in Seq order:
	// the chain as stored, for verification.
	AuditChain(ctx context.Context, after int64, limit int) ([]AuditEntry, error)
	// AuditLength returns how many entries were ever appended: a chain that
	// verifies but is shorter was cut at its end.
	AuditLength(ctx context.Context) (int64, error)
}
