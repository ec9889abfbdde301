package store

import (
	"context"
	"encoding/hex"
	"math"
	"math/bits"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// The statements of a sync push (load cases, read edits, write cases, history
// and outcomes) run as hand-written SQL on the transaction's GORM connection
// rather than through GORM's query builder and reflective scanner. Measured
// on a push of 100 commands, the builder and scanner cost about 30 µs per
// statement and most of the time of the batch inserts; plain statements with
// explicit column lists keep the whole transaction within a few
// milliseconds. The column lists below must match the row types; a test
// compares them with GORM's schema of each type.

var caseCols = []string{
	"id", "category", "description", "lat", "lon", "accuracy", "address", "party", "quantity", "source",
	"org_path", "town_code", "village_code", "grid_code", "road_segment_id", "unit_id", "assignee_id",
	"ref_version", "state", "deadline", "disposition", "rework_count", "escalated", "pending",
	"pending_deadline", "handled_by", "force_closed", "linked_case", "reporter_id", "reporter_role",
	"device_id", "client_created_at", "created_at", "updated_at", "dispatched_at", "handled_at", "closed_at",
	"deleted", "version", "change_seq",
}

// fields returns pointers to r's fields in caseCols order, for Scan.
func (r *caseRow) fields() []any {
	return []any{
		&r.ID, &r.Category, &r.Description, &r.Lat, &r.Lon, &r.Accuracy, &r.Address, &r.Party, &r.Quantity, &r.Source,
		&r.OrgPath, &r.TownCode, &r.VillageCode, &r.GridCode, &r.RoadSegmentID, &r.UnitID, &r.AssigneeID,
		&r.RefVersion, &r.State, &r.Deadline, &r.Disposition, &r.ReworkCount, &r.Escalated, &r.Pending,
		&r.PendingDeadline, &r.HandledBy, &r.ForceClosed, &r.LinkedCase, &r.ReporterID, &r.ReporterRole,
		&r.DeviceID, &r.ClientCreatedAt, &r.CreatedAt, &r.UpdatedAt, &r.DispatchedAt, &r.HandledAt, &r.ClosedAt,
		&r.Deleted, &r.Version, &r.ChangeSeq,
	}
}

// values appends r's values in caseCols order to args: pointers to its
// fields (nullable fields as they are), which r must outlive the statement
// for. A pointer goes into an interface without an allocation, where a
// string, float or UUID is copied to the heap: boxing the values of a
// push's rows was a fifth of its allocations. driverValue and rawSame read
// through the pointers.
func (r *caseRow) values(args []any) []any {
	return append(args,
		&r.ID, &r.Category, &r.Description, &r.Lat, &r.Lon, &r.Accuracy, &r.Address, &r.Party, r.Quantity, &r.Source,
		&r.OrgPath, &r.TownCode, &r.VillageCode, &r.GridCode, &r.RoadSegmentID, &r.UnitID, &r.AssigneeID,
		&r.RefVersion, &r.State, r.Deadline, &r.Disposition, &r.ReworkCount, &r.Escalated, &r.Pending,
		r.PendingDeadline, &r.HandledBy, &r.ForceClosed, &r.LinkedCase, &r.ReporterID, &r.ReporterRole,
		&r.DeviceID, &r.ClientCreatedAt, &r.CreatedAt, &r.UpdatedAt, r.DispatchedAt, r.HandledAt, r.ClosedAt,
		&r.Deleted, &r.Version, &r.ChangeSeq,
	)
}

var historyCols = []string{
	"id", "case_id", "version", "kind", "action", "from_state", "to_state", "changes", "comment", "actor_id",
	"actor_name", "role", "device_id", "command_id", "at", "client_at", "note", "clock_offset", "clock_skewed",
}

func (r *historyRow) fields() []any {
	return []any{
		&r.ID, &r.CaseID, &r.Version, &r.Kind, &r.Action, &r.FromState, &r.ToState, &r.Changes, &r.Comment,
		&r.ActorID, &r.ActorName, &r.Role, &r.DeviceID, &r.CommandID, &r.At, &r.ClientAt, &r.Note,
		&r.ClockOffset, &r.ClockSkewed,
	}
}

// values appends r's values in historyCols order without the id, which the
// database assigns, as pointers (see caseRow.values).
func (r *historyRow) values(args []any) []any {
	return append(args,
		&r.CaseID, &r.Version, &r.Kind, &r.Action, &r.FromState, &r.ToState, r.Changes, &r.Comment,
		&r.ActorID, &r.ActorName, &r.Role, &r.DeviceID, &r.CommandID, &r.At, r.ClientAt, &r.Note,
		&r.ClockOffset, &r.ClockSkewed,
	)
}

var photoCols = []string{
	"id", "case_id", "stage", "type", "sha256", "size", "captured_at", "gps", "app_version", "uploader_id",
	"device_id", "created_at", "verified", "received_at", "content_type", "width", "height", "exif", "flags",
	"thumb_small", "thumb_large", "deleted", "delete_reason", "change_seq",
}

func (r *photoRow) fields() []any {
	return []any{
		&r.ID, &r.CaseID, &r.Stage, &r.Type, &r.SHA256, &r.Size, &r.CapturedAt, &r.GPS, &r.AppVersion, &r.UploaderID,
		&r.DeviceID, &r.CreatedAt, &r.Verified, &r.ReceivedAt, &r.ContentType, &r.Width, &r.Height, &r.EXIF, &r.Flags,
		&r.ThumbSmall, &r.ThumbLarge, &r.Deleted, &r.DeleteReason, &r.ChangeSeq,
	}
}

// values appends r's values in photoCols order, as pointers (see
// caseRow.values).
func (r *photoRow) values(args []any) []any {
	return append(args,
		&r.ID, &r.CaseID, &r.Stage, &r.Type, &r.SHA256, &r.Size, r.CapturedAt, r.GPS, &r.AppVersion, &r.UploaderID,
		&r.DeviceID, &r.CreatedAt, &r.Verified, r.ReceivedAt, &r.ContentType, &r.Width, &r.Height, r.EXIF, r.Flags,
		&r.ThumbSmall, &r.ThumbLarge, &r.Deleted, &r.DeleteReason, &r.ChangeSeq,
	)
}

var outcomeCols = []string{
	"command_id", "device_id", "seq", "case_id", "status", "version", "final", "conflict_ids", "code", "reason",
	"hint", "pending", "at", "acked",
}

// values appends r's values in outcomeCols order, as pointers (see
// caseRow.values).
func (r *outcomeRow) values(args []any) []any {
	return append(args,
		&r.CommandID, &r.DeviceID, &r.Seq, &r.CaseID, &r.Status, &r.Version, r.Final, r.ConflictIDs, &r.Code, &r.Reason,
		&r.Hint, r.Pending, &r.At, &r.Acked,
	)
}

var deviceCols = []string{
	"id", "user_id", "name", "token_hash", "created_at", "revoked_at", "last_seq", "last_push_at",
	"last_pull_at", "clock_offset", "app_version", "rejected", "conflicted", "last_pull_seq",
}

// fields returns pointers to r's fields in deviceCols order, for Scan.
func (r *deviceRow) fields() []any {
	return []any{&r.ID, &r.UserID, &r.Name, &r.TokenHash, &r.CreatedAt, &r.RevokedAt, &r.LastSeq, &r.LastPushAt,
		&r.LastPullAt, &r.ClockOffset, &r.AppVersion, &r.Rejected, &r.Conflicted, &r.LastPullSeq}
}

var exitCols = []string{"seq", "case_id", "org_path", "grid_code", "unit_id", "reporter_id", "reason"}

func (r *exitRow) values(args []any) []any {
	return append(args, r.Seq, r.CaseID, r.OrgPath, r.GridCode, r.UnitID, r.ReporterID, r.Reason)
}

// sqlCache keeps generated statement texts: a batch of n rows always gives the
// same text, which the connection's statement cache then finds prepared.
var sqlCache gosync.Map // sqlKey → string

type sqlKey struct {
	kind string
	n    int
	pg   bool
}

// cachedSQL returns the text build makes for (kind, n), rebound to $n
// placeholders on PostgreSQL.
func cachedSQL(kind string, n int, pg bool, build func() string) string {
	k := sqlKey{kind, n, pg}
	if s, ok := sqlCache.Load(k); ok {
		return s.(string)
	}
	s := build()
	if pg {
		s = rebindPG(s)
	}
	sqlCache.Store(k, s)
	return s
}

// rebindPG turns ? placeholders into $1, $2, … . The statements given to it
// have no ? inside string literals.
func rebindPG(q string) string {
	var b strings.Builder
	b.Grow(len(q) + len(q)/2)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for n >= 10 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	buf[i] = byte('0' + n)
	return string(buf[i:])
}

// valuesList returns "(?, …), (?, …)" for rows of cols placeholders.
func valuesList(rows, cols int) string {
	one := "(" + placeholders(cols) + ")"
	var b strings.Builder
	b.Grow(rows * (len(one) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	return b.String()
}

// upsertSQL is INSERT … source ON CONFLICT (key) DO UPDATE SET every other
// column, source being a VALUES list or a SELECT.
func upsertSQL(table string, cols []string, key string, source string) string {
	var set []string
	for _, c := range cols {
		if c != key {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") " + source +
		" ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// conn returns the connection of g's statement: the transaction inside
// Update, the writer's statement cache on SQLite.
func conn(g *gorm.DB) gorm.ConnPool { return g.Statement.ConnPool }

// stmtCtx is the context a hand-written statement runs with: the one the
// store gave g (on SQLite stripped of cancellation, see DB.sqliteCtx), which
// the caller's ctx came from.
func stmtCtx(ctx context.Context, g *gorm.DB) context.Context {
	if g.Statement != nil && g.Statement.Context != nil {
		return g.Statement.Context
	}
	return ctx
}

// exec runs one plain statement on g's connection.
func exec(ctx context.Context, g *gorm.DB, query string, args ...any) error {
	_, err := conn(g).ExecContext(stmtCtx(ctx, g), query, args...)
	return dbErr(err)
}

// Packed selects of cases (unqualified, and as alias c) and of photos (as
// alias p), which SQLite's reads of many rows use (see packedSelect).
var (
	casePacked  = newPackedSelect(caseCols, (&caseRow{}).fields(), "")
	caseCPacked = newPackedSelect(caseCols, (&caseRow{}).fields(), "c")
	photoPacked = newPackedSelect(photoCols, (&photoRow{}).fields(), "p")
	caseList    = strings.Join(caseCols, ", ")
)

// caseSelect returns the select list of a case read, its columns qualified
// by alias ("" or "c"), and the packed select that reads it: on SQLite a
// packedSelect, on PostgreSQL none (nil, and the plain column list).
func (d *DB) caseSelect(alias string) (string, *packedSelect) {
	switch {
	case !d.pg && alias == "":
		return casePacked.list, casePacked
	case !d.pg:
		return caseCPacked.list, caseCPacked
	case alias == "":
		return caseList, nil
	}
	return aliasedCaseCols(alias), nil
}

// queryCases runs a SELECT of caseSelect's list and scans the rows, through
// ps when it is not nil.
func queryCases(ctx context.Context, g *gorm.DB, ps *packedSelect, query string, args ...any) ([]caseRow, error) {
	rows, err := conn(g).QueryContext(stmtCtx(ctx, g), query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []caseRow
	var sc *packedScanner
	if ps != nil {
		sc = ps.scanner()
	}
	for rows.Next() {
		out = append(out, caseRow{})
		fields := out[len(out)-1].fields()
		if sc != nil {
			err = sc.scan(rows, fields)
		} else {
			err = rows.Scan(fields...)
		}
		if err != nil {
			return nil, dbErr(err)
		}
	}
	return out, dbErr(rows.Err())
}

// rowBuckets are the row counts of the multi-row statements the store
// prepares, largest first (100 is the reference client's push). Every row
// count made a statement of its own, and a prepare costs more than a
// hundred rows' binds save: tablets back from different stretches offline
// push batches of every size, which churned the writer's statement cache.
var rowBuckets = []int{chunkSize, 256, 128, 100, 64, 32, 16, 8, 4, 2, 1}

// batches calls fn with consecutive parts of n items: each part is a
// rowBuckets size, but for a last part of fewer than minShapedRows, which
// goes whole (rowsSQL binds such small parts whole, one text per size).
func batches(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; {
		size := n - lo
		if size >= minShapedRows {
			for _, b := range rowBuckets {
				if b <= size {
					size = b
					break
				}
			}
		}
		if err := fn(lo, lo+size); err != nil {
			return err
		}
		lo += size
	}
	return nil
}

// sortedInt64s returns xs sorted ascending.
func sortedInt64s(xs []int64) []int64 {
	slices.Sort(xs)
	return xs
}

// nilUUIDText is how a zero uuid.UUID is stored: its Value is its String.
const nilUUIDText = "00000000-0000-0000-0000-000000000000"

// sqlLiteral returns the SQLite literal that stores exactly what binding the
// driver value v (see driverValue) would, for the values that make up most
// of a new row's columns: NULL, the empty string, zero, false and the nil
// UUID's text. ok is false for anything else.
func sqlLiteral(v any) (lit string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "NULL", true
	case string:
		switch x {
		case "":
			return "''", true
		case nilUUIDText:
			return "'" + nilUUIDText + "'", true
		}
	case int64:
		return "0", x == 0
	case float64:
		return "0.0", x == 0 && !math.Signbit(x)
	case bool:
		return "0", !x
	}
	return "", false
}

// driverValue returns v as a type the driver binds directly, so
// database/sql's converter does no reflection for it: the value a pointer
// points to (a nil pointer is NULL), a UUID as its text, an int as int64.
// Other values are returned as they are.
func driverValue(v any) any {
	switch x := v.(type) {
	case uuid.UUID:
		return x.String()
	case int:
		return int64(x)
	case *uuid.UUID:
		if x != nil {
			return x.String()
		}
		return nil
	case *int:
		if x != nil {
			return int64(*x)
		}
		return nil
	case *string:
		return deref(x)
	case *time.Time:
		return deref(x)
	case *float64:
		return deref(x)
	case *int64:
		return deref(x)
	case *bool:
		return deref(x)
	}
	return v
}

// deref returns *p, or nil for a nil p.
func deref[T any](p *T) any {
	if p != nil {
		return *p
	}
	return nil
}

// maxShapes bounds the statement texts kept for column-eliding inserts;
// past it a shape's text is built each time (the statement cache still
// finds it if it is common).
const maxShapes = 4096

var shapeCount atomic.Int64

// rowsSQL returns the row source of a multi-row insert of len(args)/ncols
// rows ("VALUES (…), (…)" or "SELECT … FROM (VALUES …) WHERE true"), given
// to build to make the statement, and the arguments to bind with it.
//
// On PostgreSQL every value is bound. On SQLite each bound value costs a cgo
// call and two copies (about a quarter of a microsecond), which made binding
// the largest single cost of a sync push, so the statement binds as few as
// it can: a column that holds the same zero value (sqlLiteral) in every row
// is written into the text as a literal, and a column that holds the same
// other value in every row (the device, the reporter, the server time, the
// state of a batch of new reports) is bound once in a SELECT over the VALUES
// of the remaining columns. The text depends only on which columns are
// which, so texts repeat and stay prepared.
//
// Batches of fewer than minShapedRows rows are bound whole: a new shape costs
// a prepare (about a millisecond for a hundred rows of forty columns) and a
// place in the writer's statement cache, which the binds saved on a few rows
// do not repay; a tablet's small pushes then use one statement per size.
func rowsSQL(kind string, ncols int, args []any, pg bool, build func(source string) string) (string, []any) {
	return shapedRowsSQL(kind, ncols, args, pg, minShapedRows, build)
}

// minShapedRows is the smallest batch rowsSQL shapes.
const minShapedRows = 8

func shapedRowsSQL(kind string, ncols int, args []any, pg bool, minRows int, build func(source string) string) (string, []any) {
	rows := len(args) / ncols
	if pg || ncols > 64 || rows < minRows {
		return cachedSQL(kind, rows, pg, func() string { return build("VALUES " + valuesList(rows, ncols)) }), args
	}
	// Values are converted (driverValue) only where it matters: a row's value
	// that is rawSame as row 0's converts to the same driver value, so only
	// row 0 of a literal or shared column is converted, and the rest of the
	// batch only where it is bound.
	var lit, shared uint64 // bit c: column c is a literal, or bound once
	lits := make([]string, ncols)
	first := make([]any, ncols)
	for c := 0; c < ncols; c++ {
		first[c] = driverValue(args[c])
		l, ok := sqlLiteral(first[c])
		same := true // until a row's value is not rawSame as row 0's
		for r := 1; (ok || same) && r < rows; r++ {
			raw := args[r*ncols+c]
			if rawSame(raw, args[c]) {
				continue
			}
			v := driverValue(raw)
			if ok {
				var l2 string
				l2, ok = sqlLiteral(v)
				ok = ok && l2 == l
			}
			same = same && rawSame(v, first[c])
		}
		switch {
		case ok:
			lit |= 1 << c
			lits[c] = l
		case same && rows > 1:
			shared |= 1 << c
		}
	}
	perRow := ncols - bits.OnesCount64(lit|shared)
	if perRow == 0 {
		shared = 0 // a VALUES list needs a column; bind them per row
		perRow = ncols - bits.OnesCount64(lit)
	}
	bound := make([]any, 0, bits.OnesCount64(shared)+rows*perRow)
	for c := 0; c < ncols; c++ {
		if shared&(1<<c) != 0 {
			bound = append(bound, first[c])
		}
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < ncols; c++ {
			if (lit|shared)&(1<<c) == 0 {
				if r == 0 {
					bound = append(bound, first[c])
				} else {
					bound = append(bound, driverValue(args[r*ncols+c]))
				}
			}
		}
	}
	k := shapeKey{kind: kind, rows: rows, lit: lit, shared: shared}
	if s, ok := shapeCache.Load(k); ok {
		return s.(string), bound
	}
	s := build(rowsSource(ncols, rows, lit, shared, lits))
	if shapeCount.Add(1) <= maxShapes {
		shapeCache.Store(k, s)
	}
	return s, bound
}

// rowsSource writes the row source of rowsSQL's statement.
func rowsSource(ncols, rows int, lit, shared uint64, lits []string) string {
	var one strings.Builder
	one.WriteByte('(')
	n := 0
	for c := 0; c < ncols; c++ {
		switch {
		case lit&(1<<c) != 0:
			if shared == 0 {
				sep(&one, n)
				n++
				one.WriteString(lits[c])
			}
		case shared&(1<<c) == 0:
			sep(&one, n)
			n++
			one.WriteByte('?')
		}
	}
	one.WriteByte(')')
	row := one.String()
	var b strings.Builder
	b.Grow(rows*(len(row)+2) + 64 + 12*ncols)
	if shared != 0 {
		// SQLite names the columns of a VALUES list column1, column2, …;
		// the WHERE clause keeps an upsert's ON CONFLICT from parsing as
		// part of the SELECT.
		b.WriteString("SELECT ")
		k := 0
		for c := 0; c < ncols; c++ {
			sep(&b, c)
			switch {
			case lit&(1<<c) != 0:
				b.WriteString(lits[c])
			case shared&(1<<c) != 0:
				b.WriteByte('?')
			default:
				k++
				b.WriteString("column")
				b.WriteString(itoa(k))
			}
		}
		b.WriteString(" FROM (")
	}
	b.WriteString("VALUES ")
	for r := 0; r < rows; r++ {
		sep(&b, r)
		b.WriteString(row)
	}
	if shared != 0 {
		b.WriteString(") WHERE true")
	}
	return b.String()
}

func sep(b *strings.Builder, i int) {
	if i > 0 {
		b.WriteString(", ")
	}
}

// rawSame reports whether a and b are values of one comparable type that
// driverValue passes through or converts by value (uuid.UUID) and are
// identical, floats to the bit, or pointers of one such type that are both
// nil or point to such values: then they convert to equal driver values,
// and driver values that are rawSame bind the same. Two equal instants in
// different locations are not (the driver formats them differently), and
// slices never are.
func rawSame(a, b any) bool {
	switch x := a.(type) {
	case uuid.UUID, string, int64, int, bool, time.Time:
		// Comparable types: == compares the dynamic types, then the values.
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case *uuid.UUID:
		return samePointee(x, b)
	case *string:
		return samePointee(x, b)
	case *int64:
		return samePointee(x, b)
	case *int:
		return samePointee(x, b)
	case *bool:
		return samePointee(x, b)
	case *time.Time:
		return samePointee(x, b)
	case *float64:
		y, ok := b.(*float64)
		if !ok || x == nil || y == nil {
			return ok && x == y
		}
		return math.Float64bits(*x) == math.Float64bits(*y)
	}
	return false
}

// samePointee reports whether b is a *T that is nil with x or points to a
// value == *x.
func samePointee[T comparable](x *T, b any) bool {
	y, ok := b.(*T)
	if !ok || x == nil || y == nil {
		return ok && x == y
	}
	return *x == *y
}

type shapeKey struct {
	kind        string
	rows        int
	lit, shared uint64
}

var shapeCache gosync.Map // shapeKey → string

// idsIn returns the condition that column col holds one of ids, and its
// arguments, for the lookups of a push (a hundred case, command and photo
// ids each). On SQLite the ids travel as one JSON array that json_each
// reads, and SQLite still searches col's index for each (EXPLAIN QUERY
// PLAN: SEARCH … USING INDEX, LIST SUBQUERY): each bound value costs a cgo
// call, a conversion and two copies, and the three lookups bound three
// values per report pushed. The text is the same for any number of ids, so
// it is prepared once. On PostgreSQL the ids are bound one by one.
func idsIn(pg bool, col string, ids []uuid.UUID) (string, []any) {
	if pg {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		return col + " IN (" + placeholders(len(ids)) + ")", args
	}
	return col + " IN (SELECT value FROM json_each(?))", []any{jsonUUIDs(ids)}
}

// jsonUUIDs returns ids as a JSON array of their texts.
func jsonUUIDs(ids []uuid.UUID) string {
	b := make([]byte, 0, 2+len(ids)*39)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = appendUUID(b, id)
		b = append(b, '"')
	}
	return string(append(b, ']'))
}

// appendUUID appends the text of id (as id.String) to b.
func appendUUID(b []byte, id uuid.UUID) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], id[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], id[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], id[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], id[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], id[10:])
	return append(b, buf[:]...)
}

// slicePool keeps slices of the push path's rows and statement arguments
// for reuse: a 100-report push built about 300 KB of them, a fifth of its
// allocations, each time the garbage collector's to find and free.
type slicePool[T any] struct{ p gosync.Pool }

// get returns a slice of n zero values.
func (sp *slicePool[T]) get(n int) *[]T {
	if s, _ := sp.p.Get().(*[]T); s != nil && cap(*s) >= n {
		*s = (*s)[:n]
		return s
	}
	s := make([]T, n)
	return &s
}

// put zeroes s, so that the pool holds no references, and keeps it. Only
// the first len(*s) values may have been set.
func (sp *slicePool[T]) put(s *[]T) {
	clear(*s)
	*s = (*s)[:0]
	sp.p.Put(s)
}

var (
	anyPool     slicePool[any]
	caseRows    slicePool[caseRow]
	historyRows slicePool[historyRow]
	photoRows   slicePool[photoRow]
	outcomeRows slicePool[outcomeRow]
)
