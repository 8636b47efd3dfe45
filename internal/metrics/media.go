package metrics

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/insta485/insta485/internal/blob"
)

const (
	opPut    = "put"
	opOpen   = "open"
	opDelete = "delete"
	opList   = "list"
	opClear  = "clear"
)

// Media returns s with every operation counted and timed: a decorator, so
// it measures whichever store (a directory, an object store) the app uses.
func (m *Metrics) Media(s blob.Store) blob.Store {
	return &instrumentedStore{next: s, m: m}
}

type instrumentedStore struct {
	next blob.Store
	m    *Metrics
}

// observe records one operation that started at start and ended with err.
func (s *instrumentedStore) observe(op string, start time.Time, err error) {
	s.m.uploadOps.WithLabelValues(op).Inc()
	s.m.uploadLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, blob.ErrNotFound) && !errors.Is(err, context.Canceled) {
		s.m.uploadErrors.WithLabelValues(op).Inc()
	}
}

func (s *instrumentedStore) Put(ctx context.Context, name string, r io.Reader) error {
	start := time.Now()
	cr := &countingReader{r: r}
	err := s.next.Put(ctx, name, cr)
	s.observe(opPut, start, err)
	if err == nil {
		s.m.uploadBytes.Add(float64(cr.n))
	}
	return err
}

func (s *instrumentedStore) Open(ctx context.Context, name string) (blob.File, error) {
	start := time.Now()
	f, err := s.next.Open(ctx, name)
	s.observe(opOpen, start, err)
	return f, err
}

func (s *instrumentedStore) Delete(ctx context.Context, name string) error {
	start := time.Now()
	err := s.next.Delete(ctx, name)
	s.observe(opDelete, start, err)
	return err
}

func (s *instrumentedStore) Clear(ctx context.Context) error {
	start := time.Now()
	err := s.next.Clear(ctx)
	s.observe(opClear, start, err)
	return err
}

func (s *instrumentedStore) List(ctx context.Context, fn func(name string) error) error {
	start := time.Now()
	err := s.next.List(ctx, fn)
	s.observe(opList, start, err)
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
