-- The prompt template a request ran, and its version, on each usage event ('' and 0 for other requests).
-- 18.16 has no ADD COLUMN IF NOT EXISTS; the migrator takes an existing column as added.
ALTER TABLE usage_events ADD COLUMN template_name String DEFAULT '' AFTER node;
ALTER TABLE usage_events ADD COLUMN template_version UInt32 DEFAULT 0 AFTER template_name
