-- A number's history (EventStore.NumberEvents, the console's event timeline) reads the
-- events of one number, newest first: without this index that is a scan of the whole outbox.
CREATE INDEX number_events_number ON number_events (number, id);
