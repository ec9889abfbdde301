package geo

import (
	"math"
	"testing"
)

// square returns a closed ring of the axis-parallel square [x0,x1]×[y0,y1].
func square(x0, y0, x1, y1 float64) [][2]float64 {
	return [][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

func TestPointInPolygon(t *testing.T) {
	outer := square(0, 0, 10, 10)
	hole := square(4, 4, 6, 6)
	withHole := [][][2]float64{outer, hole}
	// A concave "U": the notch x∈(3,7), y∈(3,10) is outside.
	u := [][][2]float64{{{0, 0}, {10, 0}, {10, 10}, {7, 10}, {7, 3}, {3, 3}, {3, 10}, {0, 10}}}
	triangle := [][][2]float64{{{0, 0}, {4, 0}, {0, 4}}} // open ring
	tests := []struct {
		name     string
		lon, lat float64
		rings    [][][2]float64
		want     bool
	}{
		{"inside", 5, 5, [][][2]float64{outer}, true},
		{"outside right", 11, 5, [][][2]float64{outer}, false},
		{"outside below", 5, -0.001, [][][2]float64{outer}, false},
		{"on left edge", 0, 5, [][][2]float64{outer}, true},
		{"on right edge", 10, 5, [][][2]float64{outer}, true},
		{"on bottom edge", 5, 0, [][][2]float64{outer}, true},
		{"on top edge", 5, 10, [][][2]float64{outer}, true},
		{"on a vertex", 10, 10, [][][2]float64{outer}, true},
		{"on the first vertex", 0, 0, [][][2]float64{outer}, true},
		{"beyond an edge's end", 10, 11, [][][2]float64{outer}, false},
		{"in the hole", 5, 5, withHole, false},
		{"between hole and outer", 2, 2, withHole, true},
		{"on the hole's edge", 4, 5, withHole, true},
		{"on the hole's vertex", 6, 6, withHole, true},
		{"in the U's arm", 1, 8, u, true},
		{"in the U's notch", 5, 8, u, false},
		{"on the notch's floor", 5, 3, u, true},
		{"level with a vertex, outside", -1, 3, u, false},
		{"level with a vertex, inside", 1, 3, u, true},
		{"open ring inside", 1, 1, triangle, true},
		{"open ring on the closing edge", 0, 2, triangle, true},
		{"open ring on the hypotenuse", 2, 2, triangle, true},
		{"open ring outside", 3, 3, triangle, false},
		{"no rings", 0, 0, nil, false},
		{"degenerate ring", 0, 0, [][][2]float64{{{0, 0}, {1, 1}}}, false},
		{"NaN", math.NaN(), 5, [][][2]float64{outer}, false},
		{"Inf", math.Inf(1), 5, [][][2]float64{outer}, false},
	}
	for _, tt := range tests {
		if got := PointInPolygon(tt.lon, tt.lat, tt.rings); got != tt.want {
			t.Errorf("%s: PointInPolygon(%v, %v) = %v, want %v", tt.name, tt.lon, tt.lat, got, tt.want)
		}
	}
}

// TestPointInPolygonTiling checks that two polygons sharing a slanted edge
// leave no gap: every point is in at least one, and points off the edge in
// exactly one.
func TestPointInPolygonTiling(t *testing.T) {
	a := [][][2]float64{{{117.5, 34.8}, {117.6137, 34.8}, {117.5711, 34.9133}, {117.5, 34.9}}}
	b := [][][2]float64{{{117.6137, 34.8}, {117.7, 34.8}, {117.7, 34.9}, {117.5711, 34.9133}}}
	union := [][][2]float64{{{117.5, 34.8}, {117.7, 34.8}, {117.7, 34.9}, {117.5711, 34.9133}, {117.5, 34.9}}}
	for i := 0; i <= 400; i++ {
		for j := 0; j <= 400; j++ {
			lon := 117.5 + 0.2*float64(i)/400
			lat := 34.8 + 0.1*float64(j)/400
			ina, inb := PointInPolygon(lon, lat, a), PointInPolygon(lon, lat, b)
			if PointInPolygon(lon, lat, union) && !ina && !inb {
				t.Fatalf("(%v, %v) falls in a gap between two tiles", lon, lat)
			}
		}
	}
	// Points on the shared edge computed by interpolation.
	for k := 0; k <= 100; k++ {
		f := float64(k) / 100
		lon := 117.6137 + f*(117.5711-117.6137)
		lat := 34.8 + f*(34.9133-34.8)
		if !PointInPolygon(lon, lat, a) && !PointInPolygon(lon, lat, b) {
			t.Fatalf("shared-edge point %d is in neither tile", k)
		}
	}
}

func TestHaversineMeters(t *testing.T) {
	tests := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tol              float64
	}{
		{"same point", 34.864, 117.556, 34.864, 117.556, 0, 1e-9},
		{"one degree of latitude", 34, 117, 35, 117, 111195.08, 0.05},
		{"one degree of longitude on the equator", 0, 117, 0, 118, 111195.08, 0.05},
		{"one degree of longitude at 60°", 60, 10, 60, 11, 55597.01, 0.05}, // a great circle, shorter than the parallel
		// 100 m east at the district centre: 100 / (111195.08·cos 34.864°).
		{"100 m east", 34.864, 117.556, 34.864, 117.556 + 100/(111195.08*math.Cos(34.864*math.Pi/180)), 100, 0.01},
		{"antipodes", 0, 0, 0, 180, math.Pi * EarthRadiusMeters, 1e-6},
		// Beijing (Tiananmen) to Shanghai (People's Square): about 1067 km.
		{"Beijing–Shanghai", 39.9075, 116.3972, 31.2304, 121.4737, 1067e3, 3e3},
	}
	for _, tt := range tests {
		got := HaversineMeters(tt.lat1, tt.lon1, tt.lat2, tt.lon2)
		if math.Abs(got-tt.want) > tt.tol {
			t.Errorf("%s: got %.3f m, want %.3f ± %v", tt.name, got, tt.want, tt.tol)
		}
		if back := HaversineMeters(tt.lat2, tt.lon2, tt.lat1, tt.lon1); math.Abs(back-got) > 1e-6 {
			t.Errorf("%s: not symmetric: %v vs %v", tt.name, got, back)
		}
	}
}

func TestDistanceToLineMeters(t *testing.T) {
	const lat0, lon0 = 34.864, 117.556
	mLat := 1 / 111195.08                                // degrees of latitude per metre
	mLon := 1 / (111195.08 * math.Cos(lat0*math.Pi/180)) // degrees of longitude per metre
	// An east–west line 200 m long starting at the origin.
	line := [][2]float64{{lon0, lat0}, {lon0 + 200*mLon, lat0}}
	bent := [][2]float64{{lon0, lat0}, {lon0 + 100*mLon, lat0}, {lon0 + 100*mLon, lat0 + 100*mLat}}
	tests := []struct {
		name     string
		lat, lon float64
		line     [][2]float64
		want     float64
	}{
		{"on the line", lat0, lon0 + 50*mLon, line, 0},
		{"25 m north of the middle", lat0 + 25*mLat, lon0 + 100*mLon, line, 25},
		{"30 m south of the middle", lat0 - 30*mLat, lon0 + 100*mLon, line, 30},
		{"beyond the west end", lat0, lon0 - 40*mLon, line, 40},
		{"diagonal beyond the east end", lat0 + 30*mLat, lon0 + 240*mLon, line, 50},
		{"nearest to the second leg", lat0 + 50*mLat, lon0 + 120*mLon, bent, 20},
		{"single point", lat0 + 3*mLat, lon0 + 4*mLon, [][2]float64{{lon0, lat0}}, 5},
		{"repeated point", lat0 + 3*mLat, lon0 + 4*mLon, [][2]float64{{lon0, lat0}, {lon0, lat0}}, 5},
	}
	for _, tt := range tests {
		got := DistanceToLineMeters(tt.lat, tt.lon, tt.line)
		if math.Abs(got-tt.want) > 0.05 {
			t.Errorf("%s: got %.3f m, want %.3f", tt.name, got, tt.want)
		}
	}
	if got := DistanceToLineMeters(lat0, lon0, nil); !math.IsInf(got, 1) {
		t.Errorf("empty line: got %v, want +Inf", got)
	}
	// The projection agrees with the great-circle distance at this scale.
	p := [2]float64{lon0 + 700*mLon, lat0 + 400*mLat}
	if d, h := DistanceToLineMeters(lat0, lon0, [][2]float64{p}), HaversineMeters(lat0, lon0, p[1], p[0]); math.Abs(d-h) > 0.1 {
		t.Errorf("projection %.3f m vs haversine %.3f m", d, h)
	}
}
