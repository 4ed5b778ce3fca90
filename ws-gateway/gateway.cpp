#include "ws-gateway/gateway.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "common/clock.h"
#include "common/editing.h"
#include "common/editing_scripts.h"
#include "common/events.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/registry.h"

namespace streambed {

namespace {
constexpr int64_t kHeartbeatMs = 5000;
constexpr int64_t kLeaseRefreshMs = 20000;
constexpr int64_t kSweepMs = 10000;
// Editing participants fall silent after seconds (STREAMBED_EDITING_IDLE_TIMEOUT): checked every
// second, so typing.stop comes at most about a second late; each check is one small script.
constexpr int64_t kEditingSweepMs = 1000;
constexpr int kEditingSweepBatch = 100;
// A socket silent this long gets a WebSocket ping (browsers and the ws package answer it)...
constexpr int64_t kIdlePingMs = 35000;
// ...and one silent this long is gone: half-open sockets are cleaned up within this window.
constexpr int64_t kIdleDeadMs = 75000;
constexpr int64_t kCloseGraceMs = 5000;
// A Redis restarting from its append-only file accepts connections while it reads the file and
// answers LOADING until then (a fraction of a second here, longer for a big file): the registry
// reconcile asks again at this pace, for up to a minute.
constexpr int64_t kReconcileRetryMs = 500;
constexpr int kReconcileAttempts = 120;
// The SDK pings every ~25 s; answering more than one ping a second only feeds a flood.
constexpr int64_t kMinPingReplyGapMs = 1000;
// A connection-id session (keys::kSessionTtl, 90 s) is refreshed at most this often by its
// socket's heartbeats: well inside the TTL, rarely enough to cost nothing.
constexpr int64_t kSessionRefreshGapMs = 5000;
// Room-socket limits: frames a socket may have in flight to the workers, and the text size.
constexpr size_t kMaxRoomText = 20000;
// Live events a resuming room socket may hold while its replay runs; past this it is closed with
// 1013 and resumes again from the last seq it saw, rather than hold unbounded memory.
constexpr size_t kMaxHeldBytes = 4 * 1024 * 1024;

std::string Frame(JsonBuffer& buf) { return std::string(buf.GetString(), buf.GetSize()); }

std::string_view KindLabel(ConnectionKind kind) { return kind == ConnectionKind::kStream ? "stream" : "room"; }

std::vector<std::string> ArgvOf(std::string_view script, std::vector<std::string> keys, std::vector<std::string> args) {
    std::vector<std::string> argv{"EVAL", std::string(script), std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}
}  // namespace

Gateway::Gateway(const Config& config, EventLoop& loop, Backend& backend, const GatewayMetrics& metrics,
                 uint16_t node_id, NodeLease lease)
    : config_(config),
      loop_(loop),
      backend_(backend),
      node_id_(node_id),
      control_topic_(keys::GatewayTopic(node_id)),
      lease_(std::move(lease)),
      ids_(node_id),
      bus_(loop, config.redis, "bus"),
      cmd_(loop, config.redis, "commands"),
      metrics_(metrics) {}

Gateway::~Gateway() = default;

void Gateway::Start() {
    bus_.SetMessageHandler([this](std::string_view topic, std::string_view payload) { OnBusMessage(topic, payload); });
    bus_.Start([this] { OnBusReady(); }, [this] { OnBusLost(); });
    cmd_.Start(
        [this] {
            Heartbeat();
            ReconcileRegistry();
        },
        [this] { metrics_.redis_errors.With({"gateway"}).Inc(); });
    loop_.Every(kHeartbeatMs, [this] { Heartbeat(); });
    loop_.Every(kSweepMs, [this] {
        SweepIdle();
        SweepDeadGateways();
    });
    loop_.Every(kEditingSweepMs, [this] { SweepEditingIdle(); });
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
    connection.set_session_keys(std::move(handoff.session_keys));
    connections_.emplace(id, std::move(owned));
    session->connections.push_back(&connection);
    if (handoff.kind == ConnectionKind::kRoom && handoff.since_seq) {
        // Set before the subscription: every live event from now on is held until the replay ends.
        connection.resume().replaying = true;
        connection.resume().since = *handoff.since_seq;
    }
    metrics_.connections_opened.With().Inc();
    metrics_.connections.With({KindLabel(handoff.kind)}).Inc();

    std::vector<std::string> topics{keys::UserTopic(handoff.user_id)};
    if (handoff.kind == ConnectionKind::kRoom) topics.push_back(keys::ChannelTopic(handoff.cid));
    Join(connection, topics, [this, id, me = std::move(handoff.me_json)]() mutable { Register(id, std::move(me)); });
}

void Gateway::Register(const std::string& id, std::string me_json) {
    auto it = connections_.find(id);
    if (it == connections_.end() || !it->second->open()) return;
    Connection& c = *it->second;
    const UserSession& user = *c.user();
    auto open = ArgvOf(registry::kOpenScript,
                       {keys::Connection(id), keys::UserConnections(user.user_id), keys::kOnlineUsers,
                        keys::GatewayConnections(node_id_)},
                       {user.user_id, id, std::to_string(node_id_), c.kind() == ConnectionKind::kStream ? "stream" : "room",
                        user.user_json});
    cmd_.Command(open, [this, id, me_json = std::move(me_json)](redisReply* reply) {
        auto found = connections_.find(id);
        if (found == connections_.end() || !found->second->open()) return;
        Connection& socket = *found->second;
        std::string user_id = socket.user()->user_id;
        std::string user_json = socket.user()->user_json;
        if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
            PublishPresence(user_id, user_json, true);
        if (socket.kind() == ConnectionKind::kStream) {
            SendFirstFrame(socket, me_json);
            return;
        }
        // The room socket watches its room, like a channel query with watch: true.
        std::string cid = socket.room_cid();
        cmd_.Command(ArgvOf(registry::kWatchScript, {keys::Connection(id), keys::ConnectionWatches(id)},
                            {user_id, std::string(keys::kWatchersPrefix), std::string(keys::kWatchEventsPrefix),
                             std::string(keys::kWatcherSetPrefix), cid}),
                     [this, id, cid, user_json, me_json](redisReply* watched) {
                         if (watched != nullptr && watched->type == REDIS_REPLY_ARRAY && watched->elements == 2) {
                             const redisReply* list = watched->element[1];
                             if (list->elements >= 3 && list->element[1]->integer == 1)
                                 PublishWatching("user.watching.start", cid, user_json, list->element[2]->integer);
                         }
                         auto it2 = connections_.find(id);
                         if (it2 != connections_.end() && it2->second->open()) SendFirstFrame(*it2->second, me_json);
                     });
    });
}

void Gateway::SendFirstFrame(Connection& c, const std::string& me_json) {
    if (c.kind() == ConnectionKind::kStream) {
        // The first frame resolves connectUser; connection_id and a complete `me` are required.
        c.SendText(HealthCheckFrame(c, &me_json));
        return;
    }
    std::string id = c.id();
    std::string cid = c.room_cid();
    cmd_.Command({"HKEYS", keys::Watchers(cid)}, [this, id, cid, me_json](redisReply* reply) {
        auto it = connections_.find(id);
        if (it == connections_.end() || !it->second->open()) return;
        JsonBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        PutString(w, "type", "connection.ok");
        PutString(w, "connection_id", id);
        PutString(w, "cid", cid);
        PutRaw(w, "me", me_json);
        PutKey(w, "watchers");
        w.StartArray();
        size_t count = 0;
        if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i < reply->elements; ++i) {
                if (reply->element[i]->type != REDIS_REPLY_STRING) continue;
                w.String(reply->element[i]->str, static_cast<rapidjson::SizeType>(reply->element[i]->len));
                ++count;
            }
        }
        w.EndArray();
        PutInt(w, "watcher_count", static_cast<int64_t>(count));
        PutTime(w, "created_at", NowMicros());
        w.EndObject();
        it->second->SendText(Frame(buf));
        if (it->second->resume().replaying) ReplayFrom(id, it->second->resume().since);
    });
}

