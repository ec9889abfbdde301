package api

import (
	"net/http"
	"strings"

	"github.com/fieldsync/fieldsync/models"
	"github.com/labstack/echo/v5"
)

// The reference data endpoints are readable by every authenticated caller:
// tablets need the categories, grids and units to work offline.

func (a *API) refData(c *echo.Context) (models.RefData, error) {
	if _, err := actorOf(c); err != nil {
		return models.RefData{}, err
	}
	return a.d.Store.RefData(c.Request().Context())
}

// CategoryList lists categories with the reference data version.
type CategoryList struct {
	Version int           `json:"version"`
	Items   []CategoryDTO `json:"items"`
}

func (a *API) categories(c *echo.Context) error {
	rd, err := a.refData(c)
	if err != nil {
		return err
	}
	res := CategoryList{Version: rd.Version, Items: make([]CategoryDTO, 0, len(rd.Categories))}
	for _, cat := range rd.Categories {
		res.Items = append(res.Items, categoryDTO(cat))
	}
	return ok(c, res)
}

// putCategory lets an admin add or change a local category (小类 60–98).
func (a *API) putCategory(c *echo.Context) error {
	if _, err := requireRole(c, models.RoleAdmin); err != nil {
		return err
	}
	var d CategoryDTO
	if err := decodeJSON(c, &d); err != nil {
		return err
	}
	if len(d.Code) != 5 || (d.Code[0] != 'E' && d.Code[0] != 'C') || strings.TrimSpace(d.NameZH) == "" {
		return models.Errorf(models.CodeInvalidInput, "a category needs a code like E0560 and a Chinese name").WithField("code")
	}
	if d.Kind == "" {
		d.Kind = "event"
		if d.Code[0] == 'C' {
			d.Kind = "component"
		}
	}
	if d.GroupCode == "" {
		d.GroupCode = d.Code[:3]
	}
	if d.Source == "" {
		d.Source = "local"
	}
	lim := models.TimeLimit{Value: d.LimitValue, Unit: models.LimitUnit(d.LimitUnit)}
	if d.LimitUnit != "" {
		if err := lim.Validate(); err != nil {
			return models.Errorf(models.CodeInvalidInput, "invalid time limit: %v", err).WithField("limit_unit")
		}
	}
	switch d.Quantity {
	case "", "area_m2", "length_m", "count":
	default:
		return models.Errorf(models.CodeInvalidInput, "quantity is area_m2, length_m, count or empty").WithField("quantity")
	}
	cat := models.Category{Code: d.Code, Kind: d.Kind, GroupCode: d.GroupCode, GroupZH: d.GroupZH, GroupEN: d.GroupEN,
		NameZH: d.NameZH, NameEN: d.NameEN, Source: d.Source, Quantity: d.Quantity, Limit: lim, Disabled: d.Disabled}
	ctx := c.Request().Context()
	if err := a.d.Store.PutCategory(ctx, cat); err != nil {
		return err
	}
	if a.d.RefChanged != nil {
		a.d.RefChanged(ctx)
	}
	return c.JSON(http.StatusCreated, categoryDTO(cat))
}

// OrgList is the org tree, flat, parents before children.
type OrgList struct {
	Version int          `json:"version"`
	Items   []OrgUnitDTO `json:"items"`
}

func (a *API) orgTree(c *echo.Context) error {
	rd, err := a.refData(c)
	if err != nil {
		return err
	}
	res := OrgList{Version: rd.Version, Items: make([]OrgUnitDTO, 0, len(rd.Org))}
	for _, o := range rd.Org {
		d := OrgUnitDTO{Code: o.Code, ParentCode: o.ParentCode, Level: string(o.Level), Name: o.Name, Path: o.Path, Boundary: o.Boundary}
		if o.Center != [2]float64{} {
			ctr := o.Center
			d.Center = &ctr
		}
		res.Items = append(res.Items, d)
	}
	return ok(c, res)
}

// GridList lists grids.
type GridList struct {
	Version int       `json:"version"`
	Items   []GridDTO `json:"items"`
}

func (a *API) grids(c *echo.Context) error {
	rd, err := a.refData(c)
	if err != nil {
		return err
	}
	town := c.QueryParam("town")
	res := GridList{Version: rd.Version, Items: []GridDTO{}}
	for _, g := range rd.Grids {
		if town != "" && g.TownCode != town {
			continue
		}
		res.Items = append(res.Items, GridDTO{Code: g.Code, Name: g.Name, VillageCode: g.VillageCode, TownCode: g.TownCode,
			OrgPath: g.OrgPath, Polygon: GeoJSONGeometry{Type: "Polygon", Coordinates: g.Polygon}, WorkerID: optUUID(g.WorkerID)})
	}
	return ok(c, res)
}

// RoadSegmentList lists road segments.
type RoadSegmentList struct {
	Version int              `json:"version"`
	Items   []RoadSegmentDTO `json:"items"`
}

func (a *API) roadSegments(c *echo.Context) error {
	rd, err := a.refData(c)
	if err != nil {
		return err
	}
	res := RoadSegmentList{Version: rd.Version, Items: make([]RoadSegmentDTO, 0, len(rd.Segments))}
	for _, s := range rd.Segments {
		res.Items = append(res.Items, RoadSegmentDTO{ID: s.ID, Name: s.Name, TownCode: s.TownCode, Leader: s.Leader,
			Line: GeoJSONGeometry{Type: "LineString", Coordinates: s.Line}})
	}
	return ok(c, res)
}

// UnitList lists responsible units.
type UnitList struct {
	Version int       `json:"version"`
	Items   []UnitDTO `json:"items"`
}

func (a *API) units(c *echo.Context) error {
	rd, err := a.refData(c)
	if err != nil {
		return err
	}
	res := UnitList{Version: rd.Version, Items: make([]UnitDTO, 0, len(rd.Units))}
	for _, u := range rd.Units {
		res.Items = append(res.Items, UnitDTO{ID: u.ID, Name: u.Name, Kind: u.Kind, TownCode: u.TownCode})
	}
	return ok(c, res)
}
