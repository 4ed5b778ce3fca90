#pragma once
// Drafts, kept in Redis per (user, channel, parent message) for 30 days untouched (API.md §5).
// getstream.io's draft routes and the room surface's /rooms/<cid>/draft/ read and write the same
// records; sending a message with the same parent deletes the sender's draft.

#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/redis.h"

namespace streambed {

struct Draft {
    std::string cid;
    std::optional<std::string> parent_id;
    std::string message_json;  // the draft message object as getstream.io stores it
    std::string text;
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

namespace drafts {

constexpr int kTtlSeconds = 30 * 24 * 3600;

// Saves (creating or replacing); keeps the original created_at.
Draft Save(RedisClient& redis, const std::string& user_id, const std::string& cid,
           const std::optional<std::string>& parent_id, const std::string& text, const std::string& message_json);
std::optional<Draft> Load(RedisClient& redis, const std::string& user_id, const std::string& cid,
                          const std::optional<std::string>& parent_id);
// Where a draft is kept: a channel, and the thread's parent message for a thread's draft.
struct DraftPlace {
    std::string cid;
    std::optional<std::string> parent_id;
};
// The drafts of several places, into `into` (one per place, nullopt when missing) when `batch`
// runs; `into` must outlive it.
void LoadMany(RedisBatch& batch, const std::string& user_id, const std::vector<DraftPlace>& places,
              std::vector<std::optional<Draft>>& into);
// Every draft of a user (POST /api/drafts/query/), newest first.
std::vector<Draft> LoadAll(RedisClient& redis, const std::string& user_id, int limit);
bool Delete(RedisClient& redis, const std::string& user_id, const std::string& cid,
            const std::optional<std::string>& parent_id);
// The same with `batch`: `deleted` says, once it has run, whether there was a draft.
void Delete(RedisBatch& batch, const std::string& user_id, const std::string& cid,
            const std::optional<std::string>& parent_id, bool& deleted);

// DraftResponse (STREAM-PROTOCOL.md §3.8), without the optional channel/quoted/parent objects.
void WriteStreamDraft(JsonWriter& w, const Draft& draft);
// The room surface's draft object (API.md §5).
void WriteRoomDraft(JsonWriter& w, const Draft& draft);

}  // namespace drafts
}  // namespace streambed
