package demo

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/refdata"
	"github.com/google/uuid"
)

var testNow = time.Date(2024, 3, 20, 10, 0, 0, 0, time.UTC) // the day of the press release

func TestDeterministic(t *testing.T) {
	a := Generate(testNow, 42)
	b := Generate(testNow, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two different datasets")
	}
	c := Generate(testNow, 43)
	if reflect.DeepEqual(a.Steps, c.Steps) {
		t.Fatal("another seed gave the same steps")
	}
	// A now given in another zone is the same instant.
	d := Generate(testNow.In(time.FixedZone("CST", 8*3600)), 42)
	if !reflect.DeepEqual(a, d) {
		t.Fatal("the zone of now changed the dataset")
	}
}

func TestCounts(t *testing.T) {
	ds := Generate(testNow, 1)

	towns := map[string]string{}
	villagesPerTown := map[string]int{}
	for _, o := range ds.RefData.Org {
		switch o.Level {
		case models.LevelTown:
			towns[o.Code] = o.Name
		case models.LevelVillage:
			villagesPerTown[o.ParentCode]++
		}
	}
	if len(towns) < 3 {
		t.Errorf("%d towns, want at least 3", len(towns))
	}
	for _, name := range []string{"中心街街道", "光明路街道", "孟庄镇", "税郭镇", "齐村镇"} {
		code := ""
		for c, n := range towns {
			if n == name {
				code = c
			}
		}
		if code == "" {
			t.Errorf("town %s is missing", name)
			continue
		}
		want := 3
		if name == "孟庄镇" {
			want = 8
		}
		if villagesPerTown[code] < want {
			t.Errorf("%s has %d villages, want at least %d", name, villagesPerTown[code], want)
		}
	}

	roles := map[models.Role]int{}
	for _, u := range ds.Users {
		roles[u.User.Role]++
		if u.Password == "" {
			t.Errorf("%s has no demo password", u.User.Username)
		}
	}
	want := map[models.Role]int{models.RoleAdmin: 1, models.RoleSupervisor: 2, models.RoleClerk: 3,
		models.RoleInspector: 6, models.RoleGridWorker: 8, models.RoleUnitHandler: 3}
	if !reflect.DeepEqual(roles, want) {
		t.Errorf("users per role %v, want %v", roles, want)
	}
	for _, u := range ds.Users {
		if u.User.Role == models.RoleGridWorker && len(u.Grids) == 0 {
			t.Errorf("grid worker %s has no grids", u.User.Username)
		}
	}

	cases := map[uuid.UUID]bool{}
	for _, s := range ds.Steps {
		if s.Cmd.Kind == models.CmdCreateCase {
			cases[s.Cmd.CaseID] = true
		}
	}
	if n := len(cases); n < 180 || n > 220 {
		t.Errorf("%d cases, want about 200", n)
	}
}

func TestGridWorkersInMengzhuangAndElsewhere(t *testing.T) {
	ds := Generate(testNow, 1)
	in, out := 0, 0
	for _, u := range ds.Users {
		if u.User.Role != models.RoleGridWorker {
			continue
		}
		if strings.HasPrefix(u.Grids[0], "370402101") {
			in++
		} else {
			out++
		}
		bound := 0
		for _, g := range ds.RefData.Grids {
			if g.WorkerID == u.User.ID {
				bound++
				if !slices.Contains(u.Grids, g.Code) {
					t.Errorf("grid %s names %s as worker but is not in their list", g.Code, u.User.Username)
				}
			}
		}
		if bound != len(u.Grids) {
			t.Errorf("%s: %d grids name them, %d listed", u.User.Username, bound, len(u.Grids))
		}
	}
	if in == 0 || out == 0 {
		t.Errorf("grid workers in 孟庄镇: %d, elsewhere: %d; want both", in, out)
	}
}

var gridCode = regexp.MustCompile(`^370402\d{8}$`)

