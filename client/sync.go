package client

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

// pushBatch is the most commands one push carries.
const pushBatch = 100

// SyncReport says what one Sync (or one of its steps) did.
type SyncReport struct {
	// Push.
	Pushed          int              // commands sent and answered
	Applied         int              // outcomes applied
	Merged          int              // outcomes merged with parallel edits
	Conflicts       int              // outcomes that set a value aside
	Rejected        int              // outcomes rejected
	EvidencePending int              // outcomes waiting for photos
	Rejections      []models.Outcome // the rejected outcomes, with code, reason and hint
	Renumbered      int              // commands renumbered after the server's sequence
	AckedUpTo       int64            // outcomes acknowledged up to this sequence number
	AckError        string           // the acknowledgement failed (retried next sync)

	// Pull.
	Pages    int  // pull pages applied
	Upserted int  // cases received
	Removed  int  // cases dropped (deleted, out of scope, or not re-sent after a reset)
	Reset    bool // the server started the feed over (the scope changed)

	// Photos.
	Photos PhotoReport
}

// PhotoReport says what the photo upload step did.
type PhotoReport struct {
	Uploaded int // photos whose bytes the server now has
	Pending  int // photos left to upload (announced or not), retried next sync
	// WaitingForServer counts photos held back because the server has no
	// upload endpoint (it answered 404 at /api/v1/uploads/).
	WaitingForServer int
	Failed           []PhotoFailure // photos refused for good
	Errors           []string       // transient failures of this sync
}

// PhotoFailure is a photo the server will not take, and why.
type PhotoFailure struct {
	PhotoID uuid.UUID
	CaseID  uuid.UUID
	Code    models.Code
	Reason  string
	Hint    string
}

// Sync pushes the outbox, pulls the changes in scope and uploads pending
// photo bytes, in that order. Push and pull errors end the sync and are
// returned (the report says how far it got); photo upload failures never do:
// they are in Photos and retried next time. Only one Sync runs at a time.
func (c *Client) Sync(ctx context.Context) (SyncReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var r SyncReport
	if err := c.identify(ctx); err != nil {
		return r, err
	}
	if err := c.push(ctx, &r); err != nil {
		return r, err
	}
	if err := c.pull(ctx, &r); err != nil {
		return r, err
	}
	c.upload(ctx, &r)
	return r, nil
}

// Push runs Sync's first step alone: it sends the pending commands and
// records their outcomes.
func (c *Client) Push(ctx context.Context) (SyncReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var r SyncReport
	if err := c.identify(ctx); err != nil {
		return r, err
	}
	err := c.push(ctx, &r)
	return r, err
}

// Pull runs Sync's second step alone: it applies the server's changes to the
// local store, leaving the outbox as it is.
func (c *Client) Pull(ctx context.Context) (SyncReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var r SyncReport
	err := c.pull(ctx, &r)
	return r, err
}

// UploadPhotos runs Sync's last step alone: it uploads the bytes of photos
// whose add_photo the server has applied.
func (c *Client) UploadPhotos(ctx context.Context) (SyncReport, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var r SyncReport
	if _, _, err := c.endpoint(); err != nil {
		return r, err
	}
	c.upload(ctx, &r)
	return r, nil
}

// Identity is who the device belongs to, as the server told it.
type Identity struct {
	UserID   uuid.UUID
	Username string
	Role     models.Role
	DeviceID uuid.UUID
}

// Identity returns the stored identity; it is empty until the first sync.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	vals := map[string]string{}
	for _, k := range []string{metaUserID, metaUsername, metaRole, metaDeviceID} {
		v, err := getMeta(ctx, c.db, k)
		if err != nil {
			return id, err
		}
		vals[k] = v
	}
	id.UserID, _ = uuid.Parse(vals[metaUserID])
	id.DeviceID, _ = uuid.Parse(vals[metaDeviceID])
	id.Username, id.Role = vals[metaUsername], models.Role(vals[metaRole])
	return id, nil
}

// Whoami asks the server who the device token belongs to, stores the answer
// and returns it. An enrolment screen calls it to check the token.
func (c *Client) Whoami(ctx context.Context) (Identity, error) {
	if err := c.identifyAgain(ctx, true); err != nil {
		return Identity{}, err
	}
	return c.Identity(ctx)
}

// identify asks the server who the token belongs to, once: the local view
// needs the user's id and role to show pending actions as the server will
// see them.
func (c *Client) identify(ctx context.Context) error { return c.identifyAgain(ctx, false) }

