package sync

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fieldsync/fieldsync/models"
)

// fieldValues and setField are the domain's; the engine calls them often.
var (
	fieldValues = models.FieldValues
	setField    = models.SetField
	formatFloat = models.FormatFloat
)

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