func TestGeography(t *testing.T) {
	ds := Generate(testNow, 1)
	rd := ds.RefData
	org := map[string]models.OrgUnit{}
	for _, o := range rd.Org {
		if _, dup := org[o.Code]; dup {
			t.Fatalf("org code %s repeated", o.Code)
		}
		org[o.Code] = o
		if o.Level != models.LevelDistrict {
			parent := org[o.ParentCode]
			if o.Path != parent.Path+"/"+o.Code {
				t.Errorf("%s: path %q does not extend its parent's %q", o.Code, o.Path, parent.Path)
			}
		}
	}

	// Villages tile their town: a point of the town lies in at least one of
	// its villages, and in two only on a shared edge (never, at random).
	villages := map[string][]models.OrgUnit{}
	for _, o := range rd.Org {
		if o.Level == models.LevelVillage {
			villages[o.ParentCode] = append(villages[o.ParentCode], o)
		}
	}
	for _, town := range rd.Org {
		if town.Level != models.LevelTown {
			continue
		}
		b := ringBox(town.Boundary[0])
		for i := range 400 {
			lon := b[0] + (b[2]-b[0])*float64(i%20+1)/21
			lat := b[1] + (b[3]-b[1])*float64(i/20+1)/21
			if !geo.PointInPolygon(lon, lat, town.Boundary) {
				continue
			}
			n := 0
			for _, v := range villages[town.Code] {
				if geo.PointInPolygon(lon, lat, v.Boundary) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: (%v, %v) lies in %d of its villages", town.Name, lon, lat, n)
			}
		}
	}

	// Grids: valid codes under their village, wholly inside it, no two alike.
	seen := map[[2]float64]string{}
	perVillage := map[string]int{}
	for _, g := range rd.Grids {
		if !gridCode.MatchString(g.Code) || !strings.HasPrefix(g.Code, g.VillageCode) {
			t.Errorf("grid code %s is not 6+3+3+2 digits under village %s", g.Code, g.VillageCode)
		}
		v := org[g.VillageCode]
		if v.ParentCode != g.TownCode || g.OrgPath != v.Path+"/"+g.Code {
			t.Errorf("grid %s: town %s, path %s do not match village %s", g.Code, g.TownCode, g.OrgPath, v.Path)
		}
		for _, p := range g.Polygon[0] {
			if !geo.PointInPolygon(p[0], p[1], v.Boundary) {
				t.Errorf("grid %s sticks out of village %s at %v", g.Code, v.Name, p)
			}
		}
		sw := g.Polygon[0][0]
		if other, dup := seen[sw]; dup {
			t.Errorf("grids %s and %s overlap", g.Code, other)
		}
		seen[sw] = g.Code
		if g.MinLon != sw[0] || g.MinLat != sw[1] || g.MaxLon <= g.MinLon || g.MaxLat <= g.MinLat {
			t.Errorf("grid %s has a wrong bounding box", g.Code)
		}
		side := geo.HaversineMeters(g.MinLat, g.MinLon, g.MinLat, g.MaxLon)
		if side < 99 || side > 101 {
			t.Errorf("grid %s is %.1f m wide, want 100", g.Code, side)
		}
		perVillage[g.VillageCode]++
	}
	// Every village has grids, yet some of it is not covered.
	loc := geo.NewLocator(rd)
	for _, v := range rd.Org {
		if v.Level != models.LevelVillage {
			continue
		}
		if perVillage[v.Code] == 0 {
			t.Errorf("village %s has no grids", v.Name)
		}
		b := ringBox(v.Boundary[0])
		uncovered := false
		for i := 0; i < 900 && !uncovered; i++ {
			lon := b[0] + (b[2]-b[0])*float64(i%30+1)/31
			lat := b[1] + (b[3]-b[1])*float64(i/30+1)/31
			a := loc.Locate(lat, lon)
			uncovered = a.VillageCode == v.Code && a.GridCode == ""
		}
		if !uncovered {
			t.Errorf("grids cover all of village %s", v.Name)
		}
	}

	// Road segments: named, in a town, with a leader.
	names := map[string]bool{}
	for _, s := range rd.Segments {
		if _, ok := org[s.TownCode]; !ok || s.Leader == "" || len(s.Line) < 2 {
			t.Errorf("segment %s %s: town %q leader %q", s.ID, s.Name, s.TownCode, s.Leader)
		}
		names[strings.SplitN(s.Name, "（", 2)[0]] = true
	}
	for _, road := range []string{"君山路", "北马路", "解放路", "大众路", "文化西路"} {
		if !names[road] {
			t.Errorf("no segment of %s", road)
		}
	}
	if !slices.ContainsFunc(rd.Segments, func(s models.RoadSegment) bool { return s.Name == "解放路（君山路—振兴路段）" }) {
		t.Error("segments are not named after their crossings")
	}

	// Units: the sanitation centre, the squads, and one per town.
	units := map[string]models.Unit{}
	for _, u := range rd.Units {
		units[u.ID] = u
	}
	for code := range villages {
		if _, ok := units[townUnit(code)]; !ok {
			t.Errorf("town %s has no unit", code)
		}
	}
	if units[unitSanitation].Name != "市中区市容环卫服务中心" || units[unitSquad1].Name != "市中区综合行政执法大队一中队" {
		t.Error("the district's own units are missing")
	}
	cats, _ := refdata.Categories()
	if !reflect.DeepEqual(rd.Categories, cats) {
		t.Error("the dataset does not carry the built-in categories")
	}
}

