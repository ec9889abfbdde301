package web_test

// Browser tests of the clerk console: headless Debian Chromium driven by
// chromedp against a real server (testenv, SQLite, the fixture district).
// Each test works in its own browser context (own cookies and storage) of one
// shared browser, sets a 1366×768 viewport and saves a screenshot.
//
// Without Chromium the tests skip, except under CI (CI=true), where a missing
// browser is a failure: .ci/run installs it.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/fieldsync/fieldsync/api"
	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/web"
	"github.com/google/uuid"
)

var (
	browserOnce   gosync.Once
	browserCtx    context.Context
	browserErr    error
	browserCancel = func() {}
	allocCancel   = func() {}
	userDataDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserCancel()
	allocCancel()
	if userDataDir != "" {
		os.RemoveAll(userDataDir)
	}
	os.Exit(code)
}

// chromiumPath finds Debian's Chromium.
func chromiumPath() string {
	for _, p := range []string{os.Getenv("FIELDSYNC_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return ""
}

// sharedBrowser starts the one browser of the test binary.
func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed, and CI=true: .ci/run must install it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser tests")
	}
	browserOnce.Do(func() {
		userDataDir, browserErr = os.MkdirTemp("", "fieldsync-chromium-")
		if browserErr != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.UserDataDir(userDataDir),
			chromedp.WindowSize(1366, 768),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-extensions", true),
			chromedp.Flag("lang", "zh-CN"),
		}
		var actx context.Context
		actx, allocCancel = chromedp.NewExecAllocator(context.Background(), opts...)
		browserCtx, browserCancel = chromedp.NewContext(actx)
		browserErr = chromedp.Do(browserCtx) // starts the browser
	})
	if browserErr != nil {
		t.Fatalf("start chromium: %v", browserErr)
	}
	return browserCtx
}

// console is one test's server, browser tab and screenshot folder.
type console struct {
	t    *testing.T
	env  *testenv.Env
	base string
	ctx  context.Context
	errs *[]string
	mu   *gosync.Mutex
}

// newConsole starts a server with the fixture district and opens a tab in a
// fresh browser context. The server runs on PostgreSQL when
// FIELDSYNC_TEST_POSTGRES names one (CI's second pass), else on SQLite, so
// the console is driven on both databases. The console is served the way production serves it
// (api.Deps.Console through Echo's static handler); /api goes to the test
// server's API, so the page and the API share one origin.
func newConsole(t *testing.T) *console {
	t.Helper()
	bctx := sharedBrowser(t)
	env := testenv.Start(t, testenv.Options{Postgres: os.Getenv("FIELDSYNC_TEST_POSTGRES") != ""})
	static := api.New(api.Deps{Console: web.FS(), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" {
			env.Server.API.ServeHTTP(w, r)
			return
		}
		static.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var mu gosync.Mutex
	errs := []string{}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			errs = append(errs, "exception: "+msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				errs = append(errs, "console.error: "+strings.Join(parts, " "))
			}
		}
	}))
	t.Cleanup(cancel)
	c := &console{t: t, env: env, base: srv.URL, ctx: ctx, errs: &errs, mu: &mu}
	// The first Run opens the tab and binds it to its context: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	c.do(chromedp.EmulateViewport(1366, 768))
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("page error: %s", e)
		}
	})
	return c
}

// do runs browser steps with a time limit, failing the test on error.
func (c *console) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c.shot("failure")
		c.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates JavaScript (awaiting a promise) and decodes its value.
func eval[T any](c *console, js string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS polls a JavaScript condition until it is true.
func (c *console) waitJS(cond string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		c.shot("failure")
		c.t.Fatalf("waiting for %s: %v", cond, err)
	}
}

// screenshotDir is where the screenshots go: $FIELDSYNC_SCREENSHOTS, or a
// folder in the temp dir. They are never committed.
func screenshotDir() string {
	if d := os.Getenv("FIELDSYNC_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "fieldsync-console-screenshots")
}

// shot saves a PNG of the viewport.
func (c *console) shot(name string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	file := filepath.Join(dir, strings.ReplaceAll(c.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot: %s", file)
}

// goTo navigates to a console route and waits until the view has rendered.
func (c *console) goTo(hash string) {
	c.t.Helper()
	c.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf("location.hash = %q", hash)))
	c.waitReady()
}

func (c *console) waitReady() {
	c.t.Helper()
	c.waitJS(`document.querySelector('main#main')?.dataset.ready === 'true'`)
}

// click clicks the element a CSS selector finds, from the page's own script:
// for controls whose part of the page the console redraws (a mouse click
// on a node the DOM just replaced fails).
func (c *console) click(css string) {
	c.t.Helper()
	ok := eval[bool](c, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.click(); return true; })()`, css))
	if !ok {
		c.shot("failure")
		c.t.Fatalf("no element %s to click", css)
	}
}

// login signs in through the login form.
func (c *console) login(user string) {
	c.t.Helper()
	c.do(chromedp.Navigate(c.base+"/"),
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), user),
		chromedp.SendKeys(chromedp.ID("login-password"), testenv.Password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("whoami")))
	c.waitReady()
}

// logout signs out through the top bar and waits for the login form: the
// session ends with an asynchronous request, and a login started before it
// answers would find the old session still alive.
func (c *console) logout() {
	c.t.Helper()
	c.click(`#logout`)
	c.do(chromedp.WaitVisible(chromedp.ID("login-username")))
}

// caseDetail reads a case's detail through the API as the district clerk.
func (c *console) caseDetail(id uuid.UUID) caseDetail {
	c.t.Helper()
	var d caseDetail
	c.env.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &d).Must(c.t, http.StatusOK)
	return d
}

type caseDetail struct {
	Case struct {
		State       string `json:"state"`
		UnitID      string `json:"unit_id"`
		Party       string `json:"party"`
		Disposition string `json:"disposition"`
		Version     int64  `json:"version"`
	} `json:"case"`
	History []struct {
		Kind    string `json:"kind"`
		Action  string `json:"action"`
		Comment string `json:"comment"`
	} `json:"history"`
}

