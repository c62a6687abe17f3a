DROP INDEX "inbox_events_user_order_idx";--> statement-breakpoint
DROP INDEX "outbox_user_channel_seq_idx";--> statement-breakpoint
CREATE INDEX "inbox_events_user_order_idx" ON "inbox_events" USING btree ("user_id","priority","created_at","seq") WHERE status IN ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "outbox_user_channel_seq_idx" ON "outbox" USING btree ("user_id","channel","seq") WHERE status IN ('pending', 'sending');