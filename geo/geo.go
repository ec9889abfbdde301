// Package geo is the pure geometry of fieldsync on WGS84 coordinates: point in
// polygon, distances, the conversions from the shifted coordinates of Chinese
// map SDKs (GCJ-02, BD-09), and the Locator that assigns a GPS point to a grid,
// village, town and road segment.
//
// Coordinates in polygons and lines follow GeoJSON: [lon, lat] pairs. Function
// arguments name latitude and longitude explicitly. Nothing here handles the
// antimeridian or the poles: the district is a few kilometres wide.
package geo

import "math"

// EarthRadiusMeters is the mean Earth radius (IUGG) used for distances.
const EarthRadiusMeters = 6371008.8

// metersPerDegree is the length of one degree of latitude on the mean sphere.
const metersPerDegree = EarthRadiusMeters * math.Pi / 180

// PointInPolygon reports whether the point (lon, lat) lies in the polygon
// given as GeoJSON rings of [lon, lat]: the first ring is the outer boundary,
// the others are holes. Rings may be closed (last point = first) or not.
//
// Points on the boundary, the outer ring's or a hole's, count as inside. Two
// polygons that share an edge therefore both contain the points of that edge;
// a point that is not exactly on an edge is decided by a half-open crossing
// rule, so it lies in exactly one of two polygons that tile a region. A polygon
// without rings, or with an outer ring of fewer than three points, contains
// nothing; non-finite coordinates are never inside.
func PointInPolygon(lon, lat float64, rings [][][2]float64) bool {
	if len(rings) == 0 || !finite(lon) || !finite(lat) {
		return false
	}
	switch classifyRing(lon, lat, rings[0]) {
	case outside:
		return false
	case boundary:
		return true
	}
	for _, hole := range rings[1:] {
		switch classifyRing(lon, lat, hole) {
		case boundary:
			return true
		case inside:
			return false
		}
	}
	return true
}

type ringPos int

const (
	outside ringPos = iota
	inside
	boundary
)

// classifyRing locates a point relative to one ring by counting the crossings
// of a ray towards +lon, after checking whether the point lies on an edge.
func classifyRing(x, y float64, ring [][2]float64) ringPos {
	n := len(ring)
	if n > 1 && ring[0] == ring[n-1] {
		n-- // closed ring: the last point repeats the first
	}
	if n < 3 {
		return outside
	}
	in := false
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		xi, yi := ring[i][0], ring[i][1]
		xj, yj := ring[j][0], ring[j][1]
		if onSegment(x, y, xi, yi, xj, yj) {
			return boundary
		}
		// Half-open rule: an edge counts when it straddles the ray's
		// latitude with one end strictly above and the other at or below.
		if (yi > y) != (yj > y) {
			xCross := xi + (y-yi)*(xj-xi)/(yj-yi)
			if x < xCross {
				in = !in
			}
		}
	}
	if in {
		return inside
	}
	return outside
}

// onSegment reports whether (x, y) lies on the segment from (x1, y1) to
// (x2, y2). The collinearity test is exact for axis-parallel edges and for the
// segment's end points; points a rounding error off a slanted edge fall to the
// crossing rule, which still places them in exactly one of two neighbours.
func onSegment(x, y, x1, y1, x2, y2 float64) bool {
	if x < math.Min(x1, x2) || x > math.Max(x1, x2) || y < math.Min(y1, y2) || y > math.Max(y1, y2) {
		return false
	}
	return (x2-x1)*(y-y1)-(y2-y1)*(x-x1) == 0
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// HaversineMeters returns the great-circle distance in metres between two
// WGS84 points on the mean sphere (error below 0.5 % against the ellipsoid,
// far below GPS error at the distances that matter here).
func HaversineMeters(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	s = math.Min(1, math.Max(0, s))
	return 2 * EarthRadiusMeters * math.Asin(math.Sqrt(s))
}

// DistanceToLineMeters returns the shortest distance in metres from the point
// (lat, lon) to a GeoJSON LineString of [lon, lat] points. It projects onto a
// local equirectangular plane centred on the point, which is accurate to well
// under a metre within a few kilometres. A line with one point gives the
// distance to that point; an empty line gives +Inf.
func DistanceToLineMeters(lat, lon float64, line [][2]float64) float64 {
	if len(line) == 0 {
		return math.Inf(1)
	}
	kx := metersPerDegree * math.Cos(lat*math.Pi/180)
	ky := metersPerDegree
	project := func(p [2]float64) (float64, float64) {
		return (p[0] - lon) * kx, (p[1] - lat) * ky
	}
	ax, ay := project(line[0])
	if len(line) == 1 {
		return math.Hypot(ax, ay)
	}
	best := math.Inf(1)
	for _, p := range line[1:] {
		bx, by := project(p)
		if d := distToSegment(ax, ay, bx, by); d < best {
			best = d
		}
		ax, ay = bx, by
	}
	return best
}

// distToSegment returns the distance from the origin to the segment a–b.
func distToSegment(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(ax, ay)
	}
	t := -(ax*dx + ay*dy) / l2
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(ax+t*dx, ay+t*dy)
}
