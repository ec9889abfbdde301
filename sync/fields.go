package sync

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// fieldValues returns the editable fields of c as strings, the form in which
// edits, history and conflict records carry them.
func fieldValues(c *models.Case) map[string]string {
	return map[string]string{
		"category":    c.Category,
		"description": c.Description,
		"address":     c.Location.Address,
		"lat":         formatFloat(c.Location.Lat),
		"lon":         formatFloat(c.Location.Lon),
		"accuracy":    formatFloat(c.Location.Accuracy),
		"party":       c.Party,
		"quantity":    formatQuantity(c.Quantity),
	}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func formatQuantity(q *float64) string {
	if q == nil {
		return ""
	}
	return formatFloat(*q)
}

// maxText bounds free-text fields so one command cannot bloat every pull.
const maxText = 4000

// validateEdit checks field names and values of an edit_fields command and
// normalises them (numbers in canonical form), without looking at the case.
func validateEdit(fields map[string]string, categoryOK func(string) bool) (map[string]string, error) {
	if len(fields) == 0 {
		return nil, models.Errorf(models.CodeInvalidInput, "edit_fields names no field").WithField("fields")
	}
	out := make(map[string]string, len(fields))
	for f, v := range fields {
		if !slices.Contains(models.EditableFields, f) {
			return nil, models.Errorf(models.CodeUnknownField, "field %q cannot be edited", f).
				WithField("fields." + f).WithHint("editable fields: " + strings.Join(models.EditableFields, ", "))
		}
		switch f {
		case "category":
			if !categoryOK(v) {
				return nil, models.Errorf(models.CodeUnknownCategory, "unknown category %q", v).WithField("fields.category")
			}
		case "lat", "lon", "accuracy":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, models.Errorf(models.CodeInvalidLocation, "%s must be a number", f).WithField("fields." + f)
			}
			loc := models.Location{Lat: 0, Lon: 0}
			switch f {
			case "lat":
				loc.Lat = x
			case "lon":
				loc.Lon = x
			case "accuracy":
				loc.Accuracy = x
			}
			if err := loc.Validate(); err != nil {
				return nil, err
			}
			v = formatFloat(x)
		case "quantity":
			if v != "" {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
					return nil, models.Errorf(models.CodeInvalidInput, "quantity must be a non-negative number").WithField("fields.quantity")
				}
				v = formatFloat(x)
			}
		default:
			if len(v) > maxText {
				return nil, models.Errorf(models.CodeInvalidInput, "%s is longer than %d bytes", f, maxText).WithField("fields." + f)
			}
		}
		out[f] = v
	}
	return out, nil
}

// setField writes one validated field value into c.
func setField(c *models.Case, f, v string) {
	num := func() float64 { x, _ := strconv.ParseFloat(v, 64); return x }
	switch f {
	case "category":
		c.Category = v
	case "description":
		c.Description = v
	case "address":
		c.Location.Address = v
	case "lat":
		c.Location.Lat = num()
	case "lon":
		c.Location.Lon = num()
	case "accuracy":
		c.Location.Accuracy = num()
	case "party":
		c.Party = v
	case "quantity":
		if v == "" {
			c.Quantity = nil
		} else {
			x := num()
			c.Quantity = &x
		}
	}
}