// ---------------------------------------------------------------------------------------------
// The room socket's resume (docs/delivery.md)
// ---------------------------------------------------------------------------------------------

void Gateway::ReplayFrom(const std::string& id, int64_t after_seq) {
    auto it = connections_.find(id);
    if (it == connections_.end() || !it->second->open()) return;
    Connection& c = *it->second;
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "user_id", c.user()->user_id);
    PutInt(w, "since_seq", after_seq);
    w.EndObject();
    std::string path = "/internal/rooms/" + c.room_cid() + "/events/";
    bool queued = backend_.Submit([this, id, path, body = Frame(buf)] {
        BackendReply reply = backend_.Post(path, body);
        loop_.Post([this, id, reply = std::move(reply)] { OnReplayPage(id, reply); });
    });
    if (!queued) c.Close(ws::close_code::kTryAgainLater, "gateway overloaded, resume again");
}

void Gateway::OnReplayPage(const std::string& id, const BackendReply& reply) {
    auto it = connections_.find(id);
    if (it == connections_.end() || !it->second->open()) return;
    Connection& c = *it->second;
    rapidjson::Document doc;
    doc.Parse(reply.body.data(), reply.body.size());
    if (reply.status != 200 || !doc.IsObject() || !doc.HasMember("events") || !doc["events"].IsArray() ||
        !doc.HasMember("last_seq") || !doc["last_seq"].IsInt64()) {
        int code = (doc.IsObject() && doc.HasMember("code") && doc["code"].IsInt()) ? doc["code"].GetInt() : -1;
        std::string message = (doc.IsObject() && doc.HasMember("message") && doc["message"].IsString())
                                  ? doc["message"].GetString()
                                  : "the event log is unavailable, resume again";
        SendError(c, code, message);
        // Lost access is final (1008); anything else (503: PostgreSQL restarting) is worth a retry.
        bool refused = reply.status == 403 || reply.status == 404;
        c.Close(refused ? ws::close_code::kPolicyViolation : ws::close_code::kTryAgainLater, "resume failed");
        return;
    }
    for (const auto& event : doc["events"].GetArray()) {
        if (!c.SendText(ToJson(event))) return;  // cut for its output budget
    }
    c.resume().replayed_through = doc["last_seq"].GetInt64();
    if (doc.HasMember("truncated") && doc["truncated"].IsBool() && doc["truncated"].GetBool()) {
        ReplayFrom(id, c.resume().replayed_through);
        return;
    }
    FinishReplay(c);
}

