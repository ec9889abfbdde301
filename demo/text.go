package demo

import (
	"fmt"
	"math"
	"strings"
)

// Category weights of new reports. They follow the district's press release:
// shop-front trading and stalls (37,000 a year), mobile vendors (35,000),
// flyposting (10,000), flying wires, piled materials and illegal structures
// in the towns.
var (
	urbanCategories = []wItem{
		{"E0504", 16}, {"E0560", 12}, {"E0501", 10}, {"E0201", 9}, {"E0507", 6}, {"E0561", 5}, {"E0562", 4},
		{"E0101", 4}, {"E0102", 5}, {"E0104", 2}, {"E0510", 3}, {"E0511", 1}, {"E0302", 2}, {"E0303", 1},
		{"E0202", 2}, {"E0203", 1}, {"C0305", 2}, {"C0402", 1}, {"E0404", 1}, {"E0406", 1}, {"E0508", 1},
		{"E0162", 2}, {"E0503", 1}, {"E0505", 2},
	}
	ruralCategories = []wItem{
		{"E0101", 8}, {"E0507", 9}, {"E0102", 9}, {"E0103", 5}, {"E0561", 6}, {"E0161", 4}, {"E0504", 5},
		{"E0560", 5}, {"E0501", 4}, {"E0201", 4}, {"E0302", 3}, {"E0303", 2}, {"E0106", 2}, {"C0305", 2},
		{"E0162", 2}, {"E0562", 2}, {"E0160", 1}, {"E0108", 1},
	}
	parkingCategories    = []wItem{{"E0505", 6}, {"E0506", 3}, {"E0504", 1}}
	minorCategories      = []wItem{{"E0504", 5}, {"E0560", 4}, {"E0501", 3}, {"E0201", 3}, {"E0511", 1}, {"E0506", 2}, {"E0204", 1}}
	outOfScopeCategories = []wItem{{"E0502", 2}, {"E0599", 3}, {"E0499", 1}}
)

// roadside categories are reported on a street when the reporter is in town.
var roadside = map[string]bool{
	"E0504": true, "E0560": true, "E0501": true, "E0201": true, "E0505": true, "E0506": true, "E0510": true,
	"E0203": true, "E0303": true, "E0503": true, "E0204": true, "E0511": true, "E0104": true, "E0202": true,
}

