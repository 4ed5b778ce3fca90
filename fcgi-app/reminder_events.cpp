#include "fcgi-app/reminder_events.h"

#include <unordered_map>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/push_queue.h"
#include "fcgi-app/event.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/wire.h"

namespace streambed {

void WriteReminderWithMessage(JsonWriter& w, const reminders::ReminderRow& reminder, const MessageRow* message,
                              const MessageContext& ctx) {
    WriteReminder(w, reminder, [&] {
        if (message != nullptr) {
            PutKey(w, "message");
            WriteMessage(w, *message, ctx);
        }
        PutKey(w, "user");
        WriteUserById(w, ctx.users, reminder.user_id);
    });
}

void PublishReminderEvent(RedisClient& redis, std::string_view type, const reminders::ReminderRow& reminder,
                          const MessageRow* message, const MessageContext& ctx) {
    Event e(type, reminder.cid, NowMicros());
    PutString(e.w(), "message_id", reminder.message_id);
    PutString(e.w(), "user_id", reminder.user_id);
    PutKey(e.w(), "reminder");
    WriteReminderWithMessage(e.w(), reminder, message, ctx);
    Outbox outbox;
    outbox.Publish(keys::UserTopic(reminder.user_id), e.Done());
    outbox.Flush(redis);
}

int NotifyDueReminders(Pg& db, RedisClient& redis, int limit) {
    std::vector<reminders::ReminderRow> claimed = reminders::TakeDue(db, limit);
    // A user who left the channel (or lost the message) is not told what it says.
    std::vector<reminders::ReminderRow> due;
    for (auto& r : claimed)
        if (r.readable) due.push_back(std::move(r));
    if (due.empty()) return static_cast<int>(claimed.size());
    std::vector<std::string> ids;
    for (const auto& r : due) ids.push_back(r.message_id);
    std::vector<MessageRow> rows;
    {
        PgBatch batch(db);
        messages::FindMany(batch, ids, rows);
        batch.Run();
    }
    std::unordered_map<std::string, const MessageRow*> by_id;
    for (const auto& m : rows) by_id.emplace(m.id, &m);
    for (const auto& r : due) {
        auto found = by_id.find(r.message_id);
        const MessageRow* message = found == by_id.end() ? nullptr : found->second;
        // Each as its user sees the message (their own reactions and reminder).
        MessageContext ctx;
        ctx.users.Want(r.user_id);
        std::vector<const MessageRow*> refs;
        if (message != nullptr) refs.push_back(message);
        ctx.Load(db, redis, refs, r.user_id);
        PublishReminderEvent(redis, "notification.reminder_due", r, message, ctx);
        // And a Web Push to the user's browsers, open or not: a reminder is what they asked for.
        // streambed-push leaves out a channel the user muted, as for messages.
        if (message != nullptr) {
            const UserRow* author = ctx.users.Find(message->user_id);
            EnqueueMessagePush(redis, {r.cid,
                                       r.message_id,
                                       message->text,
                                       message->user_id,
                                       author != nullptr ? author->name.value_or("") : "",
                                       {r.user_id},
                                       std::string(kPushReminderDue)});
        }
    }
    Log(LogLevel::kInfo, "reminders.due_notified").Int("count", static_cast<int64_t>(due.size()));
    return static_cast<int>(claimed.size());
}

}  // namespace streambed
