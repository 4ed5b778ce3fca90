#include "fcgi-app/drafts.h"

#include <algorithm>

#include "common/clock.h"
#include "common/keys.h"

namespace streambed::drafts {

namespace {
std::string Key(const std::string& user_id, const std::string& cid, const std::optional<std::string>& parent_id) {
    return keys::Draft(user_id, cid, parent_id.value_or(""));
}

std::optional<Draft> Parse(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.c_str());
    if (!d.IsObject()) return std::nullopt;
    Draft draft;
    if (d.HasMember("cid") && d["cid"].IsString()) draft.cid = d["cid"].GetString();
    if (d.HasMember("parent_id") && d["parent_id"].IsString()) draft.parent_id = d["parent_id"].GetString();
    if (d.HasMember("text") && d["text"].IsString()) draft.text = d["text"].GetString();
    if (d.HasMember("message") && d["message"].IsObject()) draft.message_json = ToJson(d["message"]);
    if (d.HasMember("created_at") && d["created_at"].IsInt64()) draft.created_at = d["created_at"].GetInt64();
    if (d.HasMember("updated_at") && d["updated_at"].IsInt64()) draft.updated_at = d["updated_at"].GetInt64();
    return draft;
}

std::string Serialise(const Draft& d) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "cid", d.cid);
    PutOptString(w, "parent_id", d.parent_id);
    PutString(w, "text", d.text);
    PutRaw(w, "message", d.message_json);
    PutInt(w, "created_at", d.created_at);
    PutInt(w, "updated_at", d.updated_at);
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}
}  // namespace

Draft Save(RedisClient& redis, const std::string& user_id, const std::string& cid,
           const std::optional<std::string>& parent_id, const std::string& text, const std::string& message_json) {
    Draft draft;
    draft.cid = cid;
    draft.parent_id = parent_id;
    draft.text = text;
    draft.message_json = message_json;
    draft.updated_at = NowMicros();
    auto existing = Load(redis, user_id, cid, parent_id);
    draft.created_at = existing ? existing->created_at : draft.updated_at;
    std::string key = Key(user_id, cid, parent_id);
    redis.Pipeline({{"SET", key, Serialise(draft), "EX", std::to_string(kTtlSeconds)},
                    {"ZADD", keys::UserDrafts(user_id), std::to_string(draft.updated_at), key},
                    {"EXPIRE", keys::UserDrafts(user_id), std::to_string(kTtlSeconds)}});
    return draft;
}

std::optional<Draft> Load(RedisClient& redis, const std::string& user_id, const std::string& cid,
                          const std::optional<std::string>& parent_id) {
    auto text = ReplyString(redis.Command({"GET", Key(user_id, cid, parent_id)}).get());
    if (!text) return std::nullopt;
    return Parse(*text);
}

void LoadMany(RedisBatch& batch, const std::string& user_id, const std::vector<DraftPlace>& places,
              std::vector<std::optional<Draft>>& into) {
    into.assign(places.size(), std::nullopt);
    if (places.empty() || user_id.empty()) return;
    std::vector<std::string> args{"MGET"};
    for (const auto& place : places) args.push_back(Key(user_id, place.cid, place.parent_id));
    batch.Add(std::move(args), [&into](const redisReply* reply) {
        if (reply->type != REDIS_REPLY_ARRAY) throw RedisError("MGET answered " + std::to_string(reply->type));
        for (size_t i = 0; i < into.size() && i < reply->elements; ++i) {
            if (reply->element[i]->type == REDIS_REPLY_STRING)
                into[i] = Parse(std::string(reply->element[i]->str, reply->element[i]->len));
        }
    });
}

std::vector<Draft> LoadAll(RedisClient& redis, const std::string& user_id, int limit) {
    std::vector<Draft> out;
    auto keys_list = ReplyStrings(redis.Command({"ZREVRANGE", keys::UserDrafts(user_id), "0", std::to_string(limit - 1)}).get());
    if (keys_list.empty()) return out;
    std::vector<std::string> args{"MGET"};
    args.insert(args.end(), keys_list.begin(), keys_list.end());
    RedisReply reply = redis.Command(args);
    std::vector<std::string> expired;
    for (size_t i = 0; i < reply->elements; ++i) {
        if (reply->element[i]->type == REDIS_REPLY_STRING) {
            if (auto d = Parse(std::string(reply->element[i]->str, reply->element[i]->len))) out.push_back(std::move(*d));
        } else {
            expired.push_back(keys_list[i]);
        }
    }
    if (!expired.empty()) {
        std::vector<std::string> zrem{"ZREM", keys::UserDrafts(user_id)};
        zrem.insert(zrem.end(), expired.begin(), expired.end());
        redis.Command(zrem);
    }
    return out;
}

bool Delete(RedisClient& redis, const std::string& user_id, const std::string& cid,
            const std::optional<std::string>& parent_id) {
    bool deleted = false;
    RedisBatch batch;
    Delete(batch, user_id, cid, parent_id, deleted);
    batch.Run(redis);
    return deleted;
}

void Delete(RedisBatch& batch, const std::string& user_id, const std::string& cid,
            const std::optional<std::string>& parent_id, bool& deleted) {
    std::string key = Key(user_id, cid, parent_id);
    batch.Add({"DEL", key}, [&deleted](const redisReply* r) { deleted = r->type == REDIS_REPLY_INTEGER && r->integer > 0; });
    batch.Add({"ZREM", keys::UserDrafts(user_id), key}, [](const redisReply*) {});
}

void WriteStreamDraft(JsonWriter& w, const Draft& d) {
    w.StartObject();
    PutString(w, "channel_cid", d.cid);
    PutOptString(w, "parent_id", d.parent_id);
    PutTime(w, "created_at", d.created_at);
    PutRaw(w, "message", d.message_json.empty() ? "{}" : d.message_json);
    w.EndObject();
}

void WriteRoomDraft(JsonWriter& w, const Draft& d) {
    w.StartObject();
    PutString(w, "cid", d.cid);
    PutString(w, "text", d.text);
    PutOptString(w, "parent_id", d.parent_id);
    PutTime(w, "created_at", d.created_at);
    PutTime(w, "updated_at", d.updated_at);
    w.EndObject();
}

}  // namespace streambed::drafts