void Gateway::FinishReplay(Connection& c) {
    auto& resume = c.resume();
    resume.replaying = false;
    auto held = std::move(resume.held);
    resume.held.clear();
    resume.held_bytes = 0;
    for (const auto& [room_event, payload] : held) {
        if (room_event) {
            // Published after the replay's read but committed before it: already replayed.
            auto seq = EventSeq(payload);
            if (seq && *seq <= resume.replayed_through) continue;
        }
        if (!c.SendText(payload)) return;
    }
}

bool Gateway::DeliverResuming(Connection& c, std::string_view topic, std::string_view payload,
                              const SharedFrame& frame) {
    auto& resume = c.resume();
    bool room_event = topic == keys::ChannelTopic(c.room_cid());
    if (resume.replaying) {
        resume.held_bytes += payload.size();
        if (resume.held_bytes > kMaxHeldBytes) {
            c.Close(ws::close_code::kTryAgainLater, "resume fell behind, resume again");
            return false;
        }
        resume.held.emplace_back(room_event, std::string(payload));
        return true;
    }
    if (room_event) {
        auto seq = EventSeq(payload);
        if (seq && *seq <= resume.replayed_through) return true;  // replayed already
    }
    return c.Send(frame);
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
    return Frame(buf);
}

void Gateway::Unregister(Connection& c) {
    std::string user_id = c.user()->user_id;
    std::string user_json = c.user()->user_json;
    auto close = ArgvOf(registry::kCloseScript,
                        {keys::Connection(c.id()), keys::ConnectionWatches(c.id()), keys::UserConnections(user_id),
                         keys::kOnlineUsers, keys::GatewayConnections(node_id_)},
                        {user_id, c.id(), std::string(keys::kWatchersPrefix), std::string(keys::kWatchEventsPrefix),
                         std::string(keys::kWatcherSetPrefix)});
    cmd_.Command(close, [this, user_id, user_json](redisReply* reply) { PublishStopped(reply, user_id, user_json); });
}

// The close script's answer: channels whose user.watching.stop to publish, and whether the user
// went offline.
void Gateway::PublishStopped(const redisReply* reply, const std::string& user_id, const std::string& user_json) {
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
    const redisReply* stopped = reply->element[1];
    for (size_t i = 0; i + 1 < stopped->elements; i += 2) {
        PublishWatching("user.watching.stop", std::string(stopped->element[i]->str, stopped->element[i]->len), user_json,
                        stopped->element[i + 1]->integer);
    }
    if (reply->element[0]->integer == 1) PublishPresence(user_id, user_json, false);
}

