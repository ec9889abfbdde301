package uploads

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// benchJPEG returns a JPEG of about want bytes (noise at high quality).
func benchJPEG(b *testing.B, want int) []byte {
	b.Helper()
	w, h := 2000, 1500
	for {
		data := noiseJPEG(b, w, h, 99, 100)
		if len(data) >= want {
			return data
		}
		w, h = w*11/10, h*11/10
	}
}

// withComment inserts a JPEG COM segment after the SOI, so each iteration
// uploads different bytes (a new blob) of the same image.
func withComment(jpg []byte, text string) []byte {
	seg := []byte{0xFF, 0xFE, byte((len(text) + 2) >> 8), byte(len(text) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, text...)
	return append(out, jpg[2:]...)
}

// BenchmarkTusUpload uploads a 12 MB photo through the tus endpoint over
// loopback (creation, one PATCH, verification: SHA-256, full decode, EXIF,
// fsynced blob, record) and, for scale, copies the same bytes file to file
// with io.Copy. It reports both rates, their ratio, and the share of the
// upload time that the full decode of InspectImage takes.
func BenchmarkTusUpload(b *testing.B) {
	e := &testEnv{dir: b.TempDir(), store: newFakeStore(), queue: &fakeQueue{}, now: time.Now()}
	svc, err := New(Config{DataDir: e.dir, Store: e.store, Jobs: e.queue, Authenticate: testAuth,
		Logger: quietLogger(b), Now: e.clock})
	if err != nil {
		b.Fatal(err)
	}
	srv := testServer(b, svc.TusHandler())
	c := newTusClient(b, srv.URL, "tok-a")
	base := benchJPEG(b, 12<<20)
	cs := testCase(time.Now().Add(-time.Hour))
	e.store.putCase(cs)
	b.Logf("%d bytes", len(base))

	// The plain copy, same bytes, same disk.
	src := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(src, base, 0o600); err != nil {
		b.Fatal(err)
	}
	copyOnce := func() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(filepath.Dir(src), "dst"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		out.Close()
	}

	var tusTime, copyTime, inspectTime time.Duration
	b.SetBytes(int64(len(base)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		data := withComment(base, uuid.NewString())
		meta := photoMetaFor(cs, data)
		b.StartTimer()

		start := time.Now()
		resp, body := c.create(metaMap(meta), int64(len(data)), nil)
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %d %s", resp.StatusCode, body)
		}
		resp, body, err := c.patch(c.location(resp), 0, bytes.NewReader(data), int64(len(data)))
		if err != nil || resp.StatusCode != http.StatusNoContent || resp.Header.Get(HeaderPhotoVerified) != "true" {
			b.Fatalf("patch: %v %v %s", err, resp, body)
		}
		tusTime += time.Since(start)

		b.StopTimer()
		start = time.Now()
		copyOnce()
		copyTime += time.Since(start)
		start = time.Now()
		if _, err := InspectImage(bytes.NewReader(data), int64(len(data)), DefaultImageLimits()); err != nil {
			b.Fatal(err)
		}
		inspectTime += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	mb := float64(len(base)) * float64(b.N) / 1e6
	tusRate, copyRate := mb/tusTime.Seconds(), mb/copyTime.Seconds()
	b.ReportMetric(tusRate, "tus_MB/s")
	b.ReportMetric(copyRate, "copy_MB/s")
	b.ReportMetric(tusRate/copyRate, "tus/copy")
	// The share of an upload spent decoding the image in full (InspectImage,
	// timed apart on the same bytes): the transfer itself is not the cost.
	b.ReportMetric(inspectTime.Seconds()/tusTime.Seconds(), "decode_share")
}
