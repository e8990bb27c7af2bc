ALTER TABLE "users" ADD COLUMN "birth_date" date;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "age_attested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "provider_ref" text;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "document_file" text;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "selfie_file" text;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "images_deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "checks" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "face_distance" real;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "face_threshold" real;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "face_descriptor" text;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "case_id" uuid;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "decided_by" text;--> statement-breakpoint
ALTER TABLE "verifications" ADD COLUMN "decision_reason" text;--> statement-breakpoint
CREATE UNIQUE INDEX "verifications_provider_ref" ON "verifications" USING btree ("method","provider_ref");--> statement-breakpoint
CREATE UNIQUE INDEX "verifications_one_pending" ON "verifications" USING btree ("user_id") WHERE status = 'pending';