void Gateway::PublishPresence(const std::string& user_id, const std::string& user_json, bool online) {
    rapidjson::Document user;
    user.Parse(user_json.c_str());
    if (!user.IsObject()) return;
    auto& a = user.GetAllocator();
    user.RemoveMember("online");
    user.AddMember("online", online, a);
    std::string now = FormatTimestamp(NowMicros());
    user.RemoveMember("last_active");
    user.AddMember("last_active", rapidjson::Value(now.c_str(), a), a);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    WriteEventStart(w, "user.presence.changed", "", NowMicros());
    PutKey(w, "user");
    user.Accept(w);
    w.EndObject();
    cmd_.Command({"PUBLISH", keys::PresenceTopic(user_id), Frame(buf)}, nullptr);
}

void Gateway::PublishWatching(const std::string& type, const std::string& cid, const std::string& user_json,
                              int64_t count) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    WriteEventStart(w, type, cid, NowMicros());
    PutRaw(w, "user", user_json);
    PutInt(w, "watcher_count", count);
    w.EndObject();
    cmd_.Command({"PUBLISH", keys::ChannelTopic(cid), Frame(buf)}, nullptr);
}

void Gateway::OnConnectionClosing(Connection& c) {
    // No more events for it: leave every topic now, even if the close frame is still queued.
    auto topics = c.topics();
    for (const auto& topic : topics) Leave(c, topic);
    c.topics().clear();
    Unregister(c);
    std::string id = c.id();
    loop_.After(kCloseGraceMs, [this, id] {
        auto it = connections_.find(id);
        if (it != connections_.end()) it->second->Abort("close handshake timed out");
    });
}

void Gateway::MarkDirty(Connection& c) {
    c.set_dirty(true);
    dirty_.push_back(&c);
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    loop_.Defer([this] { FlushDirty(); });
}

void Gateway::FlushDirty() {
    flush_scheduled_ = false;
    std::vector<Connection*> batch;
    batch.swap(dirty_);
    for (Connection* c : batch) {
        c->set_dirty(false);
        c->FlushQueued();
    }
}

void Gateway::OnConnectionClosed(Connection& c) {
    auto it = connections_.find(c.id());
    if (it == connections_.end()) return;
    if (c.dirty()) {
        dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), &c), dirty_.end());
        c.set_dirty(false);
    }
    auto session = c.user();
    auto& list = session->connections;
    list.erase(std::remove(list.begin(), list.end(), &c), list.end());
    if (list.empty()) users_.erase(session->user_id);
    Connection* raw = it->second.release();
    connections_.erase(it);
    // Deleted after the current batch of events, when no handler can still reach it.
    loop_.Defer([raw] { delete raw; });
    metrics_.connections_closed.With().Inc();
    metrics_.connections.With({KindLabel(c.kind())}).Dec();
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

void Gateway::SweepDeadGateways() {
    std::string cutoff = std::to_string(NowSeconds() - keys::kGatewayTtl);
    cmd_.Command({"ZRANGEBYSCORE", keys::kGateways, "-inf", "(" + cutoff}, [this](redisReply* reply) {
        if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return;
        for (size_t i = 0; i < reply->elements; ++i) {
            int node = std::atoi(reply->element[i]->str);
            if (node == node_id_) continue;
            // One gateway claims the cleanup; the claim outlives it, so it is done once.
            cmd_.Command({"SET", keys::JanitorClaim(node), std::to_string(node_id_), "NX", "EX", "60"},
                         [this, node](redisReply* claimed) {
                             if (claimed == nullptr || claimed->type != REDIS_REPLY_STATUS) return;
                             Log(LogLevel::kWarn, "gateway.cleaning_dead_gateway").Int("node", node);
                             cmd_.Command({"SMEMBERS", keys::GatewayConnections(node)}, [this, node](redisReply* conns) {
                                 if (conns == nullptr || conns->type != REDIS_REPLY_ARRAY) return;
                                 for (size_t k = 0; k < conns->elements; ++k)
                                     CloseStale(node, std::string(conns->element[k]->str, conns->element[k]->len));
                                 cmd_.Command({"ZREM", keys::kGateways, std::to_string(node)}, nullptr);
                             });
                         });
        }
    });
}

