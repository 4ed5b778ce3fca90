#pragma once
// The Lua scripts that keep the connection registry, presence and watcher sets consistent. Each
// runs atomically in Redis, so a socket that closes while a worker subscribes it can never leave
// a watcher behind: whichever script runs second sees the other's result. Workers and gateways
// run the same scripts; key names come from keys.h.
//
// The scripts touch keys derived from their arguments (sb:watchers:<cid>), which a Redis Cluster
// would refuse; streambed uses one Redis primary (with Sentinel for failover), see docs/ha.md.

#include <string_view>

namespace streambed::registry {

// user.watching.start/stop in a crowded channel: every watcher hears every other one come and go,
// so a channel's joins would cost watchers² frames (5 channels of 2,000 watchers: 10 million frames
// while they connect). getstream.io throttles such events from 100 watchers on; here, above 100
// watchers a channel announces at most one start or stop per second (the one that takes the
// channel's marker key); the others are not published. watcher_count stays right: every event,
// message.new included, carries the current count. Shared by the scripts below; `prefix` is
// keys::kWatchEventsPrefix.
#define STREAMBED_LUA_ANNOUNCE                                                   \
    "local function announce(prefix, cid, count)\n"                             \
    "  if count <= 100 then return 1 end\n"                                     \
    "  if redis.call('SET', prefix .. cid, 1, 'NX', 'PX', 1000) then return 1 end\n" \
    "  return 0\n"                                                              \
    "end\n"

// Registers a socket. KEYS: conn hash, user's connections, online set, gateway's connections.
// ARGV: user id, connection id, gateway node, kind, user_json.
// Returns 1 when this is the user's first socket (the user just came online), else 0.
constexpr std::string_view kOpenScript = R"(
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'gw', ARGV[3], 'kind', ARGV[4], 'user_json', ARGV[5])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('SADD', KEYS[3], ARGV[1]))";

// Unregisters a socket and undoes its watches. KEYS: conn hash, its watches, user's connections,
// online set, gateway's connections. ARGV: user id, connection id, watchers key prefix, watch
// events key prefix, watcher set key prefix. Returns {went_offline (0|1), {cid, watcher_count, ...} for channels whose
// user.watching.stop is to be announced}.
constexpr std::string_view kCloseScript = STREAMBED_LUA_ANNOUNCE R"(
local user = ARGV[1]
local stopped = {}
for _, cid in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[3] .. cid
  if redis.call('HINCRBY', key, user, -1) <= 0 then
    redis.call('HDEL', key, user)
    redis.call('SREM', ARGV[5] .. cid, user)
    local count = redis.call('HLEN', key)
    if announce(ARGV[4], cid, count) == 1 then
      stopped[#stopped + 1] = cid
      stopped[#stopped + 1] = count
    end
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[5], ARGV[2])
local offline = 0
if redis.call('SCARD', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[4], user)
  offline = 1
end
return {offline, stopped})";

