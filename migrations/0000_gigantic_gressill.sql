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
ALTER TABLE "sandboxes" ADD CONSTRAINT "sandboxes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_phone_key" ON "users" USING btree ("phone");--> statement-breakpoint
CREATE UNIQUE INDEX "users_wa_id_key" ON "users" USING btree ("wa_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_bsuid_key" ON "users" USING btree ("bsuid");--> statement-breakpoint
CREATE INDEX "users_email_idx" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "users_zoom_user_id_key" ON "users" USING btree ("zoom_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sandboxes_user_id_key" ON "sandboxes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sandboxes_state_idx" ON "sandboxes" USING btree ("state");--> statement-breakpoint
CREATE INDEX "sandboxes_token_hash_idx" ON "sandboxes" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_channel_provider_id_key" ON "messages" USING btree ("channel","provider_id");--> statement-breakpoint
CREATE INDEX "messages_user_created_idx" ON "messages" USING btree ("user_id","created_at");