// Package testenv starts a real fieldsync server for end-to-end tests: a temp
// data directory, SQLite (or PostgreSQL when FIELDSYNC_TEST_POSTGRES names a
// DSN, in a schema of its own), port 0, and a small district whose scope
// boundaries the tests know exactly.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/refdata"
	"github.com/fieldsync/fieldsync/server"
	"github.com/google/uuid"
)

// PostgresEnv names the environment variable that selects the PostgreSQL runs.
const PostgresEnv = "FIELDSYNC_TEST_POSTGRES"

// Codes of the fixture district: two towns, one village and one grid each.
const (
	District = "370402"
	Town1    = "370402001"
	Town2    = "370402002"
	Village1 = "370402001001"
	Village2 = "370402002001"
	Grid1    = "37040200100101"
	Grid2    = "37040200200101"
	Unit1    = "unit-1"
	Unit2    = "unit-2"
	Password = "password-123"
)

// Points inside each grid, and one inside town 1 but outside any grid.
var (
	InGrid1     = models.Location{Lat: 34.8605, Lon: 117.5505, Accuracy: 5, Address: "君山路1号"}
	InGrid2     = models.Location{Lat: 34.8805, Lon: 117.5705, Accuracy: 5, Address: "北马路2号"}
	InTown1Only = models.Location{Lat: 34.8650, Lon: 117.5550, Accuracy: 8, Address: "解放路3号"}
)

func square(lon, lat, d float64) [][][2]float64 {
	return [][][2]float64{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}
}

// RefData returns the fixture district with the shipped categories.
func RefData(t testing.TB) models.RefData {
	cats, err := refdata.Categories()
	if err != nil {
		t.Fatal(err)
	}
	return models.RefData{
		Categories: cats,
		Org: []models.OrgUnit{
			{Code: District, Level: models.LevelDistrict, Name: "市中区", Path: District},
			{Code: Town1, ParentCode: District, Level: models.LevelTown, Name: "孟庄镇", Path: District + "/" + Town1,
				Boundary: square(117.55, 34.86, 0.01), Center: [2]float64{117.555, 34.865}},
			{Code: Town2, ParentCode: District, Level: models.LevelTown, Name: "税郭镇", Path: District + "/" + Town2,
				Boundary: square(117.57, 34.88, 0.01), Center: [2]float64{117.575, 34.885}},
			{Code: Village1, ParentCode: Town1, Level: models.LevelVillage, Name: "孟庄村", Path: District + "/" + Town1 + "/" + Village1,
				Boundary: square(117.55, 34.86, 0.002)},
			{Code: Village2, ParentCode: Town2, Level: models.LevelVillage, Name: "税郭村", Path: District + "/" + Town2 + "/" + Village2,
				Boundary: square(117.57, 34.88, 0.002)},
		},
		Grids: []models.Grid{
			{Code: Grid1, Name: "孟庄村01", VillageCode: Village1, TownCode: Town1, OrgPath: District + "/" + Town1 + "/" + Village1 + "/" + Grid1,
				Polygon: square(117.55, 34.86, 0.001), MinLat: 34.86, MinLon: 117.55, MaxLat: 34.861, MaxLon: 117.551},
			{Code: Grid2, Name: "税郭村01", VillageCode: Village2, TownCode: Town2, OrgPath: District + "/" + Town2 + "/" + Village2 + "/" + Grid2,
				Polygon: square(117.57, 34.88, 0.001), MinLat: 34.88, MinLon: 117.57, MaxLat: 34.881, MaxLon: 117.571},
		},
		Segments: []models.RoadSegment{{ID: "seg-1", Name: "君山路(一段)", TownCode: Town1, Leader: "张路长",
			Line: [][2]float64{{117.5500, 34.8605}, {117.5510, 34.8605}}}},
		Units: []models.Unit{{ID: Unit1, Name: "市容环卫服务中心", Kind: "sanitation", TownCode: Town1},
			{ID: Unit2, Name: "税郭镇执法中队", Kind: "squad", TownCode: Town2}},
	}
}

// User is a fixture account.
type User struct {
	models.User
	Token string // a device token for field roles, a session token for office roles
}

// Env is a running server with fixture users.
type Env struct {
	T      testing.TB
	Server *server.Server
	URL    string
	Users  map[string]*User
	DSN    string
	Dir    string
	cancel context.CancelFunc
	done   chan error
}

// Options tune Start.
type Options struct {
	// Postgres runs the server on PostgreSQL (the test skips when
	// FIELDSYNC_TEST_POSTGRES is unset).
	Postgres bool
	// DSN reuses a database (e.g. a second server process on the same schema).
	DSN string
	// Dir reuses a data directory.
	Dir string
	// NoFixture skips creating the fixture district and users.
	NoFixture bool
	Demo      bool
	// RealEvidence makes commands wait for their photos' bytes, as in
	// production. Off by default: most tests push placeholder photo records.
	RealEvidence bool
	// CredentialTTL is the server's; zero keeps its default.
	CredentialTTL time.Duration
}

