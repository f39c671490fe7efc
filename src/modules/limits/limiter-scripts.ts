// The Redis side of limiter-store.ts: one script per batch of admissions and one per batch of
// settlements, each atomic. Keys of one tenant share the hash tag {tenant}, so a script's keys sit in one cluster slot.
// Time comes from the server's clock (TIME) so instances with skewed clocks share one window, unless
// a caller passes it (tests). Each redis.call costs a few µs of its own, more than most commands'
// work, so the scripts make as few as they can.
//
// Spec layout in ARGV: kind, limit, windowMs. Kinds: 'r' requests window, 't' tokens window, 'c'
// concurrency, 'n' a requests window counted from the entries of the same call's tokens window of the
// same length (every admission enters both, so the tokens log holds the requests log as well).
// KEYS: quota hash, request-id key, then per spec one key ('t' and 'n': the tokens log and its sum).

const clockFunction = `
local function clock()
  local given = tonumber(ARGV[1])
  if given then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;
const clock = `${clockFunction}
local now = clock()
`;

// Drops a window's expired entries (once per key per call) and returns its count and weight; a tokens
// log's weight is the member's suffix (id:weight) and its total is kept in the sum key. A window whose
// traffic paused can hold tens of thousands of expired entries: a wholly expired one is unlinked, and a
// mostly expired one has its sum rebuilt from the entries left, so a call never reads more entries than
// the fewer of the expired and the live. Expired concurrency leases are only skipped here: settlements
// remove their own and sweep the rest.
const trim = `
local trimmed = {}
local function weightOf(member)
  return tonumber(string.match(member, ':(%d+)$'))
end
local function trim(s)
  local done = trimmed[s.key]
  if done then return done end
  local cutoff = now - s.win
  local out
  if s.kind == 'c' then
    out = {redis.call('ZCOUNT', s.key, '(' .. now, '+inf'), 0}
  else
    local count = redis.call('ZCOUNT', s.key, '(' .. cutoff, '+inf')
    if count == 0 then
      redis.call('UNLINK', s.key)
      if s.sumKey then redis.call('UNLINK', s.sumKey) end
      out = {0, 0}
    elseif not s.sumKey then
      redis.call('ZREMRANGEBYSCORE', s.key, '-inf', cutoff)
      out = {count, count}
    else
      local expired = redis.call('ZCARD', s.key) - count
      local sum
      if expired == 0 then
        sum = tonumber(redis.call('GET', s.sumKey) or '0')
      elseif expired <= count then
        local freed = 0
        for _, m in ipairs(redis.call('ZRANGEBYSCORE', s.key, '-inf', cutoff)) do freed = freed + weightOf(m) end
        redis.call('ZREMRANGEBYSCORE', s.key, '-inf', cutoff)
        sum = redis.call('DECRBY', s.sumKey, freed)
      else
        redis.call('ZREMRANGEBYSCORE', s.key, '-inf', cutoff)
        sum = 0
        for _, m in ipairs(redis.call('ZRANGE', s.key, 0, -1)) do sum = sum + weightOf(m) end
        redis.call('SET', s.sumKey, sum, 'PX', s.win)
      end
      out = {count, sum}
    end
  end
  trimmed[s.key] = out
  return out
end

local function used(s)
  if s.kind == 't' then return trim(s)[2] end
  return trim(s)[1]
end

local function newest(key, win)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then return math.max(0, tonumber(last[2]) + win - now) end
  return 0
end
`;

// Reads n specs whose arguments start at ARGV[a] and keys at KEYS[k]; returns them and the positions after.
const readSpecs = `
local function readSpecs(n, a, k)
  local specs = {}
  for i = 1, n do
    local s = { kind = ARGV[a], limit = tonumber(ARGV[a + 1]), win = tonumber(ARGV[a + 2]), key = KEYS[k] }
    if s.kind == 't' or s.kind == 'n' then
      s.sumKey = KEYS[k + 1]
      k = k + 2
    else
      k = k + 1
    end
    a = a + 3
    specs[i] = s
  end
  return specs, a, k