func TestConsoleLoginAndQueue(t *testing.T) {
	c := newConsole(t)
	mine := []uuid.UUID{
		c.env.Report("inspector1", testenv.InGrid1, "E0504"),
		c.env.Report("inspector1", testenv.InTown1Only, "E0101"),
		c.env.Report("gw1", testenv.InGrid1, "E0504"),
	}
	other := c.env.Report("inspector2", testenv.InGrid2, "E0504")

	// A wrong password is refused on the form.
	c.do(chromedp.Navigate(c.base+"/"), chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), "clerk1"),
		chromedp.SendKeys(chromedp.ID("login-password"), "wrong"),
		chromedp.Click(chromedp.ID("login-submit")))
	c.waitJS(`document.getElementById('login-error')?.textContent.includes('用户名或密码错误')`)

	c.login("clerk1")
	who := eval[string](c, `document.getElementById('whoami').textContent`)
	if !strings.Contains(who, "受理员") {
		t.Errorf("whoami = %q, want the clerk role in Chinese", who)
	}
	// The 待受理 queue counts the three cases in clerk1's town, not the other town's.
	c.waitJS(`document.querySelector('a.queue[data-state="reported"] .q-count')?.dataset.count === '3'`)
	c.do(chromedp.Click(chromedp.CSS(`a.queue[data-state="reported"]`)))
	c.waitJS(`location.hash.includes('state=reported') && document.querySelector('main').dataset.ready === 'true'`)
	// Read the rows in the same evaluation that sees the page settled: the
	// console may redraw the list (a second route for the same hash) between two
	// separate evaluations.
	ids := eval[[]string](c, `new Promise(done => { const tick = () => {
		const rows = [...document.querySelectorAll('table.cases tbody tr[data-id]')];
		if (rows.length === 3 && document.querySelector('main').dataset.ready === 'true') done(rows.map(r => r.dataset.id));
		else setTimeout(tick, 50);
	}; tick(); })`)
	got := strings.Join(ids, " ")
	for _, id := range mine {
		if !strings.Contains(got, id.String()) {
			t.Errorf("queue lacks case %s: %v", id, ids)
		}
	}
	if strings.Contains(got, other.String()) {
		t.Errorf("queue shows a case of another town: %v", ids)
	}
	// Every control of the filter form has a label.
	unlabelled := eval[int](c, `[...document.querySelectorAll('form.filters select, form.filters input')].filter(e => !(e.labels && e.labels.length)).length`)
	if unlabelled != 0 {
		t.Errorf("%d filter controls have no label", unlabelled)
	}
	// A filter is a query parameter of the list: the grid filter keeps two of the three.
	c.do(chromedp.SetValue(chromedp.CSS(`form.filters select[name="grid"]`), testenv.Grid1),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	c.waitJS(`location.hash.includes('grid=` + testenv.Grid1 + `') && document.querySelector('main').dataset.ready === 'true'`)
	c.waitJS(`document.querySelectorAll('table.cases tbody tr[data-id]').length === 2`)
	// Keyboard: Enter on a focused case link opens the case.
	c.do(chromedp.Focus(chromedp.CSS(`table.cases tbody tr[data-id] a.case-link`)), chromedp.KeyEvent("\r"))
	c.waitJS(`location.hash.startsWith('#/cases/') && document.querySelector('article.detail') !== null`)
	c.goTo("#/cases?state=reported")
	c.shot("queue")
	// The English switch.
	c.click(`header.top button.lang`)
	c.waitJS(`document.documentElement.lang === 'en' && document.querySelector('.topnav a[data-view="cases"]')?.textContent === 'Queues'`)
	c.waitReady()
	c.shot("queue-en")
	c.click(`header.top button.lang`)
	c.waitJS(`document.documentElement.lang === 'zh-CN' && document.querySelector('.topnav a[data-view="cases"]')?.textContent === '案件队列'`)
	c.waitReady()
	// Logout ends the session: the API no longer answers the cookie.
	c.logout()
	status := eval[int](c, `fetch('/api/v1/me').then(r => r.status)`)
	if status != http.StatusUnauthorized {
		t.Errorf("after logout /me = %d, want 401", status)
	}
}

func TestConsoleRegisterAndDispatch(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("inspector1", testenv.InGrid1, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	c.do(chromedp.Click(chromedp.CSS(`button.action[data-action="register"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.action-form[data-action="register"]`)))
	c.shot("register-form")
	c.do(chromedp.Click(chromedp.CSS(`form.action-form button[type="submit"]`)))
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'registered'`)
	c.do(chromedp.Click(chromedp.CSS(`button.action[data-action="dispatch"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.action-form[data-action="dispatch"]`)),
		chromedp.SetValue(chromedp.CSS(`form.action-form select[name="unit"]`), testenv.Unit1),
		chromedp.Click(chromedp.CSS(`form.action-form button[type="submit"]`)))
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'dispatched'`)
	c.shot("dispatched")
	d := c.caseDetail(id)
	if d.Case.State != "dispatched" || d.Case.UnitID != testenv.Unit1 {
		t.Errorf("after dispatch: state %s unit %q", d.Case.State, d.Case.UnitID)
	}
	var acts []string
	for _, h := range d.History {
		if h.Kind == "transition" {
			acts = append(acts, h.Action)
		}
	}
	if strings.Join(acts, ",") != "register,dispatch" {
		t.Errorf("transitions = %v, want register,dispatch", acts)
	}
	// The timeline shows both transitions, with the clerk as actor.
	n := eval[int](c, `document.querySelectorAll('.timeline li[data-kind="transition"]').length`)
	if n != 2 {
		t.Errorf("timeline shows %d transitions, want 2", n)
	}
}

func TestConsoleAskForMore(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("gw1", testenv.InGrid1, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	c.do(chromedp.Click(chromedp.CSS(`button.action[data-action="ask_more"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.action-form[data-action="ask_more"]`)))
	// The reason template fills the comment.
	c.do(chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('form.action-form select[name="template"]');
		s.value = '请补充近景照片'; s.dispatchEvent(new Event('change')); })()`))
	if v := eval[string](c, `document.querySelector('form.action-form textarea[name="comment"]').value`); v != "请补充近景照片" {
		t.Fatalf("template gave comment %q", v)
	}
	c.shot("ask-more-form")
	c.do(chromedp.Click(chromedp.CSS(`form.action-form button[type="submit"]`)))
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'needs_info'`)
	c.shot("needs-info")
	d := c.caseDetail(id)
	last := d.History[len(d.History)-1]
	if d.Case.State != "needs_info" || last.Action != "ask_more" || last.Comment != "请补充近景照片" {
		t.Errorf("after ask_more: state %s, last entry %+v", d.Case.State, last)
	}
}