func ringBox(r [][2]float64) [4]float64 {
	b := [4]float64{r[0][0], r[0][1], r[0][0], r[0][1]}
	for _, p := range r {
		b[0], b[1] = min(b[0], p[0]), min(b[1], p[1])
		b[2], b[3] = max(b[2], p[0]), max(b[3], p[1])
	}
	return b
}

func TestCaseLocations(t *testing.T) {
	ds := Generate(testNow, 1)
	loc := geo.NewLocator(ds.RefData)
	inGrid, townOnly, onRoad := 0, 0, 0
	for _, s := range ds.Steps {
		if s.Cmd.Kind != models.CmdCreateCase {
			continue
		}
		l := s.Cmd.Create.Location
		a := loc.Locate(l.Lat, l.Lon)
		switch {
		case a.GridCode != "":
			inGrid++
		case a.TownCode != "":
			townOnly++ // 属地兜底: the town is responsible
		default:
			t.Errorf("case %s at (%v, %v) resolves to no grid and no town", s.Cmd.CaseID, l.Lat, l.Lon)
		}
		if a.RoadSegmentID != "" {
			onRoad++
		}
		if l.Address == "" || l.Accuracy <= 0 {
			t.Errorf("case %s has no address or accuracy", s.Cmd.CaseID)
		}
	}
	if townOnly < 5 || inGrid < 150 {
		t.Errorf("%d cases in grids, %d outside any grid: want most in grids and some outside", inGrid, townOnly)
	}
	if onRoad < 20 {
		t.Errorf("only %d cases on a road segment", onRoad)
	}
}

