#include "fcgi-app/realtime.h"

#include <algorithm>

#include <openssl/rand.h>

#include "common/json.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/registry.h"

namespace streambed {

namespace {

// How long a query waits for a gateway to confirm a subscription. A live gateway answers in well
// under a millisecond; a dead one must not hold the request for long.
constexpr const char* kAckTimeoutSeconds = "2";

std::string RandomToken() {
    unsigned char bytes[12];
    RAND_bytes(bytes, sizeof bytes);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

// Asks gateway `node` to add (`join`) or drop (`leave`) topics for one socket. A join waits for
// the gateway's confirmation that Redis has subscribed it.
void TellGateway(RedisClient& redis, int64_t node, std::string_view op, const std::string& connection_id,
                 const std::vector<std::string>& topics) {
    if (topics.empty()) return;
    std::string token = op == "join" ? RandomToken() : std::string();
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "op", op);
    PutString(w, "conn", connection_id);
    PutKey(w, "topics");
    w.StartArray();
    for (const auto& t : topics) WriteString(w, t);
    w.EndArray();
    if (!token.empty()) PutString(w, "ack", keys::Ack(token));
    w.EndObject();
    auto receivers = ReplyInteger(
        redis.Command({"PUBLISH", keys::GatewayTopic(static_cast<int>(node)), std::string_view(buf.GetString(), buf.GetSize())})
            .get());
    if (token.empty()) return;
    if (receivers == 0) {
        Log(LogLevel::kWarn, "realtime.gateway_gone").Int("node", node).Str("connection_id", connection_id);
        return;
    }
    auto reply = redis.Command({"BLPOP", keys::Ack(token), kAckTimeoutSeconds});
    if (reply->type == REDIS_REPLY_NIL)
        Log(LogLevel::kWarn, "realtime.ack_timeout").Int("node", node).Str("connection_id", connection_id);
}

}  // namespace

WatchOutcome WatchChannels(RedisClient& redis, const std::string& connection_id, const std::string& user_id,
                           const std::vector<std::string>& cids, const std::vector<std::string>& presence_users) {
    WatchOutcome out;
    if (connection_id.empty() || (cids.empty() && presence_users.empty())) return out;
    std::vector<std::string> args{user_id, std::string(keys::kWatchersPrefix), std::string(keys::kWatchEventsPrefix),
                                  std::string(keys::kWatcherSetPrefix)};
    args.insert(args.end(), cids.begin(), cids.end());
    RedisReply reply = redis.Eval(registry::kWatchScript,
                                  {keys::Connection(connection_id), keys::ConnectionWatches(connection_id)}, args);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) return out;  // {-1}: not this user's socket
    int64_t node = reply->element[0]->integer;
    const redisReply* list = reply->element[1];
    for (size_t i = 0; i + 2 < list->elements; i += 3) {
        std::string cid(list->element[i]->str, list->element[i]->len);
        if (list->element[i + 1]->integer == 1) out.announce_start.push_back(cid);
        out.watcher_counts[cid] = list->element[i + 2]->integer;
    }
    out.attached = true;
    std::vector<std::string> topics;
    for (const auto& cid : cids) topics.push_back(keys::ChannelTopic(cid));
    for (const auto& u : presence_users) topics.push_back(keys::PresenceTopic(u));
    TellGateway(redis, node, "join", connection_id, topics);
    return out;
}

UnwatchOutcome UnwatchChannels(RedisClient& redis, const std::string& connection_id, const std::string& user_id,
                               const std::vector<std::string>& cids) {
    UnwatchOutcome out;
    if (connection_id.empty() || cids.empty()) return out;
    std::vector<std::string> args{user_id, std::string(keys::kWatchersPrefix), std::string(keys::kWatchEventsPrefix),
                                  std::string(keys::kWatcherSetPrefix)};
    args.insert(args.end(), cids.begin(), cids.end());
    RedisReply reply = redis.Eval(registry::kUnwatchScript,
                                  {keys::Connection(connection_id), keys::ConnectionWatches(connection_id)}, args);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) return out;
    int64_t node = reply->element[0]->integer;
    const redisReply* list = reply->element[1];
    for (size_t i = 0; i + 1 < list->elements; i += 2) {
        out.announce_stop.emplace_back(std::string(list->element[i]->str, list->element[i]->len),
                                 list->element[i + 1]->integer);
    }
    std::vector<std::string> topics;
    for (const auto& cid : cids) topics.push_back(keys::ChannelTopic(cid));
    TellGateway(redis, node, "leave", connection_id, topics);
    return out;
}

void Watchers(RedisBatch& batch, const std::vector<std::string>& cids, int limit,
              std::unordered_map<std::string, WatcherSet>& into) {
    for (const auto& cid : cids) {
        WatcherSet& set = into[cid];
        batch.Add({"HLEN", keys::Watchers(cid)}, [&set](const redisReply* r) {
            if (r->type == REDIS_REPLY_INTEGER) set.count = r->integer;
        });
        batch.Add({"HRANDFIELD", keys::Watchers(cid), std::to_string(limit)}, [&set](const redisReply* r) {
            if (r->type == REDIS_REPLY_ARRAY) set.user_ids = ReplyStrings(r);
        });
    }
}

