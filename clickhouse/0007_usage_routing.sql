-- How each request's model was chosen, and what callers said of the answers ('' stands for none):
--   route / route_rule       the route the requested name went through and the rule that chose the model
--   experiment_id / variant  the experiment the request took part in and the variant it was given
-- 18.16 has no ADD COLUMN IF NOT EXISTS; the migrator takes an existing column as added.
ALTER TABLE usage_events ADD COLUMN route String DEFAULT '' AFTER node;
ALTER TABLE usage_events ADD COLUMN route_rule String DEFAULT '' AFTER route;
ALTER TABLE usage_events ADD COLUMN experiment_id String DEFAULT '' AFTER route_rule;
ALTER TABLE usage_events ADD COLUMN variant String DEFAULT '' AFTER experiment_id;

-- One value per request and metric (a number, or 1/0 for a boolean). A repeat is written again (a
-- plain MergeTree: a Replacing one would keep the last); reads take each pair's first value, so a
-- repeat never counts twice.
CREATE TABLE IF NOT EXISTS usage_feedback
(
    tenant_id String,
    request_id String,
    metric String,
    value Float64,
    ts DateTime('UTC'),
    ts_ms UInt16
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, request_id, metric)
