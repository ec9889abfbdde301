package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
)

// pushBody100 is a push of 100 reports as a tablet sends them: Chinese
// descriptions of about 680 bytes, one photo record each.
func pushBody100(tb testing.TB) []byte {
	desc := strings.Repeat("店外经营占道摆放商品，影响行人通行，已拍照取证并告知当事人限期整改。", 8)
	now := time.Now().UTC()
	var cmds []map[string]any
	for i := 0; i < 100; i++ {
		cmds = append(cmds, map[string]any{"id": uuid.Must(uuid.NewV7()), "seq": i + 1, "kind": "create_case",
			"case_id": uuid.Must(uuid.NewV7()), "client_time": now,
			"case": map[string]any{"category": "E0504", "description": desc, "party": "某烧烤店",
				"location":      map[string]any{"lat": 34.8 + float64(i)/1e4, "lon": 117.5, "accuracy": 5, "address": fmt.Sprintf("君山路%d号", i)},
				"photo_records": []map[string]any{{"id": uuid.Must(uuid.NewV7()), "stage": "report", "type": "far", "sha256": fmt.Sprintf("%064x", i+1)}}}})
	}
	b, err := json.Marshal(map[string]any{"commands": cmds, "device_time": now})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkDecodePush decodes a 100-report push with decodeJSON's fast path,
// and with go-json (the fast path before sonic) and encoding/json for scale.
func BenchmarkDecodePush(b *testing.B) {
	body := pushBody100(b)
	for _, d := range []struct {
		name string
		fn   func([]byte, any) error
	}{
		{"fast", fastDecode},
		{"go-json", func(b []byte, v any) error { return gojson.Unmarshal(b, v) }},
		{"encoding-json", json.Unmarshal},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var r PushRequest
				if err := d.fn(body, &r); err != nil || len(r.Commands) != 100 {
					b.Fatal(err, len(r.Commands))
				}
			}
		})
	}
}
