#pragma once
// Message reminders (sql/130_reminders.sql): getstream.io's "Remind me" (a time) and "Save for
// later" (no time), one per user and message, for the user alone.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"

namespace streambed::reminders {

struct ReminderRow {
    std::string user_id;
    int64_t message_pk = 0;
    std::string message_id;
    std::string cid;
    std::optional<int64_t> remind_at;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    // List and TakeDue: the message, read with the reminder.
    std::optional<MessageRow> message;
    // TakeDue: whether the user can still read the message (a member of its channel or a
    // public_read one, not banned, the message neither deleted nor truncated or cleared away).
    bool readable = true;
};

// nullopt when the user already has one for the message.
std::optional<ReminderRow> Create(Pg& db, std::string_view user_id, int64_t message_pk, int64_t channel_pk,
                                  std::optional<int64_t> remind_at);
// A new time (or none) starts the wait for notification.reminder_due over. nullopt when there is none.
std::optional<ReminderRow> Update(Pg& db, std::string_view user_id, int64_t message_pk,
                                  std::optional<int64_t> remind_at);
// The removed reminder, nullopt when there was none.
std::optional<ReminderRow> Delete(Pg& db, std::string_view user_id, int64_t message_pk);

// `user_id`'s reminders on these messages, into `into` when `batch` runs (message hydration).
void Own(PgBatch& batch, const std::vector<int64_t>& message_pks, std::string_view user_id,
         std::vector<ReminderRow>& into);

// The reminders of the user bound to $1 of `params` on messages it can still read (a member of
// the channel, or a public_read channel, not banned, the message neither deleted nor truncated or
// cleared away), each with its message. `where` is a condition over reminders `r`, messages `msg`
// and channels `ch`; `order` sorts them; both bind their values in `params` (handlers/reminders.cpp).
std::vector<ReminderRow> List(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                              int offset);

// The reminders whose time has come and whose notification has not gone out, marked as notified
// (streambed-push sends notification.reminder_due for the readable ones), at most `limit` at a time.
std::vector<ReminderRow> TakeDue(Pg& db, int limit);

}  // namespace streambed::reminders
