-- Latency quantiles by tenant, day and model, beside the usage_daily billing view, so a month by day
-- (the billing screen) reads a few hundred rows instead of every hour's groups. A table of its own, kept
-- by its own view, rather than a column added to usage_daily: replacing that view would open a moment
-- in which inserts reach neither the old view nor the new one.

CREATE TABLE IF NOT EXISTS usage_daily_latency
(
    tenant_id String,
    day Date,
    model String,
    currency String,
    latency_q AggregateFunction(quantilesTDigest(0.5, 0.95), UInt32)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, model, currency);

INSERT INTO usage_daily_latency (tenant_id, day, model, currency, latency_q)
SELECT tenant_id, toDate(ts, 'UTC') AS day_start, requested_model, currency, quantilesTDigestStateIf(0.5, 0.95)(latency_ms, status != 'refused')
FROM usage_events
WHERE (SELECT count() FROM usage_daily_latency) = 0
GROUP BY tenant_id, day_start, requested_model, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_latency_mv TO usage_daily_latency AS
SELECT
    tenant_id,
    toDate(ts, 'UTC') AS day,
    requested_model AS model,
    currency,
    quantilesTDigestStateIf(0.5, 0.95)(latency_ms, status != 'refused') AS latency_q
FROM usage_events
GROUP BY tenant_id, day, model, currency;
