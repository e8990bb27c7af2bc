-- The audit log is append-only: refuse UPDATE, DELETE and TRUNCATE on actions.
CREATE OR REPLACE FUNCTION warden_actions_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'actions is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER actions_no_update_delete BEFORE UPDATE OR DELETE ON actions
  FOR EACH ROW EXECUTE FUNCTION warden_actions_append_only();
--> statement-breakpoint
CREATE TRIGGER actions_no_truncate BEFORE TRUNCATE ON actions
  FOR EACH STATEMENT EXECUTE FUNCTION warden_actions_append_only();
