#pragma once
// The Lua scripts behind POST /api/editing-audit-state/ (docs/ot.md "The server side"). Key names
// come from keys.h; a document is three keys: its hash (text, version, rev), its op log and its
// participants.
//
// Workers never lock. A call reads a snapshot (kLoadScript), transforms and applies in C++
// (common/editing.h), then commits with kCommitScript, which succeeds only if the document's `rev`
// is still the one the snapshot read: compare-and-set. Every accepted call (an op, or only a state
// or cursor change, since those rewrite participants too) and every idle drop-out bumps `rev`, so
// whatever the number of workers and hosts, each commit was computed from the state it replaces:
// one linear history. A worker whose commit lost the race reads again and retries (bounded).
//
// Like registry.h's, these scripts touch keys derived from their arguments, which a Redis Cluster
// would refuse; streambed uses one Redis primary (docs/ha.md).

#include <string_view>

namespace streambed::editing {

// KEYS: doc, log, participants. ARGV: base version (-1 when no ops are wanted).
// Returns {rev, version, text (nil: no document yet), kept ops, {ops after the base version}
// (empty when the base is current, newer, or older than the kept history), {user, participant,
// ...}}.
constexpr std::string_view kLoadScript = R"(
local doc = redis.call('HMGET', KEYS[1], 'text', 'version', 'rev')
local version = tonumber(doc[2] or '0')
local kept = redis.call('LLEN', KEYS[2])
local base = tonumber(ARGV[1])
local ops = {}
if base >= 0 and base < version and version - base <= kept then
  ops = redis.call('LRANGE', KEYS[2], base - version, -1)
end
return {tonumber(doc[3] or '0'), version, doc[1], kept, ops, redis.call('HGETALL', KEYS[3])})";

// KEYS: doc, log, participants, idle set. ARGV: expected rev, text, op as applied ("" for none),
// history length, ttl seconds, the caller's idle member, the caller's silence deadline (unix ms),
// then user, participant JSON pairs (the caller's, and every other one whose cursor moved).
// Returns the document's version, or -1 when `rev` moved since the snapshot (nothing written).
constexpr std::string_view kCommitScript = R"(
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return -1 end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[3] ~= '' then
  version = version + 1
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
end
redis.call('HSET', KEYS[1], 'text', ARGV[2], 'version', version, 'rev', rev + 1)
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
for i = 1, 3 do
  redis.call('EXPIRE', KEYS[i], ARGV[5])
end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[6])
return version)";

// The idle sweep, run by every gateway every second. KEYS: idle set. ARGV: now (unix ms), batch
// size, doc key prefix, participants key prefix. Removes participants whose deadline passed
// (the ZREM is the claim: with several gateways, exactly one sees each), bumps their document's
// rev so that a commit computed before the removal cannot write them back, and returns
// {idle member, participant JSON, ...} for those that were still listed.
constexpr std::string_view kSweepScript = R"(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local ok, m = pcall(cjson.decode, member)
  if ok and type(m) == 'table' and #m == 3 then
    local suffix = m[1] .. ':' .. m[2]
    local who = ARGV[4] .. suffix
    local p = redis.call('HGET', who, m[3])
    if p then
      redis.call('HDEL', who, m[3])
      local doc = ARGV[3] .. suffix
      if redis.call('EXISTS', doc) == 1 then redis.call('HINCRBY', doc, 'rev', 1) end
      out[#out + 1] = member
      out[#out + 1] = p
    end
  end
end
return out)";

}  // namespace streambed::editing
