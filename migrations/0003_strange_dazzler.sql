CREATE TABLE "proactive_sends" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"dedupe_key" text NOT NULL,
	"source_key" text NOT NULL,
	"local_day" text NOT NULL,
	"sent_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"next_run_at" timestamp with time zone,
	"agent_next_due_at" timestamp with time zone,
	"last_slot_at" timestamp with time zone,
	"last_claimed_at" timestamp with time zone,
	"claims" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "proactive_sends" ADD CONSTRAINT "proactive_sends_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "proactive_sends_user_key_idx" ON "proactive_sends" USING btree ("user_id","kind","dedupe_key","sent_at");--> statement-breakpoint
CREATE INDEX "proactive_sends_user_day_idx" ON "proactive_sends" USING btree ("user_id","kind","local_day");--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_user_kind_key" ON "schedules" USING btree ("user_id","kind");--> statement-breakpoint
CREATE INDEX "schedules_next_run_at_idx" ON "schedules" USING btree ("next_run_at");