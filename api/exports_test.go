package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldsync/fieldsync/internal/testenv"
	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// exportFixture makes cases in town 1 (in clerk1's scope) with text that
// tests the formats, and one in town 2 (outside it). It returns the town 1
// case ids and the town 2 one.
func exportFixture(t *testing.T, e *testenv.Env) (town1 []uuid.UUID, town2 uuid.UUID, tricky uuid.UUID, formula uuid.UUID) {
	t.Helper()
	town1 = append(town1, e.Report("inspector1", testenv.InGrid1, "E0504"), e.Report("inspector1", testenv.InTown1Only, "E0101"))
	enter := func(desc, addr string) uuid.UUID {
		var res struct {
			Case struct {
				ID uuid.UUID `json:"id"`
			} `json:"case"`
		}
		e.Do("clerk", http.MethodPost, "/api/v1/cases", map[string]any{"category": "E0504", "description": desc, "source": "hotline",
			"location": map[string]any{"lat": 34.86055, "lon": 117.55052, "address": addr}}, &res).Must(t, http.StatusCreated)
		return res.Case.ID
	}
	tricky = enter("店外经营，\"占道\"摆摊；\n第二行：<b>&amp;</b> 😀", "君山路1号, 东侧")
	formula = enter("=HYPERLINK(\"http://evil\")", "+86 解放路")
	town1 = append(town1, tricky, formula)
	town2 = e.Report("inspector2", testenv.InGrid2, "E0504")
	e.Act("clerk", town1[0], "register", nil)
	e.Act("clerk", town1[0], "dispatch", map[string]any{"unit_id": testenv.Unit1})
	return town1, town2, tricky, formula
}