// descriptions holds templates per category: {shop} a shop, {addr} the
// street, community or village, {n} a count, {area} square metres, {len} metres.
var descriptions = map[string][]string{
	"E0504": {"{shop}门前店外经营，占用人行道约{area}平方米", "{shop}将货架摆放至店外占道经营，影响行人通行",
		"{shop}在店外摆放桌椅经营，占用人行道"},
	"E0560": {"{addr}路边有商贩占道经营，摆摊约{n}处", "早市摊点占用{addr}机动车道经营，影响通行",
		"{addr}有水果摊占道经营，占地约{area}平方米"},
	"E0501": {"{addr}有流动商贩推三轮车沿街叫卖", "流动商贩在{addr}路口兜售水果，无固定摊位",
		"{addr}学校门口有流动商贩售卖小吃"},
	"E0201": {"{addr}电线杆及墙面张贴非法小广告约{n}处", "{addr}单元门口喷涂办证小广告{n}处",
		"{addr}公交站牌被张贴疏通下水道小广告{n}张"},
	"E0507": {"{addr}路边乱堆建筑材料约{area}平方米", "{addr}有人在公共通道堆放杂物", "{shop}在门前堆放纸箱等杂物"},
	"E0561": {"{addr}沿街商铺私拉乱接电线约{len}米", "{addr}居民楼外墙飞线杂乱，线缆约{len}米"},
	"E0562": {"{addr}居民从楼上私拉电线为电动车充电{n}处", "{addr}楼道内飞线充电，存在火灾隐患"},
	"E0101": {"{addr}有人私自搭建彩钢板房约{area}平方米", "{addr}一楼住户私自扩建院墙，搭建棚屋约{area}平方米",
		"{addr}村民在路边违规搭建简易房约{area}平方米"},
	"E0102": {"{addr}路边有暴露垃圾约{n}袋", "{addr}垃圾桶旁散落生活垃圾未清理"},
	"E0103": {"{addr}空地积存建筑垃圾渣土约{area}平方米", "{addr}村口积存垃圾长期未清运"},
	"E0104": {"{addr}路面有油污及泥土，道路不洁", "{addr}人行道垃圾较多，未及时清扫"},
	"E0106": {"{addr}绿化带内有塑料袋等垃圾", "{addr}游园绿地内杂物较多"},
	"E0108": {"{addr}路边丢弃旧沙发、床垫等大件垃圾{n}件"},
	"E0160": {"{shop}门前违规设置水泥接坡，占用道路"},
	"E0161": {"{addr}有居民毁坏绿地种菜约{area}平方米"},
	"E0162": {"{shop}门前三包责任不落实，门前脏乱", "{shop}门前杂物堆积，未落实门前三包"},
	"E0202": {"{shop}未经审批设置门头广告牌匾{n}块"},
	"E0203": {"{shop}在人行道摆放落地广告牌{n}块"},
	"E0204": {"{addr}路口有人散发广告传单"},
	"E0302": {"{addr}工地未覆盖裸土，扬尘严重", "{addr}施工现场未落实洒水降尘措施"},
	"E0303": {"{addr}渣土车遗撒，路面污染"},
	"E0404": {"{addr}下水道堵塞，污水外溢"},
	"E0406": {"{addr}降雨后路面积水，影响车辆通行"},
	"E0499": {"{addr}窨井盖松动，存在安全隐患"},
	"E0502": {"{addr}有流浪乞讨人员"},
	"E0503": {"{addr}有废品收购点占道经营"},
	"E0505": {"{addr}机动车违规停放在人行道上，共{n}辆", "{addr}有车辆占用消防通道停放"},
	"E0506": {"{addr}非机动车乱停乱放{n}辆，堵塞人行道"},
	"E0508": {"{shop}在门口使用音响招揽顾客，噪音扰民"},
	"E0510": {"{shop}在店外露天烧烤，油烟扰民", "{addr}夜间有露天烧烤摊点"},
	"E0511": {"{addr}临街商户在行道树上晾晒衣物"},
	"E0599": {"{addr}有居民反映夜间广场舞噪音扰民"},
	"C0305": {"{addr}果皮箱破损，箱体倾倒", "{addr}垃圾桶满溢，桶盖损坏"},
	"C0402": {"{addr}行道树枝干断裂，存在安全隐患"},
}

var shopPrefixes = []string{"老王", "鑫源", "金鼎", "福满园", "好运来", "小李", "聚鑫", "鲁南", "兴隆", "红星",
	"百姓", "家家乐", "运河", "君山", "老街", "顺发"}

var shopKinds = []string{"烧烤店", "水果店", "五金店", "便利店", "快餐店", "电动车维修店", "超市", "面馆", "茶叶店",
	"建材店", "羊肉汤馆", "辣子鸡店", "菜煎饼店", "理发店"}

func (g *gen) shopName() string { return pick(g, shopPrefixes) + pick(g, shopKinds) }

// describe fills a template of the category and returns the description, the
// party on site and the quantity in the category's unit.
func (g *gen) describe(code, addr string) (desc, party string, qty *float64) {
	tpl := pick(g, descriptions[code])
	shop := g.shopName()
	n := 1 + g.r.IntN(4)
	area := 4 + g.r.IntN(20)
	length := 5 * (4 + g.r.IntN(36))
	switch code {
	case "E0201":
		n = 5 + g.r.IntN(36)
	case "E0506":
		n = 3 + g.r.IntN(15)
	case "E0101":
		area = 15 + g.r.IntN(140)
	case "E0103", "E0161":
		area = 10 + g.r.IntN(50)
	}
	r := strings.NewReplacer("{shop}", shop, "{addr}", addr, "{n}", fmt.Sprint(n),
		"{area}", fmt.Sprint(area), "{len}", fmt.Sprint(length))
	desc = r.Replace(tpl)
	switch {
	case strings.Contains(tpl, "{shop}"):
		party = shop
	case code == "E0101" || code == "E0161" || code == "E0562":
		party = "住户" + pick(g, surnames) + "某"
	case code == "E0501" || code == "E0560" || code == "E0503":
		party = "摊主" + pick(g, surnames) + "某"
	}
	var q float64
	switch g.cats[code].Quantity {
	case "area_m2":
		q = float64(area)
	case "length_m":
		q = float64(length)
	case "count":
		q = float64(n)
		switch code {
		case "E0504", "E0501":
			q = 1
		}
	default:
		return desc, party, nil
	}
	return desc, party, &q
}

