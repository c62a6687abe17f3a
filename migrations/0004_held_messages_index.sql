-- A user's held WhatsApp replies (waiting for their 24-hour window) were found by reading every
-- message of that user, on every inbound message (the webhook's held-messages check): a cost that
-- grew with the user's history, forever, since messages are kept. Now a generated column marks
-- them and a partial index holds only those rows. The column is computed from status/error_code
-- by PostgreSQL (it cannot drift from them); a predicate on status would have made every delivery
-- status update non-HOT. Adding a stored column rewrites messages once, under an exclusive lock.
ALTER TABLE "messages" ADD COLUMN "held" boolean GENERATED ALWAYS AS (channel = 'whatsapp' AND direction = 'out' AND (status = 'held' OR (status = 'failed' AND error_code IS NOT DISTINCT FROM 'held'))) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_held_idx" ON "messages" USING btree ("user_id","created_at") WHERE held;