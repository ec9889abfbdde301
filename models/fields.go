package models

import "strconv"

// FieldValues returns the editable fields of c (EditableFields) as strings,
// the form in which edits, history and conflict records carry them.
func FieldValues(c *Case) map[string]string {
	return map[string]string{
		"category":    c.Category,
		"description": c.Description,
		"address":     c.Location.Address,
		"lat":         FormatFloat(c.Location.Lat),
		"lon":         FormatFloat(c.Location.Lon),
		"accuracy":    FormatFloat(c.Location.Accuracy),
		"party":       c.Party,
		"quantity":    formatQuantity(c.Quantity),
	}
}

// FormatFloat renders a number the way field values carry it: the shortest
// form that reads back the same.
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func formatQuantity(q *float64) string {
	if q == nil {
		return ""
	}
	return FormatFloat(*q)
}

// SetField writes one editable field's value into c. The value must have
// been validated (numbers parse); an unknown field is ignored. The server's
// merge and a client's local replay of its own edits both use it, so they
// agree on what an edit does.
func SetField(c *Case, f, v string) {
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
