#pragma once
// The gateway's state, all owned by the event loop thread: its connections, the users they belong
// to, and the Redis topics they need. Workers publish events to Redis topics; the gateway
// subscribes to a topic while at least one local socket needs it, encodes each event into a frame
// once, and writes that frame to every local socket subscribed to the topic.

#include <Poco/Net/StreamSocket.h>
#include <rapidjson/document.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/metrics_catalog.h"
#include "common/snowflake.h"
#include "ws-gateway/async_redis.h"
#include "ws-gateway/backend.h"
#include "ws-gateway/connection.h"
#include "ws-gateway/event_loop.h"

namespace streambed {

// A socket that passed the handshake, handed from a handshake thread to the loop.
struct Handoff {
    Poco::Net::StreamSocket socket;
    ConnectionKind kind = ConnectionKind::kStream;
    std::string user_id;
    std::string user_json;  // UserResponse
    std::string me_json;    // OwnUserResponse (stream) / UserResponse (room)
    bool anonymous = false;
    std::string cid;  // the room, for kRoom
    std::optional<int64_t> since_seq;  // kRoom: replay the room's events after this seq first
    // A room socket opened with ?connection_id= (GET /api/connection-id/): the Redis keys of that
    // session, whose TTL the socket's heartbeats refresh (API.md §2).
    std::vector<std::string> session_keys;
};

// Lets maps keyed by std::string be searched with a string_view (no copy per Redis message).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Gateway {
public:
    Gateway(const Config& config, EventLoop& loop, Backend& backend, const GatewayMetrics& metrics, uint16_t node_id,
            NodeLease lease);
    ~Gateway();

    // Connects to Redis and starts the timers (loop thread).
    void Start();
    // Closes every socket with 1001 so clients move to another gateway, and cleans up Redis.
    void Shutdown();

    void Adopt(Handoff handoff);
    // After the loop stopped: gives the node id back (blocking is fine then).
    void ReleaseLease(RedisClient& redis);

    // From connections.
    void OnText(Connection& connection, std::string_view text);
    void OnBinary(Connection& connection);
    void OnConnectionClosing(Connection& connection);
    void OnConnectionClosed(Connection& connection);
    // A connection with frames queued: flushed once the loop's current batch of events is done.
    void MarkDirty(Connection& connection);
    void CountSlowConsumer() { metrics_.slow_consumers_cut.With().Inc(); }
    void CountProtocolError() { metrics_.protocol_errors.With().Inc(); }

    const Config& config() const { return config_; }
    // Whether the event bus (the Redis subscription) is up. Read by handshake threads: a socket
    // accepted while it is down would get no events, and the SDK's state recovery would fail.
    bool bus_up() const { return bus_up_.load(std::memory_order_relaxed); }
    EventLoop& loop() { return loop_; }
    uint16_t node_id() const { return node_id_; }

private:
    struct Topic {
        std::vector<Connection*> subscribers;
        bool confirmed = false;
    };

    void OnBusMessage(std::string_view topic, std::string_view payload);
    void FlushDirty();
    void OnBusReady();
    void OnBusLost();

    // Adds `connection` to `topics`, subscribing in Redis where needed; `ready` runs once every
    // topic is confirmed, so no event published after it can be missed.
    void Join(Connection& connection, const std::vector<std::string>& topics, std::function<void()> ready);
    void Leave(Connection& connection, const std::string& topic);

    // The socket is registered (presence, registry) before its first frame goes out, so a query
    // the client sends after that frame always finds it.
    void Register(const std::string& connection_id, std::string me_json);
    void SendFirstFrame(Connection& connection, const std::string& me_json);
    void Unregister(Connection& connection);
    // Presence and watcher events the gateway itself emits.
    void PublishPresence(const std::string& user_id, const std::string& user_json, bool online);
    void PublishWatching(const std::string& type, const std::string& cid, const std::string& user_json, int64_t count);
    void PublishStopped(const redisReply* close_reply, const std::string& user_id, const std::string& user_json);

    // Control messages from workers (realtime.cpp): join/leave topics for one socket.
    void OnControl(std::string_view payload);
    // Frames of the room socket (API.md §9).
    void OnRoomFrame(Connection& connection, const rapidjson::Value& frame, std::string_view type);
    void SendError(Connection& connection, int code, std::string_view message, const std::string& id = {});
    // The room socket's resume: one page of the room's log after `after_seq`, fetched through the
    // workers (the gateway never reads PostgreSQL), then the next page or the held live events.
    void ReplayFrom(const std::string& connection_id, int64_t after_seq);
    void OnReplayPage(const std::string& connection_id, const BackendReply& reply);
    void FinishReplay(Connection& connection);
    // Delivery to a socket that is resuming: held during the replay, filtered by seq after it.
    bool DeliverResuming(Connection& connection, std::string_view topic, std::string_view payload,
                         const SharedFrame& frame);

    void Heartbeat();
    void SweepIdle();
    // Cleans up after gateways that stopped heartbeating (their sockets are gone).
    void SweepDeadGateways();
    // Editing participants silent past their deadline: drop them, announce typing.stop.
    void SweepEditingIdle();
    // Unregisters socket `id` of gateway `node` from what Redis holds of it (janitor, reconcile).
    void CloseStale(int node, const std::string& id);
    // After every (re)connect to Redis: drops our registry entries that have no live socket.
    // `attempt` counts the tries while Redis is still loading its data.
    void ReconcileRegistry(int attempt = 0);
    std::string HealthCheckFrame(const Connection& connection, const std::string* me_json) const;

    const Config& config_;
    EventLoop& loop_;
    Backend& backend_;
    uint16_t node_id_;
    std::string control_topic_;
    NodeLease lease_;
    Snowflake ids_;
    AsyncRedis bus_;  // subscriber connection
    AsyncRedis cmd_;  // command connection
    std::unordered_map<std::string, std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::string, std::shared_ptr<UserSession>> users_;
    std::unordered_map<std::string, Topic, StringHash, std::equal_to<>> topics_;
    const GatewayMetrics& metrics_;
    bool shutting_down_ = false;
    std::vector<Connection*> dirty_;
    bool flush_scheduled_ = false;
    std::atomic<bool> bus_up_{false};
};

}  // namespace streambed