// Chinese texts of comments, reasons and notes.
var (
	reporterNotes = []string{"已现场劝导，当事人表示马上整改", "该点位问题反复出现，建议重点关注",
		"现场已拍照取证，请尽快处理", "当事人不在现场，已在门口张贴告知书", "周边群众反映强烈"}
	handlerNotes = []string{"已收到，正在安排人员前往现场", "已联系当事人，约定明日整改到位",
		"已安排保洁人员前往处理", "已到达现场，正在处置"}
	clerkNotes = []string{"请责任单位按时限处置并上传整改照片", "该问题群众多次反映，请优先处理",
		"请注意与属地镇街做好衔接"}
	askMoreNotes = []string{"请补拍近景照片，看清店招名称", "请补充具体门牌号或参照物",
		"照片模糊，请重新拍摄远景和近景", "请补拍能反映占道范围的照片"}
	resubmitNotes  = []string{"已补拍近景及店招照片", "已补充门牌号，并重新拍摄远景", "已重新拍照上传"}
	verifyTrueNote = []string{"经核实，情况属实", "现场核实属实，问题仍存在"}
	verifyFalseNot = []string{"经核实，现场未发现该问题", "现场核实不属实，商户已正常经营"}
	dispatchNotes  = []string{"请按时限处置", "请尽快处置并反馈", ""}
	doneNotes      = []string{"已整改完毕，现场恢复整洁", "已督促当事人整改到位", "已清理完毕", "已拆除并清运"}
	checkOKNotes   = []string{"复查：现场已整改到位", "复查：问题已解决，未见反弹"}
	checkBadNotes  = []string{"复查：问题依旧，未整改到位", "复查：问题出现反弹"}
	passNotes      = []string{"核查通过，予以结案", "整改到位，结案"}
	failReasons    = []string{"复查发现问题反弹，要求返工", "整改不到位，请重新处置"}
	extReasons     = []string{"需协调商户统一整改，申请延期", "需联系施工单位配合，申请延期", "涉及多户居民，需逐户做工作，申请延期"}
	suspendReasons = []string{"涉及历史遗留违建，需区级协调，申请挂账", "涉及拆迁安置，暂不具备处置条件，申请挂账"}
	denyReasons    = []string{"时限内可以完成，不予延期", "理由不充分，请按原时限处置"}
	returnReasons  = []string{"不属于本单位职责范围，申请回退", "经现场核查，应由属地镇街处置，申请回退"}
	escalateNotes  = []string{"督办：案件已超期，请责任单位立即整改并反馈", "督办：群众反复投诉，请限期办结"}
	forceReasons   = []string{"历史遗留问题，已纳入专项整治台账，强制结案", "经区城管委会商，移交相关部门处理，强制结案"}
	voidRegReasons = []string{"经复核不属于城管职责范围", "经复核与已立案件重复"}
	resumeNotes    = []string{"协调会已召开，恢复处置", "具备处置条件，恢复处置"}
)

// dispositionFor returns the disposition a unit reports for a category.
func (g *gen) dispositionFor(code string) string {
	switch {
	case strings.HasPrefix(code, "C"), strings.HasPrefix(code, "E04"):
		return "设施维修完成"
	case code >= "E0102" && code <= "E0109", code == "E0104":
		return "" // cleaning: no enforcement disposition
	}
	return weighted(g, []wItem{{"劝导整改", 50}, {"责令限期改正", 25}, {"首违不罚", 15}, {"从轻/减轻处罚", 5}, {"转执法立案", 5}})
}

// addrNumber returns a plausible street number.
func (g *gen) addrNumber() int { return 1 + int(math.Floor(g.r.Float64()*198)) }
