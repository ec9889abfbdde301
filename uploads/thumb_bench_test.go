package uploads

import (
	"bytes"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// photo12MP is a 4000×3000 JPEG at quality 90 that looks, to the codec, like
// a phone photo: smooth gradients and shapes with textured areas and sensor
// noise (a flat or pure-noise image would make decoding unrealistically fast
// or slow). It is made once per test binary.
var photo12MP = sync.OnceValue(func() []byte {
	return encodeJPEGForTest(syntheticPhoto(4000, 3000, 1), 90)
})

// detailed12MP is the same scene with four times the noise (±32): a ~5.8 MiB file,
// like a detailed or high-ISO shot, which costs the entropy decoder more.
var detailed12MP = sync.OnceValue(func() []byte {
	return encodeJPEGForTest(syntheticPhotoNoise(4000, 3000, 1, 64), 90)
})

// syntheticPhoto draws a w×h photo-like RGBA image from seed.
func syntheticPhoto(w, h int, seed uint64) *image.RGBA { return syntheticPhotoNoise(w, h, seed, 16) }

// syntheticPhotoNoise is syntheticPhoto with sensor noise of the given
// amplitude (peak to peak, a power of two up to 256).
func syntheticPhotoNoise(w, h int, seed uint64, noiseAmp int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s := seed*0x9E3779B97F4A7C15 | 1
	next := func() uint64 { // xorshift64*: fast and deterministic
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		return s * 2685821657736338717
	}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:][:4*w]
		for x := 0; x < w; x++ {
			// Sky-to-ground gradient, a few "buildings", textured "road".
			r := 90 + 120*y/h
			g := 140 + 60*x/w - 40*y/h
			b := 220 - 150*y/h
			if bx := (x / 500) % 3; bx == 1 && y > h/4 && y < 3*h/4 {
				r, g, b = 150+(x%500)/10, 130, 110+(y%300)/6
				if (x/40+y/60)%2 == 0 { // windows
					r, g, b = r-70, g-60, b-40
				}
			}
			n := next()
			if y > 3*h/4 { // coarse road texture
				t := int(n>>56) - 128
				r, g, b = 100+t/3, 100+t/3, 105+t/3
			}
			noise := int(n>>40)&(noiseAmp-1) - noiseAmp/2 // sensor noise
			row[4*x+0] = clamp8(r + noise)
			row[4*x+1] = clamp8(g + noise)
			row[4*x+2] = clamp8(b + noise)
			row[4*x+3] = 0xFF
		}
	}
	return img
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// encodeJPEGForTest encodes img as JPEG at quality q.
func encodeJPEGForTest(img image.Image, q int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// measure runs f after a GC and returns how long it took and the MiB it
// allocated. Peak heap growth caused by f cannot exceed what f allocated, so
// the latter is an upper bound on its peak.
func measure(f func()) (wall, cpu time.Duration, mib float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	start := time.Now()
	f()
	wall = time.Since(start)
	cpu = processCPU() - cpu0
	runtime.ReadMemStats(&after)
	return wall, cpu, float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
}

// processCPU returns the user+system CPU time of the process so far. On a
// shared machine it is steadier than wall time: time spent waiting for a core
// another process holds does not count.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkThumbnail12MP measures MakeThumbnails on a 12 MP photo and its
// stages. Run it with -cpu 1 for the one-core figure. Metrics: ms/op of the
// stage (timed after a GC, so without the previous call's garbage), cpu-ms/op
// (the process's CPU time for it: with -cpu 1 the one-core cost, steady even
// when other processes share the machine), and
// alloc-MiB/op, the most one call allocated: an upper bound on its peak heap.
func BenchmarkThumbnail12MP(b *testing.B) {
	data := photo12MP()
	b.Logf("input: 4000×3000 JPEG q90, %.2f MiB", float64(len(data))/(1<<20))
	full, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	large := downscale(full, 1280, 960)

	stage := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			var mib float64
			var wall, cpu time.Duration
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var err error
				w, c, m := measure(func() { err = f() })
				if err != nil {
					b.Fatal(err)
				}
				wall += w
				cpu += c
				mib = max(mib, m)
			}
			b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(mib, "alloc-MiB/op")
		})
	}
	stage("decode", func() error {
		_, err := jpeg.Decode(bytes.NewReader(data))
		return err
	})
	stage("large-resize+encode", func() error {
		_, _, _, err := encodeThumb(downscale(full, 1280, 960), 1)
		return err
	})
	stage("small-resize+encode", func() error {
		_, _, _, err := encodeThumb(downscale(large, 320, 240), 1)
		return err
	})
	stage("large-resize+encode-orient6", func() error {
		_, _, _, err := encodeThumb(downscale(full, 1280, 960), 6)
		return err
	})
	stage("both", func() error {
		_, err := MakeThumbnails(bytes.NewReader(data), 1)
		return err
	})
	stage("both-orient6", func() error {
		_, err := MakeThumbnails(bytes.NewReader(data), 6)
		return err
	})
	detailed := detailed12MP()
	b.Logf("detailed input: 4000×3000 JPEG q90, %.2f MiB", float64(len(detailed))/(1<<20))
	stage("decode-detailed", func() error {
		_, err := jpeg.Decode(bytes.NewReader(detailed))
		return err
	})
	stage("both-detailed", func() error {
		_, err := MakeThumbnails(bytes.NewReader(detailed), 1)
		return err
	})
}
