// The Redis side of limiter-store.ts: one script per admission and one per settlement, each atomic.
// Keys of one tenant share the hash tag {tenant}, so a script's keys sit in one cluster slot.
// Time comes from the server's clock (TIME) so instances with skewed clocks share one window, unless
// a caller passes it (tests).
//
// Spec layout in ARGV: kind ('r' requests window, 't' tokens window, 'c' concurrency), limit, windowMs.
// KEYS: quota hash, request-id key, then per spec one key ('t': the log and its running sum).

const clock = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// Drops a window's expired entries and returns its count or weight; a tokens log's weight is the
// member's suffix (id:weight) and its total is kept in the sum key.
const trim = `
local function trim(kind, key, sumKey, win)
  local cutoff = now - win
  if kind == 't' then
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)
    if #old > 0 then
      local freed = 0
      for _, m in ipairs(old) do freed = freed + tonumber(string.match(m, ':(%d+)$')) end
      redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
      redis.call('DECRBY', sumKey, freed)
    end
    if redis.call('ZCARD', key) == 0 then
      redis.call('DEL', sumKey)
      return 0
    end
    return tonumber(redis.call('GET', sumKey) or '0')
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    return redis.call('ZCARD', key)
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  return redis.call('ZCARD', key)
end

local function newest(key, win)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then return math.max(0, tonumber(last[2]) + win - now) end
  return 0
end
`;

const readSpecs = (first: number) => `
local specs = {}
local k = 3
local a = ${first}
for i = 1, tonumber(ARGV[a - 1]) do
  local s = { kind = ARGV[a], limit = tonumber(ARGV[a + 1]), win = tonumber(ARGV[a + 2]), key = KEYS[k] }
  if s.kind == 't' then
    s.sumKey = KEYS[k + 1]
    k = k + 2
  else
    k = k + 1
  end
  a = a + 3
  specs[i] = s
end
`;

/**
 * ARGV: now, admission id, estimate, require seed (1/0), token limit, hard (1/0), request limit,
 * quota expiry (ms), period end (ms), request-id ttl (ms), spec count, specs...
 * Returns {0} unseeded; {1, seeded, tokens, requests, states...} admitted;
 * {2, reason (1 tokens quota, 2 requests quota, 3 a limit), spec index, retry ms, seeded, tokens, requests, states...} refused.
 */