// listIDs pages through GET /api/v1/cases with query q as user.
func listIDs(t *testing.T, e *testenv.Env, user, q string) []uuid.UUID {
	t.Helper()
	var out []uuid.UUID
	cursor := ""
	for {
		var page struct {
			Items []struct {
				ID uuid.UUID `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		e.Do(user, http.MethodGet, "/api/v1/cases?limit=500&"+q+"&cursor="+cursor, nil, &page).Must(t, http.StatusOK)
		for _, it := range page.Items {
			out = append(out, it.ID)
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func sameSet(a, b []uuid.UUID) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	cmp := func(p, q uuid.UUID) int { return strings.Compare(p.String(), q.String()) }
	slices.SortFunc(x, cmp)
	slices.SortFunc(y, cmp)
	return slices.Equal(x, y)
}

func TestExports(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(dbName(pg), func(t *testing.T) { exportsE2E(t, pg) })
	}
}

func exportsE2E(t *testing.T, pg bool) {
	e := testenv.Start(t, testenv.Options{Postgres: pg})
	town1, town2, tricky, formula := exportFixture(t, e)
	all := append(slices.Clone(town1), town2)

	t.Run("csv", func(t *testing.T) {
		r := e.Do("clerk1", http.MethodGet, "/api/v1/exports/cases.csv", nil, nil).Must(t, http.StatusOK)
		if !bytes.HasPrefix(r.Body, bom) {
			t.Fatalf("the CSV does not start with the UTF-8 byte order mark: % x", r.Body[:min(8, len(r.Body))])
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(ct, "utf-8") {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".csv") {
			t.Errorf("Content-Disposition %q", cd)
		}
		if !bytes.Contains(r.Body, []byte("\r\n")) {
			t.Error("rows do not end with CRLF (Excel on Windows)")
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body[len(bom):])).ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv cannot read the export: %v", err)
		}
		wantHeader := []string{"案件编号", "类别代码", "类别名称", "状态", "问题描述", "地址", "纬度", "经度", "镇街", "网格", "责任单位",
			"上报人", "上报时间", "处置时限", "结案时间", "处置方式"}
		if !slices.Equal(rows[0], wantHeader) {
			t.Errorf("header %q", rows[0])
		}
		byID := map[uuid.UUID][]string{}
		var got []uuid.UUID
		for _, row := range rows[1:] {
			id, err := uuid.Parse(row[0])
			if err != nil {
				t.Fatalf("row id %q", row[0])
			}
			byID[id] = row
			got = append(got, id)
		}
		// Every case of clerk1's scope, none outside it.
		if !sameSet(got, town1) {
			t.Errorf("clerk1's CSV has %d cases %v, want town 1's %v", len(got), got, town1)
		}
		// Chinese text, quotes, commas, newlines and emoji round-trip.
		row := byID[tricky]
		if row[4] != "店外经营，\"占道\"摆摊；\n第二行：<b>&amp;</b> 😀" || row[5] != "君山路1号, 东侧" {
			t.Errorf("text did not round-trip: %q %q", row[4], row[5])
		}
		if row[2] != "店外经营" || row[3] != "待受理" || row[8] != "孟庄镇" || row[11] != "clerk" {
			t.Errorf("labels: category %q state %q town %q reporter %q", row[2], row[3], row[8], row[11])
		}
		if lat, _ := strconv.ParseFloat(row[6], 64); lat != 34.86055 {
			t.Errorf("lat %q", row[6])
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", row[12], models.ChinaTime()); err != nil {
			t.Errorf("created %q is not a spreadsheet date: %v", row[12], err)
		}
		// A cell a spreadsheet would run as a formula is defused.
		if f := byID[formula]; f[4] != "'=HYPERLINK(\"http://evil\")" || f[5] != "'+86 解放路" {
			t.Errorf("formula cells: %q %q", f[4], f[5])
		}
		d := byID[town1[0]]
		if d[3] != "已派遣" || d[10] != "市容环卫服务中心" || d[13] == "" || !strings.Contains(d[9], testenv.Grid1) {
			t.Errorf("dispatched case: state %q unit %q deadline %q grid %q", d[3], d[10], d[13], d[9])
		}

		// The supervisor sees the whole district; a filter narrows it.
		r = e.Do("supervisor", http.MethodGet, "/api/v1/exports/cases.csv?category=E0504&state=reported", nil, nil).Must(t, http.StatusOK)
		rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, bom))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, row := range rows[1:] {
			got = append(got, uuid.MustParse(row[0]))
		}
		if want := listIDs(t, e, "supervisor", "category=E0504&state=reported"); !sameSet(got, want) || len(want) != 3 {
			t.Errorf("filtered CSV %v, the list says %v", got, want)
		}
	})

	t.Run("geojson", func(t *testing.T) {
		for _, c := range []struct {
			user, query string
			want        []uuid.UUID
		}{
			{"supervisor", "", all},
			{"clerk1", "", town1},
			{"clerk1", "org_path=" + url.QueryEscape(testenv.District+"/"+testenv.Town2), nil}, // never outside the scope
			{"supervisor", "category=E0504&state=reported", listIDs(t, e, "supervisor", "category=E0504&state=reported")},
			{"supervisor", "ids=" + joinIDs([]uuid.UUID{town2, tricky}), []uuid.UUID{town2, tricky}},
		} {
			r := e.Do(c.user, http.MethodGet, "/api/v1/exports/cases.geojson?"+c.query, nil, nil).Must(t, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "application/geo+json" {
				t.Errorf("Content-Type %q", ct)
			}
			feats := validateRFC7946(t, r.Body)
			var got []uuid.UUID
			for _, f := range feats {
				got = append(got, uuid.MustParse(f.ID))
			}
			if !sameSet(got, c.want) {
				t.Errorf("%s %q: features %v, want %v", c.user, c.query, got, c.want)
			}
		}
		// Coordinates are [lon, lat] of the case, not swapped.
		r := e.Do("supervisor", http.MethodGet, "/api/v1/exports/cases.geojson?ids="+tricky.String(), nil, nil).Must(t, http.StatusOK)
		f := validateRFC7946(t, r.Body)
		if len(f) != 1 || f[0].Geometry.Coordinates[0] != 117.55052 || f[0].Geometry.Coordinates[1] != 34.86055 {
			t.Errorf("coordinates %v, want [117.55052, 34.86055]", f)
		}
		if p := f[0].Properties; p["description"] != "店外经营，\"占道\"摆摊；\n第二行：<b>&amp;</b> 😀" || p["state_label"] != "待受理" {
			t.Errorf("properties %v", p)
		}
	})

	t.Run("kml", func(t *testing.T) {
		for _, c := range []struct {
			user, query string
			want        []uuid.UUID
		}{
			{"supervisor", "", all},
			{"clerk1", "", town1},
			{"supervisor", "source=hotline", []uuid.UUID{tricky, formula}},
		} {
			r := e.Do(c.user, http.MethodGet, "/api/v1/exports/cases.kml?"+c.query, nil, nil).Must(t, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "application/vnd.google-earth.kml+xml" {
				t.Errorf("Content-Type %q", ct)
			}
			pms := parseKML(t, r.Body)
			var got []uuid.UUID
			for _, p := range pms {
				got = append(got, p.caseID)
				if p.id != "case-"+p.caseID.String() {
					t.Errorf("Placemark id %q for case %s", p.id, p.caseID)
				}
			}
			if !sameSet(got, c.want) || len(pms) != len(c.want) {
				t.Errorf("%s %q: %d Placemarks %v, want %v", c.user, c.query, len(pms), got, c.want)
			}
			for _, p := range pms {
				if p.caseID == tricky {
					if p.lon != 117.55052 || p.lat != 34.86055 {
						t.Errorf("Placemark at %v,%v", p.lon, p.lat)
					}
					if p.desc != "店外经营，\"占道\"摆摊；\n第二行：<b>&amp;</b> 😀" {
						t.Errorf("description %q", p.desc)
					}
				}
			}
		}
	})

	t.Run("audited", func(t *testing.T) {
		var list struct {
			Items []struct {
				ActorName string `json:"actor_name"`
				Detail    struct {
					Format string `json:"format"`
					Filter string `json:"filter"`
				} `json:"detail"`
			} `json:"items"`
		}
		e.Do("supervisor", http.MethodGet, "/api/v1/audit?action=export&limit=500", nil, &list).Must(t, http.StatusOK)
		seen := map[string]bool{}
		for _, it := range list.Items {
			seen[it.ActorName+" "+it.Detail.Format+" "+it.Detail.Filter] = true
		}
		for _, w := range []string{"clerk1 csv ", "supervisor csv category=E0504&state=reported", "supervisor kml source=hotline",
			"clerk1 geojson org_path=" + url.QueryEscape(testenv.District+"/"+testenv.Town2)} {
			if !seen[w] {
				t.Errorf("no audit entry %q among %v", w, seen)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, p := range []string{"cases.csv", "cases.geojson", "cases.kml"} {
			for _, u := range []string{"inspector1", "gw1", "uh1"} {
				e.Do(u, http.MethodGet, "/api/v1/exports/"+p, nil, nil).Must(t, http.StatusForbidden)
			}
			e.Do("", http.MethodGet, "/api/v1/exports/"+p, nil, nil).Must(t, http.StatusUnauthorized)
			if r := e.Do("clerk", http.MethodGet, "/api/v1/exports/"+p+"?state=bogus", nil, nil).Must(t, http.StatusUnprocessableEntity); r.Problem() != "invalid_input" {
				t.Errorf("bad filter: %s", r.Problem())
			}
		}
	})

	t.Run("pages", func(t *testing.T) {
		// More cases than one read takes: the export walks the pages.
		n := 1234
		ids := insertCases(t, e, n)
		for _, p := range []string{"cases.csv", "cases.geojson", "cases.kml"} {
			r := e.Do("supervisor", http.MethodGet, "/api/v1/exports/"+p+"?source=walk_in", nil, nil).Must(t, http.StatusOK)
			var got []uuid.UUID
			switch p {
			case "cases.csv":
				rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, bom))).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				for _, row := range rows[1:] {
					got = append(got, uuid.MustParse(row[0]))
				}
			case "cases.geojson":
				for _, f := range validateRFC7946(t, r.Body) {
					got = append(got, uuid.MustParse(f.ID))
				}
			case "cases.kml":
				for _, pm := range parseKML(t, r.Body) {
					got = append(got, pm.caseID)
				}
			}
			if len(got) != n || !sameSet(got, ids) {
				t.Errorf("%s: %d cases, want %d", p, len(got), n)
			}
		}
	})
}

// insertCases stores n walk-in cases in town 1 straight through the store,
// which is faster than the API for volume.
func insertCases(t testing.TB, e *testenv.Env, n int) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, 0, n)
	now := time.Now().UTC()
	for lo := 0; lo < n; lo += 2000 {
		var cs []models.Case
		for i := lo; i < min(n, lo+2000); i++ {
			id := uuid.Must(uuid.NewV7())
			ids = append(ids, id)
			cs = append(cs, models.Case{ID: id, Category: "E0504", Description: fmt.Sprintf("批量案件 %d，占道经营", i),
				Location: models.Location{Lat: 34.8605 + float64(i%100)*1e-5, Lon: 117.5505, Address: "君山路"},
				Source:   models.SourceWalkIn, OrgPath: testenv.District + "/" + testenv.Town1 + "/" + testenv.Village1 + "/" + testenv.Grid1,
				TownCode: testenv.Town1, VillageCode: testenv.Village1, GridCode: testenv.Grid1, State: models.StateReported,
				ReporterID: e.Users["clerk"].ID, ReporterRole: models.RoleClerk, CreatedAt: now, UpdatedAt: now,
				ClientCreatedAt: now, Version: 1})
		}
		if err := e.Server.Store.Update(ctx, func(tx models.Tx) error { return tx.PutCases(ctx, cs, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// geoFeature is what the RFC 7946 checks read of a feature.
type geoFeatureT struct {
	ID       string
	Geometry struct {
		Type        string
		Coordinates []float64
	}
	Properties map[string]any
}

// validateRFC7946 checks body is an RFC 7946 FeatureCollection of Point
// features and returns them. The checks are the RFC's: type members with the
// right values (§3.1, §3.2, §3.3), a Point's coordinates one position of two
// numbers, longitude then latitude in WGS84 range (§3.1.1, §3.1.2, §4), no
// crs member (§4), a geometry and a properties member on every feature
// (§3.2), an id that is a string or a number (§3.2).
func validateRFC7946(t *testing.T, body []byte) []geoFeatureT {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	if string(top["type"]) != `"FeatureCollection"` {
		t.Fatalf("type = %s, want FeatureCollection", top["type"])
	}
	if _, ok := top["crs"]; ok {
		t.Error("a crs member (RFC 7946 §4 removed it)")
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(top["features"], &raw); err != nil {
		t.Fatalf("features is not an array of objects: %v", err)
	}
	out := make([]geoFeatureT, 0, len(raw))
	for i, f := range raw {
		if string(f["type"]) != `"Feature"` {
			t.Fatalf("feature %d: type %s", i, f["type"])
		}
		for _, k := range []string{"geometry", "properties"} {
			if _, ok := f[k]; !ok {
				t.Fatalf("feature %d has no %s member", i, k)
			}
		}
		if _, ok := f["crs"]; ok {
			t.Errorf("feature %d has a crs member", i)
		}
		var id any
		if err := json.Unmarshal(f["id"], &id); err != nil {
			t.Fatalf("feature %d: id %s", i, f["id"])
		}
		if _, isStr := id.(string); !isStr {
			if _, isNum := id.(float64); !isNum {
				t.Errorf("feature %d: id is neither a string nor a number", i)
			}
		}
		var g map[string]json.RawMessage
		if err := json.Unmarshal(f["geometry"], &g); err != nil {
			t.Fatalf("feature %d: geometry is not an object", i)
		}
		if string(g["type"]) != `"Point"` {
			t.Fatalf("feature %d: geometry type %s", i, g["type"])
		}
		if _, ok := g["crs"]; ok {
			t.Errorf("feature %d: geometry has a crs member", i)
		}
		var pos []any
		if err := json.Unmarshal(g["coordinates"], &pos); err != nil || len(pos) != 2 {
			t.Fatalf("feature %d: coordinates %s is not one position of two numbers", i, g["coordinates"])
		}
		lon, ok1 := pos[0].(float64)
		lat, ok2 := pos[1].(float64)
		if !ok1 || !ok2 || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			t.Fatalf("feature %d: position %v is not [lon, lat] in WGS84 range", i, pos)
		}
		var ft geoFeatureT
		if err := json.Unmarshal(mustJSON(f), &ft); err != nil {
			t.Fatal(err)
		}
		out = append(out, ft)
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type placemark struct {
	id       string
	caseID   uuid.UUID
	lon, lat float64
	desc     string
}

// parseKML checks body is well-formed XML (every token, to the end) in the
// KML 2.2 namespace and returns its Placemarks.
func parseKML(t *testing.T, body []byte) []placemark {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the KML is not well-formed XML: %v", err)
		}
	}
	var doc struct {
		XMLName  xml.Name
		Document struct {
			Placemarks []struct {
				ID          string `xml:"id,attr"`
				Name        string `xml:"name"`
				Description string `xml:"description"`
				Data        []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value"`
				} `xml:"ExtendedData>Data"`
				Coordinates string `xml:"Point>coordinates"`
			} `xml:"Placemark"`
		} `xml:"Document"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("encoding/xml: %v", err)
	}
	if doc.XMLName.Space != "http://www.opengis.net/kml/2.2" || doc.XMLName.Local != "kml" {
		t.Fatalf("root element %v, want kml in the KML 2.2 namespace", doc.XMLName)
	}
	var out []placemark
	for _, p := range doc.Document.Placemarks {
		pm := placemark{id: p.ID, desc: p.Description}
		for _, d := range p.Data {
			if d.Name == "id" {
				pm.caseID = uuid.MustParse(d.Value)
			}
		}
		parts := strings.Split(strings.TrimSpace(p.Coordinates), ",")
		if len(parts) < 2 {
			t.Fatalf("Placemark %s: coordinates %q", p.ID, p.Coordinates)
		}
		pm.lon, _ = strconv.ParseFloat(parts[0], 64)
		pm.lat, _ = strconv.ParseFloat(parts[1], 64)
		if p.Name == "" {
			t.Errorf("Placemark %s has no name", p.ID)
		}
		out = append(out, pm)
	}
	return out
}

// TestExportLarge streams 100,000 cases in each format and samples the
// server's heap while it does: an export must not hold its cases in memory.
// It takes a while, so it runs only with FIELDSYNC_TEST_LARGE=1.
func TestExportLarge(t *testing.T) {
	if os.Getenv("FIELDSYNC_TEST_LARGE") == "" {
		t.Skip("FIELDSYNC_TEST_LARGE is not set")
	}
	e := testenv.Start(t, testenv.Options{Postgres: os.Getenv(testenv.PostgresEnv) != "" && os.Getenv("FIELDSYNC_TEST_LARGE") == "pg"})
	const n = 100000
	start := time.Now()
	insertCases(t, e, n)
	t.Logf("inserted %d cases in %v", n, time.Since(start))
	for _, p := range []string{"cases.csv", "cases.geojson", "cases.kml"} {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			}
		}()
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/exports/"+p, nil)
		req.Header.Set("Authorization", "Bearer "+e.Users["supervisor"].Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		size, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		close(stop)
		<-sampled
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", p, res.StatusCode, err)
		}
		grew := int64(peak.Load()) - int64(base)
		t.Logf("%s: %d bytes in %v, heap grew at most %d MiB", p, size, time.Since(start), grew>>20)
		if grew > 256<<20 {
			t.Errorf("%s: the heap grew by %d MiB during the export", p, grew>>20)
		}
	}
}
