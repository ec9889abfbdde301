package geo

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// Assignment is where a point lies in the org tree, as a case stores it.
type Assignment struct {
	OrgPath       string // district/town/village[/grid] codes; shorter when a level did not match
	TownCode      string
	VillageCode   string
	GridCode      string // "" when no grid polygon contains the point (the town is responsible)
	RoadSegmentID string // nearest segment within RoadSnapMeters, or ""
	RefVersion    int    // version of the reference data the assignment used
}

// Fallback distances of the Locator.
const (
	// RoadSnapMeters is how far a point may be from a road segment and still
	// be assigned to it.
	RoadSnapMeters = 30.0
	// TownFallbackMeters is how far a point outside every boundary may be from
	// a town centre and still be assigned to that town.
	TownFallbackMeters = 20000.0
)

// Locator assigns points to grids, villages, towns and road segments of one
// version of the reference data. It is immutable after NewLocator and safe for
// concurrent use.
type Locator struct {
	version  int
	district string

	grids   []gridEntry
	gridIx  *bucketIndex
	village []areaEntry // sorted by code
	town    []areaEntry // sorted by code
	villIx  *bucketIndex
	townIx  *bucketIndex
	parent  map[string]string // org code → parent code
	isTown  map[string]bool

	segs  []segEntry
	segIx *bucketIndex
}

type box struct{ minLon, minLat, maxLon, maxLat float64 }

func (b box) contains(lon, lat float64) bool {
	return lon >= b.minLon && lon <= b.maxLon && lat >= b.minLat && lat <= b.maxLat
}

type gridEntry struct {
	code, village, town string
	rings               [][][2]float64
	bb                  box
}

type areaEntry struct {
	code   string
	rings  [][][2]float64
	bb     box
	center [2]float64 // [lon, lat]
}

type segEntry struct {
	id   string
	line [][2]float64
	bb   box
}

// NewLocator indexes the grids, org boundaries and road segments of rd. Items
// with no usable geometry are skipped: a grid without a polygon can never
// match, a town without a boundary can still match by its centre.
func NewLocator(rd models.RefData) *Locator {
	l := &Locator{
		version: rd.Version,
		parent:  map[string]string{},
		isTown:  map[string]bool{},
	}
	for _, o := range rd.Org {
		l.parent[o.Code] = o.ParentCode
		switch o.Level {
		case models.LevelDistrict:
			if l.district == "" || o.Code < l.district {
				l.district = o.Code
			}
		case models.LevelTown:
			l.isTown[o.Code] = true
			l.town = append(l.town, areaEntry{code: o.Code, rings: o.Boundary, bb: ringsBox(o.Boundary), center: o.Center})
		case models.LevelVillage:
			if b := ringsBox(o.Boundary); b.valid() {
				l.village = append(l.village, areaEntry{code: o.Code, rings: o.Boundary, bb: b, center: o.Center})
			}
		}
	}
	byCode := func(a, b areaEntry) int { return cmp.Compare(a.code, b.code) }
	slices.SortFunc(l.town, byCode)
	slices.SortFunc(l.village, byCode)

	for _, g := range rd.Grids {
		bb := ringsBox(g.Polygon)
		if !bb.valid() {
			continue
		}
		town := g.TownCode
		if town == "" {
			town = l.townOf(g.VillageCode)
		}
		l.grids = append(l.grids, gridEntry{code: g.Code, village: g.VillageCode, town: town, rings: g.Polygon, bb: bb})
	}
	// Sorted by code, so a point on an edge shared by two grids always goes
	// to the same one: the first in code order.
	slices.SortFunc(l.grids, func(a, b gridEntry) int { return cmp.Compare(a.code, b.code) })
	boxes := make([]box, len(l.grids))
	for i, g := range l.grids {
		boxes[i] = g.bb
	}
	l.gridIx = newBucketIndex(boxes)

	l.villIx = newBucketIndex(areaBoxes(l.village))
	var townBoxes []box
	for _, t := range l.town {
		townBoxes = append(townBoxes, t.bb) // invalid boxes never match a query
	}
	l.townIx = newBucketIndex(townBoxes)

	for _, s := range rd.Segments {
		var bb box
		if len(s.Line) == 0 {
			continue
		}
		bb = lineBox(s.Line)
		if !bb.valid() {
			continue
		}
		l.segs = append(l.segs, segEntry{id: s.ID, line: s.Line, bb: bb})
	}
	slices.SortFunc(l.segs, func(a, b segEntry) int { return cmp.Compare(a.id, b.id) })
	segBoxes := make([]box, len(l.segs))
	for i, s := range l.segs {
		segBoxes[i] = s.bb
	}
	l.segIx = newBucketIndex(segBoxes)
	return l
}