export const admitScript = `${clock}${trim}${readSpecs(12)}
local id = ARGV[2]
local estimate = tonumber(ARGV[3])
local q = KEYS[1]
local qv = redis.call('HMGET', q, 'seeded', 'base_tokens', 'tokens', 'base_requests', 'requests')
local seeded = qv[1] ~= false
if ARGV[4] == '1' and not seeded then return {0} end
local tokens = (tonumber(qv[2]) or 0) + (tonumber(qv[3]) or 0)
local requests = (tonumber(qv[4]) or 0) + (tonumber(qv[5]) or 0)
local fresh = redis.call('EXISTS', KEYS[2]) == 0

-- Each limit's use before this request; states say what is left after it, or now if it is refused.
local uses = {}
local refusedSpec = -1
local retry = 0
for i, s in ipairs(specs) do
  local used = trim(s.kind, s.key, s.sumKey, s.win)
  local weight = 1
  if s.kind == 't' then weight = estimate end
  uses[i] = {used, weight}
  if used + weight > s.limit then
    local wait = 1000
    if s.kind ~= 'c' then
      wait = s.win
      if weight <= s.limit then
        -- the oldest entries whose expiry makes room for this one
        local excess = used + weight - s.limit
        local entries = redis.call('ZRANGE', s.key, 0, -1, 'WITHSCORES')
        for j = 1, #entries, 2 do
          local w = 1
          if s.kind == 't' then w = tonumber(string.match(entries[j], ':(%d+)$')) end
          excess = excess - w
          if excess <= 0 then
            wait = math.max(1, tonumber(entries[j + 1]) + s.win - now)
            break
          end
        end
      end
    end
    if refusedSpec < 0 then refusedSpec = i - 1 end
    retry = math.max(retry, wait)
  end
end
local function states(admitted)
  local out = {}
  for i, s in ipairs(specs) do
    local u = uses[i]
    if admitted then
      local reset = s.win
      if s.kind == 'c' then reset = 0 end
      table.insert(out, s.limit)
      table.insert(out, s.limit - u[1] - u[2])
      table.insert(out, reset)
    else
      -- refused: nothing was written, so the windows are as they stand
      local reset = 0
      if s.kind ~= 'c' then reset = newest(s.key, s.win) end
      table.insert(out, s.limit)
      table.insert(out, math.max(0, s.limit - u[1]))
      table.insert(out, reset)
    end
  end
  return out
end

local seededFlag = 0
if seeded then seededFlag = 1 end
local tokenLimit = tonumber(ARGV[5])
local requestLimit = tonumber(ARGV[7])
local periodLeft = math.max(0, tonumber(ARGV[9]) - now)
local function refuse(reason, spec, wait)
  local out = {2, reason, spec, wait, seededFlag, tokens, requests}
  for _, v in ipairs(states(false)) do table.insert(out, v) end
  return out
end
if ARGV[6] == '1' and tokenLimit > 0 and tokens >= tokenLimit then return refuse(1, -1, periodLeft) end
if fresh and requestLimit > 0 and requests >= requestLimit then return refuse(2, -1, periodLeft) end
if refusedSpec >= 0 then return refuse(3, refusedSpec, retry) end

for _, s in ipairs(specs) do
  if s.kind == 'c' then
    redis.call('ZADD', s.key, now + s.win, id)
    redis.call('PEXPIRE', s.key, s.win)
  elseif s.kind == 't' then
    redis.call('ZADD', s.key, now, id .. ':' .. estimate)
    redis.call('INCRBY', s.sumKey, estimate)
    redis.call('PEXPIRE', s.key, s.win)
    redis.call('PEXPIRE', s.sumKey, s.win)
  else
    redis.call('ZADD', s.key, now, id)
    redis.call('PEXPIRE', s.key, s.win)
  end
end
if fresh then
  redis.call('SET', KEYS[2], 0, 'PX', ARGV[10])
  if seeded then
    requests = requests + 1
    redis.call('HINCRBY', q, 'requests', 1)
    redis.call('PEXPIREAT', q, ARGV[8])
  end
end
local out = {1, seededFlag, tokens, requests}
for _, v in ipairs(states(true)) do table.insert(out, v) end
return out
`;

/**
 * Settles several admissions in one call (the client gathers them for a few milliseconds), in order,
 * each exactly as if alone. ARGV: settlement count, request-id ttl (ms), threshold count, thresholds
 * (percent)..., then per settlement: admission id, reserved, actual, token limit, spec count, kinds...
 * KEYS per settlement: quota hash, request-id key, spec keys (as for an admission).
 * Returns per settlement: seeded, tokens, requests, crossed count, crossed thresholds...
 */
