#include "ws-gateway/gateway.h"

#include <rapidjson/document.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/log.h"

namespace streambed {

namespace {
constexpr int64_t kHeartbeatMs = 5000;
constexpr int64_t kLeaseRefreshMs = 20000;
constexpr int64_t kSweepMs = 10000;
// A socket silent this long gets a WebSocket ping (browsers and the ws package answer it)...
constexpr int64_t kIdlePingMs = 35000;
// ...and one silent this long is gone: half-open sockets are cleaned up within this window.
constexpr int64_t kIdleDeadMs = 75000;
constexpr int64_t kCloseGraceMs = 5000;
// The SDK pings every ~25 s; answering more than one ping a second only feeds a flood.
constexpr int64_t kMinPingReplyGapMs = 1000;
}  // namespace

Gateway::Gateway(const Config& config, EventLoop& loop, uint16_t node_id, NodeLease lease)
    : config_(config),
      loop_(loop),
      node_id_(node_id),
      lease_(std::move(lease)),
      ids_(node_id),
      bus_(loop, config.redis, "bus"),
      cmd_(loop, config.redis, "commands") {}

Gateway::~Gateway() = default;

void Gateway::Start() {
    bus_.SetMessageHandler([this](std::string_view topic, std::string_view payload) { OnBusMessage(topic, payload); });
    bus_.Start([this] { OnBusReady(); }, [this] { OnBusLost(); });
    cmd_.Start([this] { Heartbeat(); }, nullptr);
    loop_.Every(kHeartbeatMs, [this] { Heartbeat(); });
    loop_.Every(kSweepMs, [this] { SweepIdle(); });
    loop_.Every(kLeaseRefreshMs, [this] {
        cmd_.Command(lease_.RefreshCommand(), [this](redisReply* reply) {
            if (reply == nullptr) return;  // Redis is down; retried on the next tick
            if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
                lease_.MarkRefreshed(NowSeconds());
            } else {
                // Our node id expired and was taken: ids we mint could collide. Stop, and let
                // the supervisor (systemd, scripts/run) start us again with a fresh lease.
                Log(LogLevel::kError, "gateway.lease_lost").Int("node", node_id_);
                Shutdown();
                loop_.Stop();
            }
        });
    });
}

void Gateway::ReleaseLease(RedisClient& redis) {
    try {
        redis.Command({"ZREM", keys::kGateways, std::to_string(node_id_)});
        lease_.Release(redis);
    } catch (const RedisError&) {
        // Both expire on their own.
    }
}