func TestConsoleResolveConflict(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("inspector1", testenv.InGrid1, "E0504")
	// The office changes the party; the tablet, offline since version 1, changes it too.
	c.env.Do("clerk", http.MethodPatch, "/api/v1/cases/"+id.String(), map[string]any{"base_version": 1,
		"fields": map[string]string{"party": "老王烧烤"}}, nil).Must(t, http.StatusOK)
	var out struct {
		Outcomes []struct {
			Status      string   `json:"status"`
			ConflictIDs []string `json:"conflict_ids"`
		} `json:"outcomes"`
	}
	res := c.env.Push("inspector1", map[string]any{"kind": "edit_fields", "case_id": id, "base_version": 1,
		"fields": map[string]string{"party": "王记烧烤"}}).Must(t, http.StatusOK)
	if err := json.Unmarshal(res.Body, &out); err != nil || len(out.Outcomes) != 1 || out.Outcomes[0].Status != "conflict" {
		t.Fatalf("push: %s", res.Body)
	}
	c.login("clerk1")
	c.goTo("#/conflicts")
	c.waitJS(`document.querySelectorAll('.conflict').length === 1`)
	text := eval[string](c, `document.querySelector('.conflict').innerText`)
	for _, want := range []string{"老王烧烤", "王记烧烤", "inspector1-tablet", "party"} {
		if !strings.Contains(text, want) {
			t.Errorf("conflict card lacks %q:\n%s", want, text)
		}
	}
	c.shot("conflict")
	merged := "王记烧烤（老王）"
	c.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('.conflict textarea[name="value"]').value = %q`, merged)),
		chromedp.SendKeys(chromedp.CSS(`.conflict input[name="comment"]`), "现场核对"),
		chromedp.Click(chromedp.CSS(`.conflict button[data-take="new"]`)))
	c.waitJS(`document.querySelectorAll('.conflict').length === 0 && document.querySelector('.conflicts .empty') !== null`)
	c.shot("resolved")
	d := c.caseDetail(id)
	if d.Case.Party != merged {
		t.Errorf("party = %q, want the merged value %q", d.Case.Party, merged)
	}
	if last := d.History[len(d.History)-1]; last.Kind != "conflict_resolved" || last.Comment != "现场核对" {
		t.Errorf("last history entry = %+v", last)
	}
}

// haversine is the great-circle distance in metres (the console computes the same).
func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

func photo(caseID uuid.UUID, stage, typ string, at time.Time, lat, lon float64) (uuid.UUID, map[string]any) {
	pid := testenv.NewID()
	return pid, map[string]any{"kind": "add_photo", "case_id": caseID, "photo": map[string]any{
		"id": pid, "stage": stage, "type": typ, "sha256": testenv.FakeSHA(pid.String()), "captured_at": at.UTC(),
		"gps": map[string]any{"lat": lat, "lon": lon, "accuracy": 4}}}
}

func TestConsoleCheckPassBeforeAfter(t *testing.T) {
	c := newConsole(t)
	e := c.env
	id := e.Report("inspector1", testenv.InGrid1, "E0504")
	e.Act("clerk", id, "register", nil)
	e.Act("clerk", id, "dispatch", map[string]any{"unit_id": testenv.Unit1})
	// The inspector fixes it: before and after photos, about 15 m apart, an hour apart.
	t0 := time.Now().Add(-2 * time.Hour)
	bLat, bLon := 34.86050, 117.55050
	aLat, aLon := 34.86060, 117.55060
	before, beforeCmd := photo(id, "report_done", "before", t0, bLat, bLon)
	after, afterCmd := photo(id, "report_done", "after", t0.Add(time.Hour), aLat, aLon)
	e.Push("inspector1", beforeCmd, afterCmd, map[string]any{"kind": "action", "case_id": id, "action": "report_done",
		"params": map[string]any{"disposition": "劝导整改", "photos": []uuid.UUID{before, after}}}).Must(t, http.StatusOK)
	e.Act("clerk", id, "send_check", nil)
	// A grid worker, not the fixer, takes the check photo.
	_, checkCmd := photo(id, "check", "check", t0.Add(90*time.Minute), 34.86052, 117.55051)
	e.Push("gw1", checkCmd).Must(t, http.StatusOK)
	if st := c.caseDetail(id).Case.State; st != "checking" {
		t.Fatalf("setup: state %s, want checking", st)
	}

	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	c.waitJS(`document.querySelectorAll('#compare .cmp-col').length === 3`)
	want := fmt.Sprintf("%d", int(math.Round(haversine(bLat, bLon, aLat, aLon))))
	note := eval[string](c, `document.querySelector('#compare li[data-pair="after"]').textContent`)
	if !strings.Contains(note, "相距 "+want+" 米") || !strings.Contains(note, "1小时") {
		t.Errorf("before/after note = %q, want a distance of %s m and an hour apart", note, want)
	}
	// Photos without bytes have no thumbnail yet: placeholders, not broken images.
	if n := eval[int](c, `document.querySelectorAll('#compare .thumb-ph').length`); n != 3 {
		t.Errorf("%d placeholders in the comparison, want 3", n)
	}
	c.shot("compare")
	c.do(chromedp.Click(chromedp.CSS(`button.action[data-action="check_pass"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.action-form[data-action="check_pass"]`)),
		chromedp.Click(chromedp.CSS(`form.action-form button[type="submit"]`)))
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'closed'`)
	c.shot("closed")
	if st := c.caseDetail(id).Case.State; st != "closed" {
		t.Errorf("after check_pass: state %s", st)
	}
}

