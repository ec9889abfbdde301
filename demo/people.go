package demo

import (
	"slices"
	"time"

	"github.com/fieldsync/fieldsync/models"
)

type person struct {
	user     models.User
	password string
	grids    []string
	device   *Device
	// patrol lists the towns an inspector reports in; grid workers report in
	// their grids.
	patrol []string
	// parking marks the vehicle squad's inspector, who reports parking.
	parking bool
	scope   models.Scope
}

func (p *person) role() models.Role { return p.user.Role }

// covers reports whether the person's scope includes the case as it stands.
func (p *person) covers(c *models.Case) bool { return p.scope.Covers(c) }

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡",
	"郭", "何", "高", "林", "罗", "郑", "梁", "宋", "谢", "韩", "唐", "冯", "于", "董", "褚", "孔", "颜", "孟", "田"}

var givenNames = []string{"伟", "芳", "娜", "敏", "静", "磊", "强", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
	"秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "海燕", "红梅", "文博", "晓东", "春生", "立新", "玉兰",
	"德胜", "兆民", "庆华", "凤英", "树林", "广平", "绍峰", "永刚", "振华", "丽萍"}

// personName returns a Chinese name not used before in this district.
func (g *gen) personName() string {
	if g.usedNames == nil {
		g.usedNames = map[string]bool{}
	}
	for {
		n := pick(g, surnames) + pick(g, givenNames)
		if !g.usedNames[n] {
			g.usedNames[n] = true
			return n
		}
	}
}

type personDef struct {
	username string
	role     models.Role
	orgPath  string
	unitID   string
	villages []string // grid workers: every grid of these villages
	patrol   []string // inspectors
	parking  bool
}

const (
	tZhongxin = "370402001" // 中心街街道
	tGetang   = "370402002" // 垎塘街道
	tWenhua   = "370402004" // 文化路街道
	tLongshan = "370402005" // 龙山路街道
	tGuangmin = "370402006" // 光明路街道
	tMengzh   = "370402101" // 孟庄镇
	tQicun    = "370402102" // 齐村镇
	tShuiguo  = "370402103" // 税郭镇
	tYongan   = "370402104" // 永安镇
)

func townPath(code string) string { return DistrictCode + "/" + code }

// The demo staff. Office staff work for the district's 智慧城管 centre and see
// the whole district. Inspectors belong to squads: some patrol one street
// office or town, the others the whole district. Grid workers are bound to
// every grid of one village.
var personDefs = []personDef{
	{username: "admin", role: models.RoleAdmin, orgPath: DistrictCode},
	{username: "supervisor1", role: models.RoleSupervisor, orgPath: DistrictCode},
	{username: "supervisor2", role: models.RoleSupervisor, orgPath: DistrictCode},
	{username: "clerk1", role: models.RoleClerk, orgPath: DistrictCode},
	{username: "clerk2", role: models.RoleClerk, orgPath: DistrictCode},
	{username: "clerk3", role: models.RoleClerk, orgPath: DistrictCode},
	{username: "inspector1", role: models.RoleInspector, orgPath: townPath(tZhongxin), patrol: []string{tZhongxin}},
	{username: "inspector2", role: models.RoleInspector, orgPath: townPath(tGuangmin), patrol: []string{tGuangmin}},
	{username: "inspector3", role: models.RoleInspector, orgPath: DistrictCode, patrol: []string{tGetang, tWenhua, tYongan, tQicun, tLongshan}},
	{username: "inspector4", role: models.RoleInspector, orgPath: townPath(tMengzh), patrol: []string{tMengzh}},
	{username: "inspector5", role: models.RoleInspector, orgPath: DistrictCode, patrol: []string{tShuiguo, tLongshan, tZhongxin}},
	{username: "inspector6", role: models.RoleInspector, orgPath: DistrictCode, parking: true,
		patrol: []string{tZhongxin, tGuangmin, tGetang, tWenhua, tLongshan}},
	{username: "grid1", role: models.RoleGridWorker, villages: []string{"370402101201"}}, // 孟庄村
	{username: "grid2", role: models.RoleGridWorker, villages: []string{"370402101202"}}, // 张范村
	{username: "grid3", role: models.RoleGridWorker, villages: []string{"370402101203"}}, // 龚庄村
	{username: "grid4", role: models.RoleGridWorker, villages: []string{"370402101204"}}, // 大郭庄村
	{username: "grid5", role: models.RoleGridWorker, villages: []string{"370402001001"}}, // 振兴路社区
	{username: "grid6", role: models.RoleGridWorker, villages: []string{"370402006001"}}, // 光明路社区
	{username: "grid7", role: models.RoleGridWorker, villages: []string{"370402102201"}}, // 齐村
	{username: "grid8", role: models.RoleGridWorker, villages: []string{"370402103201"}}, // 税郭村
	{username: "unit1", role: models.RoleUnitHandler, orgPath: DistrictCode, unitID: unitSanitation},
	{username: "unit2", role: models.RoleUnitHandler, orgPath: townPath(tMengzh), unitID: townUnit(tMengzh)},
	{username: "unit3", role: models.RoleUnitHandler, orgPath: DistrictCode, unitID: unitSquad1},
}

