#include "fcgi-app/reminder_events.h"

#include <unordered_map>

#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/push_queue.h"
#include "fcgi-app/event.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/wire.h"

namespace streambed {

void WriteReminderWithMessage(JsonWriter& w, const reminders::ReminderRow& reminder, const MessageRow& message,
                              const MessageContext& ctx) {
    WriteReminder(w, reminder, [&] {
        PutKey(w, "message");
        WriteMessage(w, message, ctx);
        PutKey(w, "user");
        WriteUserById(w, ctx.users, reminder.user_id);
    });
}

void PublishReminderEvent(RedisClient& redis, std::string_view type, const reminders::ReminderRow& reminder,
                          const MessageRow& message, const MessageContext& ctx) {
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
    // Each user sees the messages as their own (own reactions and reminders): one context per
    // user, for all of that user's due reminders. A user who can no longer read a message (left
    // the channel, banned, the message gone) is not told what it says.
    std::unordered_map<std::string, std::vector<const reminders::ReminderRow*>> by_user;
    for (const auto& r : claimed)
        if (r.readable) by_user[r.user_id].push_back(&r);
    int64_t notified = 0;
    for (const auto& [user_id, due] : by_user) {
        MessageContext ctx;
        ctx.users.Want(user_id);
        std::vector<const MessageRow*> messages;
        for (const auto* r : due) messages.push_back(&*r->message);
        ctx.Load(db, redis, messages, user_id);
        for (const auto* r : due) {
            const MessageRow& message = *r->message;
            PublishReminderEvent(redis, "notification.reminder_due", *r, message, ctx);
            // And a Web Push to the user's browsers, open or not: a reminder is what they asked
            // for. streambed-push leaves out a channel the user muted, as for messages.
            const UserRow* author = ctx.users.Find(message.user_id);
            EnqueueMessagePush(redis, {r->cid, r->message_id, message.text, message.user_id,
                                       author != nullptr ? author->name.value_or("") : "", {user_id},
                                       std::string(kPushReminderDue)});
            ++notified;
        }
    }
    if (notified > 0) Log(LogLevel::kInfo, "reminders.due_notified").Int("count", notified);
    return static_cast<int>(claimed.size());
}

}  // namespace streambed