// TestConsoleWithdrawPhoto: a supervisor withdraws an evidence photo from its
// preview with a reason; the photo leaves the evidence grid for the
// withdrawn list, greyed out with the reason, and the timeline says so. A
// clerk is not offered the button.
func TestConsoleWithdrawPhoto(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("inspector1", testenv.InGrid1, "E0504")
	reason := "拍到路人面部，按规定撤回"

	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	c.click(`#ph-title ~ .photo-grid figure.photo button.thumb-btn`)
	c.waitJS(`!!document.querySelector('dialog.preview[open]')`)
	if n := eval[int](c, `document.querySelectorAll('dialog.preview button.withdraw-open').length`); n != 0 {
		t.Errorf("a clerk is offered %d withdraw buttons", n)
	}
	c.click(`dialog.preview .form-buttons button:last-child`)
	c.logout()

	c.login("supervisor")
	c.goTo("#/cases/" + id.String())
	c.waitJS(`document.querySelectorAll('#ph-title ~ .photo-grid figure.photo').length === 1`)
	c.click(`#ph-title ~ .photo-grid figure.photo button.thumb-btn`)
	c.do(chromedp.WaitVisible(chromedp.CSS(`dialog.preview button.withdraw-open`)))
	c.click(`dialog.preview button.withdraw-open`)
	c.do(chromedp.WaitVisible(chromedp.CSS(`dialog.preview form.withdraw-form textarea`)),
		chromedp.SendKeys(chromedp.CSS(`dialog.preview form.withdraw-form textarea`), reason))
	c.shot("withdraw-form")
	c.click(`dialog.preview form.withdraw-form button[type="submit"]`)
	c.waitJS(`document.querySelectorAll('#withdrawn-photos figure.photo.withdrawn').length === 1 &&
		document.querySelectorAll('#ph-title ~ .photo-grid figure.photo').length === 0`)
	c.shot("withdrawn")
	if got := eval[string](c, `document.querySelector('#withdrawn-photos .withdrawn-reason').textContent`); !strings.Contains(got, reason) {
		t.Errorf("withdrawn photo shows %q, want the reason %q", got, reason)
	}
	if n := eval[int](c, `document.querySelectorAll('li.tl[data-kind="photo_withdrawn"]').length`); n != 1 {
		t.Errorf("%d photo_withdrawn timeline entries, want 1", n)
	}
	d := c.caseDetail(id)
	last := d.History[len(d.History)-1]
	if last.Kind != "photo_withdrawn" || last.Comment != reason {
		t.Errorf("last history entry %+v", last)
	}
}

// TestConsoleMergeDuplicate: the detail of a report lists the report of the
// same category 30 m away as a possible duplicate; the clerk voids this one
// as its duplicate, and the case is voided with a link to the one that stands.
func TestConsoleMergeDuplicate(t *testing.T) {
	c := newConsole(t)
	e := c.env
	first := e.Report("inspector1", testenv.InGrid1, "E0504")
	again := e.Report("gw1", models.Location{Lat: testenv.InGrid1.Lat + 0.00027, Lon: testenv.InGrid1.Lon, Accuracy: 5}, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + again.String())
	c.waitJS(fmt.Sprintf(`!!document.querySelector('#duplicates li.dup[data-id="%s"] button.dup-merge')`, first))
	c.shot("duplicates")
	c.click(`#duplicates li.dup button.dup-merge`)
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'voided'`)
	c.shot("merged")
	var d struct {
		Case struct {
			State      string     `json:"state"`
			LinkedCase *uuid.UUID `json:"linked_case"`
		} `json:"case"`
	}
	e.Do("clerk", http.MethodGet, "/api/v1/cases/"+again.String(), nil, &d).Must(t, http.StatusOK)
	if d.Case.State != "voided" || d.Case.LinkedCase == nil || *d.Case.LinkedCase != first {
		t.Errorf("after the merge: %+v", d.Case)
	}
	if got := c.caseDetail(first).History; got[len(got)-1].Kind != "duplicate_merged" {
		t.Errorf("the case that stands ends its history with %+v", got[len(got)-1])
	}
}

// TestConsoleBulkRegisterAndDispatch: a clerk selects every case of the
// list, registers them in one go (the one that cannot be registered is
// reported with its reason, the others are registered), then dispatches the
// registered ones to a unit.
func TestConsoleBulkRegisterAndDispatch(t *testing.T) {
	c := newConsole(t)
	e := c.env
	var ok []uuid.UUID
	for i := 0; i < 3; i++ {
		ok = append(ok, e.Report("inspector1", testenv.InGrid1, "E0504"))
	}
	stuck := e.Report("gw1", testenv.InGrid1, "E0504")
	e.Act("clerk", stuck, "ask_more", map[string]any{"comment": "请补充近景照片"})

	c.login("clerk1")
	c.goTo("#/cases")
	c.waitJS(`document.querySelectorAll('table.cases tbody input.pick').length === 4`)
	c.click(`#select-all`)
	c.waitJS(`!document.querySelector('#bulk-bar').hidden`)
	if got := eval[string](c, `document.querySelector('#bulk-bar .bulk-count').textContent`); !strings.Contains(got, "4") {
		t.Errorf("bulk bar says %q, want 4 selected", got)
	}
	c.shot("bulk-selected")
	c.click(`#bulk-bar button[type="submit"]`)
	c.waitJS(`!!document.querySelector('#bulk-bar .bulk-report p')`)
	c.shot("bulk-registered")
	if n := eval[int](c, fmt.Sprintf(`document.querySelectorAll('#bulk-bar .bulk-failed li[data-id="%s"]').length`, stuck)); n != 1 {
		t.Errorf("the case that cannot be registered is reported %d times", n)
	}
	for _, id := range ok {
		if st := c.caseDetail(id).Case.State; st != "registered" {
			t.Errorf("case %s is %s after the bulk register", id, st)
		}
	}
	if st := c.caseDetail(stuck).Case.State; st != "needs_info" {
		t.Errorf("the case waiting for more information is %s", st)
	}
	// The queue counts follow.
	c.waitJS(`document.querySelector('a.queue[data-state="registered"] .q-count')?.dataset.count === '3' &&
		document.querySelectorAll('nav.queues ul').length === 1`)

	// Dispatch the registered ones.
	c.goTo("#/cases?state=registered")
	c.waitJS(`document.querySelectorAll('table.cases tbody input.pick').length === 3`)
	c.click(`#select-all`)
	c.setSelect(`#bulk-bar select[name="bulk_action"]`, "dispatch")
	c.setSelect(`#bulk-bar select[name="bulk_unit"]`, testenv.Unit1)
	c.click(`#bulk-bar button[type="submit"]`)
	c.waitJS(`!!document.querySelector('#bulk-bar .bulk-report p')`)
	for _, id := range ok {
		if d := c.caseDetail(id); d.Case.State != "dispatched" || d.Case.UnitID != testenv.Unit1 {
			t.Errorf("case %s after the bulk dispatch: %s to %q", id, d.Case.State, d.Case.UnitID)
		}
	}
}

