package geo

import (
	"math"
	"testing"
)

// Reference points from the test suite of googollee/eviltransform, the
// widely used public implementation of the same formulas.
var gcjReference = []struct {
	name                           string
	wgsLat, wgsLon, gcjLat, gcjLon float64
}{
	{"shanghai", 31.1774276, 121.5272106, 31.17530398364597, 121.531541859215},
	{"shenzhen", 22.543847, 113.912316, 22.540796131694766, 113.9171764808363},
	{"beijing", 39.911954, 116.377817, 39.91334545536069, 116.38404722455657},
}

// The example point of wandergis/coordtransform, whose results many ports
// (hutool, coordtransform-rs, geocraft) assert: (39.915, 116.404) read as each
// coordinate system in turn. Its inverses are the one-step approximations,
// good to one or two metres.
const exLat, exLon = 39.915, 116.404

var (
	exWGSToGCJ    = [2]float64{39.91640428150164, 116.41024449916938}
	exGCJToBD     = [2]float64{39.92133699351021, 116.41036949371029}
	exBDToGCJ     = [2]float64{39.90865673957631, 116.39762729119315}
	exGCJToWGSApx = [2]float64{39.91359571849836, 116.39775550083061}
	exBDToWGSApx  = [2]float64{39.907253214522164, 116.3913836995125}
)

func TestWGS84ToGCJ02Reference(t *testing.T) {
	for _, r := range gcjReference {
		lat, lon := WGS84ToGCJ02(r.wgsLat, r.wgsLon)
		if math.Abs(lat-r.gcjLat) > 1e-9 || math.Abs(lon-r.gcjLon) > 1e-9 {
			t.Errorf("%s: WGS84ToGCJ02 = (%.12f, %.12f), want (%.12f, %.12f)", r.name, lat, lon, r.gcjLat, r.gcjLon)
		}
	}
}

func TestGCJ02ToWGS84Reference(t *testing.T) {
	for _, r := range gcjReference {
		lat, lon := GCJ02ToWGS84(r.gcjLat, r.gcjLon)
		if d := HaversineMeters(lat, lon, r.wgsLat, r.wgsLon); d > 0.01 {
			t.Errorf("%s: GCJ02ToWGS84 is %.4f m from the reference WGS84 point", r.name, d)
		}
	}
}

func TestCoordTransformExample(t *testing.T) {
	near := func(name string, lat, lon float64, want [2]float64, tol float64) {
		t.Helper()
		if math.Abs(lat-want[0]) > tol || math.Abs(lon-want[1]) > tol {
			t.Errorf("%s = (%.14f, %.14f), want (%.14f, %.14f)", name, lat, lon, want[0], want[1])
		}
	}
	lat, lon := WGS84ToGCJ02(exLat, exLon)
	near("WGS84ToGCJ02", lat, lon, exWGSToGCJ, 1e-12)
	lat, lon = GCJ02ToBD09(exLat, exLon)
	near("GCJ02ToBD09", lat, lon, exGCJToBD, 1e-12)
	lat, lon = BD09ToGCJ02(exLat, exLon)
	near("BD09ToGCJ02", lat, lon, exBDToGCJ, 1e-12)

	// The exact inverses lie within two metres of the approximations and,
	// unlike them, map forward onto the input.
	lat, lon = GCJ02ToWGS84(exLat, exLon)
	if d := HaversineMeters(lat, lon, exGCJToWGSApx[0], exGCJToWGSApx[1]); d > 2 {
		t.Errorf("GCJ02ToWGS84 is %.3f m from the one-step approximation", d)
	}
	if fLat, fLon := WGS84ToGCJ02(lat, lon); HaversineMeters(fLat, fLon, exLat, exLon) > 0.001 {
		t.Errorf("GCJ02ToWGS84 does not map forward onto its input")
	}
	lat, lon = BD09ToWGS84(exLat, exLon)
	if d := HaversineMeters(lat, lon, exBDToWGSApx[0], exBDToWGSApx[1]); d > 2 {
		t.Errorf("BD09ToWGS84 is %.3f m from the one-step approximation", d)
	}
	if fLat, fLon := WGS84ToBD09(lat, lon); HaversineMeters(fLat, fLon, exLat, exLon) > 0.001 {
		t.Errorf("BD09ToWGS84 does not map forward onto its input")
	}
}

// TestShiftSize checks the offsets have the size everyone sees on maps of
// the district: GCJ-02 a few hundred metres, BD-09 a little more.
func TestShiftSize(t *testing.T) {
	const lat, lon = 34.864, 117.556 // 市中区, Zaozhuang
	gLat, gLon := WGS84ToGCJ02(lat, lon)
	if d := HaversineMeters(lat, lon, gLat, gLon); d < 100 || d > 800 {
		t.Errorf("GCJ-02 shift at the district is %.0f m, want a few hundred", d)
	}
	bLat, bLon := WGS84ToBD09(lat, lon)
	if d := HaversineMeters(gLat, gLon, bLat, bLon); d < 500 || d > 1500 {
		t.Errorf("BD-09 shift over GCJ-02 is %.0f m, want about a kilometre", d)
	}
}

func TestInverseAccuracy(t *testing.T) {
	// A lattice over China: every inverse must land within 1 m (we promise
	// far better) of the original point.
	worst := 0.0
	for lat := 18.0; lat <= 53; lat += 0.7 {
		for lon := 74.0; lon <= 134; lon += 1.3 {
			gLat, gLon := WGS84ToGCJ02(lat, lon)
			wLat, wLon := GCJ02ToWGS84(gLat, gLon)
			worst = math.Max(worst, HaversineMeters(lat, lon, wLat, wLon))
			bLat, bLon := WGS84ToBD09(lat, lon)
			wLat, wLon = BD09ToWGS84(bLat, bLon)
			worst = math.Max(worst, HaversineMeters(lat, lon, wLat, wLon))
		}
	}
	if worst > 0.01 {
		t.Errorf("worst inverse error %.4f m, want < 0.01 m", worst)
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	points := [][2]float64{
		{51.5007, -0.1246},  // London
		{35.6586, 139.7454}, // Tokyo, east of the box
		{-33.86, 151.21},    // Sydney
		{60, 100},           // north of the box
		{0, 0},
	}
	for _, p := range points {
		for name, f := range map[string]func(float64, float64) (float64, float64){
			"WGS84ToGCJ02": WGS84ToGCJ02, "GCJ02ToWGS84": GCJ02ToWGS84, "GCJ02ToBD09": GCJ02ToBD09,
			"BD09ToGCJ02": BD09ToGCJ02, "WGS84ToBD09": WGS84ToBD09, "BD09ToWGS84": BD09ToWGS84,
		} {
			if lat, lon := f(p[0], p[1]); lat != p[0] || lon != p[1] {
				t.Errorf("%s(%v) = (%v, %v), want the input", name, p, lat, lon)
			}
		}
	}
	if !OutOfChina(35.6586, 139.7454) || OutOfChina(34.864, 117.556) {
		t.Error("OutOfChina misclassifies Tokyo or Zaozhuang")
	}
}

func TestConversionsNaN(t *testing.T) {
	// Non-finite input must come back, not hang or panic.
	lat, lon := GCJ02ToWGS84(math.NaN(), 117)
	if !math.IsNaN(lat) || lon != 117 {
		t.Errorf("GCJ02ToWGS84(NaN) = %v, %v", lat, lon)
	}
	lat, _ = BD09ToWGS84(math.Inf(1), 117)
	if !math.IsInf(lat, 1) {
		t.Errorf("BD09ToWGS84(Inf) = %v", lat)
	}
}
