// Package refdata holds the built-in reference data of fieldsync: the national
// and local case categories of the district, with a default time limit for each,
// and the CSV parser an admin uses to import local categories.
//
// Everything here is pure: the category list is embedded in the binary.
package refdata

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fieldsync/fieldsync/models"
)

//go:embed categories.csv
var categoriesCSV []byte

// Categories returns the built-in categories of the district (categories.csv,
// embedded), each with its default time limit. It returns a fresh slice on
// every call, so callers may modify it.
func Categories() ([]models.Category, error) {
	return ParseCategories(bytes.NewReader(categoriesCSV))
}

// CategoriesCSV returns the embedded categories.csv as shipped.
func CategoriesCSV() []byte { return bytes.Clone(categoriesCSV) }

// The columns of a category file. The first nine are required; limit_value and
// limit_unit are optional and override the default limit of DefaultLimit when
// present (both or neither); disabled is optional ("true"/"false", "1"/"0",
// empty means false).
const (
	colCode       = "code"
	colKind       = "kind"
	colGroupCode  = "group_code"
	colGroupZH    = "group_zh"
	colGroupEN    = "group_en"
	colZH         = "zh"
	colEN         = "en"
	colSource     = "source"
	colQuantity   = "quantity"
	colLimitValue = "limit_value"
	colLimitUnit  = "limit_unit"
	colDisabled   = "disabled"
)

var requiredColumns = []string{colCode, colKind, colGroupCode, colGroupZH, colGroupEN, colZH, colEN, colSource, colQuantity}

var optionalColumns = []string{colLimitValue, colLimitUnit, colDisabled}

// Quantities are the values the quantity column may take: what the district
// sums for a category ("" when it only counts cases).
var Quantities = []string{"", "area_m2", "length_m", "count"}

// LimitUnits lists every time-limit unit.
var LimitUnits = []models.LimitUnit{models.LimitHours, models.LimitWorkHours, models.LimitWorkDays, models.LimitDays}

// maxLimitValue bounds an imported limit: a year of continuous hours is
// already more than any category needs, and the bound keeps deadline
// arithmetic far away from overflow.
const maxLimitValue = 8760

// maxRows bounds an import so a wrong file cannot exhaust memory. The
// national standard has a few hundred categories; a district adds dozens.
const maxRows = 5000

