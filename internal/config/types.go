package config

import (
	"fmt"
	"reflect"
	"time"
)

var durationType = reflect.TypeOf(time.Duration(0))

// typeProblems compares the TOML value of every known key in raw (the file
// decoded into plain maps) with the type of its field in t, the struct it
// decodes into, and deletes each mismatched key from raw so the rest can
// still be decoded and validated. The TOML decoder stops at the first
// mismatch with a message that has a line but no column and no fix; this
// finds them all, at the key's file:line:col like every other problem.
//
// Durations must be quoted strings that time.ParseDuration reads: the decoder
// would take a bare integer (check_interval = 5) as nanoseconds.
func typeProblems(raw map[string]any, t reflect.Type, prefix string) []problem {
	var ps []problem
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" || name == "-" {
			continue
		}
		v, ok := raw[name]
		if !ok {
			continue
		}
		key := prefix + name
		if msg := typeMismatch(v, f.Type, key); msg != "" {
			ps = append(ps, problem{key, key + ": " + msg})
			delete(raw, name)
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			ps = append(ps, typeProblems(v.(map[string]any), f.Type, key+".")...)
		}
	}
	return ps
}

// typeMismatch says what is wrong with the TOML value v for a field of type
// ft ("" when it fits).
func typeMismatch(v any, ft reflect.Type, key string) string {
	switch {
	case ft == durationType:
		s, ok := v.(string)
		if !ok {
			hint := ""
			if n, isInt := v.(int64); isInt {
				hint = fmt.Sprintf(" (write \"%ds\", \"%dm\" or \"%dh\": a bare number would be nanoseconds)", n, n, n)
			}
			return fmt.Sprintf("must be a duration in quotes such as \"90s\" or \"6h\", got %s%s", describe(v), hint)
		}
		if _, err := time.ParseDuration(s); err != nil {
			return fmt.Sprintf("%q is not a duration such as \"90s\", \"10m\" or \"6h\"", s)
		}
	case ft.Kind() == reflect.String:
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("must be a string in quotes, got %s", describe(v))
		}
	case ft.Kind() == reflect.Bool:
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("must be true or false, got %s", describe(v))
		}
	case ft.Kind() == reflect.Int:
		if _, ok := v.(int64); !ok {
			return fmt.Sprintf("must be a whole number without quotes, got %s", describe(v))
		}
	case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
		list, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("must be a list of strings such as [\"a\", \"b\"], got %s", describe(v))
		}
		for i, e := range list {
			if _, ok := e.(string); !ok {
				return fmt.Sprintf("must be a list of strings such as [\"a\", \"b\"]: element %d is %s", i+1, describe(e))
			}
		}
	case ft.Kind() == reflect.Struct:
		if _, ok := v.(map[string]any); !ok {
			return fmt.Sprintf("must be a table ([%s]), got %s", key, describe(v))
		}
	}
	return ""
}

// describe names a decoded TOML value's type, with the value when short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the float %v", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case time.Time:
		return "a date-time"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