void Gateway::Heartbeat() {
    cmd_.Command({"ZADD", keys::kGateways, std::to_string(NowSeconds()), std::to_string(node_id_)}, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Connections: adoption, registry, close
// ---------------------------------------------------------------------------------------------

void Gateway::Adopt(Handoff handoff) {
    if (shutting_down_) {
        handoff.socket.close();
        return;
    }
    auto& session = users_[handoff.user_id];
    if (!session) {
        session = std::make_shared<UserSession>();
        session->user_id = handoff.user_id;
        session->anonymous = handoff.anonymous;
    }
    session->user_json = handoff.user_json;  // the newest copy wins

    std::string id = std::to_string(ids_.Next());
    auto owned = std::make_unique<Connection>(*this, std::move(handoff.socket), handoff.kind, id, session, handoff.cid);
    Connection& connection = *owned;
    connections_.emplace(id, std::move(owned));
    session->connections.push_back(&connection);
    stats_.connections_opened++;
    stats_.open_connections = static_cast<int64_t>(connections_.size());

    std::vector<std::string> topics{keys::UserTopic(handoff.user_id)};
    if (handoff.kind == ConnectionKind::kRoom) topics.push_back(keys::ChannelTopic(handoff.cid));
    std::string me_json = std::move(handoff.me_json);
    Join(connection, topics, [this, id, me_json = std::move(me_json)] {
        auto it = connections_.find(id);
        if (it == connections_.end() || !it->second->open()) return;
        Connection& c = *it->second;
        RegisterConnection(c);
        if (c.kind() == ConnectionKind::kStream) {
            // The first frame resolves connectUser; connection_id and a complete `me` are required.
            c.SendText(HealthCheckFrame(c, &me_json));
        } else {
            JsonBuffer buf;
            JsonWriter w(buf);
            w.StartObject();
            PutString(w, "type", "connection.ok");
            PutString(w, "connection_id", c.id());
            PutString(w, "cid", c.room_cid());
            PutRaw(w, "me", me_json);
            PutKey(w, "watchers");
            w.StartArray();
            w.EndArray();
            PutInt(w, "watcher_count", 0);
            PutTime(w, "created_at", NowMicros());
            w.EndObject();
            c.SendText(std::string_view(buf.GetString(), buf.GetSize()));
        }
    });
}

std::string Gateway::HealthCheckFrame(const Connection& connection, const std::string* me_json) const {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "type", "health.check");
    PutString(w, "connection_id", connection.id());
    PutString(w, "cid", connection.kind() == ConnectionKind::kRoom ? connection.room_cid() : "*");
    PutTime(w, "created_at", NowMicros());
    if (me_json != nullptr) PutRaw(w, "me", *me_json);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

void Gateway::RegisterConnection(Connection& c) {
    const std::string& user = c.user()->user_id;
    std::string key = "sb:conn:" + c.id();
    cmd_.Command({"HSET", key, "user", user, "gw", std::to_string(node_id_), "kind",
                  c.kind() == ConnectionKind::kStream ? "stream" : "room"},
                 nullptr);
    cmd_.Command({"SADD", "sb:gwconns:" + std::to_string(node_id_), c.id()}, nullptr);
    cmd_.Command({"SADD", "sb:uconns:" + user, c.id()}, nullptr);
}

void Gateway::UnregisterConnection(Connection& c) {
    const std::string& user = c.user()->user_id;
    cmd_.Command({"DEL", "sb:conn:" + c.id()}, nullptr);
    cmd_.Command({"SREM", "sb:gwconns:" + std::to_string(node_id_), c.id()}, nullptr);
    cmd_.Command({"SREM", "sb:uconns:" + user, c.id()}, nullptr);
}

void Gateway::OnConnectionClosing(Connection& c) {
    // No more events for it: leave every topic now, even if the close frame is still queued.
    auto topics = c.topics();
    for (const auto& topic : topics) Leave(c, topic);
    c.topics().clear();
    UnregisterConnection(c);
    std::string id = c.id();
    loop_.After(kCloseGraceMs, [this, id] {
        auto it = connections_.find(id);
        if (it != connections_.end()) it->second->Abort("close handshake timed out");
    });
}

void Gateway::OnConnectionClosed(Connection& c) {
    auto it = connections_.find(c.id());
    if (it == connections_.end()) return;
    auto session = c.user();
    auto& list = session->connections;
    list.erase(std::remove(list.begin(), list.end(), &c), list.end());
    if (list.empty()) users_.erase(session->user_id);
    Connection* raw = it->second.release();
    connections_.erase(it);
    // Deleted after the current batch of events, when no handler can still reach it.
    loop_.Defer([raw] { delete raw; });
    stats_.connections_closed++;
    stats_.open_connections = static_cast<int64_t>(connections_.size());
}

void Gateway::SweepIdle() {
    int64_t now = loop_.now_ms();
    std::vector<Connection*> dead;
    for (auto& [id, c] : connections_) {
        int64_t idle = now - c->last_received_ms();
        if (idle > kIdleDeadMs) {
            dead.push_back(c.get());
        } else if (idle > kIdlePingMs && c->open()) {
            c->Send(std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kPing, "")));
        }
    }
    for (Connection* c : dead) c->Abort("idle");
}

