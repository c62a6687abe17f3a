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
ALTER TABLE "inbox_events" ADD CONSTRAINT "inbox_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "inbox_events_channel_provider_id_key" ON "inbox_events" USING btree ("channel","provider_id");--> statement-breakpoint
CREATE INDEX "inbox_events_user_order_idx" ON "inbox_events" USING btree ("user_id","priority","created_at","seq");--> statement-breakpoint
CREATE INDEX "inbox_events_open_idx" ON "inbox_events" USING btree ("priority","created_at","seq") WHERE status IN ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "inbox_events_user_created_idx" ON "inbox_events" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "outbox_user_channel_seq_idx" ON "outbox" USING btree ("user_id","channel","seq");--> statement-breakpoint
CREATE INDEX "outbox_open_idx" ON "outbox" USING btree ("seq") WHERE status IN ('pending', 'sending');--> statement-breakpoint
CREATE INDEX "outbox_inbox_id_idx" ON "outbox" USING btree ("inbox_id");