func (c *Client) identifyAgain(ctx context.Context, force bool) error {
	if _, _, err := c.endpoint(); err != nil {
		return err
	}
	if v, err := getMeta(ctx, c.db, metaUserID); err != nil || (v != "" && !force) {
		return err
	}
	var me meResponse
	if err := c.retry(ctx, func() error { return c.send(ctx, http.MethodGet, "/api/v1/me", nil, nil, &me) }); err != nil {
		return err
	}
	return inTx(ctx, c.db, func(tx *sql.Tx) error {
		for k, v := range map[string]string{metaUserID: me.User.ID.String(), metaUsername: me.User.Username,
			metaRole: me.User.Role, metaDeviceID: me.DeviceID} {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// push sends the pending commands in sequence order, in batches, and records
// each outcome. A batch that fails in transit is sent again unchanged: same
// ids, same sequence numbers, so the server answers what it already applied
// with the stored outcome.
func (c *Client) push(ctx context.Context, r *SyncReport) error {
	if err := c.alignSeqs(ctx, r); err != nil {
		return err
	}
	renumbers := 0
	for {
		batch, err := loadOutbox(ctx, c.db, `WHERE state = ? ORDER BY seq LIMIT ?`, statePending, pushBatch)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		cmds := make([]wireCommand, len(batch))
		for i, b := range batch {
			cmds[i] = b.Cmd
		}
		var resp pushResponse
		err = c.retry(ctx, func() error {
			now := c.now()
			req := pushRequest{DeviceTime: &now, AppVersion: c.cfg.AppVersion, Commands: cmds}
			return c.send(ctx, http.MethodPost, "/api/v1/sync/push", nil, req, &resp)
		})
		if err != nil {
			return err
		}
		recorded, clash, err := c.record(ctx, batch, resp, r)
		if err != nil {
			return err
		}
		if clash {
			// Our sequence numbers were used before by this device (the app
			// was reinstalled with its token): move what the server has not
			// applied past its high-water mark and send it again.
			if renumbers++; renumbers > 3 {
				return errors.New("client: the server keeps answering other commands for our sequence numbers")
			}
			n, err := c.renumber(ctx, resp.LastSeq)
			if err != nil {
				return err
			}
			r.Renumbered += n
			continue
		}
		if recorded == 0 {
			return fmt.Errorf("client: the server answered no outcome for sequence %d to %d", batch[0].Seq, batch[len(batch)-1].Seq)
		}
	}
	return c.ack(ctx, r)
}

// record stores the outcomes of a push and marks their commands done. It
// reports a clash when an outcome belongs to another command with our
// sequence number (or the server no longer knows it), leaving those pending.
func (c *Client) record(ctx context.Context, batch []outboxRow, resp pushResponse, r *SyncReport) (recorded int, clash bool, err error) {
	bySeq := make(map[int64]outboxRow, len(batch))
	for _, b := range batch {
		bySeq[b.Seq] = b
	}
	err = inTx(ctx, c.db, func(tx *sql.Tx) error {
		for _, o := range resp.Outcomes {
			b, ok := bySeq[o.Seq]
			if !ok {
				continue
			}
			if (o.CommandID != uuid.Nil && o.CommandID != b.ID) || models.Code(o.Code) == models.CodeSequenceGap {
				clash = true
				continue
			}
			body, err := json.Marshal(o)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, outcome = ? WHERE seq = ? AND state = ?`,
				stateDone, string(body), o.Seq, statePending)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			recorded++
			r.Pushed++
			switch models.OutcomeStatus(o.Status) {
			case models.OutcomeApplied:
				r.Applied++
			case models.OutcomeMerged:
				r.Merged++
			case models.OutcomeConflict:
				r.Conflicts++
			case models.OutcomeEvidencePending:
				r.EvidencePending++
			case models.OutcomeRejected:
				r.Rejected++
				r.Rejections = append(r.Rejections, o.model())
				if b.Kind == string(models.CmdAddPhoto) && b.Cmd.Photo != nil {
					if _, err := tx.ExecContext(ctx, `UPDATE photos SET upload = ?, upload_code = ?, upload_error = ? WHERE id = ? AND upload != ?`,
						uploadRejected, o.Code, "add_photo rejected: "+o.Reason, b.Cmd.Photo.ID.String(), uploadDone); err != nil {
						return err
					}
				}
			}
		}
		if recorded > 0 {
			return setMeta(ctx, tx, metaPushedYet, "1")
		}
		return nil
	})
	return recorded, clash, err
}

// alignSeqs runs before the first push from this local store. A device token
// carried over to a fresh store (a reinstall) meets a server that has seen
// its sequence numbers before; the server's kept outcomes say how far, and
// the pending commands are moved past that.
func (c *Client) alignSeqs(ctx context.Context, r *SyncReport) error {
	if v, err := getMeta(ctx, c.db, metaPushedYet); err != nil || v != "" {
		return err
	}
	var first sql.NullInt64
	if err := c.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM outbox WHERE state = ?`, statePending).Scan(&first); err != nil {
		return err
	}
	if !first.Valid {
		return nil
	}
	var list outcomeList
	err := c.retry(ctx, func() error {
		return c.send(ctx, http.MethodGet, "/api/v1/sync/outcomes", url.Values{"all": {"true"}}, nil, &list)
	})
	if err != nil {
		if transient(err) {
			return err
		}
		return nil // an older server without the list: the clash check still guards
	}
	var last int64
	for _, o := range list.Items {
		last = max(last, o.Seq)
	}
	if last < first.Int64 {
		return nil
	}
	n, err := c.renumber(ctx, last)
	r.Renumbered += n
	return err
}

// renumber gives the pending commands new sequence numbers after after (and
// after every number already used here), keeping their order. They were
// never applied under their old numbers, so nothing is repeated.
func (c *Client) renumber(ctx context.Context, after int64) (int, error) {
	var n int
	err := inTx(ctx, c.db, func(tx *sql.Tx) error {
		var used sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM outbox WHERE state != ?`, statePending).Scan(&used); err != nil {
			return err
		}
		next := max(after, used.Int64) + 1
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM outbox WHERE state = ? ORDER BY seq`, statePending)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Move them out of the way first so no new number meets an old one.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET seq = -seq WHERE state = ?`, statePending); err != nil {
			return err
		}
		for i, s := range seqs {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET seq = ? WHERE seq = ?`, next+int64(i), -s); err != nil {
				return err
			}
		}
		n = len(seqs)
		cur, err := getMetaInt(ctx, tx, metaNextSeq)
		if err != nil {
			return err
		}
		return setMetaInt(ctx, tx, metaNextSeq, max(cur, next+int64(n)))
	})
	return n, err
}

// ack tells the server it may forget the outcomes recorded here. It is
// bookkeeping: a failure is reported and retried next sync.
func (c *Client) ack(ctx context.Context, r *SyncReport) error {
	var upTo sql.NullInt64
	if err := c.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM outbox WHERE state = ?`, stateDone).Scan(&upTo); err != nil {
		return err
	}
	if !upTo.Valid {
		return nil
	}
	err := c.retry(ctx, func() error {
		return c.send(ctx, http.MethodPost, "/api/v1/sync/ack", nil, ackRequest{UpToSeq: upTo.Int64}, nil)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.AckError = err.Error()
		return nil
	}
	r.AckedUpTo = upTo.Int64
	return inTx(ctx, c.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ? WHERE state = ? AND seq <= ?`, stateAcked, stateDone, upTo.Int64); err != nil {
			return err
		}
		return setMetaInt(ctx, tx, metaAckedSeq, upTo.Int64)
	})
}