void Gateway::Shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    std::vector<Connection*> all;
    for (auto& [id, c] : connections_) all.push_back(c.get());
    // 1001 "going away": the SDK reconnects, through nginx, to another gateway.
    for (Connection* c : all) c->Close(ws::close_code::kGoingAway, "gateway shutting down");
    cmd_.Command({"ZREM", keys::kGateways, std::to_string(node_id_)}, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Frames from clients
// ---------------------------------------------------------------------------------------------

void Gateway::OnText(Connection& c, std::string_view text) {
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    const rapidjson::Value* frame = nullptr;
    if (!doc.HasParseError()) {
        // The SDK's ping is an array holding one object; room clients send a bare object.
        if (doc.IsArray() && doc.Size() > 0 && doc[0].IsObject()) frame = &doc[0];
        if (doc.IsObject()) frame = &doc;
    }
    std::string_view type;
    if (frame != nullptr) {
        auto it = frame->FindMember("type");
        if (it != frame->MemberEnd() && it->value.IsString()) type = std::string_view(it->value.GetString(), it->value.GetStringLength());
    }
    if (type == "health.check") {
        if (c.TakePingReply(loop_.now_ms(), kMinPingReplyGapMs)) c.SendText(HealthCheckFrame(c, nullptr));
        return;
    }
    if (c.kind() == ConnectionKind::kStream) return;  // the SDK sends nothing else; ignore noise
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "type", "error");
    PutInt(w, "code", 4);
    PutString(w, "message", frame == nullptr ? "frame must be a JSON object" : "unknown frame type");
    w.EndObject();
    c.SendText(std::string_view(buf.GetString(), buf.GetSize()));
}

void Gateway::OnBinary(Connection& c) {
    if (c.kind() == ConnectionKind::kStream) return;
    c.SendText(R"({"type":"error","code":4,"message":"binary frames are not supported; send JSON text"})");
}

// ---------------------------------------------------------------------------------------------
// Topics and fan-out
// ---------------------------------------------------------------------------------------------

void Gateway::Join(Connection& connection, const std::vector<std::string>& topics, std::function<void()> ready) {
    std::vector<std::string> fresh;
    for (const auto& name : topics) {
        Topic& topic = topics_[name];
        if (topic.subscribers.empty() && !topic.confirmed) fresh.push_back(name);
        topic.subscribers.push_back(&connection);
        connection.topics().push_back(name);
    }
    stats_.topics = static_cast<int64_t>(topics_.size());
    if (fresh.empty()) {
        ready();
        return;
    }
    bus_.Subscribe(fresh, [this, fresh, ready = std::move(ready)] {
        for (const auto& name : fresh) {
            auto it = topics_.find(name);
            if (it != topics_.end()) it->second.confirmed = true;
        }
        ready();
    });
}

void Gateway::Leave(Connection& connection, const std::string& name) {
    auto it = topics_.find(name);
    if (it == topics_.end()) return;
    auto& subs = it->second.subscribers;
    subs.erase(std::remove(subs.begin(), subs.end(), &connection), subs.end());
    if (subs.empty()) {
        bus_.Unsubscribe({name});
        topics_.erase(it);
        stats_.topics = static_cast<int64_t>(topics_.size());
    }
}

void Gateway::OnBusMessage(std::string_view topic, std::string_view payload) {
    stats_.events_received++;
    auto it = topics_.find(topic);
    if (it == topics_.end() || it->second.subscribers.empty()) return;
    // One encoding per event, shared by every recipient.
    auto frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, payload));
    // Copy: a send that cuts a slow consumer removes it from this very list.
    std::vector<Connection*> recipients = it->second.subscribers;
    for (Connection* c : recipients) {
        if (c->Send(frame)) stats_.frames_delivered++;
    }
}

void Gateway::OnBusReady() {
    // After a reconnect every topic must be subscribed again.
    std::vector<std::string> names;
    for (auto& [name, topic] : topics_) {
        topic.confirmed = false;
        names.push_back(name);
    }
    bus_.Subscribe(names, [this, names] {
        for (const auto& name : names) {
            auto it = topics_.find(name);
            if (it != topics_.end()) it->second.confirmed = true;
        }
    });
}

void Gateway::OnBusLost() {
    // Events published while we were not subscribed are gone for our sockets. Telling the
    // clients to reconnect makes the SDK re-query its channels (STREAM-PROTOCOL.md §8), which
    // returns everything they missed: nothing is lost, it is re-read.
    std::vector<Connection*> all;
    for (auto& [id, c] : connections_) all.push_back(c.get());
    for (Connection* c : all) c->Close(ws::close_code::kServiceRestart, "event bus reconnecting");
}

}  // namespace streambed
