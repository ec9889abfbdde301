package demo

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
)

// The district is laid out on a local plane in metres (x east, y north) around
// its centre, then mapped to WGS84. It is smaller than the real 市中区 (about
// 6 km × 5.6 km instead of 374 km²) so that 100 m unit grids stay a few
// thousand, and its towns sit where the real ones lie relative to the city
// centre: street offices in the middle, towns around them, 孟庄镇 to the
// north-east.
const (
	// DistrictCode is the county-level code of 市中区.
	DistrictCode = "370402"
	// DistrictName is its name.
	DistrictName = "市中区"
	// CenterLat and CenterLon are the centre of the demo district (WGS84).
	CenterLat = 34.864
	CenterLon = 117.556

	mPerDegLat = geo.EarthRadiusMeters * math.Pi / 180
	cellSize   = 100.0 // metres: the unit grid
)

var mPerDegLon = mPerDegLat * math.Cos(CenterLat*math.Pi/180)

type xy struct{ x, y float64 }

// lonLat maps a point of the local plane to [lon, lat], rounded to 1e-7° (about
// a centimetre) so that shared vertices are bit-for-bit equal.
func lonLat(p xy) [2]float64 {
	return [2]float64{round7(CenterLon + p.x/mPerDegLon), round7(CenterLat + p.y/mPerDegLat)}
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

func lerp(a, b xy, t float64) xy { return xy{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }

// bilinear maps (u, v) in the unit square onto the quad sw, se, ne, nw.
func bilinear(q [4]xy, u, v float64) xy {
	return lerp(lerp(q[0], q[1], u), lerp(q[3], q[2], u), v)
}

// ring turns a quad (sw, se, ne, nw) into a closed counter-clockwise GeoJSON ring.
func ring(q [4]xy) [][2]float64 {
	return [][2]float64{lonLat(q[0]), lonLat(q[1]), lonLat(q[2]), lonLat(q[3]), lonLat(q[0])}
}

type townDef struct {
	code, name string
	col, row   int // lattice cell: col 0–2 west to east, row 0–2 south to north
	rural      bool
	vcols      int
	vrows      int
	villages   []string // row by row from the south-west
}

// The towns and street offices of the demo, with real names. Street office
// codes follow the statistical division codes (001–006); town codes 101–104
// and the village codes are plausible, not official. Villages (村) get codes
// from 201, communities (社区) from 001, as the statistical codes do.
var townDefs = []townDef{
	{"370402102", "齐村镇", 0, 2, true, 3, 2, []string{"齐村", "渴口村", "郝峪村", "古井村", "刘庄村", "东辛庄村"}},
	{"370402005", "龙山路街道", 1, 2, false, 2, 2, []string{"龙山路社区", "青年路社区", "东湖社区", "矿建社区"}},
	{"370402101", "孟庄镇", 2, 2, true, 4, 3, []string{"孟庄村", "张范村", "龚庄村", "大郭庄村", "峨山口村", "下道沟村",
		"沈桥村", "上道沟村", "南岭村", "东良村", "西良村", "黄庄村"}},
	{"370402002", "垎塘街道", 0, 1, false, 3, 2, []string{"垎塘社区", "西岭社区", "红旗社区", "文化西路社区", "西昌路社区", "薛庄社区"}},
	{"370402001", "中心街街道", 1, 1, false, 2, 2, []string{"振兴路社区", "君山路社区", "解放路社区", "北马路社区"}},
	{"370402006", "光明路街道", 2, 1, false, 3, 2, []string{"光明路社区", "大众路社区", "建华路社区", "青檀路社区", "东方社区", "金城社区"}},
	{"370402104", "永安镇", 0, 0, true, 3, 2, []string{"永安村", "纸坊村", "郭庄村", "长庄村", "王庄村", "田庄村"}},
	{"370402004", "文化路街道", 1, 0, false, 2, 2, []string{"文化路社区", "华山路社区", "泰山路社区", "民生路社区"}},
	{"370402103", "税郭镇", 2, 0, true, 3, 2, []string{"税郭村", "西鲁村", "东鲁村", "崔庄村", "邓庄村", "韩庄村"}},
}

// Lattice lines of the town layout, in metres from the centre.
var (
	latticeX = [4]float64{-3000, -900, 900, 3000}
	latticeY = [4]float64{-2800, -900, 900, 2800}
)

type town struct {
	def      townDef
	quad     [4]xy
	path     string
	villages []*village
}

type village struct {
	code, name string
	town       *town
	quad       [4]xy
	path       string
	rings      [][][2]float64
	cells      []*cell
	// gapCenter and gapRadius describe the part of the village no grid
	// covers (fields, a hill, a building site), so the town-fallback path of
	// the Locator has real work.
	gapCenter xy
	gapRadius float64
}

type cell struct {
	code    string
	village *village
	x0, y0  float64 // south-west corner on the local plane
	worker  *person
}

// center returns a cell's centre on the local plane.
func (c *cell) center() xy { return xy{c.x0 + cellSize/2, c.y0 + cellSize/2} }

type segment struct {
	id, name, road string
	town           string
	a, b           xy
}

func (g *gen) buildGeography() {
	// The town lattice, each point moved a little so no boundary is straight
	// north–south or east–west.
	var lat [4][4]xy
	for i := range 4 {
		for j := range 4 {
			lat[i][j] = xy{latticeX[i] + g.between(-140, 140), latticeY[j] + g.between(-140, 140)}
		}
	}
	district := models.OrgUnit{Code: DistrictCode, Level: models.LevelDistrict, Name: DistrictName,
		Path: DistrictCode, Center: [2]float64{CenterLon, CenterLat}}
	var outline [][2]float64
	for i := 0; i < 4; i++ { // south edge, west to east
		outline = append(outline, lonLat(lat[i][0]))
	}
	for j := 1; j < 4; j++ { // east edge, south to north
		outline = append(outline, lonLat(lat[3][j]))
	}
	for i := 2; i >= 0; i-- { // north edge, east to west
		outline = append(outline, lonLat(lat[i][3]))
	}
	for j := 2; j >= 0; j-- { // west edge, north to south
		outline = append(outline, lonLat(lat[0][j]))
	}
	district.Boundary = [][][2]float64{outline}
	g.rd.Org = append(g.rd.Org, district)

	for _, d := range townDefs {
		t := &town{def: d, path: DistrictCode + "/" + d.code,
			quad: [4]xy{lat[d.col][d.row], lat[d.col+1][d.row], lat[d.col+1][d.row+1], lat[d.col][d.row+1]}}
		g.towns = append(g.towns, t)
		g.townByID[d.code] = t
		g.rd.Org = append(g.rd.Org, models.OrgUnit{Code: d.code, ParentCode: DistrictCode, Level: models.LevelTown,
			Name: d.name, Path: t.path, Boundary: [][][2]float64{ring(t.quad)}, Center: lonLat(quadCenter(t.quad))})
		g.buildVillages(t)
	}
	g.buildRoads()
	g.buildUnits()
	g.loc = geo.NewLocator(g.rd)
}

func quadCenter(q [4]xy) xy {
	return xy{(q[0].x + q[1].x + q[2].x + q[3].x) / 4, (q[0].y + q[1].y + q[2].y + q[3].y) / 4}
}

// buildVillages splits a town into vcols × vrows villages on a jittered
// bilinear sub-lattice, so they tile the town without gaps or overlaps, and
// lays unit grids over most of each village.
func (g *gen) buildVillages(t *town) {
	d := t.def
	sub := make([][]xy, d.vcols+1)
	for i := range sub {
		sub[i] = make([]xy, d.vrows+1)
		for j := range sub[i] {
			u, v := float64(i)/float64(d.vcols), float64(j)/float64(d.vrows)
			if i > 0 && i < d.vcols && j > 0 && j < d.vrows {
				u += g.between(-0.1, 0.1) / float64(d.vcols)
				v += g.between(-0.1, 0.1) / float64(d.vrows)
			}
			sub[i][j] = bilinear(t.quad, u, v)
		}
	}
	n := 0
	for j := range d.vrows {
		for i := range d.vcols {
			serial := n + 1
			if d.rural {
				serial = 200 + n + 1
			}
			v := &village{code: fmt.Sprintf("%s%03d", d.code, serial), name: d.villages[n], town: t,
				quad: [4]xy{sub[i][j], sub[i+1][j], sub[i+1][j+1], sub[i][j+1]}}
			v.path = t.path + "/" + v.code
			v.rings = [][][2]float64{ring(v.quad)}
			n++
			t.villages = append(t.villages, v)
			g.villages[v.code] = v
			g.rd.Org = append(g.rd.Org, models.OrgUnit{Code: v.code, ParentCode: d.code, Level: models.LevelVillage,
				Name: v.name, Path: v.path, Boundary: v.rings, Center: lonLat(quadCenter(v.quad))})
			g.buildCells(v)
		}
	}
}

// buildCells covers a village with the 100 m cells of the district-wide
// lattice that lie wholly inside it, except those in one gap (a field, a hill)
// and a few scattered ones, numbered 01–99 from the north-west.
func (g *gen) buildCells(v *village) {
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range v.quad {
		minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
		minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
	}
	v.gapCenter = bilinear(v.quad, g.between(0.3, 0.7), g.between(0.3, 0.7))
	v.gapRadius = g.between(0.17, 0.27) * math.Min(maxX-minX, maxY-minY)
	inside := func(p xy) bool {
		q := lonLat(p)
		return geo.PointInPolygon(q[0], q[1], v.rings)
	}
	var cells []*cell
	for ky := int(math.Floor(maxY / cellSize)); ky >= int(math.Floor(minY/cellSize)); ky-- {
		for kx := int(math.Floor(minX / cellSize)); kx <= int(math.Floor(maxX/cellSize)); kx++ {
			c := &cell{village: v, x0: float64(kx) * cellSize, y0: float64(ky) * cellSize}
			corners := c.corners()
			if !inside(corners[0]) || !inside(corners[1]) || !inside(corners[2]) || !inside(corners[3]) {
				continue
			}
			if ctr := c.center(); math.Hypot(ctr.x-v.gapCenter.x, ctr.y-v.gapCenter.y) < v.gapRadius {
				continue
			}
			if g.chance(0.04) {
				continue
			}
			cells = append(cells, c)
		}
	}
	if len(cells) > 99 {
		cells = cells[:99] // two digits of serial
	}
	for i, c := range cells {
		c.code = fmt.Sprintf("%s%02d", v.code, i+1)
		v.cells = append(v.cells, c)
		g.grids[c.code] = c
		ring := [][2]float64{}
		for _, p := range c.corners() {
			ring = append(ring, lonLat(p))
		}
		ring = append(ring, ring[0])
		grid := models.Grid{Code: c.code, Name: fmt.Sprintf("%s%02d号网格", v.name, i+1), VillageCode: v.code,
			TownCode: v.town.def.code, OrgPath: v.path + "/" + c.code, Polygon: [][][2]float64{ring},
			MinLon: ring[0][0], MinLat: ring[0][1], MaxLon: ring[2][0], MaxLat: ring[2][1]}
		g.rd.Grids = append(g.rd.Grids, grid)
	}
}

// corners returns a cell's corners counter-clockwise from the south-west.
func (c *cell) corners() [4]xy {
	return [4]xy{{c.x0, c.y0}, {c.x0 + cellSize, c.y0}, {c.x0 + cellSize, c.y0 + cellSize}, {c.x0, c.y0 + cellSize}}
}

type roadDef struct {
	name string
	a, b xy   // west→east or south→north
	ew   bool // runs east–west (else north–south)
}

// The roads of the demo. The urban ones are real roads of 市中区 named in the
// district's 2024 press release (君山路, 北马路, 解放路, 大众路, 文化西路 had
// their weak-current cables put underground; 振兴南路 and 文化西路 were
// re-landscaped); 茶香大道 and 省道241 are the roads 孟庄镇 rebuilt.
var roadDefs = []roadDef{
	{"龙山路", xy{-1800, 1500}, xy{1800, 1500}, true},
	{"北马路", xy{-2400, 650}, xy{2400, 650}, true},
	{"解放路", xy{-2800, 80}, xy{2800, 80}, true},
	{"大众路", xy{-2400, -480}, xy{2600, -480}, true},
	{"文化西路", xy{-2600, -1350}, xy{0, -1350}, true},
	{"文化东路", xy{0, -1350}, xy{2200, -1350}, true},
	{"西昌路", xy{-1600, -1800}, xy{-1600, 1600}, false},
	{"君山路", xy{-600, -2000}, xy{-600, 2200}, false},
	{"振兴路", xy{250, -1300}, xy{250, 2400}, false},
	{"振兴南路", xy{250, -2500}, xy{250, -1300}, false},
	{"光明路", xy{1400, -1600}, xy{1400, 1800}, false},
	{"茶香大道", xy{1100, 1300}, xy{2900, 2500}, true},
	{"省道241孟庄段", xy{2000, 950}, xy{2000, 2750}, false},
	{"齐村大街", xy{-2900, 1900}, xy{-1050, 1900}, true},
	{"税郭大街", xy{1050, -1900}, xy{2900, -1900}, true},
	{"永安路", xy{-2000, -2700}, xy{-2000, -1000}, false},
}

// buildRoads splits every road at the roads that cross it into segments named
// the way the district names them: "解放路（君山路—振兴路段）". Roads that
// nothing crosses are split every 700 m or so: "茶香大道第2段".
func (g *gen) buildRoads() {
	n := 0
	for ri, r := range roadDefs {
		type cross struct {
			t    float64
			name string
		}
		var xs []cross
		for rj, o := range roadDefs {
			if ri == rj || o.name == r.name {
				continue
			}
			if t, u, ok := intersect(r.a, r.b, o.a, o.b); ok && t > 0.02 && t < 0.98 && u >= 0 && u <= 1 {
				xs = append(xs, cross{t, baseRoad(o.name)})
			}
		}
		slices.SortFunc(xs, func(a, b cross) int { return cmpFloat(a.t, b.t) })
		// Merge crossings of roads that continue each other (文化西路/文化东路 at one point).
		xs = slices.CompactFunc(xs, func(a, b cross) bool { return math.Abs(a.t-b.t) < 1e-9 })
		type piece struct {
			t0, t1 float64
			name   string
		}
		var pieces []piece
		before, after := "以南", "以北"
		if r.ew {
			before, after = "以西", "以东"
		}
		if len(xs) == 0 {
			length := math.Hypot(r.b.x-r.a.x, r.b.y-r.a.y)
			k := max(1, int(math.Round(length/700)))
			for i := range k {
				pieces = append(pieces, piece{float64(i) / float64(k), float64(i+1) / float64(k), fmt.Sprintf("%s第%d段", r.name, i+1)})
			}
		} else {
			pieces = append(pieces, piece{0, xs[0].t, fmt.Sprintf("%s（%s%s段）", r.name, xs[0].name, before)})
			for i := 1; i < len(xs); i++ {
				pieces = append(pieces, piece{xs[i-1].t, xs[i].t, fmt.Sprintf("%s（%s—%s段）", r.name, xs[i-1].name, xs[i].name)})
			}
			pieces = append(pieces, piece{xs[len(xs)-1].t, 1, fmt.Sprintf("%s（%s%s段）", r.name, xs[len(xs)-1].name, after)})
		}
		for _, p := range pieces {
			n++
			s := &segment{id: fmt.Sprintf("RS%03d", n), name: p.name, road: r.name,
				a: lerp(r.a, r.b, p.t0), b: lerp(r.a, r.b, p.t1)}
			mid := lonLat(lerp(s.a, s.b, 0.5))
			for _, t := range g.towns {
				if geo.PointInPolygon(mid[0], mid[1], [][][2]float64{ring(t.quad)}) {
					s.town = t.def.code
					break
				}
			}
			g.segs = append(g.segs, s)
			g.rd.Segments = append(g.rd.Segments, models.RoadSegment{ID: s.id, Name: s.name, TownCode: s.town,
				Leader: g.personName(), Line: [][2]float64{lonLat(s.a), lonLat(s.b)}})
		}
	}
}

// baseRoad shortens a road name for use inside another segment's name.
func baseRoad(name string) string { return strings.TrimSuffix(name, "孟庄段") }

// intersect returns where segments p1–p2 and q1–q2 cross, as fractions along
// each.
func intersect(p1, p2, q1, q2 xy) (t, u float64, ok bool) {
	r := xy{p2.x - p1.x, p2.y - p1.y}
	s := xy{q2.x - q1.x, q2.y - q1.y}
	den := r.x*s.y - r.y*s.x
	if math.Abs(den) < 1e-9 {
		return 0, 0, false
	}
	w := xy{q1.x - p1.x, q1.y - p1.y}
	t = (w.x*s.y - w.y*s.x) / den
	u = (w.x*r.y - w.y*r.x) / den
	return t, u, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Unit ids of the responsible units.
const (
	unitSanitation = "hwzx"    // 市容环卫服务中心
	unitSquad1     = "zfdd-1"  // 综合行政执法大队一中队
	unitSquad2     = "zfdd-2"  // 二中队
	unitSquad3     = "zfdd-3"  // 三中队
	unitParking    = "zfdd-cl" // 车辆管理中队
	unitProperty   = "gywy"    // 固岩物业 (孟庄镇 cleaning contractor)
	unitWater      = "swj"     // 区城乡水务局
)

// townUnit is the id of a town's own unit (镇政府 / 街道办事处), which handles
// what the town is responsible for (属地).
func townUnit(code string) string { return "town-" + code }

func (g *gen) buildUnits() {
	units := []models.Unit{
		{ID: unitSanitation, Name: "市中区市容环卫服务中心", Kind: "环卫"},
		{ID: unitSquad1, Name: "市中区综合行政执法大队一中队", Kind: "执法中队"},
		{ID: unitSquad2, Name: "市中区综合行政执法大队二中队", Kind: "执法中队"},
		{ID: unitSquad3, Name: "市中区综合行政执法大队三中队", Kind: "执法中队"},
		{ID: unitParking, Name: "市中区综合行政执法大队车辆管理中队", Kind: "执法中队"},
		{ID: unitProperty, Name: "固岩物业（孟庄镇环卫保洁）", Kind: "物业", TownCode: "370402101"},
		{ID: unitWater, Name: "市中区城乡水务局", Kind: "部门"},
	}
	for _, t := range g.towns {
		name := t.def.name + "办事处"
		if t.def.rural {
			name = t.def.name + "人民政府"
		}
		units = append(units, models.Unit{ID: townUnit(t.def.code), Name: name, Kind: "镇街", TownCode: t.def.code})
	}
	for _, u := range units {
		g.units[u.ID] = u
	}
	g.rd.Units = units
}

// squadFor returns the enforcement squad responsible for a town's streets.
func squadFor(townCode string) string {
	switch townCode {
	case "370402001", "370402006", "370402005": // 中心街, 光明路, 龙山路
		return unitSquad1
	case "370402101", "370402103": // 孟庄镇, 税郭镇
		return unitSquad3
	}
	return unitSquad2 // 垎塘, 文化路, 永安, 齐村
}