export const settleScript = `
local ttl = ARGV[2]
local thresholds = {}
local fields = {'seeded', 'base_tokens', 'tokens', 'base_requests', 'requests'}
for i = 1, tonumber(ARGV[3]) do
  thresholds[i] = tonumber(ARGV[3 + i])
  fields[5 + i] = 'alert' .. thresholds[i]
end
-- Each quota hash is read once and written once per call; the same for each tokens window's sum.
local quotas = {}
local sums = {}
local out = {}
local a = 4 + #thresholds
local k = 1
for _ = 1, tonumber(ARGV[1]) do
  local id, reserved, actual, tokenLimit, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local q = quotas[KEYS[k]]
  if not q then
    local qv = redis.call('HMGET', KEYS[k], unpack(fields))
    q = { seeded = qv[1] ~= false, tokens = (tonumber(qv[2]) or 0) + (tonumber(qv[3]) or 0), requests = (tonumber(qv[4]) or 0) + (tonumber(qv[5]) or 0), added = 0, alerted = {} }
    for i = 1, #thresholds do q.alerted[i] = qv[5 + i] ~= false end
    quotas[KEYS[k]] = q
  end
  local counted = tonumber(redis.call('GET', KEYS[k + 1]) or '0')
  local delta = math.max(0, actual - counted)
  redis.call('SET', KEYS[k + 1], math.max(counted, actual), 'PX', ttl)
  local crossed = {}
  if q.seeded and delta > 0 then
    q.added = q.added + delta
    q.tokens = q.tokens + delta
    if tokenLimit > 0 then
      for i, percent in ipairs(thresholds) do
        if not q.alerted[i] and q.tokens * 100 >= percent * tokenLimit then
          q.alerted[i] = true
          -- another instance may have flagged it since the read: only the first setter alerts
          if redis.call('HSETNX', KEYS[k], fields[5 + i], 1) == 1 then table.insert(crossed, percent) end
        end
      end
    end
  end
  table.insert(out, q.seeded and 1 or 0)
  table.insert(out, q.tokens)
  table.insert(out, q.requests)
  table.insert(out, #crossed)
  for _, percent in ipairs(crossed) do table.insert(out, percent) end
  k = k + 2
  for i = 1, n do
    local kind = ARGV[a + 4 + i]
    if kind == 'c' then
      redis.call('ZREM', KEYS[k], id)
      k = k + 1
    elseif kind == 't' then
      local member = id .. ':' .. reserved
      local score = redis.call('ZSCORE', KEYS[k], member)
      if score then
        redis.call('ZREM', KEYS[k], member)
        redis.call('ZADD', KEYS[k], score, id .. ':' .. actual)
        sums[KEYS[k + 1]] = (sums[KEYS[k + 1]] or 0) + actual - tonumber(reserved)
      end
      k = k + 2
    else
      k = k + 1
    end
  end
  a = a + 5 + n
end
for key, q in pairs(quotas) do
  if q.added > 0 then redis.call('HINCRBY', key, 'tokens', q.added) end
end
for key, delta in pairs(sums) do
  if delta ~= 0 then redis.call('INCRBY', key, delta) end
end
return out
`;

/**
 * KEYS: quota hash. ARGV: base tokens, base requests, expiry (ms), token limit, threshold count, thresholds...
 * Sets the period's base once; thresholds already reached are marked alerted (they were, before).
 */
export const seedScript = `
local q = KEYS[1]
if redis.call('HSETNX', q, 'seeded', 1) == 0 then return 0 end
redis.call('HSET', q, 'base_tokens', ARGV[1], 'base_requests', ARGV[2])
redis.call('PEXPIREAT', q, ARGV[3])
local tokenLimit = tonumber(ARGV[4])
local base = tonumber(ARGV[1])
if tokenLimit > 0 then
  for i = 1, tonumber(ARGV[5]) do
    local percent = tonumber(ARGV[5 + i])
    if base * 100 >= percent * tokenLimit then redis.call('HSET', q, 'alert' .. percent, 1) end
  end
end
return 1
`;

/** ARGV: now, spec count, specs... KEYS: (unused) x2, spec keys. Returns states (limit, remaining, reset) per spec. */
export const peekScript = `${clock}${trim}${readSpecs(3)}
local out = {}
for _, s in ipairs(specs) do
  local used = trim(s.kind, s.key, s.sumKey, s.win)
  local reset = 0
  if s.kind ~= 'c' then reset = newest(s.key, s.win) end
  table.insert(out, s.limit)
  table.insert(out, math.max(0, s.limit - used))
  table.insert(out, reset)
end
return out
`;