// Participants of an editing document (POST /api/editing-audit-state/) who fell silent drop out,
// with typing.stop for those who were typing. The timer lives here because the workers only
// answer requests (nothing runs between two calls, and a user who closes the tab never calls
// again), while a gateway already runs timers, and the sockets that need the event are on
// gateways: with every gateway down there is nobody to tell. Every gateway sweeps; the script's
// ZREM gives each participant to exactly one. Readers do not wait for the sweep: GET leaves silent
// participants out by their updated_at. (docs/ot.md, "The idle timer")
void Gateway::SweepEditingIdle() {
    if (shutting_down_ || !cmd_.connected()) return;
    auto sweep = ArgvOf(editing::kSweepScript, {keys::kEditingIdle},
                        {std::to_string(NowMicros() / 1000), std::to_string(kEditingSweepBatch),
                         std::string(keys::kEditingDocPrefix), std::string(keys::kEditingParticipantsPrefix)});
    cmd_.Command(sweep, [this](redisReply* reply) {
        if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return;
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply* member = reply->element[i];
            const redisReply* record = reply->element[i + 1];
            if (member->type != REDIS_REPLY_STRING || record->type != REDIS_REPLY_STRING) continue;
            auto entry = editing::ParseIdleMember(std::string_view(member->str, member->len));
            auto participant = editing::ParseParticipant(std::string_view(record->str, record->len));
            // typing.stop closes a typing.start: only a participant last seen typing had one open
            // (an idle one had its stop when it said so; an editing one never started).
            if (!entry || !participant || participant->state != editing::State::kTyping) continue;
            JsonBuffer buf;
            JsonWriter w(buf);
            w.StartObject();
            WriteEventStart(w, "typing.stop", entry->cid, NowMicros());
            PutRaw(w, "user", participant->user_json);
            w.EndObject();
            cmd_.Command({"PUBLISH", keys::ChannelTopic(entry->cid), Frame(buf)}, nullptr);
        }
    });
}

void Gateway::CloseStale(int node, const std::string& id) {
    cmd_.Command({"HMGET", keys::Connection(id), "user", "user_json"}, [this, node, id](redisReply* fields) {
        if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY || fields->elements != 2) return;
        if (fields->element[0]->type != REDIS_REPLY_STRING) {
            // Only the set entry is left (its hash is gone): drop the entry.
            cmd_.Command({"SREM", keys::GatewayConnections(node), id}, nullptr);
            return;
        }
        std::string user(fields->element[0]->str, fields->element[0]->len);
        std::string user_json = fields->element[1]->type == REDIS_REPLY_STRING
                                    ? std::string(fields->element[1]->str, fields->element[1]->len)
                                    : "{\"id\":\"" + user + "\"}";
        auto close = ArgvOf(registry::kCloseScript,
                            {keys::Connection(id), keys::ConnectionWatches(id), keys::UserConnections(user),
                             keys::kOnlineUsers, keys::GatewayConnections(node)},
                            {user, id, std::string(keys::kWatchersPrefix), std::string(keys::kWatchEventsPrefix),
                             std::string(keys::kWatcherSetPrefix)});
        cmd_.Command(close, [this, user, user_json](redisReply* r) { PublishStopped(r, user, user_json); });
    });
}

void Gateway::ReconcileRegistry(int attempt) {
    // Sockets that closed while Redis was unreachable could not unregister, and Redis restarted
    // from its append-only file brings their entries back: the user would stay "online" and a
    // watcher for good. Every entry of ours without a live socket is closed now (fault tests:
    // tests/faults/redis-restart.test.mjs).
    cmd_.Command({"SMEMBERS", keys::GatewayConnections(node_id_)}, [this, attempt](redisReply* reply) {
        if (reply == nullptr) return;  // disconnected again: the next connect reconciles
        if (reply->type != REDIS_REPLY_ARRAY) {
            // LOADING: the entries to clean are in what Redis is still reading.
            if (attempt < kReconcileAttempts) {
                loop_.After(kReconcileRetryMs, [this, attempt] { ReconcileRegistry(attempt + 1); });
            } else {
                Log(LogLevel::kWarn, "gateway.reconcile_failed").Str("error", reply->type == REDIS_REPLY_ERROR ? reply->str : "");
            }
            return;
        }
        for (size_t i = 0; i < reply->elements; ++i) {
            std::string id(reply->element[i]->str, reply->element[i]->len);
            if (connections_.find(id) == connections_.end()) CloseStale(node_id_, id);
        }
    });
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
        if (it != frame->MemberEnd() && it->value.IsString())
            type = std::string_view(it->value.GetString(), it->value.GetStringLength());
    }
    if (type == "health.check") {
        if (c.TakePingReply(loop_.now_ms(), kMinPingReplyGapMs)) c.SendText(HealthCheckFrame(c, nullptr));
        if (c.TakeSessionRefresh(loop_.now_ms(), kSessionRefreshGapMs)) {
            for (const auto& key : c.session_keys())
                cmd_.Command({"EXPIRE", key, std::to_string(keys::kSessionTtl)}, nullptr);
        }
        return;
    }
    if (c.kind() == ConnectionKind::kStream) return;  // the SDK sends nothing else; ignore noise
    if (frame == nullptr) {
        SendError(c, 4, "frame must be a JSON object with a type");
        return;
    }
    OnRoomFrame(c, *frame, type);
}

