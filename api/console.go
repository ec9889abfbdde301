package api

import (
	"context"
	"net/url"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/google/uuid"
	"github.com/labstack/echo/v5"
)

// What the console's statistics and exports share with the case list: "the
// current filter" is the query parameters of GET /api/v1/cases, parsed by
// caseQuery, plus ids, the drill-down filter a statistic links to.

// maxFilterIDs caps the ids filter: a drill-down list longer than this is
// fetched in parts.
const maxFilterIDs = 1000

// caseFilterParams are the query parameters that make up a case filter, in
// the order the canonical filter text lists them (url.Values sorts anyway).
var caseFilterParams = []string{
	"state", "category", "org_path", "grid", "unit", "reporter", "source", "bbox", "from", "to", "q",
	"overdue", "rework", "has_conflict", "ids",
}

// idsParam parses the ids filter: case ids, comma-separated, at most
// maxFilterIDs. It returns nil when the parameter is absent or empty.
func idsParam(c *echo.Context) ([]uuid.UUID, error) {
	parts := csv(c.QueryParam("ids"))
	if len(parts) == 0 {
		return nil, nil
	}
	if len(parts) > maxFilterIDs {
		return nil, models.Errorf(models.CodeInvalidInput, "ids takes at most %d case ids", maxFilterIDs).WithField("ids")
	}
	ids := make([]uuid.UUID, 0, len(parts))
	for _, p := range parts {
		id, err := uuid.Parse(p)
		if err != nil {
			return nil, models.Errorf(models.CodeInvalidInput, "ids must be case ids, comma-separated").WithField("ids")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// listFiltered reads one page of the case list: with the ids filter, the
// cases among those ids that also match q; without it, ListCases.
func (a *API) listFiltered(c *echo.Context, q models.CaseQuery) ([]models.Case, error) {
	ids, err := idsParam(c)
	if err != nil {
		return nil, err
	}
	return a.pageCases(c.Request().Context(), q, ids)
}

func (a *API) pageCases(ctx context.Context, q models.CaseQuery, ids []uuid.UUID) ([]models.Case, error) {
	if ids == nil {
		return a.d.Store.ListCases(ctx, q)
	}
	if a.d.Stats == nil {
		return nil, models.Errorf(models.CodeUnavailable, "this server cannot filter by ids")
	}
	return a.d.Stats.ListCasesByID(ctx, q, ids)
}

// filterText returns the case filter of the request as a canonical query
// string (keys sorted, paging left out): what the statistics and the audit
// log say a figure or an export was taken over.
func filterText(c *echo.Context) string {
	return filterValues(c).Encode()
}

func filterValues(c *echo.Context) url.Values {
	p := c.QueryParams()
	v := url.Values{}
	for _, k := range caseFilterParams {
		if s := strings.TrimSpace(p.Get(k)); s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// labels names the codes and ids a case carries, for exports and statistics.
type labels struct {
	cats  map[string]models.Category
	org   map[string]models.OrgUnit
	units map[string]string
	grids map[string]string
	users map[uuid.UUID]string
}

func (a *API) loadLabels(ctx context.Context, withUsers bool) (*labels, error) {
	rd, err := a.d.Store.RefData(ctx)
	if err != nil {
		return nil, err
	}
	l := &labels{cats: map[string]models.Category{}, org: map[string]models.OrgUnit{}, units: map[string]string{},
		grids: map[string]string{}, users: map[uuid.UUID]string{}}
	for _, c := range rd.Categories {
		l.cats[c.Code] = c
	}
	for _, o := range rd.Org {
		l.org[o.Code] = o
	}
	for _, u := range rd.Units {
		l.units[u.ID] = u.Name
	}
	for _, g := range rd.Grids {
		l.grids[g.Code] = g.Name
	}
	if withUsers {
		us, err := a.d.Store.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			l.users[u.ID] = orWord(u.Name, u.Username)
		}
	}
	return l, nil
}

func (l *labels) category(code string) string { return l.cats[code].NameZH }
func (l *labels) town(code string) string     { return l.org[code].Name }

// townPath returns the org path of a case's town: its org path cut after the
// town code, or "" when the case has no town.
func townPath(c *models.Case) string {
	if c.TownCode == "" {
		return ""
	}
	parts := strings.Split(c.OrgPath, "/")
	for i, p := range parts {
		if p == c.TownCode {
			return strings.Join(parts[:i+1], "/")
		}
	}
	return ""
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v)+1)
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// mustParseQuery parses a query string this package encoded.
func mustParseQuery(s string) url.Values {
	v, err := url.ParseQuery(s)
	if err != nil {
		return url.Values{}
	}
	return v
}
