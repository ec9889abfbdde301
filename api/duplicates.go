package api

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/fieldsync/fieldsync/geo"
	"github.com/fieldsync/fieldsync/models"
)

// Duplicate suggestions: the same category within a radius and a time
// window of a case's report. Defaults suit a street stall or a shop front
// reported by several people on one day; the caller may widen them.
const (
	dupRadiusM    = 100.0
	dupMaxRadiusM = 1000.0
	dupHours      = 72
	dupMaxHours   = 720
	dupScan       = 500 // candidates read from the bounding box and window
)

// DuplicateList answers GET /cases/{id}/duplicates.
type DuplicateList struct {
	RadiusM float64        `json:"radius_m"`
	Hours   float64        `json:"hours"`
	Items   []DuplicateDTO `json:"items"`
}

// DuplicateDTO is one suggested duplicate and how far its report is.
type DuplicateDTO struct {
	Case      CaseDTO `json:"case"`
	DistanceM float64 `json:"distance_m"`
	// HoursApart is the time between the two reports, in hours.
	HoursApart float64 `json:"hours_apart"`
}

// duplicate is a candidate with its distance, as duplicateCandidates ranks them.
type duplicate struct {
	c     models.Case
	dist  float64
	apart time.Duration
}

// duplicateCandidates returns the cases of list that may repeat c: another
// case of the same category, not voided or deleted, reported within radius
// metres and window of c's report; nearest first, then closest in time.
func duplicateCandidates(c models.Case, list []models.Case, radius float64, window time.Duration) []duplicate {
	var out []duplicate
	for _, o := range list {
		if o.ID == c.ID || o.Deleted || o.State == models.StateVoided || o.Category != c.Category {
			continue
		}
		apart := o.CreatedAt.Sub(c.CreatedAt)
		if apart < 0 {
			apart = -apart
		}
		d := geo.HaversineMeters(c.Location.Lat, c.Location.Lon, o.Location.Lat, o.Location.Lon)
		if d > radius || apart > window {
			continue
		}
		out = append(out, duplicate{c: o, dist: d, apart: apart})
	}
	slices.SortStableFunc(out, func(a, b duplicate) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.apart, b.apart))
	})
	return out
}

// duplicates suggests cases that repeat this one, for a clerk to merge as
// void-duplicate (POST transitions, action void, reason duplicate, params
// duplicate_of). Only cases the caller may see are suggested.
func (a *API) duplicates(c *echo.Context) error {
	actor, err := requireRole(c, models.RoleClerk, models.RoleSupervisor, models.RoleAdmin)
	if err != nil {
		return err
	}
	cs, err := a.loadVisible(c, actor)
	if err != nil {
		return err
	}
	radius, err := queryFloat(c, "radius_m", dupRadiusM, 1, dupMaxRadiusM)
	if err != nil {
		return err
	}
	hours, err := queryFloat(c, "hours", dupHours, 1, dupMaxHours)
	if err != nil {
		return err
	}
	window := time.Duration(hours * float64(time.Hour))
	dLat := radius / 111_320
	dLon := radius / (111_320 * math.Max(math.Cos(cs.Location.Lat*math.Pi/180), 0.01))
	from, to := cs.CreatedAt.Add(-window), cs.CreatedAt.Add(window+time.Microsecond)
	list, err := a.d.Store.ListCases(c.Request().Context(), models.CaseQuery{Scope: actor.Scope,
		Categories: []string{cs.Category}, From: &from, To: &to, Limit: dupScan,
		BBox: &models.BBox{MinLat: cs.Location.Lat - dLat, MaxLat: cs.Location.Lat + dLat,
			MinLon: cs.Location.Lon - dLon, MaxLon: cs.Location.Lon + dLon}})
	if err != nil {
		return err
	}
	out := DuplicateList{RadiusM: radius, Hours: hours, Items: []DuplicateDTO{}}
	now := a.now()
	for _, d := range duplicateCandidates(cs, list, radius, window) {
		out.Items = append(out.Items, DuplicateDTO{Case: caseDTO(&d.c, now), DistanceM: math.Round(d.dist*10) / 10,
			HoursApart: math.Round(d.apart.Hours()*10) / 10})
	}
	return c.JSON(http.StatusOK, out)
}

// queryFloat reads a number query parameter within [lo, hi], or def when absent.
func queryFloat(c *echo.Context, name string, def, lo, hi float64) (float64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < lo || v > hi {
		return 0, models.Errorf(models.CodeInvalidInput, "%s must be a number from %g to %g", name, lo, hi).WithField(name)
	}
	return v, nil
}
