package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fieldsync/fieldsync/models"
)

// Thumbnail worker tuning.
const (
	// ThumbnailLease is how long a claimed thumbnail job is reserved; a job
	// whose worker died becomes claimable again when it runs out.
	ThumbnailLease = 2 * time.Minute
	thumbPoll      = 2 * time.Second  // queue poll when nothing woke the worker
	thumbBackoff   = 5 * time.Second  // first retry delay, doubled per attempt
	thumbMaxDelay  = 10 * time.Minute // retry delay cap
)

// RunThumbnails makes thumbnails until ctx ends, with a pool of workers
// (at least 1, at most runtime.NumCPU()). Each worker claims one "thumbnail"
// job at a time from Config.Jobs with ThumbnailLease, reads the original
// from the blob store, makes both thumbnails (upright per the photo's EXIF
// orientation), stores them in the thumbnail store, sets ThumbSmall and
// ThumbLarge on the photo and bumps its case in one Update, and completes
// the job. A failure is retried with exponential backoff; after
// Config.ThumbAttempts attempts, or at once for an image that cannot be
// decoded, the job is given up and the photo flagged thumbnail_failed. Jobs
// are durable, so those queued before a restart are done after it; a job
// interrupted by shutdown is released for immediate retry.
func (s *Service) RunThumbnails(ctx context.Context, workers int) {
	workers = max(1, min(workers, runtime.NumCPU()))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { s.thumbWorker(ctx) })
	}
	wg.Wait()
}

// wakeThumbnails tells one idle worker a job was just queued.
func (s *Service) wakeThumbnails() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) thumbWorker(ctx context.Context) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
		case <-s.kick:
		}
		for ctx.Err() == nil {
			jobs, err := s.jobs.Claim(ctx, ThumbnailJob, 1, s.now(), ThumbnailLease)
			if err != nil {
				if ctx.Err() == nil {
					failures++
					s.log.ErrorContext(ctx, "uploads: claim thumbnail job", "error", err)
				}
				break
			}
			failures = 0
			if len(jobs) == 0 {
				break
			}
			s.runThumbJob(ctx, jobs[0])
		}
		idle.Reset(min(thumbPoll<<min(failures, 5), time.Minute))
	}
}

// errPermanent marks a job failure no retry can fix.
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

// runThumbJob does one job and settles it with the queue.
func (s *Service) runThumbJob(ctx context.Context, job models.Job) {
	err := s.makeThumbnails(ctx, job)
	// Settle even when ctx ended, so the job is not stuck until its lease ends.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err == nil {
		if err := s.jobs.Complete(sctx, job.ID); err != nil {
			s.log.ErrorContext(ctx, "uploads: complete thumbnail job", "job", job.ID, "error", err)
		}
		return
	}
	if ctx.Err() != nil { // shutdown: retry right after restart
		now := s.now()
		if ferr := s.jobs.Fail(sctx, job.ID, "interrupted by shutdown", &now); ferr != nil {
			s.log.WarnContext(sctx, "uploads: release thumbnail job", "job", job.ID, "error", ferr)
		}
		return
	}
	var perm errPermanent
	attempt := max(job.Attempts, 1)
	if errors.As(err, &perm) || attempt >= s.cfg.ThumbAttempts {
		s.log.ErrorContext(ctx, "uploads: thumbnails given up", "job", job.ID, "photo", job.Key, "attempt", attempt, "error", err)
		if ferr := s.flagThumbnailFailed(sctx, job.Key); ferr != nil {
			s.log.ErrorContext(ctx, "uploads: flag thumbnail failure", "photo", job.Key, "error", ferr)
		}
		if ferr := s.jobs.Fail(sctx, job.ID, err.Error(), nil); ferr != nil {
			s.log.ErrorContext(ctx, "uploads: fail thumbnail job", "job", job.ID, "error", ferr)
		}
		return
	}
	retry := s.now().Add(thumbRetryDelay(attempt))
	s.log.WarnContext(ctx, "uploads: thumbnails failed; will retry", "job", job.ID, "photo", job.Key,
		"attempt", attempt, "retry_at", retry, "error", err)
	if ferr := s.jobs.Fail(sctx, job.ID, err.Error(), &retry); ferr != nil {
		s.log.ErrorContext(ctx, "uploads: fail thumbnail job", "job", job.ID, "error", ferr)
	}
}

