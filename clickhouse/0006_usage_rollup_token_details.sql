-- Cached and reasoning tokens in the rollups, so usage reports read them from a few rows per hour or day.
-- Tables of their own, kept by views of their own, beside usage_hourly and usage_daily: on 18.16 a
-- materialized view must fill every column of its target, so adding columns to those tables would break
-- their views. Only events with some cached or reasoning tokens are rolled up here.
--
-- usage_hourly_tokens: usage_hourly's key (every dimension a report groups or filters by).
-- usage_daily_tokens:  usage_daily's key (tenant, day, model, currency).

CREATE TABLE IF NOT EXISTS usage_hourly_tokens
(
    tenant_id String,
    hour DateTime('UTC'),
    model String,
    provider String,
    api_key_id String,
    user_id String,
    status String,
    currency String,
    cached_tokens_sum UInt64,
    reasoning_tokens_sum UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, hour, model, provider, api_key_id, user_id, status, currency);

CREATE TABLE IF NOT EXISTS usage_daily_tokens
(
    tenant_id String,
    day Date,
    model String,
    currency String,
    cached_tokens_sum UInt64,
    reasoning_tokens_sum UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, model, currency);

INSERT INTO usage_hourly_tokens (tenant_id, hour, model, provider, api_key_id, user_id, status, currency, cached_tokens_sum, reasoning_tokens_sum)
SELECT
    tenant_id,
    toStartOfHour(ts, 'UTC') AS hour_start,
    requested_model,
    provider,
    api_key_id,
    user_id,
    status,
    currency,
    sum(toUInt64(cached_tokens)),
    sum(toUInt64(reasoning_tokens))
FROM usage_events
WHERE (cached_tokens > 0 OR reasoning_tokens > 0) AND (SELECT count() FROM usage_hourly_tokens) = 0
GROUP BY tenant_id, hour_start, requested_model, provider, api_key_id, user_id, status, currency;

INSERT INTO usage_daily_tokens (tenant_id, day, model, currency, cached_tokens_sum, reasoning_tokens_sum)
SELECT tenant_id, toDate(ts, 'UTC') AS day_start, requested_model, currency, sum(toUInt64(cached_tokens)), sum(toUInt64(reasoning_tokens))
FROM usage_events
WHERE (cached_tokens > 0 OR reasoning_tokens > 0) AND (SELECT count() FROM usage_daily_tokens) = 0
GROUP BY tenant_id, day_start, requested_model, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_tokens_mv TO usage_hourly_tokens AS
SELECT
    tenant_id,
    toStartOfHour(ts, 'UTC') AS hour,
    requested_model AS model,
    provider,
    api_key_id,
    user_id,
    status,
    currency,
    sum(toUInt64(cached_tokens)) AS cached_tokens_sum,
    sum(toUInt64(reasoning_tokens)) AS reasoning_tokens_sum
FROM usage_events
WHERE cached_tokens > 0 OR reasoning_tokens > 0
GROUP BY tenant_id, hour, model, provider, api_key_id, user_id, status, currency;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_daily_tokens_mv TO usage_daily_tokens AS
SELECT
    tenant_id,
    toDate(ts, 'UTC') AS day,
    requested_model AS model,
    currency,
    sum(toUInt64(cached_tokens)) AS cached_tokens_sum,
    sum(toUInt64(reasoning_tokens)) AS reasoning_tokens_sum
FROM usage_events
WHERE cached_tokens > 0 OR reasoning_tokens > 0
GROUP BY tenant_id, day, model, currency