func areaBoxes(a []areaEntry) []box {
	out := make([]box, len(a))
	for i, e := range a {
		out[i] = e.bb
	}
	return out
}

// Locate assigns the WGS84 point (lat, lon) in this order: the grid whose
// polygon contains it (the first by code when it lies on a shared edge); else
// the village whose boundary contains it; else the town whose boundary
// contains it; else the town whose centre is nearest within
// TownFallbackMeters; else the district alone. A grid or village match also
// fills the village's town, so that the town is responsible whenever no grid
// matches (属地兜底). The road segment is the nearest one within
// RoadSnapMeters, independent of the area match. Locate never fails: a point
// that matches nothing (or is not a finite coordinate) gets the district's
// path and empty codes.
func (l *Locator) Locate(lat, lon float64) Assignment {
	a := Assignment{RefVersion: l.version}
	if !finite(lat) || !finite(lon) {
		a.OrgPath = l.district
		return a
	}
	var town, village, grid string
	if g := l.findGrid(lon, lat); g != nil {
		grid, village, town = g.code, g.village, g.town
	} else if v := l.findArea(l.village, l.villIx, lon, lat); v != nil {
		village = v.code
		town = l.townOf(v.code)
	} else if t := l.findArea(l.town, l.townIx, lon, lat); t != nil {
		town = t.code
	} else {
		town = l.nearestTown(lat, lon)
	}
	a.TownCode, a.VillageCode, a.GridCode = town, village, grid
	a.OrgPath = joinPath(l.district, town, village, grid)
	a.RoadSegmentID = l.nearestSegment(lat, lon)
	return a
}

// townOf returns the town above a village, or "" when the village's parent is
// not a town of the org tree.
func (l *Locator) townOf(village string) string {
	if p := l.parent[village]; l.isTown[p] {
		return p
	}
	return ""
}

func joinPath(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, "/")
}

func (l *Locator) findGrid(lon, lat float64) *gridEntry {
	var best *gridEntry
	l.gridIx.at(lon, lat, func(i int) {
		g := &l.grids[i]
		if best != nil && best.code <= g.code {
			return
		}
		if g.bb.contains(lon, lat) && PointInPolygon(lon, lat, g.rings) {
			best = g
		}
	})
	return best
}

func (l *Locator) findArea(areas []areaEntry, ix *bucketIndex, lon, lat float64) *areaEntry {
	var best *areaEntry
	ix.at(lon, lat, func(i int) {
		a := &areas[i]
		if best != nil && best.code <= a.code {
			return
		}
		if a.bb.contains(lon, lat) && PointInPolygon(lon, lat, a.rings) {
			best = a
		}
	})
	return best
}

func (l *Locator) nearestTown(lat, lon float64) string {
	best, bestD := "", TownFallbackMeters
	for _, t := range l.town {
		if t.center == ([2]float64{}) {
			continue
		}
		if d := HaversineMeters(lat, lon, t.center[1], t.center[0]); d <= bestD {
			if d < bestD || best == "" || t.code < best {
				best, bestD = t.code, d
			}
		}
	}
	return best
}

func (l *Locator) nearestSegment(lat, lon float64) string {
	dLat := RoadSnapMeters / metersPerDegree
	cosLat := math.Cos(lat * math.Pi / 180)
	if cosLat < 1e-6 {
		return ""
	}
	dLon := dLat / cosLat
	q := box{lon - dLon, lat - dLat, lon + dLon, lat + dLat}
	best, bestD := "", math.Inf(1)
	l.segIx.overlapping(q, func(i int) {
		s := &l.segs[i]
		if s.bb.maxLon < q.minLon || s.bb.minLon > q.maxLon || s.bb.maxLat < q.minLat || s.bb.minLat > q.maxLat {
			return
		}
		d := DistanceToLineMeters(lat, lon, s.line)
		if d <= RoadSnapMeters && (d < bestD || (d == bestD && s.id < best)) {
			best, bestD = s.id, d
		}
	})
	return best
}

func ringsBox(rings [][][2]float64) box {
	if len(rings) == 0 {
		return emptyBox()
	}
	return lineBox(rings[0])
}