void Gateway::OnBinary(Connection& c) {
    if (c.kind() == ConnectionKind::kStream) return;
    SendError(c, 4, "binary frames are not supported; send JSON text");
}

void Gateway::SendError(Connection& c, int code, std::string_view message, const std::string& id) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "type", "error");
    PutInt(w, "code", code);
    PutString(w, "message", message);
    if (!id.empty()) PutString(w, "id", id);
    w.EndObject();
    c.SendText(Frame(buf));
}

void Gateway::OnRoomFrame(Connection& c, const rapidjson::Value& frame, std::string_view type) {
    std::string path;
    JsonBuffer buf;
    JsonWriter w(buf);
    std::string message_id;
    w.StartObject();
    PutString(w, "user_id", c.user()->user_id);
    if (type == "message.send") {
        auto text = frame.FindMember("text");
        if (text == frame.MemberEnd() || !text->value.IsString()) {
            w.EndObject();
            SendError(c, 4, "message.send needs text (a string)");
            return;
        }
        if (text->value.GetStringLength() > kMaxRoomText) {
            w.EndObject();
            SendError(c, 20, "message is too long");
            return;
        }
        PutKey(w, "message");
        w.StartObject();
        PutString(w, "text", std::string_view(text->value.GetString(), text->value.GetStringLength()));
        auto id = frame.FindMember("id");
        if (id != frame.MemberEnd() && id->value.IsString()) {
            message_id = id->value.GetString();
            PutString(w, "id", message_id);
        }
        auto parent = frame.FindMember("parent_id");
        if (parent != frame.MemberEnd() && parent->value.IsString()) PutString(w, "parent_id", parent->value.GetString());
        w.EndObject();
        path = "/internal/rooms/" + c.room_cid() + "/messages/";
    } else if (type == "typing.start" || type == "typing.stop") {
        PutString(w, "type", type);
        auto parent = frame.FindMember("parent_id");
        if (parent != frame.MemberEnd() && parent->value.IsString()) PutString(w, "parent_id", parent->value.GetString());
        path = "/internal/rooms/" + c.room_cid() + "/typing/";
    } else {
        w.EndObject();
        SendError(c, 4, type.empty() ? "frame has no type" : "unknown frame type " + std::string(type));
        return;
    }
    w.EndObject();
    // The write goes through the workers, off the loop; the answer comes back with Post().
    std::string id = c.id();
    std::string body = Frame(buf);
    bool queued = backend_.Submit([this, id, path, body, message_id] {
        BackendReply reply = backend_.Post(path, body);
        if (reply.status == 200) return;  // message.new / typing reach the socket through its room topic
        loop_.Post([this, id, reply, message_id] {
            auto it = connections_.find(id);
            if (it == connections_.end() || !it->second->open()) return;
            rapidjson::Document err;
            err.Parse(reply.body.c_str());
            int code = (err.IsObject() && err.HasMember("code") && err["code"].IsInt()) ? err["code"].GetInt() : -1;
            std::string message = (err.IsObject() && err.HasMember("message") && err["message"].IsString())
                                      ? err["message"].GetString()
                                      : "the workers are unavailable, retry";
            SendError(*it->second, code, message, message_id);
        });
    });
    if (!queued) SendError(c, 9, "the gateway is overloaded, retry", message_id);
}

// ---------------------------------------------------------------------------------------------
// Topics and fan-out
// ---------------------------------------------------------------------------------------------