// pull fetches pages after the stored cursor until the server has no more,
// applying each page in one local transaction with the cursor that follows
// it, so an interrupted pull resumes where it stopped.
func (c *Client) pull(ctx context.Context, r *SyncReport) error {
	restarted := false
	for {
		cursor, err := getMeta(ctx, c.db, metaCursor)
		if err != nil {
			return err
		}
		var page pullResponse
		err = c.retry(ctx, func() error {
			q := url.Values{"device_time": {c.now().Format(time.RFC3339Nano)}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			if c.cfg.PullLimit > 0 {
				q.Set("limit", strconv.Itoa(c.cfg.PullLimit))
			}
			page = pullResponse{}
			return c.send(ctx, http.MethodGet, "/api/v1/sync/pull", q, nil, &page)
		})
		if models.ErrorCode(err) == models.CodeInvalidCursor && !restarted {
			// The server no longer understands our cursor: start over, and
			// drop at the end whatever it does not send again.
			restarted = true
			if err := inTx(ctx, c.db, func(tx *sql.Tx) error {
				if err := setMeta(ctx, tx, metaCursor, ""); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM reset_seen`); err != nil {
					return err
				}
				return setMeta(ctx, tx, metaReset, "1")
			}); err != nil {
				return err
			}
			r.Reset = true
			continue
		}
		if err != nil {
			return err
		}
		var drop []string
		if err := inTx(ctx, c.db, func(tx *sql.Tx) error {
			var err error
			drop, err = c.applyPage(ctx, tx, page, r)
			return err
		}); err != nil {
			return err
		}
		removeFiles(drop)
		r.Pages++
		if !page.HasMore {
			return nil
		}
		if page.Cursor == cursor {
			return errors.New("client: the server said it has more but did not move the cursor")
		}
	}
}

// applyPage writes one pull page into the local store and returns the local
// photo files no longer needed.
func (c *Client) applyPage(ctx context.Context, tx *sql.Tx, page pullResponse, r *SyncReport) ([]string, error) {
	if page.Reset {
		// The feed starts over: every case held now that it does not send
		// again before it ends is no longer ours to see.
		r.Reset = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM reset_seen`); err != nil {
			return nil, err
		}
		if err := setMeta(ctx, tx, metaReset, "1"); err != nil {
			return nil, err
		}
	}
	resetting, err := getMeta(ctx, tx, metaReset)
	if err != nil {
		return nil, err
	}
	for _, cs := range page.Cases {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases(id, version, body) VALUES(?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET version = excluded.version, body = excluded.body`,
			cs.ID.String(), cs.Version, string(cs.raw)); err != nil {
			return nil, err
		}
		if resetting != "" {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO reset_seen(case_id) VALUES(?)`, cs.ID.String()); err != nil {
				return nil, err
			}
		}
		r.Upserted++
	}
	for _, cm := range page.Comments {
		body, err := json.Marshal(cm)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO comments(id, case_id, body) VALUES(?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET case_id = excluded.case_id, body = excluded.body`,
			cm.ID.String(), cm.CaseID.String(), string(body)); err != nil {
			return nil, err
		}
	}
	for _, p := range page.Photos {
		body, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		// A photo of ours that the server reports verified needs no upload,
		// whoever delivered the bytes.
		if _, err := tx.ExecContext(ctx, `INSERT INTO photos(id, case_id, stage, type, sha256, size, server, created_at)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET server = excluded.server, case_id = excluded.case_id,
				upload = CASE WHEN ? AND photos.upload IN (?, ?) THEN ? ELSE photos.upload END`,
			p.ID.String(), p.CaseID.String(), p.Stage, p.Type, p.SHA256, p.Size, string(body), p.CreatedAt.Format(time.RFC3339Nano),
			p.Verified, uploadPending, uploadWaiting, uploadDone); err != nil {
			return nil, err
		}
	}
	for _, cf := range page.Conflicts {
		body, err := json.Marshal(cf)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO conflicts(id, case_id, status, body) VALUES(?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET case_id = excluded.case_id, status = excluded.status, body = excluded.body`,
			cf.ID.String(), cf.CaseID.String(), cf.Status, string(body)); err != nil {
			return nil, err
		}
	}
	var files []string
	for _, rm := range page.Removals {
		fs, dropped, err := dropCase(ctx, tx, rm.CaseID.String())
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
		if dropped {
			r.Removed++
		}
	}
	if err := setMeta(ctx, tx, metaCursor, page.Cursor); err != nil {
		return nil, err
	}
	if !page.HasMore && resetting != "" {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM cases WHERE id NOT IN (SELECT case_id FROM reset_seen)`)
		if err != nil {
			return nil, err
		}
		var stale []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			stale = append(stale, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, id := range stale {
			fs, _, err := dropCase(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
			r.Removed++
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reset_seen`); err != nil {
			return nil, err
		}
		if err := setMeta(ctx, tx, metaReset, ""); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// dropCase removes a case and what hangs off it from the local store. Photos
// of ours whose bytes the server does not have yet stay, so evidence is never
// thrown away on the tablet; the upload will learn what the server thinks.
func dropCase(ctx context.Context, tx *sql.Tx, id string) (files []string, dropped bool, err error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE id = ?`, id)
	if err != nil {
		return nil, false, err
	}
	n, _ := res.RowsAffected()
	for _, q := range []string{`DELETE FROM comments WHERE case_id = ?`, `DELETE FROM conflicts WHERE case_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return nil, false, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT path FROM photos WHERE case_id = ? AND path != '' AND upload IN (?, ?)`, id, uploadNone, uploadDone)
	if err != nil {
		return nil, false, err
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, false, err
		}
		files = append(files, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM photos WHERE case_id = ? AND upload IN (?, ?)`, id, uploadNone, uploadDone); err != nil {
		return nil, false, err
	}
	return files, n > 0, nil
}

func removeFiles(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}