end
`;

/**
 * Admits several requests of one tenant in one call (those of one turn of the client's event loop), in
 * order, each exactly as if alone: a window's entries are read once per call and its count is carried
 * from one admission to the next, and the expiries, token sums and monthly request counts are written
 * once at the end. ARGV: now, admission count, request-id ttl (ms), then per admission: admission id,
 * estimate, require seed (1/0), token limit, hard (1/0), request limit, period end (ms), spec count,
 * specs..., and last the limits version the caller read ('*': unchecked). KEYS per admission: quota
 * hash, request-id key, then per spec one key ('t' and 'n': the tokens log and its sum); and last the
 * tenant's limits version key.
 * Returns {-1} when the limits version moved on (nothing counted); otherwise per admission its length, then {0} unseeded; {1, seeded, tokens, requests, repeated, states...}
 * admitted (repeated: 1 when the request id was already remembered); {2, reason (1 tokens quota, 2 requests quota, 3 a limit), spec index, retry ms, seeded,
 * tokens, requests, states...} refused.
 */
export const admitScript = `${clock}${trim}${readSpecs}
local ttl = ARGV[3]
local quotas = {}
local sums = {}
local expiries = {}
local function expireLater(key, win)
  if (expiries[key] or 0) < win then expiries[key] = win end
end

local function quotaOf(key)
  local q = quotas[key]
  if q then return q end
  local qv = redis.call('HMGET', key, 'seeded', 'base_tokens', 'tokens', 'base_requests', 'requests')
  q = { key = key, seeded = qv[1] ~= false, tokens = (tonumber(qv[2]) or 0) + (tonumber(qv[3]) or 0), requests = (tonumber(qv[4]) or 0) + (tonumber(qv[5]) or 0), added = 0 }
  quotas[key] = q
  return q
end

-- One admission; its arguments start at ARGV[a] and its keys at KEYS[k].
local function admitOne(a, k, specs)
  local id = ARGV[a]
  local estimate = tonumber(ARGV[a + 1])
  local q = quotaOf(KEYS[k])
  if ARGV[a + 2] == '1' and not q.seeded then return {0} end
  local tokens = q.tokens
  local requests = q.requests
  -- remembers the request id if it is new; a refusal forgets it again
  local fresh = redis.call('SET', KEYS[k + 1], 0, 'PX', ttl, 'NX') ~= false

  -- Each limit's use before this request; states say what is left after it, or now if it is refused.
  local uses = {}
  local refusedSpec = -1
  local retry = 0
  for i, s in ipairs(specs) do
    local use = used(s)
    local weight = 1
    if s.kind == 't' then weight = estimate end
    uses[i] = {use, weight}
    if use + weight > s.limit then
      local wait = 1000
      if s.kind ~= 'c' then
        wait = s.win
        if weight <= s.limit then
          -- The oldest entries whose expiry makes room for this one. A window can hold a great many
          -- entries, so they are read only as far as needed: a requests window's entries weigh one
          -- each, so one read finds the entry; a tokens window is read a page at a time.
          local excess = use + weight - s.limit
          local at = nil
          if s.kind ~= 't' then
            local entry = redis.call('ZRANGE', s.key, excess - 1, excess - 1, 'WITHSCORES')
            at = entry[2]
          else
            local first = 0
            while not at do
              local entries = redis.call('ZRANGE', s.key, first, first + 63, 'WITHSCORES')
              if #entries == 0 then break end
              for j = 1, #entries, 2 do
                excess = excess - weightOf(entries[j])
                if excess <= 0 then
                  at = entries[j + 1]
                  break
                end
              end
              first = first + 64
            end
          end
          if at then wait = math.max(1, tonumber(at) + s.win - now) end
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
  if q.seeded then seededFlag = 1 end
  local tokenLimit = tonumber(ARGV[a + 3])
  local requestLimit = tonumber(ARGV[a + 5])
  local periodLeft = math.max(0, tonumber(ARGV[a + 6]) - now)
  local function refuse(reason, spec, wait)
    if fresh then redis.call('DEL', KEYS[k + 1]) end
    local out = {2, reason, spec, wait, seededFlag, tokens, requests}
    for _, v in ipairs(states(false)) do table.insert(out, v) end
    return out
  end
  if ARGV[a + 4] == '1' and tokenLimit > 0 and tokens >= tokenLimit then return refuse(1, -1, periodLeft) end
  if fresh and requestLimit > 0 and requests >= requestLimit then return refuse(2, -1, periodLeft) end
  if refusedSpec >= 0 then return refuse(3, refusedSpec, retry) end

  -- The window counts carried to the next admission of this call take this one in.
  for _, s in ipairs(specs) do
    if s.kind == 'c' then
      redis.call('ZADD', s.key, now + s.win, id)
      expireLater(s.key, s.win)
      trimmed[s.key][1] = trimmed[s.key][1] + 1
    elseif s.kind == 't' then
      redis.call('ZADD', s.key, now, id .. ':' .. estimate)
      sums[s.sumKey] = (sums[s.sumKey] or 0) + estimate
      expireLater(s.key, s.win)
      expireLater(s.sumKey, s.win)
      local t = trimmed[s.key]
      t[1] = t[1] + 1
      t[2] = t[2] + estimate
    elseif s.kind == 'r' then
      redis.call('ZADD', s.key, now, id)
      expireLater(s.key, s.win)
      local t = trimmed[s.key]
      t[1] = t[1] + 1
      t[2] = t[2] + 1
    end
  end
  -- the quota hash's expiry was set when it was seeded
  if fresh and q.seeded then
    q.requests = q.requests + 1
    q.added = q.added + 1
    requests = q.requests
  end
  local repeated = 1
  if fresh then repeated = 0 end
  local out = {1, seededFlag, tokens, requests, repeated}
  for _, v in ipairs(states(true)) do table.insert(out, v) end
  return out
