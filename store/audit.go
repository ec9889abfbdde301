package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/fieldsync/fieldsync/models"
)

var _ models.AuditLog = (*DB)(nil)

// auditRow is the stored shape of models.AuditEntry. The table has no UPDATE
// or DELETE path in this package, and triggers refuse both.
type auditRow struct {
	Seq       int64 `gorm:"primaryKey;autoIncrement:false"`
	At        time.Time
	ActorID   uuid.UUID
	ActorName string
	Role      string
	DeviceID  uuid.UUID
	Action    string
	CaseID    uuid.UUID
	Detail    string
	RequestID string
	PrevHash  string
	Hash      string
}

func (auditRow) TableName() string { return "audit_log" }

var auditCols = []string{
	"seq", "at", "actor_id", "actor_name", "role", "device_id", "action", "case_id", "detail", "request_id",
	"prev_hash", "hash",
}

func (r *auditRow) fields() []any {
	return []any{&r.Seq, &r.At, &r.ActorID, &r.ActorName, &r.Role, &r.DeviceID, &r.Action, &r.CaseID, &r.Detail,
		&r.RequestID, &r.PrevHash, &r.Hash}
}

func (r *auditRow) values(args []any) []any {
	return append(args, r.Seq, r.At, r.ActorID, r.ActorName, r.Role, r.DeviceID, r.Action, r.CaseID, r.Detail,
		r.RequestID, r.PrevHash, r.Hash)
}

func toAuditRow(e *models.AuditEntry) auditRow {
	return auditRow{Seq: e.Seq, At: ts(e.At), ActorID: e.ActorID, ActorName: e.ActorName, Role: string(e.Role),
		DeviceID: e.DeviceID, Action: string(e.Action), CaseID: e.CaseID, Detail: e.Detail, RequestID: e.RequestID,
		PrevHash: e.PrevHash, Hash: e.Hash}
}

func (r *auditRow) model() models.AuditEntry {
	return models.AuditEntry{Seq: r.Seq, At: utc(r.At), ActorID: r.ActorID, ActorName: r.ActorName,
		Role: models.Role(r.Role), DeviceID: r.DeviceID, Action: models.AuditAction(r.Action), CaseID: r.CaseID,
		Detail: r.Detail, RequestID: r.RequestID, PrevHash: r.PrevHash, Hash: r.Hash}
}

