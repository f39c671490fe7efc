-- One row per request, whatever its end: success, upstream error, refused by a limit, client gone
-- mid-stream (SPEC.md, "Usage events"). Written to run on ClickHouse 18.16 and current releases:
-- no DateTime64, TTL, Map or LowCardinality.
--   ts / ts_ms      when the request started: UTC seconds plus the milliseconds within that second
--   tokens_estimated 1 when the counts were estimated locally rather than reported by the upstream
--   ttft_ms         time to first token, 0 when no token was produced
--   cost_micros     price in millionths of `currency`, never a float
--   error_code      '' on success, else the domain error code (QUOTA_EXCEEDED, UPSTREAM_ERROR, ...)
CREATE TABLE IF NOT EXISTS usage_events
(
    event_id String,
    request_id String,
    ts DateTime('UTC'),
    ts_ms UInt16,
    tenant_id String,
    user_id String,
    api_key_id String,
    requested_model String,
    served_model String,
    provider String,
    deployment String,
    kind String,
    status String,
    error_code String,
    prompt_tokens UInt32,
    completion_tokens UInt32,
    total_tokens UInt32,
    tokens_estimated UInt8,
    ttft_ms UInt32,
    latency_ms UInt32,
    cache_hit UInt8,
    cost_micros Int64,
    currency String,
    node String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, ts, event_id)
