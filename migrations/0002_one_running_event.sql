-- One event in flight per user. The old head rule let a higher-priority event start beside an
-- event whose lease had expired, so old data may hold two processing rows of one user: the one
-- with the latest lease stays, the others go back to pending (claimed again, in order).
UPDATE "inbox_events" SET "status" = 'pending', "lease_token" = NULL, "lease_expires_at" = NULL, "updated_at" = now()
WHERE "status" = 'processing' AND "id" NOT IN (
  SELECT DISTINCT ON ("user_id") "id" FROM "inbox_events" WHERE "status" = 'processing'
  ORDER BY "user_id", "lease_expires_at" DESC NULLS LAST, "id"
);--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_events_one_running_idx" ON "inbox_events" USING btree ("user_id") WHERE status = 'processing';
