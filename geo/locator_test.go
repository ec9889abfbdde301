package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// Test geography, in degrees near the district (lon 117.5x, lat 34.8x):
//
//	town T1 (370402101): [117.50, 117.52] × [34.80, 34.82]
//	  village V1 (…101201): west half [117.50, 117.51]
//	    grid 01: [117.500, 117.505] × [34.800, 34.805], with a hole [117.502, 117.503]²-ish
//	    grid 02: [117.505, 117.510] × [34.800, 34.805] (shares an edge with 01)
//	  village V2 (…101202): east half [117.51, 117.52]
//	  the strip [117.50, 117.52] × [34.815, 34.82] belongs to T1 but to no village
//	town T2 (370402102): no boundary, centre (117.60, 34.80)
//	road R1 along lat 34.801 from lon 117.500 to 117.520
//	road R2 along lat 34.8013 from lon 117.500 to 117.505
func testRefData() models.RefData {
	sq := func(x0, y0, x1, y1 float64) [][][2]float64 { return [][][2]float64{square(x0, y0, x1, y1)} }
	hole := square(117.502, 34.802, 117.503, 34.803)
	return models.RefData{
		Version: 7,
		Org: []models.OrgUnit{
			{Code: "370402", Level: models.LevelDistrict, Name: "市中区", Path: "370402"},
			{Code: "370402101", ParentCode: "370402", Level: models.LevelTown, Name: "孟庄镇",
				Boundary: sq(117.50, 34.80, 117.52, 34.82), Center: [2]float64{117.51, 34.81}},
			{Code: "370402102", ParentCode: "370402", Level: models.LevelTown, Name: "齐村镇",
				Center: [2]float64{117.60, 34.80}},
			{Code: "370402101201", ParentCode: "370402101", Level: models.LevelVillage, Name: "孟庄村",
				Boundary: sq(117.50, 34.80, 117.51, 34.815)},
			{Code: "370402101202", ParentCode: "370402101", Level: models.LevelVillage, Name: "张范村",
				Boundary: sq(117.51, 34.80, 117.52, 34.815)},
		},
		Grids: []models.Grid{
			// Listed out of code order on purpose.
			{Code: "37040210120102", VillageCode: "370402101201", TownCode: "370402101",
				Polygon: sq(117.505, 34.800, 117.510, 34.805)},
			{Code: "37040210120101", VillageCode: "370402101201", // town derived from the village
				Polygon: [][][2]float64{square(117.500, 34.800, 117.505, 34.805), hole}},
			{Code: "37040210120199", VillageCode: "370402101201"}, // no polygon: ignored
		},
		Segments: []models.RoadSegment{
			{ID: "R1", Name: "孟庄大街", Line: [][2]float64{{117.500, 34.801}, {117.520, 34.801}}},
			{ID: "R2", Name: "茶香大道", Line: [][2]float64{{117.500, 34.8013}, {117.505, 34.8013}}},
			{ID: "R0"}, // no line: ignored
		},
	}
}