void Gateway::Join(Connection& connection, const std::vector<std::string>& topics, std::function<void()> ready) {
    std::vector<std::string> fresh;
    for (const auto& name : topics) {
        auto& mine = connection.topics();
        if (std::find(mine.begin(), mine.end(), name) != mine.end()) continue;  // already joined
        Topic& topic = topics_[name];
        // Not confirmed yet (another socket's SUBSCRIBE is still in flight): subscribe again and
        // wait for that confirmation too. Counting it as done let a socket's `ready`, and so a
        // room resume's read of the log, run before the subscription took effect: the events in
        // between were lost (tests/faults/gateway-kill.test.mjs, many sockets moving at once).
        if (!topic.confirmed) fresh.push_back(name);
        topic.subscribers.push_back(&connection);
        mine.push_back(name);
    }
    metrics_.topics.With().Set(static_cast<double>(topics_.size()));
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
        metrics_.topics.With().Set(static_cast<double>(topics_.size()));
    }
}

void Gateway::OnControl(std::string_view payload) {
    rapidjson::Document doc;
    doc.Parse(payload.data(), payload.size());
    if (!doc.IsObject() || !doc.HasMember("op") || !doc["op"].IsString() || !doc.HasMember("conn") ||
        !doc["conn"].IsString())
        return;
    std::string op = doc["op"].GetString();
    std::string ack = doc.HasMember("ack") && doc["ack"].IsString() ? doc["ack"].GetString() : "";
    auto acknowledge = [this, ack](const char* value) {
        if (ack.empty()) return;
        cmd_.Command({"LPUSH", ack, value}, nullptr);
        cmd_.Command({"EXPIRE", ack, "10"}, nullptr);
    };
    std::vector<std::string> topics;
    if (doc.HasMember("topics") && doc["topics"].IsArray()) {
        for (const auto& t : doc["topics"].GetArray()) {
            if (t.IsString()) topics.emplace_back(t.GetString());
        }
    }
    auto it = connections_.find(std::string(doc["conn"].GetString()));
    if (it == connections_.end() || !it->second->open()) {
        acknowledge("0");
        return;
    }
    Connection& c = *it->second;
    if (op == "join") {
        Join(c, topics, [acknowledge] { acknowledge("1"); });
    } else if (op == "leave") {
        for (const auto& t : topics) {
            Leave(c, t);
            auto& mine = c.topics();
            mine.erase(std::remove(mine.begin(), mine.end(), t), mine.end());
        }
        acknowledge("1");
    }
}

void Gateway::OnBusMessage(std::string_view topic, std::string_view payload) {
    if (topic == control_topic_) {
        OnControl(payload);
        return;
    }
    metrics_.events_received.With().Inc();
    auto it = topics_.find(topic);
    if (it == topics_.end() || it->second.subscribers.empty()) return;
    // One encoding per event, shared by every recipient.
    auto frame = std::make_shared<const std::string>(ws::EncodeFrame(ws::Opcode::kText, payload));
    // Copy: a send that cuts a slow consumer removes it from this very list.
    std::vector<Connection*> recipients = it->second.subscribers;
    uint64_t delivered = 0;
    for (Connection* c : recipients) {
        bool resuming = c->resume().replaying || c->resume().replayed_through >= 0;
        if (resuming ? DeliverResuming(*c, topic, payload, frame) : c->Send(frame)) ++delivered;
    }
    metrics_.frames_delivered.With().Inc(delivered);
    if (delivered < recipients.size()) metrics_.events_dropped.With().Inc(recipients.size() - delivered);
    // From the event's created_at (the write that caused it) to the frame handed to the kernel.
    if (auto created = EventCreatedAt(payload)) {
        int64_t latency = NowMicros() - *created;
        if (latency >= 0) metrics_.delivery_latency.With().ObserveMicros(latency);
    }
}

void Gateway::OnBusReady() {
    bus_up_ = true;
    // After a (re)connect every topic must be subscribed again, the control topic first.
    bus_.Subscribe({control_topic_}, nullptr);
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
    bus_up_ = false;
    metrics_.redis_errors.With({"gateway"}).Inc();
    // Events published while we were not subscribed are gone for our sockets. Telling the
    // clients to reconnect makes the SDK re-query its channels (STREAM-PROTOCOL.md §8), which
    // returns everything they missed: nothing is lost, it is re-read.
    std::vector<Connection*> all;
    for (auto& [id, c] : connections_) all.push_back(c.get());
    for (Connection* c : all) c->Close(ws::close_code::kServiceRestart, "event bus reconnecting");
}

}  // namespace streambed