// Password returns the demo password of a username: "demo-" and the name.
// Demo data only: the server prints these at start.
func Password(username string) string { return "demo-" + username }

func (g *gen) buildPeople() {
	created := g.now.Add(-100 * 24 * time.Hour)
	for _, d := range personDefs {
		p := &person{patrol: d.patrol, parking: d.parking}
		p.user = models.User{ID: g.uuid4(), Username: d.username, Name: g.personName(), Role: d.role,
			OrgPath: d.orgPath, UnitID: d.unitID, CreatedAt: created}
		p.password = Password(d.username)
		for _, vc := range d.villages {
			v := g.villages[vc]
			p.user.OrgPath = v.path
			for _, c := range v.cells {
				c.worker = p
				p.grids = append(p.grids, c.code)
			}
		}
		if !d.role.IsOffice() {
			prefix := "tab-"
			if d.role == models.RoleGridWorker {
				prefix = "phone-"
			}
			p.device = &Device{ID: g.uuid4(), Name: prefix + d.username, Username: d.username}
		}
		p.scope = models.ScopeFor(p.user, p.grids)
		g.people = append(g.people, p)
		g.byUsername[d.username] = p
	}
	for i := range g.rd.Grids {
		if c := g.grids[g.rd.Grids[i].Code]; c != nil && c.worker != nil {
			g.rd.Grids[i].WorkerID = c.worker.user.ID
		}
	}
}

// withRole returns the people of a role, in definition order.
func (g *gen) withRole(r models.Role) []*person {
	var out []*person
	for _, p := range g.people {
		if p.role() == r {
			out = append(out, p)
		}
	}
	return out
}

// unitHandler returns the unit handler bound to a unit, or nil.
func (g *gen) unitHandler(unitID string) *person {
	for _, p := range g.people {
		if p.role() == models.RoleUnitHandler && p.user.UnitID == unitID {
			return p
		}
	}
	return nil
}

// inspectorsCovering returns the inspectors whose scope covers c, except
// those in skip: first the town's own inspectors, then the district-wide ones
// who patrol the town, then the other district-wide ones.
func (g *gen) inspectorsCovering(c *models.Case, skip ...*person) []*person {
	var local, patrol, wide []*person
	for _, p := range g.withRole(models.RoleInspector) {
		switch {
		case slices.Contains(skip, p) || !p.covers(c):
		case p.user.OrgPath != DistrictCode:
			local = append(local, p)
		case slices.Contains(p.patrol, c.TownCode) && !p.parking:
			patrol = append(patrol, p)
		default:
			wide = append(wide, p)
		}
	}
	return slices.Concat(local, patrol, wide)
}
