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

// Pub/sub topics.
inline std::string ChannelTopic(std::string_view cid) { return "sb:ch:" + std::string(cid); }
inline std::string UserTopic(std::string_view user_id) { return "sb:u:" + std::string(user_id); }
inline std::string GatewayTopic(int node_id) { return "sb:gw:" + std::to_string(node_id); }

}  // namespace streambed::keys