func TestLocate(t *testing.T) {
	l := NewLocator(testRefData())
	const (
		d   = "370402"
		t1  = "370402101"
		t2  = "370402102"
		v1  = "370402101201"
		v2  = "370402101202"
		g1  = "37040210120101"
		g2  = "37040210120102"
		mLa = 1 / 111195.08 // degrees of latitude per metre
	)
	tests := []struct {
		name     string
		lat, lon float64
		want     Assignment
	}{
		{"in grid 01", 34.8040, 117.5010, Assignment{OrgPath: d + "/" + t1 + "/" + v1 + "/" + g1, TownCode: t1, VillageCode: v1, GridCode: g1}},
		{"in grid 02", 34.8040, 117.5080, Assignment{OrgPath: d + "/" + t1 + "/" + v1 + "/" + g2, TownCode: t1, VillageCode: v1, GridCode: g2}},
		{"on the edge shared by 01 and 02: the lower code", 34.8040, 117.5050, Assignment{OrgPath: d + "/" + t1 + "/" + v1 + "/" + g1, TownCode: t1, VillageCode: v1, GridCode: g1}},
		{"on the outer edge of grid 02", 34.8050, 117.5080, Assignment{OrgPath: d + "/" + t1 + "/" + v1 + "/" + g2, TownCode: t1, VillageCode: v1, GridCode: g2}},
		{"in the hole of grid 01: the village", 34.8025, 117.5025, Assignment{OrgPath: d + "/" + t1 + "/" + v1, TownCode: t1, VillageCode: v1}},
		{"on the hole's edge: grid 01", 34.8025, 117.5020, Assignment{OrgPath: d + "/" + t1 + "/" + v1 + "/" + g1, TownCode: t1, VillageCode: v1, GridCode: g1}},
		{"village 1 outside the grids", 34.8100, 117.5050, Assignment{OrgPath: d + "/" + t1 + "/" + v1, TownCode: t1, VillageCode: v1}},
		{"village 2", 34.8100, 117.5150, Assignment{OrgPath: d + "/" + t1 + "/" + v2, TownCode: t1, VillageCode: v2}},
		{"town strip outside every village", 34.8180, 117.5100, Assignment{OrgPath: d + "/" + t1, TownCode: t1}},
		{"near town 2's centre", 34.8500, 117.6000, Assignment{OrgPath: d + "/" + t2, TownCode: t2}},
		{"19 km from town 2's centre", 34.80 + 19000*mLa, 117.60, Assignment{OrgPath: d + "/" + t2, TownCode: t2}},
		{"21 km from every centre: district only", 34.80 - 21000*mLa, 117.60, Assignment{OrgPath: d}},
		{"far away", 39.9, 116.4, Assignment{OrgPath: d}},
		{"NaN", math.NaN(), 117.5, Assignment{OrgPath: d}},
		{"Inf", 34.8, math.Inf(-1), Assignment{OrgPath: d}},
	}
	for _, tt := range tests {
		got := l.Locate(tt.lat, tt.lon)
		got.RoadSegmentID = "" // roads have their own test
		tt.want.RefVersion = 7
		if got != tt.want {
			t.Errorf("%s: Locate(%v, %v) =\n  %+v\nwant %+v", tt.name, tt.lat, tt.lon, got, tt.want)
		}
	}
}