// Makes a socket watch channels. KEYS: conn hash, its watches. ARGV: user id, watchers key
// prefix, watch events key prefix, watcher set key prefix, cid... Returns {gateway node, {cid, announce (0|1),
// watcher_count, ...}}, or {-1} when the socket is not this user's (or no longer exists).
// announce is 1 when the user became a watcher and its user.watching.start is to be published.
constexpr std::string_view kWatchScript = STREAMBED_LUA_ANNOUNCE R"(
local user = ARGV[1]
if redis.call('HGET', KEYS[1], 'user') ~= user then return {-1} end
local out = {}
for i = 5, #ARGV do
  local cid = ARGV[i]
  local key = ARGV[2] .. cid
  local started = 0
  if redis.call('SADD', KEYS[2], cid) == 1 then
    if redis.call('HINCRBY', key, user, 1) == 1 then
      started = 1
      redis.call('SADD', ARGV[4] .. cid, user)
    end
  end
  local count = redis.call('HLEN', key)
  if started == 1 then started = announce(ARGV[3], cid, count) end
  out[#out + 1] = cid
  out[#out + 1] = started
  out[#out + 1] = count
end
return {tonumber(redis.call('HGET', KEYS[1], 'gw')), out})";

// Stops a socket watching channels. KEYS: conn hash, its watches. ARGV: user id, watchers key
// prefix, watch events key prefix, watcher set key prefix, cid... Returns {gateway node, {cid, watcher_count, ...} for
// channels the user stopped watching altogether and whose user.watching.stop is to be announced},
// or {-1}.
constexpr std::string_view kUnwatchScript = STREAMBED_LUA_ANNOUNCE R"(
local user = ARGV[1]
if redis.call('HGET', KEYS[1], 'user') ~= user then return {-1} end
local stopped = {}
for i = 5, #ARGV do
  local cid = ARGV[i]
  local key = ARGV[2] .. cid
  if redis.call('SREM', KEYS[2], cid) == 1 then
    if redis.call('HINCRBY', key, user, -1) <= 0 then
      redis.call('HDEL', key, user)
      redis.call('SREM', ARGV[4] .. cid, user)
      local count = redis.call('HLEN', key)
      if announce(ARGV[3], cid, count) == 1 then
        stopped[#stopped + 1] = cid
        stopped[#stopped + 1] = count
      end
    end
  end
end
return {tonumber(redis.call('HGET', KEYS[1], 'gw')), stopped})";

// Members of a channel to notify about a new message, split by presence, and the Web Push jobs of
// those offline who have a subscription. KEYS: the channel's member cache, its watcher set, the
// online set, the push queue, the push subscribers (keys::kPushSubscribers). ARGV: sender id; the
// push job's frame around the recipient id (common/push_queue.h), both empty for no push; the
// queue's length limit. Returns {online members who do not watch, jobs queued}, or false when the
// member cache is missing (the caller fills it and asks again), or {online members..., -1} when
// jobs are to be queued but the subscriber set was not filled (the caller fills it and asks again:
// nothing was written); the sender and watchers are never included.
// One SDIFF leaves the members who do not watch, often none (everyone in the channel has it
// open); only those are looked up in the online set, in one SMISMEMBER per 500, and the offline
// ones in the subscriber set the same way. The first version called HEXISTS and SISMEMBER from Lua
// for every member: about 1.1 ms of Redis CPU per message in a channel of 1,000 members, against
// 0.18 ms now (docs/performance.md). The jobs are written here rather than by the sender after a
// reply, which saved it a round trip per message.
constexpr std::string_view kAudienceScript = R"(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local rest = redis.call('SDIFF', KEYS[1], KEYS[2])
local online, offline = {}, {}
for first = 1, #rest, 500 do
  local last = math.min(first + 499, #rest)
  local here = redis.call('SMISMEMBER', KEYS[3], unpack(rest, first, last))
  for i = first, last do
    local u = rest[i]
    if u ~= ARGV[1] then
      if here[i - first + 1] == 1 then online[#online + 1] = u else offline[#offline + 1] = u end
    end
  end
end
if ARGV[2] == '' or #offline == 0 then return {online, 0} end
if redis.call('SISMEMBER', KEYS[5], '') == 0 then return {online, -1} end
local queued = 0
for first = 1, #offline, 500 do
  local last = math.min(first + 499, #offline)
  local subscribed = redis.call('SMISMEMBER', KEYS[5], unpack(offline, first, last))
  local jobs = {}
  for i = first, last do
    if subscribed[i - first + 1] == 1 then jobs[#jobs + 1] = ARGV[2] .. cjson.encode(offline[i]) .. ARGV[3] end
  end
  if #jobs > 0 then
    redis.call('LPUSH', KEYS[4], unpack(jobs))
    queued = queued + #jobs
  end
end
if queued > 0 then redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[4]) - 1) end
return {online, queued})";

#undef STREAMBED_LUA_ANNOUNCE

}  // namespace streambed::registry