namespace {
std::vector<std::string> AudienceKeys(const std::string& cid) {
    return {keys::ChannelMembers(cid), keys::WatcherSet(cid), keys::kOnlineUsers, keys::kPushQueue,
            keys::kPushSubscribers};
}
std::vector<std::string> AudienceArgs(const std::string& sender, const PushJobFrame* push) {
    return {sender, push ? push->head : "", push ? push->tail : "", std::to_string(kMaxQueuedPushJobs)};
}

// What the script answered (registry::kAudienceScript).
enum class AudienceAnswer { kAudience, kNoMemberCache, kNoPushSubscribers, kOther };
AudienceAnswer ReadAudience(const redisReply* reply, Audience& out) {
    if (reply->type == REDIS_REPLY_NIL) return AudienceAnswer::kNoMemberCache;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[1]->type != REDIS_REPLY_INTEGER)
        return AudienceAnswer::kOther;
    if (reply->element[1]->integer < 0) return AudienceAnswer::kNoPushSubscribers;
    out.online_not_watching = ReplyStrings(reply->element[0]);
    return AudienceAnswer::kAudience;
}

// Adds `members` to the set at `key` (in commands of a bounded size) and gives it `ttl_seconds`.
void FillSet(RedisClient& redis, const std::string& key, const std::vector<std::string>& members, int ttl_seconds) {
    constexpr size_t kPerCommand = 1000;
    std::vector<std::vector<std::string>> commands;
    for (size_t first = 0; first < members.size(); first += kPerCommand) {
        std::vector<std::string> sadd{"SADD", key};
        sadd.insert(sadd.end(), members.begin() + static_cast<std::ptrdiff_t>(first),
                    members.begin() + static_cast<std::ptrdiff_t>(std::min(members.size(), first + kPerCommand)));
        commands.push_back(std::move(sadd));
    }
    commands.push_back({"EXPIRE", key, std::to_string(ttl_seconds)});
    redis.Pipeline(commands);
}

// The script on its own, filling what Redis lacked first. Each fill is needed at most once, so
// three runs are enough; a fourth answer that still lacks something leaves the message unannounced
// (it is stored; a notification is what a failure here costs).
Audience MessageAudience(RedisClient& redis, const std::string& cid, const std::string& sender,
                         const PushJobFrame* push, const AudienceSources& sources) {
    std::vector<std::string> script_keys = AudienceKeys(cid);
    std::vector<std::string> script_args = AudienceArgs(sender, push);
    for (int run = 0; run < 3; ++run) {
        RedisReply reply = redis.Eval(registry::kAudienceScript, script_keys, script_args);
        Audience audience;
        switch (ReadAudience(reply.get(), audience)) {
            case AudienceAnswer::kAudience:
                return audience;
            case AudienceAnswer::kNoMemberCache: {
                // The member cache expired or was dropped by a membership change.
                std::vector<std::string> members = sources.members();
                if (members.empty()) return {};
                FillSet(redis, keys::ChannelMembers(cid), members, keys::kChannelMembersTtl);
                break;
            }
            case AudienceAnswer::kNoPushSubscribers: {
                // Expired, or Redis lost it: the marker "" goes in with the users (keys.h).
                std::vector<std::string> subscribers = sources.push_subscribers();
                subscribers.emplace_back();
                FillSet(redis, keys::kPushSubscribers, subscribers, keys::kPushSubscribersTtl);
                break;
            }
            case AudienceAnswer::kOther:
                return {};
        }
    }
    Log(LogLevel::kWarn, "realtime.audience_unfilled").Str("cid", cid);
    return {};
}
}  // namespace

AudienceQuery::AudienceQuery(RedisBatch& batch, const std::string& cid, const std::string& sender,
                             std::optional<PushJobFrame> push)
    : cid_(cid), sender_(sender), push_(std::move(push)) {
    batch.Add(RedisClient::EvalShaCommand(registry::kAudienceScript, AudienceKeys(cid),
                                          AudienceArgs(sender, push_ ? &*push_ : nullptr)),
              // Anything else (something to fill; an error: NOSCRIPT) is left to Finish.
              [this](const redisReply* reply) {
                  Audience audience;
                  if (ReadAudience(reply, audience) == AudienceAnswer::kAudience) answered_ = std::move(audience);
              });
}

Audience AudienceQuery::Finish(RedisClient& redis, const AudienceSources& sources) {
    if (answered_) return std::move(*answered_);
    return MessageAudience(redis, cid_, sender_, push_ ? &*push_ : nullptr, sources);
}

void ForgetMembers(RedisClient& redis, const std::string& cid) {
    try {
        redis.Command({"DEL", keys::ChannelMembers(cid)});
    } catch (const RedisError& e) {
        // The cache then lives until its expiry; notifications may reach a removed member meanwhile.
        Log(LogLevel::kWarn, "realtime.forget_members_failed").Str("cid", cid).Str("error", e.what());
    }
}

}  // namespace streambed
