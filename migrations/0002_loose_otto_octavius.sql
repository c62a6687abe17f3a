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
ALTER TABLE "call_turns" ADD CONSTRAINT "call_turns_call_sid_calls_sid_fk" FOREIGN KEY ("call_sid") REFERENCES "public"."calls"("sid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "calls" ADD CONSTRAINT "calls_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "call_turns_request_key_key" ON "call_turns" USING btree ("request_key");--> statement-breakpoint
CREATE INDEX "calls_user_created_idx" ON "calls" USING btree ("user_id","created_at");