#include "fcgi-app/store/reminders.h"

#include "fcgi-app/store/messages.h"

namespace streambed::reminders {

namespace {

// clang-format off
#define SB_REMINDER_COLUMNS(r, m, c) \
    #r ".user_id, " #r ".message_pk, " #m ".id, " #c ".cid, sb_micros(" #r ".remind_at), sb_micros(" #r ".created_at), " \
    "sb_micros(" #r ".updated_at)"
// The reminder a write returns, with its message's id and channel's cid.
#define SB_RETURNING_REMINDER \
    " RETURNING r.user_id, r.message_pk, (SELECT id FROM messages WHERE pk = r.message_pk), " \
    "(SELECT cid FROM channels WHERE pk = r.channel_pk), sb_micros(r.remind_at), sb_micros(r.created_at), " \
    "sb_micros(r.updated_at)"
// clang-format on

const PgStatement kCreate{"reminder_create",
                          "INSERT INTO message_reminders AS r (user_id, message_pk, channel_pk, remind_at) "
                          "VALUES ($1, $2, $3, sb_time($4)) ON CONFLICT DO NOTHING" SB_RETURNING_REMINDER};
const PgStatement kUpdate{"reminder_update",
                          "UPDATE message_reminders AS r SET remind_at = sb_time($3), notified_at = NULL, "
                          "updated_at = now() WHERE r.user_id = $1 AND r.message_pk = $2" SB_RETURNING_REMINDER};
const PgStatement kDelete{
    "reminder_delete",
    "DELETE FROM message_reminders AS r WHERE r.user_id = $1 AND r.message_pk = $2" SB_RETURNING_REMINDER};
const PgStatement kOwn{"reminder_own",
                       "SELECT " SB_REMINDER_COLUMNS(r, m, c) " FROM message_reminders r "
                       "JOIN messages m ON m.pk = r.message_pk JOIN channels c ON c.pk = r.channel_pk "
                       "WHERE r.message_pk = ANY($1::bigint[]) AND r.user_id = $2"};
// clang-format off
// Whether reminder `r`'s user can still read its message: a member of the channel (or it is
// public_read), not banned from it, the message neither deleted nor truncated or cleared away.
// queryReminders lists only these, and only these fall due with their message.
#define SB_REMINDER_READABLE \
    "EXISTS (SELECT 1 FROM messages rm JOIN channels rc ON rc.pk = rm.channel_pk " \
    "  JOIN channel_types rt ON rt.name = rc.type " \
    "  LEFT JOIN members me ON me.channel_pk = rc.pk AND me.user_id = r.user_id " \
    "  WHERE rm.pk = r.message_pk AND rm.deleted_at IS NULL " \
    "  AND (me.user_id IS NOT NULL OR rt.policy = 'public_read') " \
    "  AND NOT EXISTS (SELECT 1 FROM channel_bans xb WHERE xb.channel_pk = rc.pk AND xb.user_id = r.user_id " \
    "    AND (xb.expires IS NULL OR xb.expires > now())) " \
    "  AND rm.created_at > coalesce(greatest(rc.truncated_at, me.history_cleared_at), '-infinity'))"
// A reminder with its message (message columns from kWithMessageColumn on): queryReminders and the
// due ones are written with the message, read in the same statement.
#define SB_REMINDER_WITH_MESSAGE_FROM \
    " JOIN messages msg ON msg.pk = r.message_pk JOIN channels ch ON ch.pk = r.channel_pk "
// clang-format on
constexpr int kWithMessageColumn = 7;

// clang-format off
// Claimed with SKIP LOCKED: two streambed-push processes (a rolling restart) never notify twice.
// Then whether each user can still read the message, after the message.
const PgStatement kTakeDue{
    "reminder_take_due",
    "WITH due AS (SELECT user_id, message_pk FROM message_reminders "
    "  WHERE remind_at <= now() AND notified_at IS NULL AND remind_at IS NOT NULL "
    "  ORDER BY remind_at LIMIT $1 FOR UPDATE SKIP LOCKED), "
    "claimed AS (UPDATE message_reminders AS c SET notified_at = now() FROM due "
    "  WHERE c.user_id = due.user_id AND c.message_pk = due.message_pk RETURNING c.*) "
    "SELECT " SB_REMINDER_COLUMNS(r, msg, ch) ", " SB_MESSAGE_COLUMNS ", " SB_REMINDER_READABLE
    " FROM claimed r" SB_REMINDER_WITH_MESSAGE_FROM};
// clang-format on

ReminderRow Read(const PgResult& r, int i) {
    ReminderRow row;
    row.user_id = std::string(r.Str(i, 0));
    row.message_pk = r.Int(i, 1);
    row.message_id = std::string(r.Str(i, 2));
    row.cid = std::string(r.Str(i, 3));
    row.remind_at = r.OptInt(i, 4);
    row.created_at = r.Int(i, 5);
    row.updated_at = r.Int(i, 6);
    return row;
}

std::vector<ReminderRow> ReadAll(const PgResult& r) {
    std::vector<ReminderRow> rows;
    for (int i = 0; i < r.rows(); ++i) rows.push_back(Read(r, i));
    return rows;
}

std::optional<ReminderRow> First(const PgResult& r) {
    if (r.empty()) return std::nullopt;
    return Read(r, 0);
}

}  // namespace

std::optional<ReminderRow> Create(Pg& db, std::string_view user_id, int64_t message_pk, int64_t channel_pk,
                                  std::optional<int64_t> remind_at) {
    return First(db.Run(kCreate, PgParams().Add(user_id).Add(message_pk).Add(channel_pk).Add(remind_at)));
}

std::optional<ReminderRow> Update(Pg& db, std::string_view user_id, int64_t message_pk,
                                  std::optional<int64_t> remind_at) {
    return First(db.Run(kUpdate, PgParams().Add(user_id).Add(message_pk).Add(remind_at)));
}

std::optional<ReminderRow> Delete(Pg& db, std::string_view user_id, int64_t message_pk) {
    return First(db.Run(kDelete, PgParams().Add(user_id).Add(message_pk)));
}

void Own(PgBatch& batch, const std::vector<int64_t>& message_pks, std::string_view user_id,
         std::vector<ReminderRow>& into) {
    if (message_pks.empty() || user_id.empty()) return;
    batch.Add(kOwn, PgParams().AddArray(message_pks).Add(user_id), [&into](const PgResult& r) { into = ReadAll(r); });
}

std::vector<ReminderRow> List(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                              int offset) {
    std::string page = params.AddPage(limit, offset);
    // clang-format off
    std::string sql = "SELECT " SB_REMINDER_COLUMNS(r, msg, ch) ", " SB_MESSAGE_COLUMNS
                      " FROM message_reminders r" SB_REMINDER_WITH_MESSAGE_FROM
                      "WHERE r.user_id = $1 AND " SB_REMINDER_READABLE " AND (" +
                      where + ") ORDER BY " + order + page;
    // clang-format on
    PgResult r = db.RunDynamic(sql, params);
    std::vector<ReminderRow> rows = ReadAll(r);
    for (int i = 0; i < r.rows(); ++i) rows[static_cast<size_t>(i)].message = ReadMessage(r, i, kWithMessageColumn);
    return rows;
}

std::vector<ReminderRow> TakeDue(Pg& db, int limit) {
    PgResult r = db.Run(kTakeDue, PgParams().Add(limit));
    std::vector<ReminderRow> rows = ReadAll(r);
    for (int i = 0; i < r.rows(); ++i) {
        rows[static_cast<size_t>(i)].message = ReadMessage(r, i, kWithMessageColumn);
        rows[static_cast<size_t>(i)].readable = r.Bool(i, kWithMessageColumn + kMessageColumnCount);
    }
    return rows;
}

}  // namespace streambed::reminders
