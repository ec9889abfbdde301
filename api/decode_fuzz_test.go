package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeAgreement guards decodeJSON's fast path: whatever the fast decoder
// accepts, encoding/json must accept too, with the same value, or a request
// could mean different things depending on which decoder read it.
func FuzzDecodeAgreement(f *testing.F) {
	f.Add([]byte(`{"commands":[{"id":"01a211b3-bf1b-7768-9082-638ce9d97271","seq":1,"kind":"create_case","case_id":"01a211b3-bf1b-7768-9082-638ce9d97272","client_time":"2026-01-01T00:00:00Z","case":{"category":"E0504","description":"店外经营","location":{"lat":34.86,"lon":117.55}}}]}`))
	f.Add([]byte(`{"commands":[{"seq":2,"kind":"edit_fields","fields":{"party":"x"},"base_version":3}],"device_time":"2026-01-01T00:00:00+08:00"}`))
	f.Add([]byte(`{"commands":[],"bogus":1}`))
	f.Add([]byte(`{"commands":[{"seq":1e3}]}`))
	f.Add([]byte("{\"app_version\":\"\xff\"}"))
	// Where decoders are known to differ: surrogates, duplicate and
	// differently cased keys, nulls, floats into integers, trailing data.
	f.Add([]byte(`{"app_version":"\ud800\udc00\ud800x"}`))
	f.Add([]byte(`{"App_Version":"a","app_version":"b","APP_VERSION":null}`))
	f.Add([]byte(`{"commands":[{"seq":1.0,"case":{"location":{"lat":-0,"lon":1e400}}}]}`))
	f.Add([]byte(`{"commands":[{"case":{"bogus":1}}]}`))
	f.Add([]byte(`{"commands":null,"device_time":null} {}`))
	f.Add([]byte(`{"commands":[{"fields":{"party":"a","party":"b"},"client_time":"2026-13-01T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, std PushRequest
		if fastDecode(body, &fast) != nil {
			return // the slow path decides
		}
		sd := json.NewDecoder(bytes.NewReader(body))
		sd.DisallowUnknownFields()
		if err := sd.Decode(&std); err != nil {
			t.Fatalf("fast decoder accepted what encoding/json refuses (%v): %q", err, body)
		}
		if sd.More() {
			t.Fatalf("fast decoder accepted trailing data: %q", body)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("decoders disagree on %q:\nfast %+v\nstd  %+v", body, fast, std)
		}
	})
}
