-- Rollups of usage_events kept by materialized views (ClickHouse 18.16 and current releases).
-- The views see only rows inserted after they exist; the guarded back-fills below cover rows written
-- before this migration and are skipped when the file runs again (no transactional DDL here).
--
-- usage_hourly: every dimension a usage report groups or filters by, per hour. Plain counters are
--   summed on merge; latency_q (t-digest of latency_ms) merges as an aggregate state. Readers always
--   GROUP BY again, since merges happen in the background.
-- usage_daily: the billing view, one row per tenant, day, model (and the currency it was priced in).
-- Rollup columns are named apart from usage_events' columns (`*_sum`) so that no alias in the views
-- shadows a source column: old and new query analyzers resolve such aliases differently.

CREATE TABLE IF NOT EXISTS usage_hourly
(
    tenant_id String,
    hour DateTime('UTC'),
    model String,
    provider String,
    api_key_id String,
    user_id String,
    status String,
    currency String,
    requests UInt64,
    prompt_tokens_sum UInt64,
    completion_tokens_sum UInt64,
    total_tokens_sum UInt64,
    cache_hits UInt64,
    estimated UInt64,
    cost_micros_sum Int64,
    latency_ms_sum UInt64,
    latency_q AggregateFunction(quantilesTDigest(0.5, 0.95), UInt32)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, hour, model, provider, api_key_id, user_id, status, currency);

CREATE TABLE IF NOT EXISTS usage_daily
(
    tenant_id String,
    day Date,
    model String,
    currency String,
    requests UInt64,
    prompt_tokens_sum UInt64,
    completion_tokens_sum UInt64,
    total_tokens_sum UInt64,
    errors UInt64,
    refused UInt64,
    cancelled UInt64,
    cache_hits UInt64,
    estimated UInt64,
    cost_micros_sum Int64,
    latency_ms_sum UInt64,
    latency_count UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, model, currency);

INSERT INTO usage_hourly (tenant_id, hour, model, provider, api_key_id, user_id, status, currency, requests, prompt_tokens_sum, completion_tokens_sum, total_tokens_sum, cache_hits, estimated, cost_micros_sum, latency_ms_sum, latency_q)
SELECT
    tenant_id,
    toStartOfHour(ts, 'UTC') AS hour,
    requested_model AS model,
    provider,
    api_key_id,
    user_id,
    status,
    currency,
    count() AS requests,
    sum(toUInt64(prompt_tokens)) AS prompt_tokens_sum,
    sum(toUInt64(completion_tokens)) AS completion_tokens_sum,
    sum(toUInt64(total_tokens)) AS total_tokens_sum,
    sum(toUInt64(cache_hit)) AS cache_hits,
    sum(toUInt64(tokens_estimated)) AS estimated,
    sum(cost_micros) AS cost_micros_sum,
    sum(toUInt64(latency_ms)) AS latency_ms_sum,
    quantilesTDigestState(0.5, 0.95)(latency_ms) AS latency_q
FROM usage_events
WHERE (SELECT count() FROM usage_hourly) = 0
GROUP BY tenant_id, hour, model, provider, api_key_id, user_id, status, currency;

INSERT INTO usage_daily (tenant_id, day, model, currency, requests, prompt_tokens_sum, completion_tokens_sum, total_tokens_sum, errors, refused, cancelled, cache_hits, estimated, cost_micros_sum, latency_ms_sum, latency_count)
SELECT
    tenant_id,
    toDate(ts, 'UTC') AS day,
    requested_model AS model,
    currency,
    count() AS requests,
    sum(toUInt64(prompt_tokens)) AS prompt_tokens_sum,
    sum(toUInt64(completion_tokens)) AS completion_tokens_sum,
    sum(toUInt64(total_tokens)) AS total_tokens_sum,
    countIf(status = 'error') AS errors,
    countIf(status = 'refused') AS refused,
    countIf(status = 'cancelled') AS cancelled,
    sum(toUInt64(cache_hit)) AS cache_hits,
    sum(toUInt64(tokens_estimated)) AS estimated,
    sum(cost_micros) AS cost_micros_sum,
    sumIf(toUInt64(latency_ms), status != 'refused') AS latency_ms_sum,
    countIf(status != 'refused') AS latency_count
FROM usage_events
WHERE (SELECT count() FROM usage_daily) = 0
GROUP BY tenant_id, day, model, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_mv TO usage_hourly AS
SELECT
    tenant_id,
    toStartOfHour(ts, 'UTC') AS hour,
    requested_model AS model,
    provider,
    api_key_id,
    user_id,
    status,
    currency,
    count() AS requests,
    sum(toUInt64(prompt_tokens)) AS prompt_tokens_sum,
    sum(toUInt64(completion_tokens)) AS completion_tokens_sum,
    sum(toUInt64(total_tokens)) AS total_tokens_sum,
    sum(toUInt64(cache_hit)) AS cache_hits,
    sum(toUInt64(tokens_estimated)) AS estimated,
    sum(cost_micros) AS cost_micros_sum,
    sum(toUInt64(latency_ms)) AS latency_ms_sum,
    quantilesTDigestState(0.5, 0.95)(latency_ms) AS latency_q
FROM usage_events
GROUP BY tenant_id, hour, model, provider, api_key_id, user_id, status, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_mv TO usage_daily AS
SELECT
    tenant_id,
    toDate(ts, 'UTC') AS day,
    requested_model AS model,
    currency,
    count() AS requests,
    sum(toUInt64(prompt_tokens)) AS prompt_tokens_sum,
    sum(toUInt64(completion_tokens)) AS completion_tokens_sum,
    sum(toUInt64(total_tokens)) AS total_tokens_sum,
    countIf(status = 'error') AS errors,
    countIf(status = 'refused') AS refused,
    countIf(status = 'cancelled') AS cancelled,
    sum(toUInt64(cache_hit)) AS cache_hits,
    sum(toUInt64(tokens_estimated)) AS estimated,
    sum(cost_micros) AS cost_micros_sum,
    sumIf(toUInt64(latency_ms), status != 'refused') AS latency_ms_sum,
    countIf(status != 'refused') AS latency_count
FROM usage_events
GROUP BY tenant_id, day, model, currency;