func TestConsoleExportGeoJSON(t *testing.T) {
	c := newConsole(t)
	ids := map[string]bool{}
	for _, loc := range []struct{ lat, lon float64 }{{testenv.InGrid1.Lat, testenv.InGrid1.Lon}, {testenv.InTown1Only.Lat, testenv.InTown1Only.Lon}} {
		l := testenv.InGrid1
		l.Lat, l.Lon = loc.lat, loc.lon
		ids[c.env.Report("inspector1", l, "E0504").String()] = true
	}
	c.env.Report("inspector2", testenv.InGrid2, "E0504") // outside clerk1's scope
	c.login("clerk1")
	c.goTo("#/cases?state=reported")
	href := eval[string](c, `document.getElementById('export-geojson').getAttribute('href')`)
	if !strings.HasPrefix(href, "/api/v1/exports/cases.geojson?") || !strings.Contains(href, "state=reported") {
		t.Errorf("GeoJSON link %q does not carry the filter", href)
	}
	c.shot("export")
	// Fetch what the link downloads, with the page's session.
	body := eval[string](c, `fetch(document.getElementById('export-geojson').href).then(async r => r.status + '\n' + (r.headers.get('Content-Type') || '') + '\n' + await r.text())`)
	status, rest, _ := strings.Cut(body, "\n")
	ctype, doc, _ := strings.Cut(rest, "\n")
	if status != "200" {
		t.Fatalf("export: status %s: %s", status, doc)
	}
	if !strings.Contains(ctype, "geo+json") && !strings.Contains(ctype, "json") {
		t.Errorf("export Content-Type %q", ctype)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Type     string `json:"type"`
			ID       any    `json:"id"`
			Geometry struct {
				Type        string    `json:"type"`
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(doc), &fc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, doc)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != len(ids) {
		t.Fatalf("export: type %q with %d features, want a FeatureCollection of %d", fc.Type, len(fc.Features), len(ids))
	}
	for _, f := range fc.Features {
		g := f.Geometry
		if f.Type != "Feature" || g.Type != "Point" || len(g.Coordinates) != 2 || g.Coordinates[0] < 117 || g.Coordinates[1] > 35 {
			t.Errorf("feature %+v: want a Point [lon, lat]", f)
		}
		id := fmt.Sprint(f.ID)
		if f.Properties != nil && f.Properties["id"] != nil {
			id = fmt.Sprint(f.Properties["id"])
		}
		if !ids[id] {
			t.Errorf("feature %s is not one of the filter's cases", id)
		}
	}
}

func TestConsoleOutOfScopeCaseNotFound(t *testing.T) {
	c := newConsole(t)
	other := c.env.Report("inspector2", testenv.InGrid2, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + other.String())
	c.do(chromedp.WaitVisible(chromedp.ID("not-found")))
	if n := eval[int](c, `document.querySelectorAll('button.action').length`); n != 0 {
		t.Errorf("%d action buttons on an out-of-scope case", n)
	}
	c.shot("not-found")
	// Acting on it from the page, with a valid CSRF token, is refused as not found too.
	res := eval[string](c, fmt.Sprintf(`fetch('/api/v1/cases/%s/transitions', {method: 'POST', headers: {'Content-Type': 'application/json',
		'X-CSRF-Token': sessionStorage.getItem('fieldsync.csrf')}, body: JSON.stringify({action: 'register'})})
		.then(async r => r.status + ' ' + (await r.json()).code)`, other))
	if res != "404 not_found" {
		t.Errorf("out-of-scope transition from the page: %s, want 404 not_found", res)
	}
	if st := c.caseDetail(other).Case.State; st != "reported" {
		t.Errorf("out-of-scope case moved to %s", st)
	}
}

func TestConsoleCSRF(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("inspector1", testenv.InGrid1, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	post := func(header string) string {
		return eval[string](c, fmt.Sprintf(`fetch('/api/v1/cases/%s/comments', {method: 'POST', credentials: 'same-origin',
			headers: Object.assign({'Content-Type': 'application/json'}, %s), body: JSON.stringify({body: '跨站请求'})})
			.then(async r => r.status + ' ' + ((await r.json()).code || 'ok'))`, id, header))
	}
	if got := post(`{}`); got != "403 csrf_failed" {
		t.Errorf("cookie POST without X-CSRF-Token: %s, want 403 csrf_failed", got)
	}
	if got := post(`{'X-CSRF-Token': 'not-the-token'}`); got != "403 csrf_failed" {
		t.Errorf("cookie POST with a wrong X-CSRF-Token: %s, want 403 csrf_failed", got)
	}
	if n := countComments(c, id); n != 0 {
		t.Fatalf("a refused request left %d comments", n)
	}
	// The console's own form sends the header and is accepted.
	c.do(chromedp.SendKeys(chromedp.CSS(`form.comment-form textarea`), "已电话联系当事人"),
		chromedp.Click(chromedp.CSS(`form.comment-form button[type="submit"]`)))
	c.waitJS(`[...document.querySelectorAll('.timeline li[data-kind="comment"]')].some(li => li.textContent.includes('已电话联系当事人'))`)
	if n := countComments(c, id); n != 1 {
		t.Errorf("after the console's comment: %d comments, want 1", n)
	}
	c.shot("comment")
	// A plain HTTP client holding the session cookie, without the header.
	tok := c.env.Login("clerk1", testenv.Password)
	req, _ := http.NewRequest(http.MethodPost, c.base+"/api/v1/cases/"+id.String()+"/comments", strings.NewReader(`{"body":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: "fieldsync_session", Value: tok})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || p.Code != "csrf_failed" {
		t.Errorf("cookie POST from a plain client: %d %s, want 403 csrf_failed", resp.StatusCode, p.Code)
	}
}

func countComments(c *console, id uuid.UUID) int {
	n := 0
	for _, h := range c.caseDetail(id).History {
		if h.Kind == "comment" {
			n++
		}
	}
	return n
}

func TestConsoleDevicesEnrolAndRevoke(t *testing.T) {
	c := newConsole(t)
	c.env.Push("inspector1", map[string]any{"kind": "add_comment", "case_id": c.env.Report("inspector1", testenv.InGrid1, "E0504"), "comment": "到达现场"})
	c.login("supervisor")
	c.goTo("#/devices")
	c.waitJS(`document.querySelectorAll('table.devices tbody tr').length >= 4`)
	// The inspector's tablet shows its last push.
	push := eval[string](c, `[...document.querySelectorAll('table.devices tbody tr')].find(r => r.textContent.includes('inspector1-tablet')).cells[2].textContent`)
	if !strings.HasPrefix(push, "20") {
		t.Errorf("inspector1's tablet: last push %q, want a time", push)
	}
	c.do(chromedp.SendKeys(chromedp.CSS(`form.enrol input[name="username"]`), "gw2"),
		chromedp.SendKeys(chromedp.CSS(`form.enrol input[name="name"]`), "PAD-0042"),
		chromedp.Click(chromedp.CSS(`form.enrol button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("device-token")))
	tok := eval[string](c, `document.getElementById('device-token').textContent`)
	if n := eval[int](c, `document.querySelectorAll('.token-box svg.qr path').length`); n != 1 {
		t.Errorf("no QR code beside the token")
	}
	c.shot("enrolled")
	// The token works, as the tablet would use it.
	c.env.DoToken(tok, http.MethodGet, "/api/v1/me", nil, nil).Must(t, http.StatusOK)
	c.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
	c.do(chromedp.Click(chromedp.CSS(`table.devices tbody tr:has(th) button.danger`)))
	c.waitJS(`[...document.querySelectorAll('table.devices tbody tr')].some(r => r.classList.contains('revoked'))`)
	var devs struct {
		Items []struct {
			Name      string  `json:"name"`
			RevokedAt *string `json:"revoked_at"`
		} `json:"items"`
	}
	c.env.Do("supervisor", http.MethodGet, "/api/v1/devices", nil, &devs).Must(t, http.StatusOK)
	revoked := 0
	for _, d := range devs.Items {
		if d.RevokedAt != nil {
			revoked++
		}
	}
	if revoked != 1 {
		t.Errorf("%d devices revoked, want 1", revoked)
	}
}

func TestConsoleMapFollowsFilter(t *testing.T) {
	c := newConsole(t)
	c.env.Report("inspector1", testenv.InGrid1, "E0504")
	c.env.Report("inspector1", testenv.InTown1Only, "E0101")
	id := c.env.Report("gw1", testenv.InGrid1, "E0504")
	c.env.Act("clerk", id, "register", nil)
	c.login("clerk")
	c.goTo("#/map?state=reported")
	c.waitJS(`document.getElementById('map')?.dataset.points === '2'`)
	// Both fixture grids are drawn, with no tile layer configured.
	if n := eval[int](c, `document.querySelectorAll('#map path.leaflet-interactive').length`); n < 2 {
		t.Errorf("%d vector paths on the map, want the 2 grids at least", n)
	}
	if n := eval[int](c, `document.querySelectorAll('#map .leaflet-tile').length`); n != 0 {
		t.Errorf("%d tiles without a tile URL", n)
	}
	c.shot("map")
	c.goTo("#/map?state=registered")
	c.waitJS(`document.getElementById('map')?.dataset.points === '1'`)
}

func TestConsoleStatsDrillDown(t *testing.T) {
	c := newConsole(t)
	var ids []uuid.UUID
	for i := 0; i < 3; i++ {
		ids = append(ids, c.env.Report("inspector1", testenv.InGrid1, "E0504"))
	}
	c.env.Act("clerk", ids[0], "register", nil)
	c.env.Act("clerk", ids[1], "register", nil)
	c.login("clerk1")
	c.goTo("#/stats?by=category")
	c.waitJS(`document.querySelector('#stats-totals tr[data-kind="registration_rate"]') !== null`)
	row := eval[[]string](c, `[...document.querySelector('#stats-totals tr[data-kind="registration_rate"]').cells].map(td => td.textContent)`)
	// 立案率 = 2 registered / 3 reported this month.
	if len(row) < 4 || row[1] != "66.7%" || row[2] != "2" || row[3] != "3" {
		t.Errorf("registration rate row = %q, want 66.7%% 2/3", row)
	}
	if n := eval[int](c, `document.querySelectorAll('svg.chart rect.bar').length`); n != 1 {
		t.Errorf("chart by category has %d bars, want 1 (one category)", n)
	}
	c.shot("stats")
	// The numerator is a link to the two registered cases.
	c.click(`#stats-totals tr[data-kind="registration_rate"] td:nth-child(3) a`)
	c.waitJS(`location.hash.startsWith('#/cases?ids=') && document.querySelector('main').dataset.ready === 'true'`)
	c.waitJS(`document.querySelectorAll('table.cases tbody tr[data-id]').length === 2`)
	got := eval[[]string](c, `[...document.querySelectorAll('table.cases tbody tr[data-id]')].map(r => r.dataset.id)`)
	want := map[string]bool{ids[0].String(): true, ids[1].String(): true}
	for _, id := range got {
		if !want[id] {
			t.Errorf("drill-down lists %s, not one of the registered cases", id)
		}
	}
	c.shot("drill-down")
}

func TestConsoleAuditLog(t *testing.T) {
	c := newConsole(t)
	id := c.env.Report("inspector1", testenv.InGrid1, "E0504")
	c.login("clerk1")
	c.goTo("#/cases/" + id.String())
	c.do(chromedp.Click(chromedp.CSS(`button.action[data-action="register"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.action-form[data-action="register"]`)),
		chromedp.Click(chromedp.CSS(`form.action-form button[type="submit"]`)))
	c.waitJS(`document.querySelector('article.detail')?.dataset.state === 'registered'`)
	// Search by case: the views and the registration, by clerk1.
	c.goTo("#/audit")
	c.do(chromedp.SendKeys(chromedp.CSS(`form.audit-form input[name="case"]`), id.String()),
		chromedp.Click(chromedp.CSS(`form.audit-form button[type="submit"]`)))
	c.waitJS(`location.hash.includes('case=` + id.String() + `') && document.querySelector('main').dataset.ready === 'true'`)
	// The rows arrive after the page marks itself ready for the new search:
	// wait for the search's own rows rather than read the previous list.
	c.waitJS(`[...document.querySelectorAll('table.audit tbody tr')].some(r => r.dataset.action === 'case.transition')`)
	actions := eval[[]string](c, `[...document.querySelectorAll('table.audit tbody tr')].map(r => r.dataset.action)`)
	joined := strings.Join(actions, ",")
	if !strings.Contains(joined, "case.view") || !strings.Contains(joined, "case.transition") {
		t.Errorf("audit of the case = %v, want its views and the transition", actions)
	}
	if text := eval[string](c, `document.querySelector('table.audit tbody').innerText`); !strings.Contains(text, "clerk1") || !strings.Contains(text, "action=register") {
		t.Errorf("audit rows lack the actor or the action:\n%s", text)
	}
	c.shot("audit")
	// The actor's name narrows the search to that user.
	c.click(`table.audit tbody tr td:nth-child(3) a`)
	c.waitJS(`location.hash.includes('user=') && document.querySelector('main').dataset.ready === 'true'`)
	if n := eval[int](c, `document.querySelectorAll('table.audit tbody tr').length`); n < 2 {
		t.Errorf("audit by user shows %d rows", n)
	}
}

// setSelect chooses a value in a <select> the way a user's choice does: the
// change event follows.
func (c *console) setSelect(css, value string) {
	c.t.Helper()
	ok := eval[bool](c, fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (!s) return false;
		s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return s.value === %q; })()`, css, value, value))
	if !ok {
		c.shot("failure")
		c.t.Fatalf("cannot choose %s in %s", value, css)
	}
}

func TestConsoleNewHotlineCase(t *testing.T) {
	c := newConsole(t)
	countCases := func() int {
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		c.env.Do("clerk", http.MethodGet, "/api/v1/cases?limit=500", nil, &l).Must(t, http.StatusOK)
		return len(l.Items)
	}
	c.login("clerk1")
	// The entry point is in the main navigation for a clerk.
	c.click(`.topnav a[data-view="new"]`)
	c.waitJS(`location.hash === '#/new' && document.querySelector('main').dataset.ready === 'true' && document.getElementById('newcase-form') !== null`)
	if title := eval[string](c, `document.getElementById('newcase-title').textContent`); title != "新建案件" {
		t.Errorf("form title %q", title)
	}
	// Every control has a label; the map draws the grids without a tile layer.
	if n := eval[int](c, `[...document.querySelectorAll('#newcase-form input, #newcase-form select, #newcase-form textarea')].filter(e => !(e.labels && e.labels.length)).length`); n != 0 {
		t.Errorf("%d form controls have no label", n)
	}
	c.waitJS(`document.getElementById('newcase-map').dataset.ready === 'true' && document.querySelector('#newcase-map path.grid-` + testenv.Grid1 + `') !== null`)
	if n := eval[int](c, `document.querySelectorAll('#newcase-map .leaflet-tile').length`); n != 0 {
		t.Errorf("%d tiles without a tile URL", n)
	}
	// The source defaults to the hotline; quantity appears with the category's unit.
	if src := eval[string](c, `document.querySelector('#newcase-form select[name="source"]').value`); src != "hotline" {
		t.Errorf("source defaults to %q, want hotline", src)
	}
	if !eval[bool](c, `document.querySelector('#newcase-form input[name="quantity"]').closest('.field').hidden`) {
		t.Error("quantity shown before a category that counts something is chosen")
	}
	// An empty form is refused on the page, the required fields marked.
	c.click(`#newcase-submit`)
	c.waitJS(`document.getElementById('newcase-error').dataset.code === 'form'`)
	invalid := eval[[]string](c, `[...document.querySelectorAll('#newcase-form [aria-invalid="true"]')].map(e => e.name)`)
	if strings.Join(invalid, ",") != "category,description,lat,lon" {
		t.Errorf("empty form marks %v, want category, description, lat and lon", invalid)
	}

	c.setSelect(`#newcase-form select[name="category"]`, "E0504")
	if label := eval[string](c, `(() => { const q = document.querySelector('#newcase-form input[name="quantity"]'); return q.closest('.field').hidden ? '' : q.labels[0].textContent; })()`); label != "数量（个）" {
		t.Errorf("quantity label %q, want 数量（个） for E0504", label)
	}
	c.do(chromedp.SendKeys(chromedp.CSS(`#newcase-form textarea[name="description"]`), "市民来电：门店占道摆放货架"),
		chromedp.SendKeys(chromedp.CSS(`#newcase-form input[name="address"]`), "君山路1号"),
		chromedp.SendKeys(chromedp.CSS(`#newcase-form input[name="party"]`), "老王烧烤"),
		chromedp.SendKeys(chromedp.CSS(`#newcase-form input[name="quantity"]`), "2"),
		chromedp.SendKeys(chromedp.CSS(`#newcase-form input[name="lat"]`), "91"),
		chromedp.SendKeys(chromedp.CSS(`#newcase-form input[name="lon"]`), fmt.Sprint(testenv.InGrid1.Lon)))
	// Latitude 91 is caught by the form itself.
	c.click(`#newcase-submit`)
	c.waitJS(`document.querySelector('#newcase-form input[name="lat"]').getAttribute('aria-invalid') === 'true'`)
	if msg := eval[string](c, `document.getElementById('newcase-lat-error').textContent`); !strings.Contains(msg, "-90 到 90") {
		t.Errorf("latitude message %q", msg)
	}
	// A page whose check is missing (stale or tampered with) sends it: the
	// server refuses it, and its problem is shown on the form.
	c.do(chromedp.Evaluate[chromedp.Void](`(() => { const i = document.querySelector('#newcase-form input[name="lat"]'); i.removeAttribute('min'); i.removeAttribute('max'); })()`))
	c.click(`#newcase-submit`)
	c.waitJS(`document.getElementById('newcase-error').dataset.code === 'invalid_location'`)
	got := eval[[]string](c, `[document.getElementById('newcase-error').textContent,
		document.querySelector('#newcase-form input[name="lat"]').getAttribute('aria-invalid') || '',
		document.activeElement?.name || '', location.hash]`)
	if !strings.Contains(got[0], "latitude 91") || got[1] != "true" || got[2] != "lat" || got[3] != "#/new" {
		t.Errorf("after the server's refusal: error %q, lat aria-invalid %q, focus on %q, at %s", got[0], got[1], got[2], got[3])
	}
	c.shot("invalid-location")
	if n := countCases(); n != 0 {
		t.Fatalf("a refused entry left %d cases", n)
	}

	// From the keyboard: Enter on the focused map picks its centre.
	c.do(chromedp.Focus(chromedp.ID("newcase-map")), chromedp.KeyEvent("\r"))
	c.waitJS(`(() => { const v = document.querySelector('#newcase-form input[name="lat"]').value; return v !== '' && Math.abs(Number(v) - 91) > 1; })()`)
	// Pick the point by clicking grid 1 on the map.
	xy := eval[[]float64](c, `(() => { const r = document.querySelector('#newcase-map path.grid-`+testenv.Grid1+`').getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()`)
	if xy[2] < 4 || xy[3] < 4 {
		t.Fatalf("grid 1 is %vx%v px on the map: too small to click", xy[2], xy[3])
	}
	c.do(chromedp.MouseClickXY(xy[0], xy[1]))
	c.waitJS(`document.getElementById('newcase-grid').dataset.grid === '` + testenv.Grid1 + `'`)
	ll := eval[[]string](c, `[document.querySelector('#newcase-form input[name="lat"]').value, document.querySelector('#newcase-form input[name="lon"]').value,
		document.querySelector('#newcase-form input[name="lat"]').getAttribute('aria-invalid') || '', document.getElementById('newcase-error').textContent]`)
	var lat, lon float64
	if _, err := fmt.Sscan(ll[0], &lat); err != nil {
		t.Fatalf("latitude %q after the map click: %v", ll[0], err)
	}
	if _, err := fmt.Sscan(ll[1], &lon); err != nil {
		t.Fatalf("longitude %q after the map click: %v", ll[1], err)
	}
	if lat < 34.86 || lat > 34.861 || lon < 117.55 || lon > 117.551 || ll[2] != "" || ll[3] != "" {
		t.Errorf("map click gave %v, %v (still invalid: %q, error %q), want a point in grid 1 and the error gone", lat, lon, ll[2], ll[3])
	}
	c.shot("form-filled")
	c.click(`#newcase-submit`)
	// Land on the new case's page; read it in the evaluation that sees it settled.
	page := eval[[]string](c, `new Promise(done => { const tick = () => {
		const a = document.querySelector('article.detail');
		if (a && document.querySelector('main').dataset.ready === 'true' && location.hash === '#/cases/' + a.dataset.id)
			done([a.dataset.id, a.dataset.state, a.querySelector('#case-title .badge').textContent, a.querySelector('dl.info').innerText]);
		else setTimeout(tick, 50);
	}; tick(); })`)
	if page[1] != "reported" || page[2] != "待受理" || !strings.Contains(page[3], "12345热线") || !strings.Contains(page[3], "老王烧烤") {
		t.Errorf("detail page: state %s badge %q, info:\n%s", page[1], page[2], page[3])
	}
	c.shot("created")
	id, err := uuid.Parse(page[0])
	if err != nil {
		t.Fatalf("case id %q: %v", page[0], err)
	}
	var d struct {
		Case struct {
			Category    string   `json:"category"`
			Description string   `json:"description"`
			Source      string   `json:"source"`
			GridCode    string   `json:"grid_code"`
			State       string   `json:"state"`
			Party       string   `json:"party"`
			Quantity    *float64 `json:"quantity"`
			Location    struct {
				Lat     float64 `json:"lat"`
				Lon     float64 `json:"lon"`
				Address string  `json:"address"`
			} `json:"location"`
		} `json:"case"`
	}
	c.env.Do("clerk", http.MethodGet, "/api/v1/cases/"+id.String(), nil, &d).Must(t, http.StatusOK)
	cs := d.Case
	if cs.GridCode != testenv.Grid1 || cs.Source != "hotline" || cs.State != "reported" || cs.Category != "E0504" ||
		cs.Description != "市民来电：门店占道摆放货架" || cs.Party != "老王烧烤" || cs.Quantity == nil || *cs.Quantity != 2 ||
		cs.Location.Address != "君山路1号" || math.Abs(cs.Location.Lat-lat) > 1e-9 || math.Abs(cs.Location.Lon-lon) > 1e-9 {
		t.Errorf("created case = %+v (quantity %v), want E0504 from the hotline in grid %s at %v, %v", cs, cs.Quantity, testenv.Grid1, lat, lon)
	}
	if n := countCases(); n != 1 {
		t.Errorf("%d cases after one entry, want 1", n)
	}
	// The form in English, for the screenshot.
	c.goTo("#/new")
	c.click(`header.top button.lang`)
	c.waitJS(`document.documentElement.lang === 'en' && document.getElementById('newcase-title')?.textContent === 'New case' && document.querySelector('main').dataset.ready === 'true'`)
	c.setSelect(`#newcase-form select[name="category"]`, "E0101")
	if label := eval[string](c, `document.querySelector('#newcase-form input[name="quantity"]').labels[0].textContent`); label != "Quantity (m²)" {
		t.Errorf("English quantity label %q for E0101", label)
	}
	c.shot("form-en")
}