// Start starts a server on port 0 with a temp data dir and the fixture.
func Start(t testing.TB, opt Options) *Env {
	t.Helper()
	dsn := opt.DSN
	if dsn == "" && !opt.Postgres {
		SkipSQLiteInPostgresPass(t)
	}
	if opt.Postgres && dsn == "" {
		dsn = PostgresDSN(t)
	}
	dir := opt.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, DSN: dsn, Demo: opt.Demo,
		ShutdownTimeout: 5 * time.Second, AssumeEvidence: !opt.RealEvidence,
		CredentialTTL: opt.CredentialTTL})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	e := &Env{T: t, Server: srv, Users: map[string]*User{}, DSN: dsn, Dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Run(ctx) }()
	<-srv.Ready()
	e.URL = "http://" + srv.Addr()
	t.Cleanup(e.Stop)
	if !opt.NoFixture && opt.DSN == "" {
		e.fixture(ctx)
	}
	return e
}

// Stop shuts the server down and waits for it.
func (e *Env) Stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	if err := <-e.done; err != nil {
		e.T.Errorf("server.Run: %v", err)
	}
}

// PostgresDSN returns a DSN for a fresh schema on the test PostgreSQL, dropped
// when the test ends; the test is skipped when FIELDSYNC_TEST_POSTGRES is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	return SchemaDSN(t, base)
}

