#pragma once
// The Web Push queue between the code that sends a message (producer, in streambed-api) and
// streambed-push (consumer): the producer call, the job format on the Redis list
// keys::kPushQueue, and the payload the browser decrypts. docs/push.md describes all three.
//
// The send-message path queues a message's jobs in the round trip that finds its offline members
// (the audience script, common/registry.h), from the job's frame (PushJobFrame below); streambed-push
// skips a recipient who muted the room. `streambed-api test-push` calls EnqueueMessagePush.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis.h"

namespace streambed {

// What the browser is told: a new message (to members away from the app), or a reminder whose time
// has come (to the user who set it, fcgi-app/reminder_events.h).
constexpr std::string_view kPushMessageNew = "message.new";
constexpr std::string_view kPushReminderDue = "notification.reminder_due";

struct PushMessage {
    std::string cid;  // "messaging:general"
    std::string message_id;
    std::string text;  // the whole text; cut to kPushTextChars here
    std::string sender_id;
    std::string sender_name;                 // empty: the payload shows the sender's id
    // One job each; duplicates are skipped, and so is the sender of a new message.
    std::vector<std::string> recipient_ids;
    std::string type = std::string(kPushMessageNew);
};

// The job of `message` for any one recipient, cut where the recipient's id goes: head, the id as a
// JSON string, then tail, is SerializePushJob's job for that recipient (recipient_ids is unused).
// A Redis script that learns the recipients can then write the jobs itself.
struct PushJobFrame {
    std::string head;
    std::string tail;
};
PushJobFrame MessagePushJobFrame(const PushMessage& message);

// Queues one job per recipient, in one round trip. Never throws: the message is already stored
// when this runs, and a notification that cannot be queued must not fail the send (it is logged).
// Returns the number of jobs queued.
size_t EnqueueMessagePush(RedisClient& redis, const PushMessage& message) noexcept;

// The payload's text is at most this many characters (Unicode code points), the sender's name at
// most kPushNameChars.
constexpr size_t kPushTextChars = 200;
constexpr size_t kPushNameChars = 100;
// The queue keeps at most this many jobs: if streambed-push is down for long, the oldest
// notifications are dropped rather than Redis filling up.
constexpr size_t kMaxQueuedPushJobs = 100000;

// One job: one message for one recipient. A retry carries the one subscription still owed the
// message and the number of attempts made so far.
struct PushJob {
    std::string type = std::string(kPushMessageNew);  // kPushMessageNew or kPushReminderDue
    std::string recipient_id;
    std::string cid;
    std::string message_id;
    std::string text;
    std::string sender_id;
    std::string sender_name;
    int64_t queued_at_ms = 0;
    std::string subscription_id;  // retries only
    int attempts = 0;             // retries only: attempts already made for subscription_id
};

// {"v":1,"type"?,"recipient_id","cid","message_id","text","user":{"id","name"},"queued_at",
//  "subscription_id"?,"attempts"?}; type only when not message.new (the jobs before it had none).
std::string SerializePushJob(const PushJob& job);
// nullopt when the text is not a job of version 1 with every field present and within bounds.
// Text and name longer than the limits are cut, not refused.
std::optional<PushJob> ParsePushJob(std::string_view json);

// The plaintext pushed to the browser (API.md §3):
// {"type":"message.new" | "notification.reminder_due","cid","message_id","text","user":{"id","name"}}
// (the user is the message's author).
std::string PushPayload(const PushJob& job);

// The first `max_chars` code points of UTF-8 text (never cuts a character in two).
std::string TruncateCharacters(std::string_view utf8, size_t max_chars);

}  // namespace streambed
