CREATE TABLE "users" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"phone" text,
	"wa_id" text,
	"bsuid" text,
	"name" text,
	"email" text,
	"zoom_user_id" text,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"active_hours_start" text DEFAULT '07:00' NOT NULL,
	"active_hours_end" text DEFAULT '23:00' NOT NULL,
	"last_inbound_at" timestamp with time zone,
	"undeliverable" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sandboxes" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"state" text DEFAULT 'provisioning' NOT NULL,
	"container_id" text,
	"container_name" text,
	"image" text,
	"config_hash" text,
	"token_hash" text,
	"endpoint" text,
	"last_activity_at" timestamp with time zone DEFAULT now() NOT NULL,
	"error" text,
	"crash_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"direction" text NOT NULL,
	"channel" text NOT NULL,
	"provider_id" text,
	"content" text NOT NULL,
	"status" text NOT NULL,
	"error_code" text,
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "llm_usage" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"user_id" text NOT NULL,
	"sandbox_id" text NOT NULL,
	"endpoint" text NOT NULL,
	"model" text NOT NULL,
	"purpose" text,
	"prompt_tokens" integer DEFAULT 0 NOT NULL,
	"completion_tokens" integer DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"estimated" boolean DEFAULT false NOT NULL,
	"status" text NOT NULL,
	"http_status" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "llm_budgets" (
	"user_id" text PRIMARY KEY NOT NULL,
	"monthly_usd" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_turns" (
	"call_sid" text NOT NULL,
	"turn" integer NOT NULL,
	"request_key" text,
	"speech" text NOT NULL,
	"reply" text,
	"hang_up" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"answered_at" timestamp with time zone,
	CONSTRAINT "call_turns_call_sid_turn_pk" PRIMARY KEY("call_sid","turn")
);
--> statement-breakpoint
CREATE TABLE "calls" (
	"sid" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"direction" text NOT NULL,
	"mode" text NOT NULL,
	"status" text NOT NULL,
	"duration_seconds" integer,
	"transcript" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"turn_count" integer DEFAULT 0 NOT NULL,
	"silences" integer DEFAULT 0 NOT NULL,
	"ended_at" timestamp with time zone,
	"summary_queued" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
CREATE TABLE "inbox_events" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"seq" bigserial NOT NULL,
	"user_id" text NOT NULL,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"provider_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"priority" integer DEFAULT 100 NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_token" text,
	"lease_expires_at" timestamp with time zone,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"result" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"seq" bigserial NOT NULL,
	"user_id" text NOT NULL,
	"channel" text NOT NULL,
	"kind" text NOT NULL,
	"body" text NOT NULL,
	"proactive" boolean DEFAULT false NOT NULL,
	"inbox_id" text,
	"meta" jsonb,
	"message_id" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_token" text,
	"lease_expires_at" timestamp with time zone,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"provider_id" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "rtms_streams" (
	"stream_id" text PRIMARY KEY NOT NULL,
	"meeting_uuid" text NOT NULL,
	"user_id" text NOT NULL,
	"server_urls" text NOT NULL,
	"state" text DEFAULT 'active' NOT NULL,
	"owner" text,
	"lease_until" timestamp with time zone,
	"batches" integer DEFAULT 0 NOT NULL,
	"connects" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zoom_meetings" (
	"uuid" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"meeting_number" text,
	"topic" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "sandboxes" ADD CONSTRAINT "sandboxes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "llm_usage" ADD CONSTRAINT "llm_usage_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "llm_budgets" ADD CONSTRAINT "llm_budgets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_turns" ADD CONSTRAINT "call_turns_call_sid_calls_sid_fk" FOREIGN KEY ("call_sid") REFERENCES "public"."calls"("sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "proactive_sends" ADD CONSTRAINT "proactive_sends_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inbox_events" ADD CONSTRAINT "inbox_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rtms_streams" ADD CONSTRAINT "rtms_streams_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "zoom_meetings" ADD CONSTRAINT "zoom_meetings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_phone_key" ON "users" USING btree ("phone");--> statement-breakpoint
CREATE UNIQUE INDEX "users_wa_id_key" ON "users" USING btree ("wa_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_bsuid_key" ON "users" USING btree ("bsuid");--> statement-breakpoint
CREATE INDEX "users_email_idx" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "users_zoom_user_id_key" ON "users" USING btree ("zoom_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sandboxes_user_id_key" ON "sandboxes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sandboxes_state_idx" ON "sandboxes" USING btree ("state");--> statement-breakpoint
CREATE INDEX "sandboxes_token_hash_idx" ON "sandboxes" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_channel_provider_id_key" ON "messages" USING btree ("channel","provider_id");--> statement-breakpoint
CREATE INDEX "messages_user_created_idx" ON "messages" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "llm_usage_user_created_idx" ON "llm_usage" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "llm_usage_created_idx" ON "llm_usage" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "call_turns_request_key_key" ON "call_turns" USING btree ("request_key");--> statement-breakpoint
CREATE INDEX "calls_user_created_idx" ON "calls" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "proactive_sends_user_key_idx" ON "proactive_sends" USING btree ("user_id","kind","dedupe_key","sent_at");--> statement-breakpoint
CREATE INDEX "proactive_sends_user_day_idx" ON "proactive_sends" USING btree ("user_id","kind","local_day");--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_user_kind_key" ON "schedules" USING btree ("user_id","kind");--> statement-breakpoint
CREATE INDEX "schedules_next_run_at_idx" ON "schedules" USING btree ("next_run_at");--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_events_channel_provider_id_key" ON "inbox_events" USING btree ("channel","provider_id");--> statement-breakpoint
CREATE INDEX "inbox_events_user_order_idx" ON "inbox_events" USING btree ("user_id","priority","created_at","seq") WHERE status IN ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "inbox_events_open_idx" ON "inbox_events" USING btree ("priority","created_at","seq") WHERE status IN ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "inbox_events_user_created_idx" ON "inbox_events" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "outbox_user_channel_seq_idx" ON "outbox" USING btree ("user_id","channel","seq") WHERE status IN ('pending', 'sending');--> statement-breakpoint
CREATE INDEX "outbox_open_idx" ON "outbox" USING btree ("seq") WHERE status IN ('pending', 'sending');--> statement-breakpoint
CREATE INDEX "outbox_inbox_id_idx" ON "outbox" USING btree ("inbox_id");--> statement-breakpoint
CREATE INDEX "rtms_streams_meeting_idx" ON "rtms_streams" USING btree ("meeting_uuid");--> statement-breakpoint
CREATE INDEX "zoom_meetings_user_idx" ON "zoom_meetings" USING btree ("user_id");