package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Diff returns a readable list of the differences between want and got, or ""
// when they are equal. Times compare with Equal; nil and empty slices, maps
// and pointers differ, because a store must give back what it was given.
func Diff(want, got any) string {
	var out []string
	diffValue("", reflect.ValueOf(want), reflect.ValueOf(got), &out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("… and %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}

var timeType = reflect.TypeOf(time.Time{})

func diffValue(path string, a, b reflect.Value, out *[]string) {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), a, b))
		}
		return
	}
	if a.Type() != b.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %v vs %v", orRoot(path), a.Type(), b.Type()))
		return
	}
	if a.Type() == timeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), ta, tb))
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), show(a), show(b)))
			}
			return
		}
		diffValue(path, a.Elem(), b.Elem(), out)
	case reflect.Struct:
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue // the models types have none; time.Time is handled above
			}
			diffValue(path+"."+f.Name, a.Field(i), b.Field(i), out)
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), show(a), show(b)))
			return
		}
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: want len %d, got len %d", orRoot(path), a.Len(), b.Len()))
			return
		}
		for i := range a.Len() {
			diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i), out)
		}
	case reflect.Array:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), a.Interface(), b.Interface()))
		}
	case reflect.Map:
		if a.IsNil() != b.IsNil() {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", orRoot(path), show(a), show(b)))
			return
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", orRoot(path), a.Interface(), b.Interface()))
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: want %#v, got %#v", orRoot(path), a.Interface(), b.Interface()))
		}
	}
}

func show(v reflect.Value) string {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice || v.Kind() == reflect.Map ||
		v.Kind() == reflect.Interface) && v.IsNil() {
		return "nil"
	}
	if v.Kind() == reflect.Pointer {
		return fmt.Sprintf("&%v", v.Elem().Interface())
	}
	return fmt.Sprintf("%v", v.Interface())
}

func orRoot(p string) string {
	if p == "" {
		return "value"
	}
	return strings.TrimPrefix(p, ".")
}
