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

// Pub/sub topics.
inline std::string ChannelTopic(std::string_view cid) { return "sb:ch:" + std::string(cid); }
inline std::string UserTopic(std::string_view user_id) { return "sb:u:" + std::string(user_id); }
inline std::string GatewayTopic(int node_id) { return "sb:gw:" + std::to_string(node_id); }

}  // namespace streambed::keys