// defaultLimits are the default time limits per category. The domain reference
// leaves time limits to each city; these are our defaults, chosen from the
// figures city centres publish. Urgent problems that endanger people or
// property run on continuous hours (the clock runs at night and on holidays);
// street-order problems that an officer can end with a word run on work hours;
// problems that need works, a contractor or a formal procedure run on work days.
//
//	code   category                 limit            why
//	E0101  私搭乱建                  20 work_days     demolition procedure (stop work 4 wh, penalty 7 wd, demolition 20 wd)
//	E0102  暴露垃圾                  4  work_hours    domain reference example
//	E0103  积存垃圾渣土              2  work_days     needs a truck
//	E0104  道路不洁                  4  work_hours    sweeping crew on duty
//	E0105  水域不洁                  2  work_days     boat or contractor
//	E0106  绿地脏乱                  1  work_days
//	E0107  废弃车辆                  5  work_days     notice period before removal
//	E0108  废弃家具设备              1  work_days
//	E0109  非装饰性树挂              4  work_hours
//	E0160  违章接坡                  5  work_days     order to remove, then removal
//	E0161  毁绿种菜                  3  work_days
//	E0162  门前三包责任不落实        1  work_days
//	E0199  其他市容环境问题          3  work_days
//	E0201  非法小广告                4  work_hours
//	E0202  违章张贴悬挂广告牌匾      5  work_days     owner is ordered to remove it
//	E0203  占道广告牌                1  work_days
//	E0204  街头散发广告              2  work_hours
//	E0299  其他宣传广告问题          3  work_days
//	E0301  施工扰民                  2  hours         often at night
//	E0302  工地扬尘                  4  work_hours
//	E0303  道路遗撒                  2  hours         traffic hazard
//	E0304  施工废弃料                1  work_days
//	E0305  施工占道                  1  work_days
//	E0306  无证掘路                  4  work_hours    stop the works first
//	E0399  其他施工管理问题          3  work_days
//	E0401  路面塌陷                  2  hours         danger to life
//	E0402  自来水管破裂              2  hours
//	E0403  燃气管道破裂              1  hours
//	E0404  下水道堵塞或破损          24 hours
//	E0406  道路积水                  2  hours
//	E0408  架空线缆损坏              4  hours
//	E0499  其他突发事件              2  hours
//	E0501  无照经营游商              2  work_hours
//	E0502  流浪乞讨                  2  work_hours    referred to the rescue station
//	E0503  占道废品收购              4  work_hours
//	E0504  店外经营                  2  work_hours
//	E0505  机动车乱停放              2  work_hours
//	E0506  非机动车乱停放            2  work_hours
//	E0507  乱堆物料                  1  work_days
//	E0508  商业噪音                  2  hours         often at night
//	E0509  黑车拉客                  2  work_hours
//	E0510  露天烧烤                  2  hours         evenings and nights
//	E0511  沿街晾挂                  4  work_hours
//	E0512  非法出版物销售            4  work_hours
//	E0560  占道经营                  2  work_hours
//	E0561  私拉乱接电线（飞线）      3  work_days     cutting and re-laying cables
//	E0562  飞线充电                  1  work_days     fire risk
//	E0599  其他街面秩序问题          3  work_days
//	C0301  公共厕所                  1  work_days
//	C0304  垃圾间（楼）              1  work_days
//	C0305  垃圾箱                    1  work_days
//	C0307  广告牌匾                  3  work_days
//	C0360  垃圾转运站                1  work_days
//	C0402  行道树                    3  work_days
//	C0405  绿地                      3  work_days
//
// A code not in the table (a local category an admin imports without limit
// columns) gets 24 hours in group E04 (emergencies) and 3 work days otherwise.
var defaultLimits = map[string]models.TimeLimit{
	"E0101": wd(20), "E0102": wh(4), "E0103": wd(2), "E0104": wh(4), "E0105": wd(2), "E0106": wd(1),
	"E0107": wd(5), "E0108": wd(1), "E0109": wh(4), "E0160": wd(5), "E0161": wd(3), "E0162": wd(1),
	"E0199": wd(3),
	"E0201": wh(4), "E0202": wd(5), "E0203": wd(1), "E0204": wh(2), "E0299": wd(3),
	"E0301": hr(2), "E0302": wh(4), "E0303": hr(2), "E0304": wd(1), "E0305": wd(1), "E0306": wh(4),
	"E0399": wd(3),
	"E0401": hr(2), "E0402": hr(2), "E0403": hr(1), "E0404": hr(24), "E0406": hr(2), "E0408": hr(4),
	"E0499": hr(2),
	"E0501": wh(2), "E0502": wh(2), "E0503": wh(4), "E0504": wh(2), "E0505": wh(2), "E0506": wh(2),
	"E0507": wd(1), "E0508": hr(2), "E0509": wh(2), "E0510": hr(2), "E0511": wh(4), "E0512": wh(4),
	"E0560": wh(2), "E0561": wd(3), "E0562": wd(1), "E0599": wd(3),
	"C0301": wd(1), "C0304": wd(1), "C0305": wd(1), "C0307": wd(3), "C0360": wd(1),
	"C0402": wd(3), "C0405": wd(3),
}

func hr(n int) models.TimeLimit { return models.TimeLimit{Value: n, Unit: models.LimitHours} }
func wh(n int) models.TimeLimit { return models.TimeLimit{Value: n, Unit: models.LimitWorkHours} }
func wd(n int) models.TimeLimit { return models.TimeLimit{Value: n, Unit: models.LimitWorkDays} }

// DefaultLimit returns the default time limit of a category code: the value of
// the table above, or the fallback for codes the table does not name.
func DefaultLimit(code string) models.TimeLimit {
	if l, ok := defaultLimits[code]; ok {
		return l
	}
	if strings.HasPrefix(code, "E04") {
		return hr(24)
	}
	return wd(3)
}

