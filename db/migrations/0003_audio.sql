CREATE TABLE "transcripts" (
	"sample_id" uuid PRIMARY KEY NOT NULL,
	"broadcast_id" uuid NOT NULL,
	"engine" text NOT NULL,
	"engine_version" text NOT NULL,
	"language" text NOT NULL,
	"text" text NOT NULL,
	"words" jsonb NOT NULL,
	"keywords" jsonb NOT NULL,
	"findings" jsonb NOT NULL,
	"decode_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "samples" ADD COLUMN "duration_ms" integer;--> statement-breakpoint
ALTER TABLE "samples" ADD COLUMN "overlap_ms" integer;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_sample_id_samples_id_fk" FOREIGN KEY ("sample_id") REFERENCES "public"."samples"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transcripts" ADD CONSTRAINT "transcripts_broadcast_id_broadcasts_id_fk" FOREIGN KEY ("broadcast_id") REFERENCES "public"."broadcasts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "transcripts_broadcast_idx" ON "transcripts" USING btree ("broadcast_id");