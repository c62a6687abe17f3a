CREATE TABLE "llm_budget_reservations" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"cost_usd" double precision NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "voice_requests" (
	"digest" text PRIMARY KEY NOT NULL,
	"call_sid" text NOT NULL,
	"turn" integer,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "voice_pin_hash" text;--> statement-breakpoint
ALTER TABLE "sandboxes" ADD COLUMN "token_generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "trust" text DEFAULT 'limited' NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "attestation" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "pin_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "confirm_asked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "stream_sid" text;--> statement-breakpoint
ALTER TABLE "llm_budget_reservations" ADD CONSTRAINT "llm_budget_reservations_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "llm_budget_reservations_user_idx" ON "llm_budget_reservations" USING btree ("user_id","expires_at");--> statement-breakpoint
CREATE INDEX "voice_requests_seen_idx" ON "voice_requests" USING btree ("seen_at");--> statement-breakpoint
CREATE INDEX "inbox_events_finished_idx" ON "inbox_events" USING btree ("completed_at") WHERE status IN ('done', 'dead');--> statement-breakpoint
CREATE INDEX "outbox_finished_idx" ON "outbox" USING btree ("updated_at") WHERE status IN ('sent', 'failed');