func lineBox(pts [][2]float64) box {
	b := emptyBox()
	for _, p := range pts {
		if !finite(p[0]) || !finite(p[1]) {
			return emptyBox()
		}
		b.minLon, b.maxLon = math.Min(b.minLon, p[0]), math.Max(b.maxLon, p[0])
		b.minLat, b.maxLat = math.Min(b.minLat, p[1]), math.Max(b.maxLat, p[1])
	}
	return b
}

func emptyBox() box {
	return box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
}

func (b box) valid() bool { return b.minLon <= b.maxLon && b.minLat <= b.maxLat }

// bucketIndex is a uniform grid of buckets over the bounding box of a set of
// boxes; each bucket lists the boxes that overlap it. With cells about the
// size of a typical item, a point query touches one bucket holding a handful
// of items, whatever the number of items.
type bucketIndex struct {
	all             box
	cellLon, cellLa float64
	nx, ny          int
	cells           [][]int32
}

// maxCells bounds the index's memory whatever the spread of the items.
const maxCells = 1 << 20

func newBucketIndex(boxes []box) *bucketIndex {
	ix := &bucketIndex{all: emptyBox()}
	var widths, heights []float64
	for _, b := range boxes {
		if !b.valid() {
			continue
		}
		ix.all.minLon, ix.all.maxLon = math.Min(ix.all.minLon, b.minLon), math.Max(ix.all.maxLon, b.maxLon)
		ix.all.minLat, ix.all.maxLat = math.Min(ix.all.minLat, b.minLat), math.Max(ix.all.maxLat, b.maxLat)
		widths = append(widths, b.maxLon-b.minLon)
		heights = append(heights, b.maxLat-b.minLat)
	}
	if len(widths) == 0 {
		return ix
	}
	spanLon := ix.all.maxLon - ix.all.minLon
	spanLat := ix.all.maxLat - ix.all.minLat
	// Cells the size of the median item keep every bucket short.
	slices.Sort(widths)
	slices.Sort(heights)
	ix.cellLon = math.Max(widths[len(widths)/2], spanLon/1024)
	ix.cellLa = math.Max(heights[len(heights)/2], spanLat/1024)
	if ix.cellLon <= 0 {
		ix.cellLon = 1e-6
	}
	if ix.cellLa <= 0 {
		ix.cellLa = 1e-6
	}
	limit := min(maxCells, 4*len(widths)+1024)
	for {
		ix.nx = int(spanLon/ix.cellLon) + 1
		ix.ny = int(spanLat/ix.cellLa) + 1
		if ix.nx*ix.ny <= limit {
			break
		}
		ix.cellLon *= 1.5
		ix.cellLa *= 1.5
	}
	ix.cells = make([][]int32, ix.nx*ix.ny)
	for i, b := range boxes {
		if !b.valid() {
			continue
		}
		x0, y0 := ix.cell(b.minLon, b.minLat)
		x1, y1 := ix.cell(b.maxLon, b.maxLat)
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				k := y*ix.nx + x
				ix.cells[k] = append(ix.cells[k], int32(i))
			}
		}
	}
	return ix
}

// cell returns the bucket coordinates of a point inside the index's box,
// clamped to the grid.
func (ix *bucketIndex) cell(lon, lat float64) (int, int) {
	x := int((lon - ix.all.minLon) / ix.cellLon)
	y := int((lat - ix.all.minLat) / ix.cellLa)
	return min(max(x, 0), ix.nx-1), min(max(y, 0), ix.ny-1)
}

// at calls fn with every item whose box may contain the point.
func (ix *bucketIndex) at(lon, lat float64, fn func(i int)) {
	if ix.cells == nil || !ix.all.contains(lon, lat) {
		return
	}
	x, y := ix.cell(lon, lat)
	for _, i := range ix.cells[y*ix.nx+x] {
		fn(int(i))
	}
}

// overlapping calls fn with every item whose box may overlap q, possibly more
// than once.
func (ix *bucketIndex) overlapping(q box, fn func(i int)) {
	if ix.cells == nil || q.maxLon < ix.all.minLon || q.minLon > ix.all.maxLon ||
		q.maxLat < ix.all.minLat || q.minLat > ix.all.maxLat {
		return
	}
	x0, y0 := ix.cell(math.Max(q.minLon, ix.all.minLon), math.Max(q.minLat, ix.all.minLat))
	x1, y1 := ix.cell(math.Min(q.maxLon, ix.all.maxLon), math.Min(q.maxLat, ix.all.maxLat))
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			for _, i := range ix.cells[y*ix.nx+x] {
				fn(int(i))
			}
		}
	}
}
