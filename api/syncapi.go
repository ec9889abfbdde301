package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/sync"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// PushRequest is a device's batch of commands.
type PushRequest struct {
	DeviceTime *time.Time   `json:"device_time,omitempty"`
	AppVersion string       `json:"app_version,omitempty"`
	Commands   []CommandDTO `json:"commands"`
}

// PushResponse carries one outcome per command, in sequence order.
type PushResponse struct {
	Outcomes      []OutcomeDTO `json:"outcomes"`
	LastSeq       int64        `json:"last_seq"`
	ServerTime    time.Time    `json:"server_time"`
	ClockOffsetMS int64        `json:"clock_offset_ms"`
}

func (a *API) push(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	var req PushRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Commands) == 0 {
		return models.Errorf(models.CodeInvalidInput, "commands is empty").WithField("commands")
	}
	pr := sync.PushRequest{AppVersion: req.AppVersion, Commands: make([]models.Command, 0, len(req.Commands))}
	if req.DeviceTime != nil {
		pr.DeviceTime = *req.DeviceTime
	}
	for _, cd := range req.Commands {
		pr.Commands = append(pr.Commands, cd.model(a.conv))
	}
	res, err := a.d.Engine.Push(c.Request().Context(), actor, pr)
	if err != nil {
		return err
	}
	out := PushResponse{Outcomes: make([]OutcomeDTO, 0, len(res.Outcomes)), LastSeq: res.LastSeq,
		ServerTime: res.ServerTime, ClockOffsetMS: res.ClockOffset.Milliseconds()}
	for _, o := range res.Outcomes {
		out.Outcomes = append(out.Outcomes, outcomeDTO(o))
	}
	return ok(c, out)
}

// RemovalDTO tells a device to drop a case.
type RemovalDTO struct {
	CaseID uuid.UUID `json:"case_id"`
	Reason string    `json:"reason"`
}

// PullResponse is one page of changes.
type PullResponse struct {
	Cases         []CaseDTO     `json:"cases"`
	Comments      []CommentDTO  `json:"comments"`
	Photos        []PhotoDTO    `json:"photos"`
	Conflicts     []ConflictDTO `json:"conflicts"`
	Removals      []RemovalDTO  `json:"removals"`
	Cursor        string        `json:"cursor"`
	HasMore       bool          `json:"has_more"`
	Reset         bool          `json:"reset"`
	ServerTime    time.Time     `json:"server_time"`
	ClockOffsetMS int64         `json:"clock_offset_ms"`
}

func (a *API) pull(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	req := sync.PullRequest{Cursor: c.QueryParam("cursor")}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > sync.MaxPullLimit {
			return models.Errorf(models.CodeInvalidInput, "limit must be 1 to %d", sync.MaxPullLimit).WithField("limit")
		}
		req.Limit = n
	}
	if s := c.QueryParam("device_time"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return models.Errorf(models.CodeInvalidInput, "device_time must be an RFC 3339 time").WithField("device_time")
		}
		req.DeviceTime = t
	}
	res, err := a.d.Engine.Pull(c.Request().Context(), actor, req)
	if err != nil {
		return err
	}
	now := a.now()
	out := PullResponse{Cases: make([]CaseDTO, 0, len(res.Upserts)), Comments: make([]CommentDTO, 0, len(res.Comments)),
		Photos: make([]PhotoDTO, 0, len(res.Photos)), Conflicts: make([]ConflictDTO, 0, len(res.Conflicts)),
		Removals: make([]RemovalDTO, 0, len(res.Removals)), Cursor: res.Cursor, HasMore: res.HasMore, Reset: res.Reset,
		ServerTime: res.ServerTime, ClockOffsetMS: res.ClockOffset.Milliseconds()}
	for i := range res.Upserts {
		out.Cases = append(out.Cases, caseDTO(&res.Upserts[i], now))
	}
	for _, cm := range res.Comments {
		out.Comments = append(out.Comments, commentDTO(cm))
	}
	for _, p := range res.Photos {
		out.Photos = append(out.Photos, photoDTO(p))
	}
	for _, cf := range res.Conflicts {
		out.Conflicts = append(out.Conflicts, conflictDTO(cf))
	}
	for _, r := range res.Removals {
		out.Removals = append(out.Removals, RemovalDTO{CaseID: r.CaseID, Reason: r.Reason})
	}
	// The next cursor also travels in headers, so a client can ask for the
	// next page while it still parses this one. The headers go out at once,
	// before the page is encoded: a pipelining client's next request then
	// runs on another core while this page is encoded and sent.
	w := c.Response()
	h := w.Header()
	h.Set("Fieldsync-Cursor", res.Cursor)
	h.Set("Fieldsync-Has-More", strconv.FormatBool(res.HasMore))
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	if f, ok := flusherOf(w); ok {
		f.Flush()
	}
	// An error now can only cut the body short (the status is sent); the
	// client's JSON decoder then fails and it pulls the page again.
	return fastJSON{}.Serialize(c, out, "")
}