func TestLocateRoad(t *testing.T) {
	l := NewLocator(testRefData())
	mLa := 1 / 111195.08
	tests := []struct {
		name     string
		lat, lon float64
		want     string
	}{
		{"on R1", 34.801, 117.515, "R1"},
		{"25 m south of R1", 34.801 - 25*mLa, 117.515, "R1"},
		{"31 m north of R1", 34.801 + 31*mLa, 117.515, ""},
		{"between R1 and R2, nearer R2", 34.8012, 117.503, "R2"},
		{"between R1 and R2, nearer R1", 34.80110, 117.503, "R1"},
		{"past R2's end, only R1 near", 34.8012, 117.508, "R1"},
		{"far", 34.9, 117.6, ""},
	}
	for _, tt := range tests {
		if got := l.Locate(tt.lat, tt.lon).RoadSegmentID; got != tt.want {
			t.Errorf("%s: segment %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLocateEmptyRefData(t *testing.T) {
	l := NewLocator(models.RefData{Version: 3})
	if got := l.Locate(34.8, 117.5); got != (Assignment{RefVersion: 3}) {
		t.Errorf("empty reference data: %+v", got)
	}
}

// gridRefData builds n×n square grids of about 100 m from (lon0, lat0), in
// one village of one town, like the unit grids of a district.
func gridRefData(n int) models.RefData {
	const lon0, lat0 = 117.50, 34.80
	dLat := 100.0 / 111195.08
	dLon := 100.0 / (111195.08 * math.Cos(lat0*math.Pi/180))
	rd := models.RefData{
		Version: 1,
		Org: []models.OrgUnit{
			{Code: "370402", Level: models.LevelDistrict},
			{Code: "370402101", ParentCode: "370402", Level: models.LevelTown, Center: [2]float64{lon0, lat0}},
			{Code: "370402101201", ParentCode: "370402101", Level: models.LevelVillage,
				Boundary: [][][2]float64{square(lon0, lat0, lon0+float64(n)*dLon, lat0+float64(n)*dLat)}},
		},
	}
	for i := range n {
		for j := range n {
			x0, y0 := lon0+float64(i)*dLon, lat0+float64(j)*dLat
			rd.Grids = append(rd.Grids, models.Grid{
				Code:        fmt.Sprintf("370402101201%05d", i*n+j),
				VillageCode: "370402101201",
				Polygon:     [][][2]float64{square(x0, y0, x0+dLon, y0+dLat)},
			})
		}
		rd.Segments = append(rd.Segments, models.RoadSegment{
			ID:   fmt.Sprintf("S%03d", i),
			Line: [][2]float64{{lon0 + float64(i)*dLon, lat0}, {lon0 + float64(i)*dLon, lat0 + float64(n)*dLat}},
		})
	}
	return rd
}

// TestLocateMatchesBruteForce checks the bucket index against a scan of every
// grid and segment.
func TestLocateMatchesBruteForce(t *testing.T) {
	rd := gridRefData(40)
	// Irregular extras: a large grid overlapping many small ones and a slanted segment.
	rd.Grids = append(rd.Grids, models.Grid{Code: "3704021012010000", VillageCode: "370402101201",
		Polygon: [][][2]float64{{{117.505, 34.805}, {117.53, 34.81}, {117.51, 34.83}}}})
	rd.Segments = append(rd.Segments, models.RoadSegment{ID: "diag", Line: [][2]float64{{117.49, 34.79}, {117.56, 34.84}}})
	l := NewLocator(rd)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		lat := 34.79 + r.Float64()*0.05
		lon := 117.49 + r.Float64()*0.07
		got := l.Locate(lat, lon)

		wantGrid := ""
		for _, g := range rd.Grids {
			if PointInPolygon(lon, lat, g.Polygon) && (wantGrid == "" || g.Code < wantGrid) {
				wantGrid = g.Code
			}
		}
		wantSeg, best := "", math.Inf(1)
		for _, s := range rd.Segments {
			if d := DistanceToLineMeters(lat, lon, s.Line); d <= RoadSnapMeters && (d < best || (d == best && s.ID < wantSeg)) {
				wantSeg, best = s.ID, d
			}
		}
		if got.GridCode != wantGrid || got.RoadSegmentID != wantSeg {
			t.Fatalf("(%v, %v): got grid %q segment %q, brute force %q %q", lat, lon, got.GridCode, got.RoadSegmentID, wantGrid, wantSeg)
		}
	}
}

func FuzzLocate(f *testing.F) {
	l := NewLocator(testRefData())
	f.Add(34.804, 117.501)
	f.Add(34.8025, 117.5025)
	f.Add(math.NaN(), 0.0)
	f.Add(90.0, 180.0)
	f.Add(-90.0, -180.0)
	f.Add(1e308, -1e308)
	f.Add(34.801, 117.515)
	f.Fuzz(func(t *testing.T, lat, lon float64) {
		a := l.Locate(lat, lon)
		if a.RefVersion != 7 {
			t.Fatalf("RefVersion %d", a.RefVersion)
		}
		if a.GridCode != "" {
			if a.VillageCode == "" || a.TownCode == "" {
				t.Fatalf("grid without village or town: %+v", a)
			}
			var poly [][][2]float64
			for _, g := range testRefData().Grids {
				if g.Code == a.GridCode {
					poly = g.Polygon
				}
			}
			if !PointInPolygon(lon, lat, poly) {
				t.Fatalf("(%v, %v) assigned to grid %s that does not contain it", lat, lon, a.GridCode)
			}
		}
		if a.OrgPath == "" || a.OrgPath[:6] != "370402" {
			t.Fatalf("org path %q does not start at the district", a.OrgPath)
		}
	})
}

func BenchmarkLocate10000Grids(b *testing.B) {
	l := NewLocator(gridRefData(100)) // 10,000 grids of 100 m, 100 road segments
	r := rand.New(rand.NewPCG(3, 4))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{34.80 + r.Float64()*0.009, 117.50 + r.Float64()*0.011}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := pts[i%len(pts)]
		if a := l.Locate(p[0], p[1]); a.TownCode == "" {
			b.Fatal("point not located")
		}
	}
}

func BenchmarkNewLocator10000Grids(b *testing.B) {
	rd := gridRefData(100)
	for b.Loop() {
		NewLocator(rd)
	}
}