func TestCategoriesAndTexts(t *testing.T) {
	ds := Generate(testNow, 1)
	cats := map[string]models.Category{}
	for _, c := range ds.RefData.Categories {
		cats[c.Code] = c
	}
	count := map[string]int{}
	for _, s := range ds.Steps {
		if s.Cmd.Kind == models.CmdCreateCase {
			d := s.Cmd.Create
			if _, ok := cats[d.Category]; !ok {
				t.Errorf("unknown category %s", d.Category)
			}
			if d.Description == "" || strings.ContainsAny(d.Description, "{}") {
				t.Errorf("bad description %q", d.Description)
			}
			if (cats[d.Category].Quantity != "") != (d.Quantity != nil) {
				t.Errorf("%s: quantity %v does not match the category's unit %q", d.Category, d.Quantity, cats[d.Category].Quantity)
			}
			count[d.Category]++
		}
		if s.Cmd.Kind == models.CmdAddComment && !hasHan(s.Cmd.Comment) {
			t.Errorf("comment %q is not in Chinese", s.Cmd.Comment)
		}
	}
	// The common problems of the press release dominate.
	common := count["E0504"] + count["E0560"] + count["E0501"] + count["E0201"] + count["E0101"] + count["E0561"] + count["E0507"]
	if common < 80 {
		t.Errorf("only %d of the cases are of the common categories: %v", common, count)
	}
	if len(count) < 15 {
		t.Errorf("only %d categories used", len(count))
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// TestReplay applies every step in order to a model of the server's write
// path: the scope check, the evidence count and models.Apply. It proves every
// step legal when it is applied, and checks the bookkeeping of the commands.
func TestReplay(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 7, 2024} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ds := Generate(testNow, seed)
			r := replay(t, ds, testNow)
			for _, s := range models.States {
				if r.final[s] == 0 {
					t.Errorf("no case ends in state %s", s)
				}
			}
			if r.rework == 0 || r.escalated == 0 || r.forced == 0 || r.linked == 0 || r.recat == 0 {
				t.Errorf("rework %d, escalated %d, force-closed %d, linked %d, recategorised %d: want each",
					r.rework, r.escalated, r.forced, r.linked, r.recat)
			}
			for _, a := range models.Actions {
				if !r.actions[a] {
					t.Errorf("no step takes action %s", a)
				}
			}
		})
	}
	// More seeds and moments, only for the generator's own checks (it panics
	// on any step the state machine refuses).
	for seed := uint64(100); seed < 130; seed++ {
		now := testNow.Add(time.Duration(seed*37) * time.Hour)
		replay(t, Generate(now, seed), now)
	}
}

type replayResult struct {
	final                                    map[models.State]int
	actions                                  map[models.Action]bool
	rework, escalated, forced, linked, recat int
}

