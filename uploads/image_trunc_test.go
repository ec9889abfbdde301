package uploads

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fieldsync/fieldsync/models"
)

// TestInspectImageEveryTruncation cuts photos at many points: every cut is
// refused as CodeImageInvalid (never accepted, never an internal error), and
// every cut after the header says "truncated".
func TestInspectImageEveryTruncation(t *testing.T) {
	for name, file := range map[string][]byte{
		"jpeg": encodeJPEGForTest(syntheticPhoto(120, 90, 5), 90),
		"png":  encodePNGForTest(syntheticPhoto(60, 45, 6)),
	} {
		stats := map[string]int{}
		for cut := 1; cut < len(file); cut += max(1, len(file)/300) {
			_, err := InspectImage(bytes.NewReader(file[:cut]), int64(cut), ImageLimits{})
			var me *models.Error
			if !errors.As(err, &me) || me.Code != models.CodeImageInvalid {
				t.Fatalf("%s cut at %d/%d: err = %v, want CodeImageInvalid", name, cut, len(file), err)
			}
			stats[me.Message]++
			if cut >= 64 && !strings.Contains(me.Message, "truncated") {
				t.Errorf("%s cut at %d/%d: message %q, want it to say truncated", name, cut, len(file), me.Message)
			}
		}
		t.Logf("%s: %v", name, stats)
	}
}
