package refdata

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

const header = "code,kind,group_code,group_zh,group_en,zh,en,source,quantity\n"

func TestCategoriesEmbedded(t *testing.T) {
	cats, err := Categories()
	if err != nil {
		t.Fatalf("Categories: %v", err)
	}
	if len(cats) != 55 {
		t.Errorf("got %d categories, want the 55 rows of categories.csv", len(cats))
	}
	byCode := map[string]models.Category{}
	for _, c := range cats {
		byCode[c.Code] = c
		if c.Limit.Value < 1 || !ValidLimitUnit(c.Limit.Unit) {
			t.Errorf("%s has no valid default limit: %+v", c.Code, c.Limit)
		}
		if _, ok := defaultLimits[c.Code]; !ok {
			t.Errorf("%s is in categories.csv but not in the documented default table", c.Code)
		}
	}
	for code := range defaultLimits {
		if _, ok := byCode[code]; !ok {
			t.Errorf("default table names %s, which categories.csv does not have", code)
		}
	}
	want := models.Category{
		Code: "E0504", Kind: "event", GroupCode: "E05", GroupZH: "街面秩序", GroupEN: "Street order",
		NameZH: "店外经营", NameEN: "Trading outside the shop front", Source: "national", Quantity: "count",
		Limit: models.TimeLimit{Value: 2, Unit: models.LimitWorkHours},
	}
	if got := byCode["E0504"]; !reflect.DeepEqual(got, want) {
		t.Errorf("E0504 = %+v\nwant %+v", got, want)
	}
	if got := byCode["E0102"].Limit; got != (models.TimeLimit{Value: 4, Unit: models.LimitWorkHours}) {
		t.Errorf("exposed garbage limit = %+v, want 4 work_hours", got)
	}
	if got := byCode["E0101"].Limit; got != (models.TimeLimit{Value: 20, Unit: models.LimitWorkDays}) {
		t.Errorf("illegal structures limit = %+v, want 20 work_days", got)
	}
	if got := byCode["E0561"]; got.Source != "local" || got.NameZH != "私拉乱接电线（飞线）" || got.Quantity != "length_m" {
		t.Errorf("E0561 = %+v", got)
	}
	// Callers may modify what they get.
	cats[0].NameZH = "changed"
	again, _ := Categories()
	if again[0].NameZH == "changed" {
		t.Error("Categories shares its slice between calls")
	}
}

func TestDefaultLimit(t *testing.T) {
	tests := []struct {
		code string
		want models.TimeLimit
	}{
		{"E0504", wh(2)},
		{"E0401", hr(2)},
		{"E0403", hr(1)},
		{"E0101", wd(20)},
		{"E0470", hr(24)}, // an unknown emergency: urgent
		{"E0570", wd(3)},  // an unknown local street-order category
		{"C0999", wd(3)},
	}
	for _, tt := range tests {
		if got := DefaultLimit(tt.code); got != tt.want {
			t.Errorf("DefaultLimit(%s) = %+v, want %+v", tt.code, got, tt.want)
		}
	}
}

