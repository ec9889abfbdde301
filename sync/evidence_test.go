package sync_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/internal/jobtest"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/server"
	"github.com/fieldsync/fieldsync/sync"
	"github.com/google/uuid"
)

// verify marks photos verified in the store, as the upload pipeline does
// after checking their bytes, and tells the engine.
func verify(t *testing.T, e *testenv.Env, ids ...uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	err := e.Server.Store.Update(ctx, func(tx models.Tx) error {
		ps, err := tx.PhotosByID(ctx, ids)
		if err != nil {
			return err
		}
		var list []models.PhotoRecord
		for _, p := range ps {
			p.Verified = true
			list = append(list, p)
		}
		return tx.PutPhotos(ctx, list)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Server.Engine.EvidenceArrived(ctx, models.PhotoRecord{ID: ids[0]})
}

// TestEvidenceGate: a report waits for its photo's bytes, and the commands
// sent after it for the same case wait behind it instead of failing; when
// the photo is verified they all apply, in order, by themselves.
func TestEvidenceGate(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg, RealEvidence: true})
			caseID, ph, after := testenv.NewID(), testenv.NewID(), testenv.NewID()
			res := push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
				cmd("add_photo", 1, caseID, map[string]any{"photo": map[string]any{"id": ph, "stage": "report", "type": "far", "sha256": testenv.FakeSHA("a")}}),
				cmd("create_case", 2, caseID, map[string]any{"case": map[string]any{"category": "E0504", "description": "店外经营",
					"location": map[string]any{"lat": testenv.InGrid1.Lat, "lon": testenv.InGrid1.Lon}, "photos": []uuid.UUID{ph}}}),
				cmd("add_comment", 3, caseID, map[string]any{"comment": "已拍照"}),
			}})
			want := []string{"applied", "evidence_pending", "evidence_pending"}
			for i, o := range res.Outcomes {
				if o.Status != want[i] {
					t.Fatalf("outcome %d = %+v, want %s", i, o, want[i])
				}
			}
			// A later push for the same case also waits behind the report.
			res = push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
				cmd("edit_fields", 4, caseID, map[string]any{"base_version": 1, "fields": map[string]string{"party": "王记烧烤"}}),
			}})
			if res.Outcomes[0].Status != "evidence_pending" {
				t.Fatalf("edit behind a waiting report: %+v", res.Outcomes[0])
			}
			e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, nil).Must(t, http.StatusNotFound)

			verify(t, e, ph)
			var detail struct {
				Case struct {
					State string `json:"state"`
					Party string `json:"party"`
				} `json:"case"`
				Comments []struct {
					Body string `json:"body"`
				} `json:"comments"`
			}
			e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, &detail).Must(t, http.StatusOK)
			if detail.Case.State != "reported" || detail.Case.Party != "王记烧烤" || len(detail.Comments) != 1 {
				t.Fatalf("after the photo arrived: %+v", detail)
			}
			var outs struct {
				Items []outcome `json:"items"`
			}
			e.Do("inspector1", http.MethodGet, "/api/v1/sync/outcomes", nil, &outs).Must(t, http.StatusOK)
			for _, o := range outs.Items {
				if o.Status != "applied" {
					t.Errorf("stored outcome of seq %d is %s, want applied", o.Seq, o.Status)
				}
			}

			// report_done naming an after photo waits for it, then applies.
			e.Act("clerk", caseID, "register", nil)
			e.Act("clerk", caseID, "dispatch", map[string]any{"unit_id": testenv.Unit1})
			res = push(t, e, "inspector1", map[string]any{"commands": []map[string]any{
				cmd("add_photo", 5, caseID, map[string]any{"photo": map[string]any{"id": after, "stage": "report_done", "type": "after", "sha256": testenv.FakeSHA("b")}}),
				cmd("action", 6, caseID, map[string]any{"base_version": 4, "action": "report_done", "params": map[string]any{"photos": []uuid.UUID{after}}}),
			}})
			if res.Outcomes[1].Status != "evidence_pending" || len(res.Outcomes[1].Final) != 0 {
				t.Fatalf("report_done before its photo: %+v", res.Outcomes[1])
			}
			verify(t, e, after)
			e.Do("clerk", http.MethodGet, "/api/v1/cases/"+caseID.String(), nil, &detail).Must(t, http.StatusOK)
			if detail.Case.State != "handled" {
				t.Fatalf("after the after-photo arrived the case is %s", detail.Case.State)
			}
		})
	}
}

// TestWaitingCommandQueuedWithItsOutcome: a command that waits for its
// photos is queued in the transaction that stores its evidence_pending
// outcome, so no crash after the commit can leave it waiting with nothing
// to apply it.
func TestWaitingCommandQueuedWithItsOutcome(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) {
			e := testenv.Start(t, testenv.Options{Postgres: pg, RealEvidence: true})
			ctx := context.Background()
			st := e.Server.Store
			ref, err := server.BuildReference(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			q := &jobtest.DeadQueue{JobQueue: st}
			eng := sync.New(sync.Config{Store: st, Ref: func() *sync.Reference { return ref }, Jobs: q})
			u := e.Users["inspector1"]
			dev, err := st.DeviceByTokenHash(ctx, auth.HashToken(u.Token))
			if err != nil {
				t.Fatal(err)
			}
			actor := models.Actor{UserID: u.ID, Username: u.Username, Name: u.Name, Role: u.Role, DeviceID: dev.ID,
				Scope: models.ScopeFor(u.User, nil)}
			before, err := st.Pending(ctx, sync.EvidenceJob)
			if err != nil {
				t.Fatal(err)
			}
			caseID, ph := testenv.NewID(), testenv.NewID()
			res, err := eng.Push(ctx, actor, sync.PushRequest{Commands: []models.Command{{
				ID: testenv.NewID(), Seq: 1, Kind: models.CmdCreateCase, CaseID: caseID, ClientTime: time.Now(),
				Create: &models.CaseDraft{Category: "E0504", Description: "店外经营",
					Location:     models.Location{Lat: testenv.InGrid1.Lat, Lon: testenv.InGrid1.Lon},
					PhotoRecords: []models.PhotoRecord{{ID: ph, Stage: "report", Type: "far", SHA256: testenv.FakeSHA("q")}}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outcomes[0].Status; got != models.OutcomeEvidencePending {
				t.Fatalf("outcome %s, want evidence_pending", got)
			}
			after, err := st.Pending(ctx, sync.EvidenceJob)
			if err != nil {
				t.Fatal(err)
			}
			if after != before+1 || q.Calls != 0 {
				t.Fatalf("evidence jobs %d -> %d, post-commit Enqueue calls %d: want one job committed with the outcome and no call",
					before, after, q.Calls)
			}
		})
	}
}