end

-- Limits changed since the caller read them (the version key, last of KEYS, is ahead of the caller's,
-- last of ARGV; '*' skips the check): nothing is counted, and the caller reads them again.
local expected = ARGV[#ARGV]
if expected ~= '*' and (redis.call('GET', KEYS[#KEYS]) or '0') ~= expected then return {-1} end

local results = {}
local a = 4
local k = 1
for _ = 1, tonumber(ARGV[2]) do
  local specs, nextA, nextK = readSpecs(tonumber(ARGV[a + 7]), a + 8, k + 2)
  local out = admitOne(a, k, specs)
  table.insert(results, #out)
  for _, v in ipairs(out) do table.insert(results, v) end
  a = nextA
  k = nextK
end
for _, q in pairs(quotas) do
  if q.added > 0 then redis.call('HINCRBY', q.key, 'requests', q.added) end
end
for key, delta in pairs(sums) do
  if delta ~= 0 then redis.call('INCRBY', key, delta) end
end
for key, win in pairs(expiries) do
  redis.call('PEXPIRE', key, win)
end
return results
`;

/**
 * Settles several admissions in one call (those of one turn of the client's event loop), in order,
 * each exactly as if alone. ARGV: now, settlement count, request-id ttl (ms), threshold count,
 * thresholds (percent)..., then per settlement: admission id, reserved, actual, token limit,
 * unadmitted (1: count the request if its id is new), spec count, kinds... KEYS per settlement: quota hash, request-id key, spec keys (as for an admission).
 * Returns per settlement: seeded, tokens, requests, crossed count, crossed thresholds... (those it crossed
 * first in the period, and again when it is settled again: a retry whose reply was lost).
 */
export const settleScript = `${clockFunction}
local count = tonumber(ARGV[2])
local ttl = ARGV[3]
local thresholds = {}
local fields = {'seeded', 'base_tokens', 'tokens', 'base_requests', 'requests'}
for i = 1, tonumber(ARGV[4]) do
  thresholds[i] = tonumber(ARGV[4 + i])
  fields[5 + i] = 'alert' .. thresholds[i]
end
-- Each quota hash is read once and written once per call; the same for each tokens window's sum.
-- Each concurrency set drops its expired leases (those whose settlement never came) once per call.
local quotas = {}
local sums = {}
local swept = {}
local now
local out = {}
local a = 5 + #thresholds
local k = 1
for _ = 1, count do
  local id, reserved, actual, tokenLimit, unadmitted, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), ARGV[a + 4] == '1', tonumber(ARGV[a + 5])
  local q = quotas[KEYS[k]]
  if not q then
    local qv = redis.call('HMGET', KEYS[k], unpack(fields))
    q = { seeded = qv[1] ~= false, tokens = (tonumber(qv[2]) or 0) + (tonumber(qv[3]) or 0), requests = (tonumber(qv[4]) or 0) + (tonumber(qv[5]) or 0), added = 0, addedRequests = 0, alerted = {} }
    -- each flag holds the admission whose settlement crossed it ('1' when it was behind at seeding)
    for i = 1, #thresholds do q.alerted[i] = qv[5 + i] end
    quotas[KEYS[k]] = q
  end
  -- a request id keeps the largest count it was settled with
  local previous = redis.call('SET', KEYS[k + 1], actual, 'PX', ttl, 'GET')
  local counted = tonumber(previous or '0')
  if counted > actual then redis.call('SET', KEYS[k + 1], counted, 'PX', ttl) end
  -- a request whose admission failed (served while limits failed open) is counted now, once
  if unadmitted and previous == false and q.seeded then
    q.addedRequests = q.addedRequests + 1
    q.requests = q.requests + 1
  end
  local delta = math.max(0, actual - counted)
  local crossed = {}
  if q.seeded and delta > 0 then
    q.added = q.added + delta
    q.tokens = q.tokens + delta
  end
  for i, percent in ipairs(thresholds) do
    if not q.alerted[i] then
      if q.seeded and delta > 0 and tokenLimit > 0 and q.tokens * 100 >= percent * tokenLimit then
        -- another instance may have flagged it since the read: only the first setter alerts
        if redis.call('HSETNX', KEYS[k], fields[5 + i], id) == 1 then
          q.alerted[i] = id
          table.insert(crossed, percent)
        else
          q.alerted[i] = '?'
        end
      end
    elseif q.alerted[i] == id then
      -- settled again (a retry whose first reply was lost): the crossing is reported again
      table.insert(crossed, percent)
    end
  end
  table.insert(out, q.seeded and 1 or 0)
  table.insert(out, q.tokens)
  table.insert(out, q.requests)
  table.insert(out, #crossed)
  for _, percent in ipairs(crossed) do table.insert(out, percent) end
  k = k + 2
  for i = 1, n do
    local kind = ARGV[a + 5 + i]
    if kind == 'c' then
      redis.call('ZREM', KEYS[k], id)
      if not swept[KEYS[k]] then
        swept[KEYS[k]] = true
        now = now or clock()
        redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', now)
      end
      k = k + 1
    elseif kind == 'n' then
      k = k + 2
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
  a = a + 6 + n
end
for key, q in pairs(quotas) do
  if q.added > 0 then redis.call('HINCRBY', key, 'tokens', q.added) end
  if q.addedRequests > 0 then redis.call('HINCRBY', key, 'requests', q.addedRequests) end
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

/** ARGV: now, spec count, specs... KEYS: (unused, in the tenant's slot) x2, spec keys. Returns states (limit, remaining, reset) per spec. */
export const peekScript = `${clock}${trim}${readSpecs}
local specs = readSpecs(tonumber(ARGV[2]), 3, 3)
local out = {}
for _, s in ipairs(specs) do
  local reset = 0
  if s.kind ~= 'c' then reset = newest(s.key, s.win) end
  table.insert(out, s.limit)
  table.insert(out, math.max(0, s.limit - used(s)))
  table.insert(out, reset)
end
return out
`;
