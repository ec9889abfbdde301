package api

import (
	"strconv"
	"time"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// PeriodDTO is a reporting period in China time, [from, to).
type PeriodDTO struct {
	Label string    `json:"label"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

func periodDTO(p models.Period) PeriodDTO {
	return PeriodDTO{Label: p.Label, From: p.Start, To: p.End}
}

// MetricDTO is one figure with its numerator, denominator, period, filter and
// the cases behind it (GET /api/v1/cases?ids=… lists them).
type MetricDTO struct {
	Kind        string   `json:"kind"`
	Label       string   `json:"label"`
	Numerator   int64    `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Value       *float64 `json:"value,omitempty"` // absent when the denominator is zero
	Period      string   `json:"period"`
	Filter      string   `json:"filter"`
	// Apart counts the cases left out of the figure on purpose (suspended).
	Apart          int            `json:"apart"`
	NumeratorIDs   []uuid.UUID    `json:"numerator_ids,omitempty"`
	DenominatorIDs []uuid.UUID    `json:"denominator_ids,omitempty"`
	ApartIDs       []uuid.UUID    `json:"apart_ids,omitempty"`
	Previous       *MetricPrevDTO `json:"previous,omitempty"`
	Change         *float64       `json:"change,omitempty"` // value − previous value; absent when either is undefined
}

// MetricPrevDTO is the same figure for the previous period (month on month).
type MetricPrevDTO struct {
	Period      string   `json:"period"`
	Numerator   int64    `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Value       *float64 `json:"value,omitempty"`
}

// VolumeDTO is the workload of one category.
type VolumeDTO struct {
	Category        string      `json:"category"`
	Name            string      `json:"name"`
	Unit            string      `json:"unit,omitempty"` // area_m2, length_m, count or "" (处 only)
	Cases           int64       `json:"cases"`
	Quantity        float64     `json:"quantity"`
	WithoutQuantity int64       `json:"without_quantity"`
	PreviousCases   int64       `json:"previous_cases"`
	Period          string      `json:"period"`
	Filter          string      `json:"filter"`
	CaseIDs         []uuid.UUID `json:"case_ids,omitempty"`
}

// StatsGroupDTO is the figures of one group of a cut: a category, a town or a
// month.
type StatsGroupDTO struct {
	Key     string      `json:"key"`
	Label   string      `json:"label"`
	Period  PeriodDTO   `json:"period"`
	Filter  string      `json:"filter"`
	Metrics []MetricDTO `json:"metrics"`
	Volumes []VolumeDTO `json:"volumes"`
}

// MetricDefinitionDTO says how a figure is computed.
type MetricDefinitionDTO struct {
	Kind       string `json:"kind"`
	Label      string `json:"label"`
	Definition string `json:"definition"`
}

// StatsResponse is the statistics of a period over the current filter.
type StatsResponse struct {
	Period   PeriodDTO `json:"period"`
	Previous PeriodDTO `json:"previous"`
	By       string    `json:"by,omitempty"`
	Filter   string    `json:"filter"`
	AsOf     time.Time `json:"as_of"`
	// Provisional is true while the period is not over: its figures move.
	Provisional bool                  `json:"provisional"`
	Totals      StatsGroupDTO         `json:"totals"`
	Groups      []StatsGroupDTO       `json:"groups"`
	Definitions []MetricDefinitionDTO `json:"definitions"`
}

// metricDefinitions are the definitions of models' MetricKind constants, in
// words for the console.
var metricDefinitions = map[models.MetricKind]string{
	models.MetricClosureRate: "结案数 / 应结案数。结案：本期内结案（核查通过或强制结案）的案件。应结案：本期结案的案件，加上期末前已立案、" +
		"处置时限在本期内、期末仍未结案且未作废的案件；其中期末处于挂账状态的单独列出，不计入分子分母。",
	models.MetricOnTimeClosure: "按期结案数 / 应结案数。分母同结案率；分子为本期结案且结案时间不晚于处置时限（无时限视为按期）的案件。",
	models.MetricOnTimeHandling: "按期处置数 / 应处置数。处置：本期内有处置上报（report_done）的案件，按本期最后一次上报计一次。" +
		"应处置：本期处置的案件，加上期末前已派遣、时限在本期内、期末仍待处置（已派遣、延期申请中、已回退）的案件；挂账的单独列出。自行处置案件不计。",
	models.MetricReworkRate:       "返工案件数 / 处置案件数。处置：本期内有处置上报或自行处置的案件；返工：其中期末前至少一次核查不通过的。",
	models.MetricReturnRate:       "回退次数 / 派遣次数，均为本期内的操作次数（含回退后再派遣）；案件列表为涉及的不重复案件。",
	models.MetricRegistrationRate: "立案数 / 上报数。上报：本期内新建的案件；立案：其中期末前已立案或自行处置的（作废的计入分母）。",
	models.MetricMeanHandling: "平均处置时长（秒）= 处置用时之和 / 案件数，对本期内有处置上报的案件，" +
		"用时为本期最后一次处置上报减去其前最后一次派遣。",
}

// statsRoles may read the statistics.
var statsRoles = []models.Role{models.RoleClerk, models.RoleSupervisor, models.RoleAdmin}

// stats answers GET /api/v1/stats: every figure of a period (a month, the
// current one by default, or a year) over the current case filter, within
// the caller's scope, with the previous period's figures, optionally cut by
// category, town or month. The numerator and denominator of each figure
// carry the ids of their cases unless drill=false.
func (a *API) stats(c *echo.Context) error {
	actor, err := requireRole(c, statsRoles...)
	if err != nil {
		return err
	}
	if a.d.Stats == nil {
		return models.Errorf(models.CodeUnavailable, "this server computes no statistics")
	}
	q, err := a.caseQuery(c, actor)
	if err != nil {
		return err
	}
	if c.QueryParam("ids") != "" {
		return models.Errorf(models.CodeInvalidInput, "statistics take case filters, not ids").WithField("ids")
	}
	now := a.now()
	var p models.Period
	if s := c.QueryParam("period"); s != "" {
		if p, err = models.ParsePeriod(s); err != nil {
			return err
		}
	} else {
		n := now.In(models.ChinaTime())
		p = models.MonthPeriod(n.Year(), n.Month())
	}
	cut, err := models.ParseCut(c.QueryParam("by"))
	if err != nil {
		return err
	}
	drill := true
	if s := c.QueryParam("drill"); s != "" {
		if drill, err = strconv.ParseBool(s); err != nil {
			return models.Errorf(models.CodeInvalidInput, "drill must be true or false").WithField("drill")
		}
	}
	ctx := c.Request().Context()
	cases, err := a.d.Stats.StatsCases(ctx, q, models.StatsSince(p, cut), p.End)
	if err != nil {
		return err
	}
	l, err := a.loadLabels(ctx, false)
	if err != nil {
		return err
	}
	base := filterValues(c)
	sb := statsBuilder{l: l, drill: drill}
	res := StatsResponse{Period: periodDTO(p), Previous: periodDTO(p.Previous()), By: string(cut),
		Filter: base.Encode(), AsOf: now.UTC(), Provisional: now.Before(p.End), Groups: []StatsGroupDTO{}}
	res.Totals = sb.group("", "合计", p, base.Encode(), cases)
	switch cut {
	case models.CutCategory, models.CutTown:
		keys, groups := models.GroupCases(cases, cut)
		for _, k := range keys {
			f := cloneValues(base)
			label := ""
			switch cut {
			case models.CutCategory:
				f.Set("category", k)
				label = orWord(l.category(k), k)
			case models.CutTown:
				if tp := townPath(&groups[k][0].Case); tp != "" && f.Get("org_path") == "" {
					f.Set("org_path", tp)
				}
				label = orWord(l.town(k), "（无镇街）")
			}
			res.Groups = append(res.Groups, sb.group(k, label, p, f.Encode(), groups[k]))
		}
	case models.CutMonth:
		for _, m := range p.TrailingMonths(models.MonthsInCut) {
			res.Groups = append(res.Groups, sb.group(m.Label, m.Label, m, base.Encode(), cases))
		}
	}
	for _, k := range models.MetricKinds {
		res.Definitions = append(res.Definitions, MetricDefinitionDTO{Kind: string(k), Label: models.MetricLabelsZH[k],
			Definition: metricDefinitions[k]})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return ok(c, res)
}

type statsBuilder struct {
	l     *labels
	drill bool
}

// group computes one row: the figures of cases in p and in the period before.
func (sb statsBuilder) group(key, label string, p models.Period, filter string, cases []models.StatsCase) StatsGroupDTO {
	cur := models.ComputeStats(cases, p)
	prev := models.ComputeStats(cases, p.Previous())
	g := StatsGroupDTO{Key: key, Label: label, Period: periodDTO(p), Filter: filter,
		Metrics: make([]MetricDTO, 0, len(cur.Metrics)), Volumes: []VolumeDTO{}}
	for _, m := range cur.Metrics {
		pm := prev.Metric(m.Kind)
		d := MetricDTO{Kind: string(m.Kind), Label: models.MetricLabelsZH[m.Kind], Numerator: m.Numerator,
			Denominator: m.Denominator, Value: value(m), Period: p.Label, Filter: filter, Apart: len(m.Apart),
			Previous: &MetricPrevDTO{Period: prev.Period.Label, Numerator: pm.Numerator, Denominator: pm.Denominator,
				Value: value(pm)}}
		if d.Value != nil && d.Previous.Value != nil {
			ch := *d.Value - *d.Previous.Value
			d.Change = &ch
		}
		if sb.drill {
			d.NumeratorIDs, d.DenominatorIDs, d.ApartIDs = m.NumeratorIDs, m.DenominatorIDs, m.Apart
		}
		g.Metrics = append(g.Metrics, d)
	}
	prevCases := map[string]int64{}
	for _, v := range prev.Volumes {
		prevCases[v.Category] = v.Cases
	}
	for _, v := range cur.Volumes {
		cat := sb.l.cats[v.Category]
		f := mustParseQuery(filter)
		f.Set("category", v.Category)
		d := VolumeDTO{Category: v.Category, Name: orWord(cat.NameZH, v.Category), Unit: cat.Quantity, Cases: v.Cases,
			Quantity: v.Quantity, WithoutQuantity: v.WithoutQuantity, PreviousCases: prevCases[v.Category],
			Period: p.Label, Filter: f.Encode()}
		if sb.drill {
			d.CaseIDs = v.CaseIDs
		}
		g.Volumes = append(g.Volumes, d)
	}
	return g
}

func value(m models.Metric) *float64 {
	v, ok := m.Value()
	if !ok {
		return nil
	}
	return &v
}
