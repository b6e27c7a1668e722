package config

import (
	"log/slog"
	"reflect"
	"time"
)

// LogValue implements slog.LogValuer: the configuration as nested groups
// named by the YAML keys, one attribute per leaf, durations as text ("30s").
// The configuration holds no secrets: the PKCS#11 PIN is never part of it,
// only pinEnv, the name of the variable that holds it, which is shown;
// LogValue never looks the variable up.
func (c Config) LogValue() slog.Value {
	return groupValue(reflect.ValueOf(c))
}

func groupValue(v reflect.Value) slog.Value {
	t := v.Type()
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		name := f.Tag.Get("yaml")
		switch {
		case f.Type == durationType:
			attrs = append(attrs, slog.String(name, time.Duration(fv.Int()).String()))
		case f.Type.Kind() == reflect.Struct:
			attrs = append(attrs, slog.Attr{Key: name, Value: groupValue(fv)})
		default:
			attrs = append(attrs, slog.String(name, fv.String()))
		}
	}
	return slog.GroupValue(attrs...)
}
