#pragma once
// The Redis layout that links workers and gateways: every key and pub/sub topic name in one
// place, so a reader finds who writes and who reads each from here.

#include <string>
#include <string_view>

namespace streambed::keys {

// ZSET of live gateways: member = gateway node id, score = last heartbeat (unix seconds).
// A gateway whose heartbeat is older than kGatewayTtl counts as down.
constexpr const char* kGateways = "sb:gateways";
constexpr int kGatewayTtl = 15;

// SET of user ids with at least one live socket on any gateway (presence). Maintained by the
// gateways' connection scripts (ws-gateway/registry.cpp); read by workers for `online`.
constexpr const char* kOnlineUsers = "sb:online";

// --- Connections and watchers (registry.h holds the scripts that change them atomically) ---
// HASH per live socket: user, gw (gateway node id), kind (stream|room), user_json.
inline std::string Connection(std::string_view connection_id) { return "sb:conn:" + std::string(connection_id); }
// SET of the connection ids on one gateway (cleaned up by another gateway when it dies).
inline std::string GatewayConnections(int node_id) { return "sb:gwconns:" + std::to_string(node_id); }
// SET of one user's connection ids, on every gateway.
inline std::string UserConnections(std::string_view user_id) { return "sb:uconns:" + std::string(user_id); }
// HASH user id -> number of that user's connections watching the channel. HLEN = watcher_count.
constexpr std::string_view kWatchersPrefix = "sb:watchers:";
inline std::string Watchers(std::string_view cid) { return std::string(kWatchersPrefix) + std::string(cid); }
// SET of the same users as that HASH's fields, kept by the same scripts (registry.h): a send finds
// the members who do not watch with one SDIFF against it. (During a rolling upgrade, watchers
// registered by an older gateway are missing here until they reconnect; they then also get a
// notification.message_new, which the SDK merges into the channel it already has.)
constexpr std::string_view kWatcherSetPrefix = "sb:watcher-set:";
inline std::string WatcherSet(std::string_view cid) { return std::string(kWatcherSetPrefix) + std::string(cid); }
// STRING set for a second after a crowded channel announced a watcher coming or going
// (registry.h: the throttle of user.watching.start/stop).
constexpr std::string_view kWatchEventsPrefix = "sb:watch-events:";
// SET of the cids one connection watches (to undo them when it closes).
inline std::string ConnectionWatches(std::string_view connection_id) { return "sb:cwatch:" + std::string(connection_id); }
// SET of a channel's member ids: a cache of PostgreSQL's members, dropped on every membership
// change and rebuilt on demand. It lets a send compute "members not watching" inside Redis.
inline std::string ChannelMembers(std::string_view cid) { return "sb:members:" + std::string(cid); }
constexpr int kChannelMembersTtl = 3600;  // seconds, from when it was filled
// LIST a worker waits on until a gateway has subscribed a socket (see realtime.cpp).
inline std::string Ack(std::string_view token) { return "sb:ack:" + std::string(token); }
// One gateway at a time cleans up after a dead one.
inline std::string JanitorClaim(int node_id) { return "sb:janitor:" + std::to_string(node_id); }

// --- Drafts (fcgi-app/drafts.cpp) ---
// One draft per (user, channel, parent message id or ""), expiring after 30 days untouched.
inline std::string Draft(std::string_view user_id, std::string_view cid, std::string_view parent_id) {
    return "sb:draft:" + std::string(user_id) + ":" + std::string(cid) + ":" + std::string(parent_id);
}
// ZSET of a user's draft keys by update time, for POST /api/drafts/query/.
inline std::string UserDrafts(std::string_view user_id) { return "sb:drafts:" + std::string(user_id); }

// --- Collaborative editing state (POST /api/editing-audit-state/, docs/ot.md "The server side") ---
// One document per (cid, message id or "" for the room's shared composer). The scripts that read
// and change these keys are in common/editing_scripts.h; all three keys of a document expire
// together kEditingTtl seconds after its last accepted call.
// HASH: text (UTF-8), version (accepted ops), rev (every accepted call, the compare-and-set token).
constexpr std::string_view kEditingDocPrefix = "sb:edit:";
inline std::string EditingDoc(std::string_view cid, std::string_view message_id) {
    return std::string(kEditingDocPrefix) + std::string(cid) + ":" + std::string(message_id);
}
// LIST of the last kEditingHistory ops as applied (JSON), oldest first; the last one made `version`.
inline std::string EditingLog(std::string_view cid, std::string_view message_id) {
    return "sb:edit-log:" + std::string(cid) + ":" + std::string(message_id);
}
// HASH user id -> participant JSON {"user": UserResponse, "state", "cursor", "updated_at" (micros)}.
constexpr std::string_view kEditingParticipantsPrefix = "sb:edit-who:";
inline std::string EditingParticipants(std::string_view cid, std::string_view message_id) {
    return std::string(kEditingParticipantsPrefix) + std::string(cid) + ":" + std::string(message_id);
}
// ZSET of participants by the time they fall silent: member = JSON [cid, message id, user id],
// score = unix milliseconds. The gateways' sweep drops them and announces typing.stop.
constexpr const char* kEditingIdle = "sb:edit-idle";
constexpr int kEditingTtl = 24 * 3600;
constexpr int kEditingHistory = 200;

// --- Connection ids of the room surface (GET /api/connection-id/, API.md §2) ---
// (user, session) -> connection id, refreshed by each call and by the socket's heartbeats.
inline std::string Session(std::string_view user_id, std::string_view session) {
    return "sb:session:" + std::string(user_id) + ":" + std::string(session);
}
// connection id -> its session key, so a gateway can refresh the mapping on a heartbeat.
constexpr std::string_view kSessionOfPrefix = "sb:session-of:";
constexpr int kSessionTtl = 90;
constexpr int kSessionHeartbeat = 30;

// --- Rate limits (fcgi-app/rate_limit.cpp): one counter per one-minute window ---
inline std::string RateLimitApp(std::string_view klass, int64_t window) {
    return "sb:rl:" + std::string(klass) + ":" + std::to_string(window);
}
inline std::string RateLimitUser(std::string_view user_id, std::string_view method, std::string_view route,
                                 int64_t window) {
    return "sb:rl:u:" + std::string(user_id) + ":" + std::string(method) + ":" + std::string(route) + ":" +
           std::to_string(window);
}

// Web Push (common/push_queue.h, push/). Producers LPUSH one job per recipient on kPushQueue
// (trimmed to kMaxQueuedPushJobs). streambed-push BLMOVEs each job to kPushInflight while it works
// on it and LREMs it when done; at start it puts whatever is left in kPushInflight back on the
// queue. A delivery to retry waits in kPushRetry (ZSET, score = due time in unix milliseconds)
// until it is due, then goes back on the queue. kPushAlive holds the running process's pid
// (refreshed well within kPushAliveTtl seconds): scripts wait for it.
constexpr const char* kPushQueue = "sb:push:queue";
constexpr const char* kPushInflight = "sb:push:inflight";
constexpr const char* kPushRetry = "sb:push:retry";
constexpr const char* kPushAlive = "sb:push:alive";
constexpr int kPushAliveTtl = 15;
// The users with at least one Web Push subscription, so that a message queues jobs only for them
// (the audience script, registry.h): most members of a busy app never turn notifications on, and
// each job for one of them cost streambed-push a Redis round trip and PostgreSQL a query that
// found nothing. The member "" (no user id is empty) says the set was filled from PostgreSQL; a
// worker that finds it missing fills it (the set expires kPushSubscribersTtl seconds after, which
// bounds how long a Redis that lost an addition can keep a subscriber out). Registering a
// subscription adds its user before the subscription commits, so no filling can miss it; users
// whose subscriptions are gone stay until then and cost a job that finds nothing, as before.
constexpr const char* kPushSubscribers = "sb:push:subscribers";
constexpr int kPushSubscribersTtl = 3600;

// STRING per link (named by the SHA-256 of the URL as written in a message, base64url: a link may
// be 2 KB): its preview attachment's JSON, or "!" and why it has none (fcgi-app/link_preview.h).
// Expires: an hour, a failure five minutes.
inline std::string LinkPreview(std::string_view link_digest) { return "sb:link-preview:" + std::string(link_digest); }

// Pub/sub topics.
// Channel events for the sockets watching the channel.
inline std::string ChannelTopic(std::string_view cid) { return "sb:ch:" + std::string(cid); }
// Events for all of one user's sockets.
inline std::string UserTopic(std::string_view user_id) { return "sb:u:" + std::string(user_id); }
// A user's presence changes, for the sockets that asked for it (presence: true).
inline std::string PresenceTopic(std::string_view user_id) { return "sb:p:" + std::string(user_id); }
// Control messages for one gateway (join/leave topics for a socket).
inline std::string GatewayTopic(int node_id) { return "sb:gw:" + std::to_string(node_id); }

}  // namespace streambed::keys