// AppendAudit seals entries onto the chain and inserts them in one write
// transaction. Their numbers come from the 'audit' counter row, taken with
// UPDATE … RETURNING: its lock is held until commit, so concurrent appends
// (from any server process on the same PostgreSQL database) queue behind it,
// and each links to the hash of the entry numbered just before it, which is
// committed by then. On SQLite the single writer gives the same order.
func (d *DB) AppendAudit(ctx context.Context, entries []models.AuditEntry) ([]models.AuditEntry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	out := make([]models.AuditEntry, len(entries))
	err := d.writeTx(ctx, func(tx *gorm.DB) error {
		n := int64(len(entries))
		var hi int64
		q := cachedSQL("bump_audit", 0, d.pg, func() string {
			return "UPDATE counters SET value = value + ? WHERE name = 'audit' RETURNING value"
		})
		err := conn(tx).QueryRowContext(ctx, q, n).Scan(&hi)
		if errors.Is(err, sql.ErrNoRows) {
			return &models.Error{Code: models.CodeInternal, Message: "internal error",
				Cause: errors.New("store: the audit counter is missing; run Migrate")}
		}
		if err != nil {
			return dbErr(err)
		}
		first := hi - n + 1
		prev := models.AuditGenesis
		if first > 1 {
			q := cachedSQL("audit_hash", 0, d.pg, func() string { return "SELECT hash FROM audit_log WHERE seq = ?" })
			err := conn(tx).QueryRowContext(ctx, q, first-1).Scan(&prev)
			if errors.Is(err, sql.ErrNoRows) {
				// The counter says the entry exists: it was removed behind
				// the triggers' back. Appending would hide the gap.
				return &models.Error{Code: models.CodeInternal, Message: "internal error",
					Cause: fmt.Errorf("store: audit entry %d is missing; the log was tampered with", first-1)}
			}
			if err != nil {
				return dbErr(err)
			}
		}
		args := make([]any, 0, len(entries)*len(auditCols))
		for i := range entries {
			e, err := entries[i].Seal(first+int64(i), prev)
			if err != nil {
				return &models.Error{Code: models.CodeInternal, Message: "internal error", Cause: err}
			}
			prev = e.Hash
			out[i] = e
			r := toAuditRow(&e)
			args = r.values(args)
		}
		ins := cachedSQL("insert_audit", len(entries), d.pg, func() string {
			return "INSERT INTO audit_log (" + strings.Join(auditCols, ", ") + ") VALUES " +
				valuesList(len(entries), len(auditCols))
		})
		return exec(ctx, tx, ins, args...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scopedAudit limits g to the entries about a case s covers or by a user
// whose org path lies within one of s's org prefixes.
func scopedAudit(g *gorm.DB, s models.Scope) *gorm.DB {
	cond, args, ok := scopeSQL(s, "c")
	if !ok {
		return g
	}
	var people []string
	var pargs []any
	for _, p := range s.OrgPrefixes {
		if p != "" {
			cond, a := pathWithinSQL("u.org_path", p)
			people = append(people, cond)
			pargs = append(pargs, a...)
		}
	}
	byCase := "EXISTS (SELECT 1 FROM cases c WHERE c.id = audit_log.case_id AND " + cond + ")"
	if len(people) == 0 {
		return g.Where(byCase, args...)
	}
	byPerson := "EXISTS (SELECT 1 FROM users u WHERE u.id = audit_log.actor_id AND (" + strings.Join(people, " OR ") + "))"
	return g.Where("("+byCase+" OR "+byPerson+")", append(args, pargs...)...)
}

// ListAudit returns up to q.Limit entries (default 50, at most 1000)
// matching q, newest first, with Seq below q.Before when it is set. From is
// inclusive and To exclusive.
func (d *DB) ListAudit(ctx context.Context, q models.AuditQuery) ([]models.AuditEntry, error) {
	g := d.read(ctx).Model(&auditRow{})
	if q.Scope != nil {
		g = scopedAudit(g, *q.Scope)
	}
	if q.CaseID != uuid.Nil {
		g = g.Where("case_id = ?", q.CaseID)
	}
	if q.ActorID != uuid.Nil {
		g = g.Where("actor_id = ?", q.ActorID)
	}
	if q.Action != "" {
		g = g.Where("action = ?", string(q.Action))
	}
	if q.From != nil {
		g = g.Where("at >= ?", ts(*q.From))
	}
	if q.To != nil {
		g = g.Where("at < ?", ts(*q.To))
	}
	if q.Before > 0 {
		g = g.Where("seq < ?", q.Before)
	}
	var rows []auditRow
	if err := g.Order("seq DESC").Limit(pageLimit(q.Limit)).Find(&rows).Error; err != nil {
		return nil, dbErr(err)
	}
	out := make([]models.AuditEntry, len(rows))
	for i := range rows {
		out[i] = rows[i].model()
	}
	return out, nil
}

// AuditChain returns up to limit entries (default 50, at most 1000) with Seq
// above after, in Seq order.
func (d *DB) AuditChain(ctx context.Context, after int64, limit int) ([]models.AuditEntry, error) {
	g := d.read(ctx)
	q := cachedSQL("audit_chain", 0, d.pg, func() string {
		return "SELECT " + strings.Join(auditCols, ", ") + " FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
	})
	rows, err := g.Statement.ConnPool.QueryContext(ctx, q, after, pageLimit(limit))
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []models.AuditEntry
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(r.fields()...); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, r.model())
	}
	return out, dbErr(rows.Err())
}

// AuditLength returns the 'audit' counter: the number of entries ever
// appended.
func (d *DB) AuditLength(ctx context.Context) (int64, error) {
	var n int64
	err := d.read(ctx).Raw("SELECT value FROM counters WHERE name = 'audit'").Row().Scan(&n)
	return n, dbErr(err)
}
