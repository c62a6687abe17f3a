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
ALTER TABLE "rtms_streams" ADD CONSTRAINT "rtms_streams_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "zoom_meetings" ADD CONSTRAINT "zoom_meetings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rtms_streams_meeting_idx" ON "rtms_streams" USING btree ("meeting_uuid");--> statement-breakpoint
CREATE INDEX "zoom_meetings_user_idx" ON "zoom_meetings" USING btree ("user_id");