func TestParseCategories(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []models.Category
		wantLine  string // expected "line N:" prefix of the error message
		wantField string
		wantIn    string // substring of the error message
	}{
		{
			name: "minimal national",
			in:   header + "E0102,event,E01,市容环境,City appearance,暴露垃圾,Exposed garbage,national,\n",
			want: []models.Category{{Code: "E0102", Kind: "event", GroupCode: "E01", GroupZH: "市容环境",
				GroupEN: "City appearance", NameZH: "暴露垃圾", NameEN: "Exposed garbage", Source: "national",
				Limit: wh(4)}},
		},
		{
			name: "columns in another order, BOM, CRLF, spaces and case",
			in: "\uFEFFzh,Code,kind,group_code,group_zh,group_en,en,source,quantity\r\n" +
				" 违章接坡 ,e0160,EVENT,e01,市容环境,x,Kerb ramp,LOCAL,\r\n",
			want: []models.Category{{Code: "E0160", Kind: "event", GroupCode: "E01", GroupZH: "市容环境",
				GroupEN: "x", NameZH: "违章接坡", NameEN: "Kerb ramp", Source: "local", Limit: wd(5)}},
		},
		{
			name: "local import with limits and disabled",
			in: "code,kind,group_code,group_zh,group_en,zh,en,source,quantity,limit_value,limit_unit,disabled\n" +
				"E0570,event,E05,街面秩序,Street order,夜市占道,Night market,local,count,3,days,true\n" +
				"E0571,event,E05,街面秩序,Street order,占道洗车,Car washing,local,,,,\n",
			want: []models.Category{
				{Code: "E0570", Kind: "event", GroupCode: "E05", GroupZH: "街面秩序", GroupEN: "Street order",
					NameZH: "夜市占道", NameEN: "Night market", Source: "local", Quantity: "count",
					Limit: models.TimeLimit{Value: 3, Unit: models.LimitDays}, Disabled: true},
				{Code: "E0571", Kind: "event", GroupCode: "E05", GroupZH: "街面秩序", GroupEN: "Street order",
					NameZH: "占道洗车", NameEN: "Car washing", Source: "local", Limit: wd(3)},
			},
		},
		{
			name: "quoted field with comma and blank line skipped",
			in:   header + "\nC0307,component,C03,\"市容环境设施, 部件\",Appearance,广告牌匾,Signboard,national,\n",
			want: []models.Category{{Code: "C0307", Kind: "component", GroupCode: "C03", GroupZH: "市容环境设施, 部件",
				GroupEN: "Appearance", NameZH: "广告牌匾", NameEN: "Signboard", Source: "national", Limit: wd(3)}},
		},
		{name: "empty file", in: "", wantLine: "line 1:", wantIn: "empty"},
		{name: "header only", in: header, wantLine: "line 1:", wantIn: "no categories"},
		{name: "missing column", in: "code,kind,group_code,group_zh,group_en,zh,en,source\n", wantLine: "line 1:", wantField: "quantity", wantIn: "lacks"},
		{name: "unknown column", in: strings.TrimSuffix(header, "\n") + ",colour\n", wantLine: "line 1:", wantIn: "unknown column"},
		{name: "repeated column", in: strings.TrimSuffix(header, "\n") + ",zh\n", wantLine: "line 1:", wantIn: "twice"},
		{name: "limit_value without unit", in: strings.TrimSuffix(header, "\n") + ",limit_value\n", wantLine: "line 1:", wantIn: "together"},
		{name: "bad code", in: header + "E01,event,E01,市容环境,x,垃圾,x,national,\n", wantLine: "line 2:", wantField: "code"},
		{name: "kind mismatch", in: header + "C0102,event,C01,市容环境,x,垃圾,x,national,\n", wantLine: "line 2:", wantField: "kind"},
		{name: "bad kind", in: header + "E0102,thing,E01,市容环境,x,垃圾,x,national,\n", wantLine: "line 2:", wantField: "kind"},
		{name: "group mismatch", in: header + "E0102,event,E02,市容环境,x,垃圾,x,national,\n", wantLine: "line 2:", wantField: "group_code"},
		{name: "empty zh", in: header + "E0102,event,E01,市容环境,x,,x,national,\n", wantLine: "line 2:", wantField: "zh"},
		{name: "empty group_zh", in: header + "E0102,event,E01,,x,垃圾,x,national,\n", wantLine: "line 2:", wantField: "group_zh"},
		{name: "local range marked national", in: header + "E0560,event,E05,街面秩序,x,占道经营,x,national,\n", wantLine: "line 2:", wantField: "source"},
		{name: "national range marked local", in: header + "E0504,event,E05,街面秩序,x,店外经营,x,local,\n", wantLine: "line 2:", wantField: "source"},
		{name: "bad source", in: header + "E0504,event,E05,街面秩序,x,店外经营,x,city,\n", wantLine: "line 2:", wantField: "source"},
		{name: "bad quantity", in: header + "E0504,event,E05,街面秩序,x,店外经营,x,national,kg\n", wantLine: "line 2:", wantField: "quantity"},
		{
			name:     "duplicate code names both lines",
			in:       header + "E0504,event,E05,街面秩序,x,店外经营,x,national,\nE0102,event,E01,市容环境,x,暴露垃圾,x,national,\nE0504,event,E05,街面秩序,x,店外经营,x,national,\n",
			wantLine: "line 4:", wantField: "code", wantIn: "first on line 2",
		},
		{name: "too few fields", in: header + "E0504,event,E05\n", wantLine: "line 2:", wantIn: "number of fields"},
		{name: "bare quote", in: header + "E0504,event,E05,街\"面,x,店外经营,x,national,\n", wantLine: "line 2:"},
		{name: "GBK bytes", in: header + "E0504,event,E05,\xbd\xd6\xc3\xe6,x,x,x,national,\n", wantLine: "line 2:", wantIn: "UTF-8"},
		{
			name:     "bad limit value",
			in:       "code,kind,group_code,group_zh,group_en,zh,en,source,quantity,limit_value,limit_unit\nE0504,event,E05,街面秩序,x,店外经营,x,national,,0,hours\n",
			wantLine: "line 2:", wantField: "limit_value",
		},
		{
			name:     "bad limit unit",
			in:       "code,kind,group_code,group_zh,group_en,zh,en,source,quantity,limit_value,limit_unit\nE0504,event,E05,街面秩序,x,店外经营,x,national,,2,weeks\n",
			wantLine: "line 2:", wantField: "limit_unit",
		},
		{
			name:     "half a limit",
			in:       "code,kind,group_code,group_zh,group_en,zh,en,source,quantity,limit_value,limit_unit\nE0504,event,E05,街面秩序,x,店外经营,x,national,,2,\n",
			wantLine: "line 2:", wantField: "limit_value",
		},
		{
			name:     "bad disabled",
			in:       strings.TrimSuffix(header, "\n") + ",disabled\nE0504,event,E05,街面秩序,x,店外经营,x,national,,maybe\n",
			wantLine: "line 2:", wantField: "disabled",
		},
		{
			name:     "line numbers count lines, not records",
			in:       header + "E0504,event,E05,\"街面\n秩序\",x,店外经营,x,national,\n\nE0505,event,E05,街面秩序,x,乱停,x,national,weird\n",
			wantLine: "line 5:", wantField: "quantity",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCategories(strings.NewReader(tt.in))
			if tt.wantLine == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got  %+v\nwant %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.CodeInvalidInput {
				t.Fatalf("error %v is not an invalid_input *models.Error", err)
			}
			if !strings.HasPrefix(me.Message, tt.wantLine) {
				t.Errorf("message %q does not start with %q", me.Message, tt.wantLine)
			}
			if tt.wantField != "" && me.Field != tt.wantField {
				t.Errorf("field = %q, want %q (message %q)", me.Field, tt.wantField, me.Message)
			}
			if !strings.Contains(me.Message, tt.wantIn) {
				t.Errorf("message %q does not contain %q", me.Message, tt.wantIn)
			}
		})
	}
}