// flusherOf returns the http.Flusher of w, or of the writer Echo's
// response wraps.
func flusherOf(w http.ResponseWriter) (http.Flusher, bool) {
	if f, ok := w.(http.Flusher); ok {
		return f, true
	}
	if rw, err := echo.UnwrapResponse(w); err == nil {
		f, ok := rw.ResponseWriter.(http.Flusher)
		return f, ok
	}
	return nil, false
}

// events streams server-sent events: "changed" whenever a change in the
// caller's scope commits, and a comment line every 25 s to keep proxies and
// mobile carriers from closing an idle connection.
func (a *API) events(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	if a.d.Hub == nil {
		return models.Errorf(models.CodeUnavailable, "events are not enabled")
	}
	w := c.Response()
	flusher, okf := flusherOf(w)
	if !okf {
		return models.Errorf(models.CodeUnavailable, "streaming is not supported here")
	}
	sub := a.d.Hub.Subscribe(actor.Scope)
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\nevent: ready\ndata: {}\n\n")
	flusher.Flush()
	ctx := c.Request().Context()
	keep := time.NewTicker(25 * time.Second)
	defer keep.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.Done():
			return nil
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-sub.C:
			n++
			fmt.Fprintf(w, "id: %d\nevent: changed\ndata: {\"pull\":true}\n\n", n)
		}
		flusher.Flush()
	}
}

// OutcomeList lists a device's outcomes not yet acknowledged.
type OutcomeList struct {
	Items []OutcomeDTO `json:"items"`
}

func (a *API) outcomes(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	if !actor.FromDevice() {
		return models.Errorf(models.CodeForbidden, "outcomes belong to devices")
	}
	all := c.QueryParam("all") == "true"
	list, err := a.d.Store.Outcomes(c.Request().Context(), actor.DeviceID, !all)
	if err != nil {
		return err
	}
	res := OutcomeList{Items: make([]OutcomeDTO, 0, len(list))}
	for _, o := range list {
		res.Items = append(res.Items, outcomeDTO(o))
	}
	return ok(c, res)
}

// AckRequest acknowledges every outcome up to a sequence number.
type AckRequest struct {
	UpToSeq int64 `json:"up_to_seq"`
}

func (a *API) ack(c *echo.Context) error {
	actor, err := actorOf(c)
	if err != nil {
		return err
	}
	if !actor.FromDevice() {
		return models.Errorf(models.CodeForbidden, "outcomes belong to devices")
	}
	var req AckRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.UpToSeq < 1 {
		return models.Errorf(models.CodeInvalidInput, "up_to_seq must be positive").WithField("up_to_seq")
	}
	if err := a.d.Store.AckOutcomes(c.Request().Context(), actor.DeviceID, req.UpToSeq); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