// ValidLimitUnit reports whether u is a known time-limit unit.
func ValidLimitUnit(u models.LimitUnit) bool { return slices.Contains(LimitUnits, u) }

// ParseCategories reads a category CSV (UTF-8, optionally with a byte order
// mark as Excel writes it) and returns its categories in file order, each with
// its time limit: from the limit columns when the file has them, else
// DefaultLimit. The header row names the columns in any order; every required
// column must be present, and unknown or repeated columns are refused, so a
// misspelt header fails loudly instead of silently dropping a column.
//
// Every error is a *models.Error with CodeInvalidInput whose message starts
// with the line number of the offending row ("line 7: ...") and whose Field
// names the column. The first bad row stops the parse: an import is all or
// nothing.
func ParseCategories(r io.Reader) ([]models.Category, error) {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 0 // every row must have as many fields as the header

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid(1, "", "the file is empty: a header row is required")
	}
	if err != nil {
		return nil, csvError(err)
	}
	headerLine, _ := cr.FieldPos(0)
	idx, err := columnIndex(headerLine, header)
	if err != nil {
		return nil, err
	}

	var out []models.Category
	seen := map[string]int{} // code → line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(out) >= maxRows {
			return nil, invalid(line, "", "too many rows: at most %d categories per file", maxRows)
		}
		if blank(rec) {
			continue
		}
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return nil, invalid(line, "", "the row is not UTF-8 text: save the file as \"CSV UTF-8\" (Excel often saves GBK)")
			}
		}
		c, err := parseRow(line, rec, idx)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[c.Code]; dup {
			return nil, invalid(line, colCode, "code %s is repeated (first on line %d)", c.Code, first)
		}
		seen[c.Code] = line
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, invalid(1, "", "the file has a header but no categories")
	}
	return out, nil
}

// columnIndex maps each column name of the header to its position.
func columnIndex(line int, header []string) (map[string]int, error) {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, invalid(line, "", "the header is not UTF-8 text: save the file as \"CSV UTF-8\" (Excel often saves GBK)")
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(requiredColumns, name) && !slices.Contains(optionalColumns, name) {
			return nil, invalid(line, name, "unknown column %q in the header (expected %s, optionally %s)",
				h, strings.Join(requiredColumns, ","), strings.Join(optionalColumns, ","))
		}
		if _, dup := idx[name]; dup {
			return nil, invalid(line, name, "column %q appears twice in the header", name)
		}
		idx[name] = i
	}
	for _, name := range requiredColumns {
		if _, ok := idx[name]; !ok {
			return nil, invalid(line, name, "the header lacks the required column %q", name)
		}
	}
	_, hasValue := idx[colLimitValue]
	_, hasUnit := idx[colLimitUnit]
	if hasValue != hasUnit {
		return nil, invalid(line, colLimitValue, "limit_value and limit_unit come together: the header has only one of them")
	}
	return idx, nil
}

