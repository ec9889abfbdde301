// Package jobtest has test doubles of models.JobQueue.
package jobtest

import (
	"context"
	"errors"

	"github.com/fieldsync/fieldsync/models"
)

// DeadQueue is a job queue whose Enqueue always fails, as in a process that
// died right after its commit: whatever is queued through it after a
// transaction is lost. Its other methods are the wrapped queue's.
type DeadQueue struct {
	models.JobQueue
	Calls int // Enqueue calls so far
}

// Enqueue counts the call and fails.
func (q *DeadQueue) Enqueue(context.Context, []models.Job) error {
	q.Calls++
	return errors.New("the process died after the commit")
}
