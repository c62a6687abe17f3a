CREATE TABLE "voice_requests" (
	"digest" text PRIMARY KEY NOT NULL,
	"call_sid" text NOT NULL,
	"turn" integer,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "voice_pin_hash" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "trust" text DEFAULT 'limited' NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "attestation" text;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "pin_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "confirm_asked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "stream_sid" text;--> statement-breakpoint
CREATE INDEX "voice_requests_seen_idx" ON "voice_requests" USING btree ("seen_at");