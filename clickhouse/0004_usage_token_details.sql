-- The upstream's token details on each usage event (0 when it reported none):
--   cached_tokens     prompt tokens served from the upstream's prompt cache
--   reasoning_tokens  completion tokens spent on reasoning
-- 18.16 has no ADD COLUMN IF NOT EXISTS; the migrator takes an existing column as added.
ALTER TABLE usage_events ADD COLUMN cached_tokens UInt32 DEFAULT 0 AFTER tokens_estimated;
ALTER TABLE usage_events ADD COLUMN reasoning_tokens UInt32 DEFAULT 0 AFTER cached_tokens