func replay(t *testing.T, ds Dataset, now time.Time) replayResult {
	t.Helper()
	users := map[string]User{}
	for _, u := range ds.Users {
		users[u.User.Username] = u
	}
	devices := map[string]Device{}
	for _, d := range ds.Devices {
		if users[d.Username].User.Role.IsOffice() {
			t.Errorf("device %s belongs to office user %s", d.Name, d.Username)
		}
		devices[d.Name] = d
	}
	cats := map[string]models.Category{}
	for _, c := range ds.RefData.Categories {
		cats[c.Code] = c
	}
	units := map[string]bool{}
	for _, u := range ds.RefData.Units {
		units[u.ID] = true
	}
	loc := geo.NewLocator(ds.RefData)
	cal := models.DefaultCalendar()
	deadline := func(c *models.Case, start time.Time) *time.Time {
		d := cal.Deadline(start, cats[c.Category].Limit).UTC()
		return &d
	}

	cases := map[uuid.UUID]*models.Case{}
	photos := map[uuid.UUID]models.PhotoRecord{}
	byCase := map[uuid.UUID][]uuid.UUID{}
	seq := map[string]int64{}
	ids := map[uuid.UUID]bool{}
	res := replayResult{final: map[models.State]int{}, actions: map[models.Action]bool{}}
	var last time.Time

	evidence := func(c *models.Case, named []uuid.UUID) (models.Evidence, error) {
		var ev models.Evidence
		all := slices.Clone(byCase[c.ID])
		for _, id := range named {
			p, ok := photos[id]
			if !ok || p.CaseID != c.ID {
				return ev, fmt.Errorf("names photo %s that is not on the case", id)
			}
			if !slices.Contains(all, id) {
				all = append(all, id)
			}
		}
		for _, id := range all {
			p := photos[id]
			ev.Add(p.Type)
			if p.Type == models.PhotoCheck && p.UploaderID != c.HandledBy {
				ev.CheckByOther = true
			}
		}
		return ev, nil
	}

	for i, s := range ds.Steps {
		fail := func(format string, args ...any) {
			t.Fatalf("step %d (%s %s %s by %s): %s", i, s.Cmd.Kind, s.Cmd.Action, s.Cmd.CaseID, s.Username, fmt.Sprintf(format, args...))
		}
		if s.At.Before(last) || s.At.After(now) || s.At.Before(now.Add(-90*24*time.Hour)) {
			fail("at %v: out of order or outside the 90 days before now", s.At)
		}
		last = s.At
		u, ok := users[s.Username]
		if !ok {
			fail("unknown user")
		}
		actor := models.Actor{UserID: u.User.ID, Username: u.User.Username, Name: u.User.Name, Role: u.User.Role,
			Scope: models.ScopeFor(u.User, u.Grids)}
		cmd := s.Cmd
		if s.DeviceName != "" {
			d, ok := devices[s.DeviceName]
			if !ok || d.Username != s.Username {
				fail("device %q is not %s's", s.DeviceName, s.Username)
			}
			actor.DeviceID = d.ID
			seq[s.DeviceName]++
			if cmd.Seq != seq[s.DeviceName] {
				fail("seq %d, want %d", cmd.Seq, seq[s.DeviceName])
			}
		} else if cmd.Seq != 0 || !u.User.Role.IsOffice() {
			fail("console step with seq %d by role %s", cmd.Seq, u.User.Role)
		}
		if cmd.ID.Version() != 7 || ids[cmd.ID] {
			fail("command id %s is not a fresh UUIDv7", cmd.ID)
		}
		ids[cmd.ID] = true
		if cmd.ClientTime.IsZero() || cmd.ClientTime.After(s.At) {
			fail("client time %v after server time %v", cmd.ClientTime, s.At)
		}
		c := cases[cmd.CaseID]
		var version int64
		if c != nil {
			version = c.Version
		}
		if cmd.BaseVersion != version {
			fail("base version %d, case is at %d", cmd.BaseVersion, version)
		}
		if c != nil && !actor.Scope.Covers(c) {
			fail("the actor cannot see the case (%s, %s)", c.OrgPath, c.UnitID)
		}

		switch cmd.Kind {
		case models.CmdAddPhoto:
			p := *cmd.Photo
			if p.ID.Version() != 7 || ids[p.ID] || p.CaseID != cmd.CaseID || len(p.SHA256) != 64 ||
				strings.ToLower(p.SHA256) != p.SHA256 || p.CapturedAt == nil || p.GPS == nil ||
				!slices.Contains(models.PhotoTypes, p.Type) || p.UploaderID != u.User.ID || p.DeviceID != actor.DeviceID {
				fail("bad photo record %+v", p)
			}
			ids[p.ID] = true
			photos[p.ID] = p
			byCase[p.CaseID] = append(byCase[p.CaseID], p.ID)
			if c == nil {
				// Before its case: the create must follow in the same push.
				j := i + 1
				for j < len(ds.Steps) && ds.Steps[j].Cmd.Kind == models.CmdAddPhoto {
					j++
				}
				if j == len(ds.Steps) || ds.Steps[j].Cmd.Kind != models.CmdCreateCase || ds.Steps[j].Cmd.CaseID != cmd.CaseID ||
					ds.Steps[j].DeviceName != s.DeviceName || !ds.Steps[j].At.Equal(s.At) {
					fail("a photo before its case is not followed by the case's create_case at the same time")
				}
			} else {
				c.Version++
			}
		case models.CmdAddComment:
			if c == nil || strings.TrimSpace(cmd.Comment) == "" {
				fail("comment on no case, or empty")
			}
			c.Version++
		case models.CmdCreateCase:
			d := cmd.Create
			if c != nil || cmd.CaseID.Version() != 7 || !d.Submit || actor.DeviceID == uuid.Nil {
				fail("bad create")
			}
			if _, ok := cats[d.Category]; !ok {
				fail("unknown category %s", d.Category)
			}
			if err := d.Location.Validate(); err != nil {
				fail("location: %v", err)
			}
			nc := &models.Case{ID: cmd.CaseID, Category: d.Category, Description: d.Description, Location: d.Location,
				Party: d.Party, Quantity: d.Quantity, Source: models.SourceDevice, ReporterID: u.User.ID,
				ReporterRole: u.User.Role, DeviceID: actor.DeviceID, LinkedCase: d.LinkedCase}
			a := loc.Locate(d.Location.Lat, d.Location.Lon)
			nc.OrgPath, nc.TownCode, nc.VillageCode, nc.GridCode, nc.RoadSegmentID = a.OrgPath, a.TownCode, a.VillageCode, a.GridCode, a.RoadSegmentID
			ev, err := evidence(nc, d.Photos)
			if err != nil {
				fail("%v", err)
			}
			next, err := models.Apply(models.Transition{Case: nc, Actor: actor, Action: models.ActionSubmit,
				Params: models.ActionParams{Photos: d.Photos}, Evidence: ev, Now: s.At})
			if err != nil {
				fail("submit refused: %v", err)
			}
			next.Version = 1
			cases[next.ID] = &next
			if d.LinkedCase != uuid.Nil {
				old := cases[d.LinkedCase]
				if old == nil || old.State != models.StateClosed || old.Category != d.Category {
					fail("linked to a case that is not an earlier closed case of the category")
				}
				res.linked++
			}
			res.actions[models.ActionSubmit] = true
		case models.CmdAction:
			if c == nil {
				fail("action on no case")
			}
			if !models.Allowed(c.State, u.User.Role, cmd.Action) {
				fail("table refuses %s in %s for %s", cmd.Action, c.State, u.User.Role)
			}
			if cmd.Params.UnitID != "" && !units[cmd.Params.UnitID] {
				fail("unknown unit %s", cmd.Params.UnitID)
			}
			if cmd.Params.Category != "" {
				if _, ok := cats[cmd.Params.Category]; !ok {
					fail("unknown category %s", cmd.Params.Category)
				}
				res.recat++
			}
			ev, err := evidence(c, cmd.Params.Photos)
			if err != nil {
				fail("%v", err)
			}
			next, err := models.Apply(models.Transition{Case: c, Actor: actor, Action: cmd.Action, Params: cmd.Params,
				Evidence: ev, Now: s.At, DefaultDeadline: deadline})
			if err != nil {
				fail("refused: %v", err)
			}
			next.Version = c.Version + 1
			*c = next
			res.actions[cmd.Action] = true
		default:
			fail("unexpected kind")
		}
	}
	for _, c := range cases {
		res.final[c.State]++
		if c.ReworkCount > 0 {
			res.rework++
		}
		if c.Escalated {
			res.escalated++
		}
		if c.ForceClosed {
			res.forced++
		}
	}
	return res
}

