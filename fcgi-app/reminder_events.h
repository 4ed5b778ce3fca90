#pragma once
// Reminder events to their user's connections (reminder.created, .updated, .deleted, and
// notification.reminder_due when the time comes): written here for the routes
// (handlers/reminders.cpp) and for streambed-push, which notices the due ones.

#include <string_view>
#include <vector>

#include "common/redis.h"
#include "fcgi-app/hydrate.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/reminders.h"

namespace streambed {

// getstream.io's ReminderResponseData with its message (as the user sees it, from `ctx`) and user.
void WriteReminderWithMessage(JsonWriter& w, const reminders::ReminderRow& reminder, const MessageRow& message,
                              const MessageContext& ctx);

// `type` with {message_id, user_id, reminder} to the reminder's user. Never throws: the change is
// stored either way, and the SDK's reminder list re-reads on reconnect.
void PublishReminderEvent(RedisClient& redis, std::string_view type, const reminders::ReminderRow& reminder,
                          const MessageRow& message, const MessageContext& ctx);

// Claims the reminders that are due and sends each whose user can still read the message its
// notification.reminder_due; how many it claimed. At most `limit` a call: the caller calls again
// while it gets a full batch.
int NotifyDueReminders(Pg& db, RedisClient& redis, int limit);

}  // namespace streambed
