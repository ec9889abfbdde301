package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/auth"
	"github.com/fieldsync/fieldsync/models"
	"github.com/fieldsync/fieldsync/refdata"
	fsserver "github.com/fieldsync/fieldsync/server"
	"github.com/fieldsync/fieldsync/uploads"
)

// Targets of the evidence issue for one 12 MP photo.
const (
	thumbTargetMS  = 300 // both thumbnail sizes together, one core
	thumbTargetMiB = 100 // peak heap per worker
)

// thumbSettings are the fixed parameters of RunThumbs.
var thumbSettings = struct {
	runs      int // measured runs per timing (after one warm-up); the median is printed
	poolN     int // photos the two-worker pool thumbnails
	uploads   int // timed tus uploads
	width     int
	height    int
	quality   int
	vipsSizes []int
}{runs: 7, poolN: 24, uploads: 5, width: 4000, height: 3000, quality: 90, vipsSizes: []int{320, 1280}}

// thumbInput is one 12 MP test photo.
type thumbInput struct {
	name  string
	noise int // sensor noise amplitude, peak to peak
	data  []byte
	path  string
}

// timing is a median wall and CPU time, in ms.
type timing struct{ wall, cpu float64 }

// RunThumbs measures the evidence pipeline on this machine and writes a
// table to w: milliseconds per 12 MP JPEG for both thumbnail sizes
// (uploads.MakeThumbnails on one core, wall and CPU time) against
// vipsthumbnail (libvips, one thread) timed in the same run on the same files
// for 320 and 1280 px, and their ratios; photos per second with a pool of two
// workers; the peak heap of one worker and of the pool; and upload MB/s
// through the tus endpoint of a real server on loopback against a plain file
// copy of the same bytes. Wall times suffer when other processes share the
// machine; CPU times much less, which is why both are printed. It fails only
// when a measurement cannot be made; a missing vipsthumbnail is reported in
// the table (install Debian's libvips-tools).
func RunThumbs(ctx context.Context, w io.Writer) error {
	st := thumbSettings
	dir, err := os.MkdirTemp("", "fieldsync-thumbs-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "fieldsync thumbnail benchmark — %s, %d CPUs, %s, load average %s\n", runtime.GOARCH, runtime.NumCPU(),
		runtime.Version(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	inputs := []*thumbInput{{name: "photo", noise: 16}, {name: "detailed photo", noise: 64}}
	for _, in := range inputs {
		in.data = encodeSyntheticPhoto(st.width, st.height, st.quality, in.noise)
		in.path = filepath.Join(dir, strings.ReplaceAll(in.name, " ", "-")+".jpg")
		if err := os.WriteFile(in.path, in.data, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(w, "input %q: %d×%d JPEG q%d, %.2f MiB (synthetic: gradients, shapes, texture, sensor noise ±%d)\n",
			in.name, st.width, st.height, st.quality, float64(len(in.data))/(1<<20), in.noise/2)
	}
	photo := inputs[0].data
	fmt.Fprintln(w)

	// One core: ms per photo for both sizes (one decode), upright and turned.
	goTime := func(data []byte, orientation int) (timing, error) {
		prev := runtime.GOMAXPROCS(1)
		defer runtime.GOMAXPROCS(prev)
		var walls, cpus []float64
		for i := 0; i <= st.runs; i++ {
			if err := ctx.Err(); err != nil {
				return timing{}, err
			}
			runtime.GC()
			c0, t0 := processCPU(), time.Now()
			if _, err := uploads.MakeThumbnails(bytes.NewReader(data), orientation); err != nil {
				return timing{}, err
			}
			if i > 0 { // the first run warms up
				walls = append(walls, ms(time.Since(t0)))
				cpus = append(cpus, ms(processCPU()-c0))
			}
		}
		return timing{median(walls), median(cpus)}, nil
	}
	goT := map[string][2]timing{} // input → orientation 1, 6
	for _, in := range inputs {
		o1, err := goTime(in.data, 1)
		if err != nil {
			return fmt.Errorf("thumbnails: %w", err)
		}
		o6, err := goTime(in.data, 6)
		if err != nil {
			return fmt.Errorf("thumbnails: %w", err)
		}
		goT[in.name] = [2]timing{o1, o6}
	}

	// libvips, same files, same run, one thread (as the Go figure is one core).
	vips := map[string]map[int]timing{} // input → size → timing
	vipsPath, vipsErr := exec.LookPath("vipsthumbnail")
	var vipsStart timing
	if vipsErr == nil {
		tiny := filepath.Join(dir, "tiny.jpg")
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
			return err
		}
		if err := os.WriteFile(tiny, buf.Bytes(), 0o600); err != nil {
			return err
		}
		if vipsStart, err = timeVips(ctx, vipsPath, tiny, dir, 16, st.runs); err != nil {
			return err
		}
		for _, in := range inputs {
			vips[in.name] = map[int]timing{}
			for _, size := range st.vipsSizes {
				t, err := timeVips(ctx, vipsPath, in.path, dir, size, st.runs)
				if err != nil {
					return err
				}
				vips[in.name][size] = t
			}
		}
	}

	// Peak heap of one worker, sampled while it runs.
	var peak1, alloc1 float64
	for range 3 {
		p, a, err := heapPeak(func() error { _, err := uploads.MakeThumbnails(bytes.NewReader(photo), 6); return err })
		if err != nil {
			return err
		}
		peak1, alloc1 = max(peak1, p), max(alloc1, a)
	}

	// Two workers over poolN photos.
	var poolSecs, poolCPU, poolPeak float64
	{
		jobs := make(chan int)
		var wg gosync.WaitGroup
		var mu gosync.Mutex
		var firstErr error
		t0, c0 := time.Now(), processCPU()
		poolPeak, _, err = heapPeak(func() error {
			for range 2 {
				wg.Go(func() {
					for range jobs {
						if _, err := uploads.MakeThumbnails(bytes.NewReader(photo), 1); err != nil {
							mu.Lock()
							firstErr = firstError(firstErr, err)
							mu.Unlock()
						}
					}
				})
			}
			for i := range st.poolN {
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			return firstErr
		})
		if err != nil {
			return fmt.Errorf("worker pool: %w", err)
		}
		poolSecs, poolCPU = time.Since(t0).Seconds(), (processCPU() - c0).Seconds()
	}

	// tus upload through a real server against a plain file copy.
	up, err := measureUploads(ctx, dir, photo, st.uploads)
	if err != nil {
		return fmt.Errorf("tus upload: %w", err)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT MET"
	}
	fmt.Fprintf(tw, "thumbnails of one 12 MP JPEG, one core (median of %d)\twall ms\tCPU ms\tnote\n", st.runs)
	for _, in := range inputs {
		g := goT[in.name]
		for i, o := range []int{1, 6} {
			fmt.Fprintf(tw, "fieldsync MakeThumbnails 1280+320 px, %s, orientation %d\t%.0f\t%.0f\ttarget ≤ %d ms: CPU %s, wall %s\n",
				in.name, o, g[i].wall, g[i].cpu, thumbTargetMS, verdict(g[i].cpu <= thumbTargetMS), verdict(g[i].wall <= thumbTargetMS))
		}
	}
	if vipsErr != nil {
		fmt.Fprintf(tw, "vipsthumbnail\t-\t-\tnot installed (apt-get install libvips-tools): no ratio\n")
	} else {
		fmt.Fprintf(tw, "vipsthumbnail start-up alone (16 px file)\t%.0f\t%.0f\tincluded in every vipsthumbnail row\n", vipsStart.wall, vipsStart.cpu)
		for _, in := range inputs {
			v := vips[in.name]
			for _, size := range st.vipsSizes {
				fmt.Fprintf(tw, "vipsthumbnail --size %d, %s, VIPS_CONCURRENCY=1\t%.0f\t%.0f\t\n", size, in.name, v[size].wall, v[size].cpu)
			}
			sum := timing{v[320].wall + v[1280].wall, v[320].cpu + v[1280].cpu}
			g := goT[in.name][0]
			fmt.Fprintf(tw, "ratio fieldsync / vipsthumbnail 320+1280, %s\t%.2f×\t%.2f×\tfieldsync %.0f ms CPU vs vips %.0f ms CPU (%.0f without start-up)\n",
				in.name, g.wall/sum.wall, g.cpu/sum.cpu, g.cpu, sum.cpu, sum.cpu-2*vipsStart.cpu)
			fmt.Fprintf(tw, "ratio fieldsync / vipsthumbnail 1280 alone, %s\t%.2f×\t%.2f×\t\n", in.name, g.wall/v[1280].wall, g.cpu/v[1280].cpu)
		}
	}
	fmt.Fprintf(tw, "\t\t\t\n")
	fmt.Fprintf(tw, "throughput and memory (input %q)\tvalue\t\tnote\n", inputs[0].name)
	fmt.Fprintf(tw, "photos/s, pool of 2 workers, GOMAXPROCS=%d\t%.2f\t\t%d photos in %.1f s wall, %.1f s CPU\n",
		runtime.GOMAXPROCS(0), float64(st.poolN)/poolSecs, st.poolN, poolSecs, poolCPU)
	fmt.Fprintf(tw, "photos/s the pool's CPU time allows on 2 idle cores\t%.2f\t\t2 × photos / CPU s: what the wall figure reaches when nothing else runs\n",
		2*float64(st.poolN)/poolCPU)
	fmt.Fprintf(tw, "peak heap, one worker (sampled), MiB\t%.1f\t\ttarget ≤ %d MiB: %s; allocated per photo %.1f MiB\n", peak1, thumbTargetMiB, verdict(peak1 <= thumbTargetMiB), alloc1)
	fmt.Fprintf(tw, "peak heap, pool of 2 (per worker), MiB\t%.1f (%.1f)\t\ttarget ≤ %d MiB per worker: %s\n", poolPeak, poolPeak/2, thumbTargetMiB, verdict(poolPeak/2 <= thumbTargetMiB))
	fmt.Fprintf(tw, "\t\t\t\n")
	fmt.Fprintf(tw, "upload of the %.2f MiB photo (median of %d)\tMB/s\t\tnote\n", float64(len(photo))/(1<<20), st.uploads)
	fmt.Fprintf(tw, "tus endpoint, loopback, POST + one PATCH\t%.1f\t\t%.0f ms per upload: SHA-256, header check, full decode (%.0f ms alone), EXIF, fsynced blob, DB record\n", up.tusMBps, up.tusMS, up.decodeMS)
	if rest := up.tusMS - up.decodeMS; rest > 0 {
		fmt.Fprintf(tw, "tus endpoint without the decode (derived)\t%.0f\t\tsize / (%.0f − %.0f ms): transfer, hashing, fsync and records\n",
			float64(len(photo))/1e6/(rest/1000), up.tusMS, up.decodeMS)
	}
	fmt.Fprintf(tw, "plain file copy (io.Copy)\t%.0f\t\t\n", up.copyMBps)
	fmt.Fprintf(tw, "plain file copy + fsync\t%.0f\t\t\n", up.copySyncMBps)
	fmt.Fprintf(tw, "ratio tus / copy, tus / copy+fsync\t%.3f / %.3f\t\t\n", up.tusMBps/up.copyMBps, up.tusMBps/up.copySyncMBps)
	return tw.Flush()
}

func firstError(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// processCPU returns the process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak runs f after a GC and returns the highest heap occupancy (live and
// not yet swept objects) sampled every 100 µs while it ran, above what was
// there before, and the bytes f allocated, both in MiB.
func heapPeak(f func() error) (peakMiB, allocMiB float64, err error) {
	const name = "/memory/classes/heap/objects:bytes"
	read := func(s []metrics.Sample) uint64 {
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[0].Value.Uint64()
	}
	runtime.GC()
	base := read([]metrics.Sample{{Name: name}})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: name}}
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			peak = max(peak, read(s))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err = f()
	close(stop)
	<-done
	peak = max(peak, read([]metrics.Sample{{Name: name}}))
	runtime.ReadMemStats(&after)
	const mib = 1 << 20
	return float64(peak-min(peak, base)) / mib, float64(after.TotalAlloc-before.TotalAlloc) / mib, err
}

// timeVips runs vipsthumbnail with one thread on in for a bounding box of
// size px, runs+1 times (the first warms the page cache), and returns the
// median wall time and the median CPU time of the child process.
func timeVips(ctx context.Context, vips, in, dir string, size int, runs int) (timing, error) {
	var walls, cpus []float64
	for i := 0; i <= runs; i++ {
		out := filepath.Join(dir, fmt.Sprintf("vips-%d.jpg[Q=80]", size))
		cmd := exec.CommandContext(ctx, vips, in, "--size", strconv.Itoa(size), "-o", out)
		cmd.Env = append(os.Environ(), "VIPS_CONCURRENCY=1")
		t0 := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			return timing{}, fmt.Errorf("vipsthumbnail: %v: %s", err, b)
		}
		if i > 0 {
			walls = append(walls, ms(time.Since(t0)))
			cpus = append(cpus, ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
		}
	}
	return timing{median(walls), median(cpus)}, nil
}

// uploadFigures are the medians of the upload measurement.
type uploadFigures struct {
	tusMBps, copyMBps, copySyncMBps float64
	tusMS, decodeMS                 float64
}

// measureUploads starts a server on loopback with a fresh SQLite database in
// dir, files a case through sync with a first photo, then uploads n more
// photos (the same image with a distinct JPEG comment each, so each is a new
// blob) through tus, one PATCH each, waiting for the thumbnail workers after
// each upload so they do not share the CPU with what is timed next. The
// file copies copy the same bytes within dir.
func measureUploads(ctx context.Context, dir string, photo []byte, n int) (uploadFigures, error) {
	var fig uploadFigures
	dataDir := filepath.Join(dir, "server")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := fsserver.New(ctx, fsserver.Config{Addr: "127.0.0.1:0", DataDir: dataDir})
	if err != nil {
		return fig, err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-runErr
	}()
	<-srv.Ready()
	base := "http://" + srv.Addr()

	tok, err := thumbBenchUser(ctx, srv)
	if err != nil {
		return fig, err
	}
	hc := &http.Client{Timeout: 2 * time.Minute}
	caseID, first := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	firstBytes := withJPEGComment(photo, first.String())
	if err := thumbPush(ctx, hc, base, tok, caseID, first, hashHex(firstBytes)); err != nil {
		return fig, err
	}
	if _, err := tusPut(ctx, hc, base, tok, caseID, first, firstBytes); err != nil {
		return fig, err
	}
	if _, err := srv.Store.GetCase(ctx, caseID); err != nil {
		return fig, fmt.Errorf("the case was not created once its photo arrived: %w", err)
	}

	src := filepath.Join(dir, "copy-src.jpg")
	if err := os.WriteFile(src, photo, 0o600); err != nil {
		return fig, err
	}
	var tusS, copyS, syncS, decodeS []float64
	mb := float64(len(photo)) / 1e6
	if err := waitThumbs(ctx, srv, first); err != nil {
		return fig, err
	}
	for range n {
		id := uuid.Must(uuid.NewV7())
		data := withJPEGComment(photo, id.String())
		d, err := tusPut(ctx, hc, base, tok, caseID, id, data)
		if err != nil {
			return fig, err
		}
		tusS = append(tusS, d.Seconds())
		// The thumbnail workers start on the photo now: let them finish
		// before anything else is timed.
		if err := waitThumbs(ctx, srv, id); err != nil {
			return fig, err
		}
		for _, fsync := range []bool{false, true} {
			d, err := copyFile(src, filepath.Join(dir, "copy-dst.jpg"), fsync)
			if err != nil {
				return fig, err
			}
			if fsync {
				syncS = append(syncS, d.Seconds())
			} else {
				copyS = append(copyS, d.Seconds())
			}
		}
		t0 := time.Now()
		if _, err := uploads.InspectImage(bytes.NewReader(data), int64(len(data)), uploads.DefaultImageLimits()); err != nil {
			return fig, err
		}
		decodeS = append(decodeS, time.Since(t0).Seconds())
	}
	fig.tusMS, fig.decodeMS = median(tusS)*1000, median(decodeS)*1000
	fig.tusMBps, fig.copyMBps, fig.copySyncMBps = mb/median(tusS), mb/median(copyS), mb/median(syncS)
	return fig, nil
}

// thumbBenchUser puts a one-grid district and an inspector into srv's
// database and returns the inspector's device token.
func thumbBenchUser(ctx context.Context, srv *fsserver.Server) (string, error) {
	cats, err := refdata.Categories()
	if err != nil {
		return "", err
	}
	const dist, town, grid = "370402", "370402103", "37040210300101"
	sq := [][][2]float64{{{117.50, 34.80}, {117.62, 34.80}, {117.62, 34.92}, {117.50, 34.92}, {117.50, 34.80}}}
	rd := models.RefData{Categories: cats,
		Org: []models.OrgUnit{{Code: dist, Level: models.LevelDistrict, Name: "市中区", Path: dist},
			{Code: town, ParentCode: dist, Level: models.LevelTown, Name: "孟庄镇", Path: dist + "/" + town, Boundary: sq}},
		Grids: []models.Grid{{Code: grid, Name: "孟庄01", TownCode: town, OrgPath: dist + "/" + town + "/" + grid,
			Polygon: sq, MinLat: 34.80, MinLon: 117.50, MaxLat: 34.92, MaxLon: 117.62}}}
	if err := srv.Store.PutRefData(ctx, rd); err != nil {
		return "", err
	}
	if err := srv.ReloadRef(ctx); err != nil {
		return "", err
	}
	u := models.User{ID: uuid.Must(uuid.NewV7()), Username: "thumbs-bench", Name: "巡查员", Role: models.RoleInspector,
		OrgPath: dist, CreatedAt: time.Now().UTC()}
	if err := srv.Store.CreateUser(ctx, u); err != nil {
		return "", err
	}
	_, tok, err := auth.EnrollDevice(ctx, srv.Store, u, "thumbs-bench-tablet", time.Now())
	return tok, err
}

// thumbPush files a case with one photo through POST /api/v1/sync/push.
func thumbPush(ctx context.Context, hc *http.Client, base, tok string, caseID, photoID uuid.UUID, sum string) error {
	now := time.Now().UTC()
	body, err := json.Marshal(map[string]any{"device_time": now, "commands": []map[string]any{
		{"id": uuid.Must(uuid.NewV7()), "seq": 1, "kind": "add_photo", "case_id": caseID, "client_time": now,
			"photo": map[string]any{"id": photoID, "stage": "report", "type": "far", "sha256": sum}},
		{"id": uuid.Must(uuid.NewV7()), "seq": 2, "kind": "create_case", "case_id": caseID, "client_time": now,
			"case": map[string]any{"category": "E0504", "description": "店外经营（基准测试）",
				"location": map[string]any{"lat": 34.8605, "lon": 117.5505, "accuracy": 5}, "photos": []uuid.UUID{photoID}}},
	}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/sync/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out struct {
		Outcomes []struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"outcomes"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || len(out.Outcomes) != 2 {
		return fmt.Errorf("push: %d %s", res.StatusCode, b)
	}
	if out.Outcomes[1].Status != string(models.OutcomeEvidencePending) {
		return fmt.Errorf("create_case before its photo arrived: %s %s", out.Outcomes[1].Status, out.Outcomes[1].Reason)
	}
	return nil
}

// tusPut uploads data as photo id of the case: POST (creation), then one
// PATCH with every byte. It returns the time from the POST to the final
// response, which comes once the photo is verified and recorded.
func tusPut(ctx context.Context, hc *http.Client, base, tok string, caseID, id uuid.UUID, data []byte) (time.Duration, error) {
	md := []string{}
	for _, kv := range [][2]string{{"photo_id", id.String()}, {"case_id", caseID.String()}, {"stage", "report"},
		{"type", "near"}, {"sha256", hashHex(data)}, {"filename", id.String() + ".jpg"}} {
		md = append(md, kv[0]+" "+base64.StdEncoding.EncodeToString([]byte(kv[1])))
	}
	do := func(method, u string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, b, err
	}
	t0 := time.Now()
	res, b, err := do(http.MethodPost, base+uploads.DefaultBasePath, nil,
		map[string]string{"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": strings.Join(md, ",")})
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusCreated {
		return 0, fmt.Errorf("tus creation: %d %s", res.StatusCode, b)
	}
	bu, _ := url.Parse(base)
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		return 0, err
	}
	res, b, err = do(http.MethodPatch, bu.ResolveReference(loc).String(), data,
		map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if res.StatusCode != http.StatusNoContent || res.Header.Get(uploads.HeaderPhotoVerified) != "true" {
		return 0, fmt.Errorf("tus PATCH: %d %s", res.StatusCode, b)
	}
	return d, nil
}

// waitThumbs waits until the photo has both thumbnails.
func waitThumbs(ctx context.Context, srv *fsserver.Server, id uuid.UUID) error {
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := srv.Store.GetPhoto(ctx, id)
		if err != nil {
			return err
		}
		if p.ThumbSmall != "" && p.ThumbLarge != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("thumbnails were not made within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// copyFile copies src to dst with io.Copy, optionally fsyncing dst, and
// returns how long it took.
func copyFile(src, dst string, fsync bool) (time.Duration, error) {
	t0 := time.Now()
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return 0, err
	}
	if fsync {
		if err := out.Sync(); err != nil {
			out.Close()
			return 0, err
		}
	}
	if err := out.Close(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// withJPEGComment inserts a COM segment after the SOI: other bytes, same image.
func withJPEGComment(jpg []byte, text string) []byte {
	seg := []byte{0xFF, 0xFE, byte((len(text) + 2) >> 8), byte(len(text) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, text...)
	return append(out, jpg[2:]...)
}

// encodeSyntheticPhoto returns a w×h JPEG that looks, to the codec, like a
// phone photo: a sky-to-ground gradient, buildings with windows, a textured
// road and sensor noise (a flat or pure-noise image would make decoding
// unrealistically fast or slow). noiseAmp is the noise's peak-to-peak
// amplitude, a power of two: 16 is the image uploads' BenchmarkThumbnail12MP
// uses, 64 its detailed (high-ISO) variant.
func encodeSyntheticPhoto(w, h, quality, noiseAmp int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	s := uint64(0x9E3779B97F4A7C15) | 1
	next := func() uint64 {
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		return s * 2685821657736338717
	}
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:][:4*w]
		for x := 0; x < w; x++ {
			r := 90 + 120*y/h
			g := 140 + 60*x/w - 40*y/h
			b := 220 - 150*y/h
			if bx := (x / 500) % 3; bx == 1 && y > h/4 && y < 3*h/4 {
				r, g, b = 150+(x%500)/10, 130, 110+(y%300)/6
				if (x/40+y/60)%2 == 0 {
					r, g, b = r-70, g-60, b-40
				}
			}
			n := next()
			if y > 3*h/4 {
				t := int(n>>56) - 128
				r, g, b = 100+t/3, 100+t/3, 105+t/3
			}
			noise := int(n>>40)&(noiseAmp-1) - noiseAmp/2
			row[4*x+0], row[4*x+1], row[4*x+2], row[4*x+3] = clamp8(r+noise), clamp8(g+noise), clamp8(b+noise), 0xFF
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return buf.Bytes()
}

func clamp8(v int) uint8 {
	return uint8(min(max(v, 0), 255))
}