func TestWriteCategoriesRoundTrip(t *testing.T) {
	cats, err := Categories()
	if err != nil {
		t.Fatal(err)
	}
	cats[3].Disabled = true
	cats[4].Limit = models.TimeLimit{Value: 9, Unit: models.LimitDays}
	var buf bytes.Buffer
	if err := WriteCategories(&buf, cats); err != nil {
		t.Fatal(err)
	}
	back, err := ParseCategories(&buf)
	if err != nil {
		t.Fatalf("re-parse: %v", err)
	}
	if !reflect.DeepEqual(back, cats) {
		t.Fatal("WriteCategories then ParseCategories changed the categories")
	}
}

func FuzzParseCategories(f *testing.F) {
	f.Add(CategoriesCSV())
	f.Add([]byte(header + "E0102,event,E01,市容环境,x,暴露垃圾,x,national,\n"))
	f.Add([]byte("\uFEFFcode,kind,group_code,group_zh,group_en,zh,en,source,quantity,limit_value,limit_unit,disabled\n" +
		"E0570,event,E05,街面秩序,Street order,\"夜市,占道\",Night market,local,count,3,days,true\n"))
	f.Add([]byte(header + "E0504,event,E05,\"街\n面\",x,店外经营,x,national,\n\"\"\n"))
	f.Add([]byte("code\n\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cats, err := ParseCategories(bytes.NewReader(data))
		if err != nil {
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.CodeInvalidInput || !strings.HasPrefix(me.Message, "line ") {
				t.Fatalf("error without code or line: %v", err)
			}
			return
		}
		if len(cats) == 0 {
			t.Fatal("success with no categories")
		}
		seen := map[string]bool{}
		for _, c := range cats {
			if !validCode(c.Code) || c.GroupCode != c.Code[:3] || c.NameZH == "" || seen[c.Code] {
				t.Fatalf("accepted an invalid or repeated category %+v", c)
			}
			if c.Limit.Value < 1 || !ValidLimitUnit(c.Limit.Unit) {
				t.Fatalf("accepted a category without a valid limit %+v", c)
			}
			seen[c.Code] = true
		}
		var buf bytes.Buffer
		if err := WriteCategories(&buf, cats); err != nil {
			t.Fatalf("write: %v", err)
		}
		back, err := ParseCategories(&buf)
		if err != nil {
			t.Fatalf("re-parse of written categories: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(back, cats) {
			t.Fatalf("round trip changed the categories:\n%+v\n%+v", cats, back)
		}
	})
}
