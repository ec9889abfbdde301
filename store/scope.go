package store

import (
	"strings"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// scopeSQL returns a condition that holds for rows whose org_path, grid_code,
// unit_id and reporter_id columns (qualified by alias when it is not "") are
// covered by s, with its arguments. It mirrors models.Scope.Covers: ok is
// false when s covers everything and no condition is needed; an empty scope
// gives a condition that is never true.
func scopeSQL(s models.Scope, alias string) (cond string, args []any, ok bool) {
	if s.All {
		return "", nil, false
	}
	col := func(name string) string {
		if alias == "" {
			return name
		}
		return alias + "." + name
	}
	var parts []string
	for _, p := range s.OrgPrefixes {
		if p == "" {
			continue // PathWithin: an empty prefix covers nothing
		}
		cond, a := pathWithinSQL(col("org_path"), p)
		parts = append(parts, cond)
		args = append(args, a...)
	}
	var grids, units []any
	for _, g := range s.Grids {
		if g != "" {
			grids = append(grids, g)
		}
	}
	for _, u := range s.UnitIDs {
		if u != "" {
			units = append(units, u)
		}
	}
	if len(grids) > 0 {
		parts = append(parts, col("grid_code")+" IN ("+placeholders(len(grids))+")")
		args = append(args, grids...)
	}
	if len(units) > 0 {
		parts = append(parts, col("unit_id")+" IN ("+placeholders(len(units))+")")
		args = append(args, units...)
	}
	if s.ReporterID != uuid.Nil {
		parts = append(parts, col("reporter_id")+" = ?")
		args = append(args, s.ReporterID)
	}
	if len(parts) == 0 {
		return "1 = 0", nil, true
	}
	return "(" + strings.Join(parts, " OR ") + ")", args, true
}

// pathWithinSQL is the condition that the org path in column col equals p or
// descends from it (models.PathWithin), with its arguments.
func pathWithinSQL(col, p string) (string, []any) {
	return "(" + col + " = ? OR " + col + ` LIKE ? ESCAPE '\')`, []any{p, escapeLike(p) + "/%"}
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// escapeLike escapes LIKE's wildcards so s matches literally (with ESCAPE '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
