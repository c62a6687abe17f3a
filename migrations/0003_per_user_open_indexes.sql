-- The open rows keep one index each, keyed by user first. The dropped ones (the open rows by
-- priority/created_at/seq, and by seq) were what the planner took for per-user lookups, a scan of
-- every open row with a filter, whenever its statistics said nothing was open (a quiet table when
-- it was analyzed): in a burst every claim and completion read all open rows (docs/routing.md).
DROP INDEX "inbox_events_open_idx";--> statement-breakpoint
DROP INDEX "outbox_open_idx";