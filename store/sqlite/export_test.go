package sqlite

// WithoutOutbox makes s write numbers without their events, so a benchmark can measure
// what the outbox costs. Nothing outside tests can do this.
func WithoutOutbox(s *Store) { s.outbox = false }