// parseRow checks one row and turns it into a category.
func parseRow(line int, rec []string, idx map[string]int) (models.Category, error) {
	get := func(col string) string {
		i, ok := idx[col]
		if !ok {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	c := models.Category{
		Code:      strings.ToUpper(get(colCode)),
		Kind:      strings.ToLower(get(colKind)),
		GroupCode: strings.ToUpper(get(colGroupCode)),
		GroupZH:   get(colGroupZH),
		GroupEN:   get(colGroupEN),
		NameZH:    get(colZH),
		NameEN:    get(colEN),
		Source:    strings.ToLower(get(colSource)),
		Quantity:  strings.ToLower(get(colQuantity)),
	}
	if !validCode(c.Code) {
		return c, invalid(line, colCode, "code %q is not a category code: a letter E (event) or C (component) and four digits, like E0504", get(colCode))
	}
	switch c.Kind {
	case "event", "component":
	default:
		return c, invalid(line, colKind, "kind %q must be event or component", get(colKind))
	}
	if (c.Kind == "event") != (c.Code[0] == 'E') {
		return c, invalid(line, colKind, "code %s does not match kind %s: event codes start with E, component codes with C", c.Code, c.Kind)
	}
	if c.GroupCode != c.Code[:3] {
		return c, invalid(line, colGroupCode, "group_code %q must be the first three characters of the code (%s)", get(colGroupCode), c.Code[:3])
	}
	if c.NameZH == "" {
		return c, invalid(line, colZH, "the Chinese name (zh) of %s is empty", c.Code)
	}
	if c.GroupZH == "" {
		return c, invalid(line, colGroupZH, "the Chinese group name (group_zh) of %s is empty", c.Code)
	}
	sub, _ := strconv.Atoi(c.Code[3:])
	localRange := sub >= 60 && sub <= 98
	switch c.Source {
	case "national":
		if localRange {
			return c, invalid(line, colSource, "%s is in the local range (小类 60–98) but marked national", c.Code)
		}
	case "local":
		if !localRange {
			return c, invalid(line, colSource, "%s is marked local but local categories use 小类 60–98", c.Code)
		}
	default:
		return c, invalid(line, colSource, "source %q must be national or local", get(colSource))
	}
	if !slices.Contains(Quantities, c.Quantity) {
		return c, invalid(line, colQuantity, "quantity %q must be empty, area_m2, length_m or count", get(colQuantity))
	}

	c.Limit = DefaultLimit(c.Code)
	if _, ok := idx[colLimitValue]; ok {
		v, u := get(colLimitValue), models.LimitUnit(strings.ToLower(get(colLimitUnit)))
		switch {
		case v == "" && u == "":
			// keep the default
		case v == "" || u == "":
			return c, invalid(line, colLimitValue, "limit_value and limit_unit of %s must both be set or both be empty", c.Code)
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimitValue {
				return c, invalid(line, colLimitValue, "limit_value %q of %s must be a whole number from 1 to %d", v, c.Code, maxLimitValue)
			}
			if !ValidLimitUnit(u) {
				return c, invalid(line, colLimitUnit, "limit_unit %q of %s must be hours, work_hours, work_days or days", get(colLimitUnit), c.Code)
			}
			c.Limit = models.TimeLimit{Value: n, Unit: u}
		}
	}
	switch strings.ToLower(get(colDisabled)) {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		c.Disabled = true
	default:
		return c, invalid(line, colDisabled, "disabled %q must be true or false", get(colDisabled))
	}
	return c, nil
}

// validCode reports whether s is E or C followed by four ASCII digits.
func validCode(s string) bool {
	if len(s) != 5 || (s[0] != 'E' && s[0] != 'C') {
		return false
	}
	for i := 1; i < 5; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func invalid(line int, field, format string, args ...any) *models.Error {
	e := models.Errorf(models.CodeInvalidInput, "line %d: %s", line, fmt.Sprintf(format, args...))
	if field != "" {
		e = e.WithField(field)
	}
	return e
}

// csvError turns an encoding/csv error into a coded error that keeps its line.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "wrong number of fields: every row needs as many fields as the header"
		}
		e := invalid(pe.StartLine, "", "%s", msg)
		e.Cause = err
		return e
	}
	e := models.Errorf(models.CodeInvalidInput, "the category file cannot be read")
	e.Cause = err
	return e
}

// WriteCategories writes cats as a category CSV that ParseCategories reads
// back to the same categories: the nine required columns, then limit_value,
// limit_unit and disabled. Admins use it to export the list they edit.
func WriteCategories(w io.Writer, cats []models.Category) error {
	cw := csv.NewWriter(w)
	header := append(slices.Clone(requiredColumns), optionalColumns...)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, c := range cats {
		disabled := "false"
		if c.Disabled {
			disabled = "true"
		}
		rec := []string{c.Code, c.Kind, c.GroupCode, c.GroupZH, c.GroupEN, c.NameZH, c.NameEN, c.Source, c.Quantity,
			strconv.Itoa(c.Limit.Value), string(c.Limit.Unit), disabled}
		if c.Limit.Value == 0 && c.Limit.Unit == "" {
			rec[9], rec[10] = "", ""
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