func TestBatches(t *testing.T) {
	ds := Generate(testNow, 5)
	var flat []Step
	for _, b := range ds.Batches() {
		if len(b) == 0 {
			t.Fatal("empty batch")
		}
		for _, s := range b {
			if s.DeviceName != b[0].DeviceName || !s.At.Equal(b[0].At) {
				t.Fatalf("a batch mixes devices or times: %+v", b)
			}
		}
		if b[0].DeviceName == "" && len(b) != 1 {
			t.Fatalf("a console batch of %d steps", len(b))
		}
		// A photo of a case not yet created is in the batch of its create.
		for k, s := range b {
			if s.Cmd.Kind != models.CmdAddPhoto {
				continue
			}
			created := slices.ContainsFunc(flat, func(p Step) bool { return p.Cmd.Kind == models.CmdCreateCase && p.Cmd.CaseID == s.Cmd.CaseID })
			if !created && !slices.ContainsFunc(b[k:], func(p Step) bool { return p.Cmd.Kind == models.CmdCreateCase && p.Cmd.CaseID == s.Cmd.CaseID }) {
				t.Fatalf("photo %s arrives in a batch without its case", s.Cmd.Photo.ID)
			}
		}
		flat = append(flat, b...)
	}
	if !reflect.DeepEqual(flat, ds.Steps) {
		t.Fatal("the batches do not add up to the steps")
	}
}