// thumbRetryDelay is exponential from thumbBackoff, capped, with ±20% jitter
// so jobs that failed together do not retry together.
func thumbRetryDelay(attempt int) time.Duration {
	d := thumbBackoff << min(attempt-1, 10)
	d = min(d, thumbMaxDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// makeThumbnails does the work of one job.
func (s *Service) makeThumbnails(ctx context.Context, job models.Job) error {
	id, err := uuid.Parse(job.Key)
	if err != nil {
		return errPermanent{fmt.Errorf("job key %q is not a photo id", job.Key)}
	}
	p, err := s.store.GetPhoto(ctx, id)
	if models.IsNotFound(err) {
		return errPermanent{fmt.Errorf("photo %s not found", id)}
	}
	if err != nil {
		return err
	}
	if p.ThumbSmall != "" && p.ThumbLarge != "" {
		return nil // done before (a retried job, or a duplicate)
	}
	if !p.Verified {
		return fmt.Errorf("photo %s is not verified yet", id)
	}
	b, err := s.blobs.Open(ctx, p.SHA256)
	if err != nil {
		return fmt.Errorf("open original %s: %w", p.SHA256, err)
	}
	orientation := 1
	if p.EXIF != nil && p.EXIF.Orientation >= 1 && p.EXIF.Orientation <= 8 {
		orientation = p.EXIF.Orientation
	}
	th, err := MakeThumbnails(ctxReader{ctx, b}, orientation)
	b.Close()
	if err != nil {
		if isFinal(err) { // the image cannot be decoded: retrying will not help
			return errPermanent{err}
		}
		return err
	}
	small, _, err := s.thumbs.Put(ctx, bytes.NewReader(th.Small))
	if err != nil {
		return err
	}
	large, _, err := s.thumbs.Put(ctx, bytes.NewReader(th.Large))
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx models.Tx) error {
		ps, err := tx.PhotosByID(ctx, []uuid.UUID{id})
		if err != nil {
			return err
		}
		p, ok := ps[id]
		if !ok {
			return errPermanent{fmt.Errorf("photo %s vanished", id)}
		}
		p.ThumbSmall, p.ThumbLarge = small, large
		return putPhotoBumpingCase(ctx, tx, p)
	})
}

// flagThumbnailFailed marks a photo whose thumbnails were given up.
func (s *Service) flagThumbnailFailed(ctx context.Context, key string) error {
	id, err := uuid.Parse(key)
	if err != nil {
		return nil
	}
	return s.store.Update(ctx, func(tx models.Tx) error {
		ps, err := tx.PhotosByID(ctx, []uuid.UUID{id})
		if err != nil {
			return err
		}
		p, ok := ps[id]
		if !ok {
			return nil
		}
		p.Flags = mergeFlags(p.Flags, []string{FlagThumbnailFailed})
		return putPhotoBumpingCase(ctx, tx, p)
	})
}

// putPhotoBumpingCase stores a changed photo and bumps its case (when it
// exists) so the next pull carries the change.
func putPhotoBumpingCase(ctx context.Context, tx models.Tx, p models.PhotoRecord) error {
	cs, err := tx.CasesByID(ctx, []uuid.UUID{p.CaseID})
	if err != nil {
		return err
	}
	if c, ok := cs[p.CaseID]; ok {
		if p.ChangeSeq, err = bumpCase(ctx, tx, c); err != nil {
			return err
		}
	}
	return tx.PutPhotos(ctx, []models.PhotoRecord{p})
}
