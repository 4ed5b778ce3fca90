#include "common/push_queue.h"

#include <stdexcept>
#include <unordered_set>

#include "common/clock.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/log.h"

namespace streambed {

namespace {
constexpr int kJobVersion = 1;
// Ids are validated by the routes that create them; these bounds only keep a job small.
constexpr size_t kMaxIdBytes = 255;
constexpr size_t kMaxCidBytes = 130;

void WriteSender(JsonWriter& w, const PushJob& job) {
    PutKey(w, "user");
    w.StartObject();
    PutString(w, "id", job.sender_id);
    PutString(w, "name", job.sender_name.empty() ? job.sender_id : job.sender_name);
    w.EndObject();
}
}  // namespace

std::string TruncateCharacters(std::string_view utf8, size_t max_chars) {
    size_t chars = 0;
    for (size_t i = 0; i < utf8.size(); ++i) {
        // A code point starts at every byte that is not a continuation byte (10xxxxxx).
        if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) {
            if (chars == max_chars) return std::string(utf8.substr(0, i));
            ++chars;
        }
    }
    return std::string(utf8);
}

std::string SerializePushJob(const PushJob& job) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutInt(w, "v", kJobVersion);
    if (job.type != kPushMessageNew) PutString(w, "type", job.type);
    PutString(w, "recipient_id", job.recipient_id);
    PutString(w, "cid", job.cid);
    PutString(w, "message_id", job.message_id);
    PutString(w, "text", job.text);
    WriteSender(w, job);
    PutInt(w, "queued_at", job.queued_at_ms);
    if (!job.subscription_id.empty()) {
        PutString(w, "subscription_id", job.subscription_id);
        PutInt(w, "attempts", job.attempts);
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

std::optional<PushJob> ParsePushJob(std::string_view json) {
    rapidjson::Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
    auto str = [&doc](const char* key, size_t max) -> std::optional<std::string> {
        auto it = doc.FindMember(key);
        if (it == doc.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() > max) return std::nullopt;
        return std::string(it->value.GetString(), it->value.GetStringLength());
    };
    auto version = doc.FindMember("v");
    if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != kJobVersion)
        return std::nullopt;
    PushJob job;
    if (doc.HasMember("type")) {
        auto type = str("type", 64);
        if (!type || (*type != kPushMessageNew && *type != kPushReminderDue)) return std::nullopt;
        job.type = std::move(*type);
    }
    auto recipient = str("recipient_id", kMaxIdBytes);
    auto cid = str("cid", kMaxCidBytes);
    auto message_id = str("message_id", kMaxIdBytes);
    auto text = str("text", 1 << 20);
    if (!recipient || recipient->empty() || !cid || !message_id || !text) return std::nullopt;
    job.recipient_id = std::move(*recipient);
    job.cid = std::move(*cid);
    job.message_id = std::move(*message_id);
    job.text = TruncateCharacters(*text, kPushTextChars);

    auto user = doc.FindMember("user");
    if (user == doc.MemberEnd() || !user->value.IsObject()) return std::nullopt;
    auto id = user->value.FindMember("id");
    if (id == user->value.MemberEnd() || !id->value.IsString() || id->value.GetStringLength() > kMaxIdBytes)
        return std::nullopt;
    job.sender_id.assign(id->value.GetString(), id->value.GetStringLength());
    auto name = user->value.FindMember("name");
    if (name != user->value.MemberEnd() && name->value.IsString())
        job.sender_name = TruncateCharacters(std::string_view(name->value.GetString(), name->value.GetStringLength()),
                                             kPushNameChars);

    auto queued = doc.FindMember("queued_at");
    job.queued_at_ms =
        (queued != doc.MemberEnd() && queued->value.IsInt64()) ? queued->value.GetInt64() : NowMicros() / 1000;
    if (auto sub = str("subscription_id", 64)) {
        job.subscription_id = std::move(*sub);
        auto attempts = doc.FindMember("attempts");
        if (attempts == doc.MemberEnd() || !attempts->value.IsInt() || attempts->value.GetInt() < 0)
            return std::nullopt;
        job.attempts = attempts->value.GetInt();
    }
    return job;
}

std::string PushPayload(const PushJob& job) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "type", job.type);
    PutString(w, "cid", job.cid);
    PutString(w, "message_id", job.message_id);
    PutString(w, "text", TruncateCharacters(job.text, kPushTextChars));
    WriteSender(w, job);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

PushJobFrame MessagePushJobFrame(const PushMessage& message) {
    PushJob job;
    job.type = message.type;
    job.cid = message.cid;
    job.message_id = message.message_id;
    job.text = TruncateCharacters(message.text, kPushTextChars);
    job.sender_id = message.sender_id;
    job.sender_name = TruncateCharacters(message.sender_name, kPushNameChars);
    job.queued_at_ms = NowMicros() / 1000;
    // A placeholder no user id can be (ids are [A-Za-z0-9@_-]); the writer escapes it as \u0001.
    job.recipient_id = "\x01";
    std::string whole = SerializePushJob(job);
    // recipient_id comes before every field a user wrote, so this is its first occurrence.
    constexpr std::string_view kKey = R"("recipient_id":)";
    constexpr std::string_view kPlaceholder = R"("\u0001")";
    size_t at = whole.find(std::string(kKey) + std::string(kPlaceholder));
    if (at == std::string::npos) throw std::logic_error("push job without its recipient slot");
    size_t id_at = at + kKey.size();
    return {whole.substr(0, id_at), whole.substr(id_at + kPlaceholder.size())};
}

size_t EnqueueMessagePush(RedisClient& redis, const PushMessage& message) noexcept {
    try {
        PushJobFrame frame = MessagePushJobFrame(message);
        std::vector<std::string> lpush{"LPUSH", keys::kPushQueue};
        std::unordered_set<std::string_view> seen;
        for (const std::string& recipient : message.recipient_ids) {
            bool sender = message.type == kPushMessageNew && recipient == message.sender_id;
            if (recipient.empty() || sender || !seen.insert(recipient).second) continue;
            JsonBuffer id;
            JsonWriter w(id);
            w.String(recipient.data(), static_cast<rapidjson::SizeType>(recipient.size()));
            lpush.push_back(frame.head + std::string(id.GetString(), id.GetSize()) + frame.tail);
        }
        size_t jobs = lpush.size() - 2;
        if (jobs == 0) return 0;
        auto replies = redis.Pipeline(
            {std::move(lpush), {"LTRIM", keys::kPushQueue, "0", std::to_string(kMaxQueuedPushJobs - 1)}});
        if (replies[0]->type == REDIS_REPLY_ERROR) throw RedisError(replies[0]->str);
        return jobs;
    } catch (const std::exception& e) {
        Log(LogLevel::kWarn, "push.enqueue_failed")
            .Str("cid", message.cid)
            .Str("message_id", message.message_id)
            .Str("error", e.what());
        return 0;
    }
}

}  // namespace streambed