// SchemaDSN creates a schema on the database base names and returns a DSN
// whose search_path is that schema; the schema is dropped at cleanup.
func SchemaDSN(t testing.TB, base string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if err := execPostgres(base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _ = execPostgres(base, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *Env) fixture(ctx context.Context) {
	t := e.T
	st := e.Server.Store
	if err := st.PutRefData(ctx, RefData(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.Server.ReloadRef(ctx); err != nil {
		t.Fatal(err)
	}
	add := e.AddUser
	add("admin", models.RoleAdmin, "", "", nil)
	add("supervisor", models.RoleSupervisor, District, "", nil)
	add("clerk", models.RoleClerk, District, "", nil)
	add("clerk1", models.RoleClerk, District+"/"+Town1, "", nil)
	add("inspector1", models.RoleInspector, District+"/"+Town1, "", nil)
	add("inspector2", models.RoleInspector, District+"/"+Town2, "", nil)
	add("gw1", models.RoleGridWorker, District+"/"+Town1+"/"+Village1, "", []string{Grid1})
	add("gw2", models.RoleGridWorker, District+"/"+Town2+"/"+Village2, "", []string{Grid2})
	add("uh1", models.RoleUnitHandler, "", Unit1, nil)
	add("uh2", models.RoleUnitHandler, "", Unit2, nil)
}

// AddUser creates a user; office users are logged in through the API, field
// users get an enrolled device. The token is in e.Users[username].Token.
func (e *Env) AddUser(username string, role models.Role, org, unit string, grids []string) {
	t := e.T
	ctx := context.Background()
	st := e.Server.Store
	{
		u := models.User{ID: uuid.Must(uuid.NewV7()), Username: username, Name: username, Role: role, OrgPath: org,
			UnitID: unit, CreatedAt: time.Now().UTC()}
		if role.IsOffice() {
			h, err := auth.HashPassword(Password)
			if err != nil {
				t.Fatal(err)
			}
			u.PasswordHash = h
		}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if len(grids) > 0 {
			if err := st.SetUserGrids(ctx, u.ID, grids); err != nil {
				t.Fatal(err)
			}
		}
		fu := &User{User: u}
		if role.IsOffice() {
			fu.Token = e.Login(username, Password)
		} else {
			_, tok, err := auth.EnrollDevice(ctx, st, u, username+"-tablet", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			fu.Token = tok
		}
		e.Users[username] = fu
	}
}

// Login logs an office user in through the API and returns the bearer token.
func (e *Env) Login(username, password string) string {
	var out struct {
		Token string `json:"token"`
	}
	res := e.Do("", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": username, "password": password}, &out)
	if res.StatusCode != http.StatusOK {
		e.T.Fatalf("login %s: %d %s", username, res.StatusCode, res.Body)
	}
	return out.Token
}

// Response is a finished HTTP exchange.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	Request    *http.Request
	ReqBody    []byte
}

// Problem decodes the response as a problem body.
func (r Response) Problem() (code string) {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &p)
	return p.Code
}

// Hook, when set, sees every exchange (the OpenAPI validation uses it).
var Hook func(t testing.TB, r Response)

// Do sends a request as user (token of e.Users[user], or "" for anonymous) and
// decodes a 2xx JSON answer into out when out is not nil. body is JSON-encoded
// unless it is a []byte or string, which are sent as they are.
func (e *Env) Do(user, method, path string, body any, out any) Response {
	e.T.Helper()
	tok := ""
	if user != "" {
		u, ok := e.Users[user]
		if !ok {
			e.T.Fatalf("no fixture user %q", user)
		}
		tok = u.Token
	}
	return e.DoToken(tok, method, path, body, out)
}

// DoToken is Do with an explicit bearer token.
func (e *Env) DoToken(tok, method, path string, body any, out any) Response {
	e.T.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.T.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(raw))
	if err != nil {
		e.T.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	r := Response{StatusCode: res.StatusCode, Header: res.Header, Body: b, Request: req, ReqBody: raw}
	if Hook != nil {
		Hook(e.T, r)
	}
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			e.T.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return r
}

// Must fails the test unless the response has the wanted status.
func (r Response) Must(t testing.TB, status int) Response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
	}
	return r
}

// NewID returns a fresh UUIDv7.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// FakeSHA returns a well-formed SHA-256 hex string derived from s.
func FakeSHA(s string) string {
	h := make([]byte, 32)
	copy(h, s)
	return hex.EncodeToString(h)
}

// Report pushes, as a field user's device, an add_photo and a create_case for
// a new case at loc and returns its id.
func (e *Env) Report(user string, loc models.Location, category string) uuid.UUID {
	e.T.Helper()
	caseID, photoID := NewID(), NewID()
	seq := e.nextSeq(user, 2)
	cmds := []map[string]any{
		{"id": NewID(), "seq": seq, "kind": "add_photo", "case_id": caseID, "client_time": time.Now().UTC(),
			"photo": map[string]any{"id": photoID, "stage": "report", "type": "far", "sha256": FakeSHA(photoID.String())}},
		{"id": NewID(), "seq": seq + 1, "kind": "create_case", "case_id": caseID, "client_time": time.Now().UTC(),
			"case": map[string]any{"category": category, "description": "测试案件 " + category,
				"location": map[string]any{"lat": loc.Lat, "lon": loc.Lon, "accuracy": loc.Accuracy, "address": loc.Address},
				"photos":   []uuid.UUID{photoID}}},
	}
	var out struct {
		Outcomes []struct {
			Status string `json:"status"`
			Code   string `json:"code"`
			Reason string `json:"reason"`
		} `json:"outcomes"`
	}
	e.Do(user, http.MethodPost, "/api/v1/sync/push", map[string]any{"commands": cmds}, &out).Must(e.T, http.StatusOK)
	for _, o := range out.Outcomes {
		if o.Status != "applied" {
			e.T.Fatalf("report by %s: outcome %s %s %s", user, o.Status, o.Code, o.Reason)
		}
	}
	return caseID
}

var seqs = map[string]int64{}

func (e *Env) nextSeq(user string, n int64) int64 {
	key := fmt.Sprintf("%p/%s", e, user)
	s := seqs[key] + 1
	seqs[key] += n
	return s
}

// Act runs a workflow action through the console API as user and fails the
// test unless it is applied.
func (e *Env) Act(user string, caseID uuid.UUID, action string, params map[string]any) {
	e.T.Helper()
	body := map[string]any{"action": action}
	if params != nil {
		body["params"] = params
	}
	e.Do(user, http.MethodPost, "/api/v1/cases/"+caseID.String()+"/transitions", body, nil).Must(e.T, http.StatusOK)
}

// Push sends raw commands as a field user's device with the next sequence
// numbers (filled in when a command has none) and returns the response.
func (e *Env) Push(user string, cmds ...map[string]any) Response {
	e.T.Helper()
	for _, c := range cmds {
		if _, ok := c["seq"]; !ok {
			c["seq"] = e.nextSeq(user, 1)
		}
		if _, ok := c["id"]; !ok {
			c["id"] = NewID()
		}
		if _, ok := c["client_time"]; !ok {
			c["client_time"] = time.Now().UTC()
		}
	}
	return e.Do(user, http.MethodPost, "/api/v1/sync/push", map[string]any{"commands": cmds, "device_time": time.Now().UTC()}, nil)
}

// Dump returns a canonical snapshot of every case the admin can list, with
// its history length: tests compare it before and after a refused request to
// show the database unchanged.
func (e *Env) Dump() string {
	e.T.Helper()
	ctx := context.Background()
	cases, err := e.Server.Store.ListCases(ctx, models.CaseQuery{Scope: models.Scope{All: true}, Limit: 10000, IncludeDeleted: true})
	if err != nil {
		e.T.Fatal(err)
	}
	var b strings.Builder
	for _, c := range cases {
		h, err := e.Server.Store.History(ctx, c.ID)
		if err != nil {
			e.T.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s v%d seq%d %s %q %v h%d\n", c.ID, c.State, c.Version, c.ChangeSeq, c.Category, c.Description, c.Location, len(h))
	}
	rd, err := e.Server.Store.RefData(ctx)
	if err != nil {
		e.T.Fatal(err)
	}
	fmt.Fprintf(&b, "ref v%d cats %d\n", rd.Version, len(rd.Categories))
	seq, err := e.Server.Store.MaxChangeSeq(ctx)
	if err != nil {
		e.T.Fatal(err)
	}
	fmt.Fprintf(&b, "maxseq %d\n", seq)
	return b.String()
}
