-- The billing names the platform's SQL was written against, as plain views over the real tables
-- (SPEC.md, [billing]). They hold no data of their own, so they need no back-fill and cannot drift.
--   llm_requests       one row per request, from usage_events; '' ("none") reads as NULL, as in the SQL store
--   tenant_daily_usage one row per tenant, day and currency, from the usage_daily rollup; cost in the
--                      currency's units (Decimal, from integer micro-units)
-- Aliases are named apart from the source columns they read, so no alias shadows a source column.

CREATE VIEW IF NOT EXISTS llm_requests AS
SELECT
    event_id AS id,
    request_id,
    tenant_id,
    nullIf(user_id, '') AS user_id,
    nullIf(api_key_id, '') AS api_key_id,
    requested_model AS model,
    nullIf(served_model, '') AS served_model,
    nullIf(provider, '') AS provider,
    kind AS request_type,
    prompt_tokens,
    completion_tokens,
    total_tokens,
    latency_ms,
    status = 'ok' AS success,
    status,
    nullIf(error_code, '') AS error_code,
    toDecimal128(cost_micros, 6) / 1000000 AS cost,
    currency,
    ts AS created_at
FROM usage_events;

CREATE VIEW IF NOT EXISTS tenant_daily_usage AS
SELECT
    tenant_id,
    day AS date,
    currency,
    sum(requests) AS requests,
    sum(prompt_tokens_sum) AS prompt_tokens,
    sum(completion_tokens_sum) AS completion_tokens,
    sum(total_tokens_sum) AS total_tokens,
    toDecimal128(sum(cost_micros_sum), 6) / 1000000 AS cost
FROM usage_daily
GROUP BY tenant_id, day, currency;
