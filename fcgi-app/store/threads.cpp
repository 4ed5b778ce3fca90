#include "fcgi-app/store/threads.h"

#include <algorithm>

#include "fcgi-app/store/messages.h"
#include "fcgi-app/unread.h"

namespace streambed::threads {

namespace {

// Not formatted down to ReadParticipant: clang-format would split the stringized macro arguments
// from their strings.
// clang-format off
// Unread replies of participant `p` in thread `t` (parent message `pm`): the rules of a channel's
// unread count (store/channels.cpp), over the thread's replies. The CASE skips the count when
// nothing came after the read point.
#define SB_THREAD_UNREAD(p, t, pm)                                                                          \
    "(CASE WHEN " #t ".last_message_at <= " #p ".last_read_at THEN 0 ELSE "                                  \
    "(SELECT count(*) FROM (SELECT 1 FROM messages r WHERE r.parent_id = " #pm ".id "                        \
    "  AND r.created_at > " #p ".last_read_at AND r.user_id <> " #p ".user_id "                              \
    "  AND NOT r.silent AND NOT r.shadowed AND r.type NOT IN ('deleted', 'system', 'error', 'ephemeral') "   \
    "  AND r.user_id <> ALL (ARRAY(SELECT um.target_id FROM user_mutes um WHERE um.user_id = " #p ".user_id)) " \
    "  LIMIT 255) unread) END)"
static_assert(unread::kMaxCount == 255, "SB_THREAD_UNREAD's LIMIT 255 repeats unread::kMaxCount: change both");

// A participation the thread list shows: the user is still a member of the thread's channel
// (`m`), and the parent is after the channel's truncation (`c`) and the member's cleared history.
#define SB_THREAD_VISIBLE(pm, c, m) \
    #pm ".created_at > coalesce(greatest(" #c ".truncated_at, " #m ".history_cleared_at), '-infinity') "

// The joins of SB_THREAD_VISIBLE from participation `p`, suffixed names for nested use.
#define SB_THREAD_JOINS(p, t, pm, c, m)                                                    \
    "JOIN threads " #t " ON " #t ".parent_pk = " #p ".parent_pk "                          \
    "JOIN messages " #pm " ON " #pm ".pk = " #t ".parent_pk "                              \
    "JOIN channels " #c " ON " #c ".pk = " #t ".channel_pk "                               \
    "JOIN members " #m " ON " #m ".channel_pk = " #t ".channel_pk AND " #m ".user_id = " #p ".user_id "

// A thread and a participation (NULLs when none) as an inner query `q` selects them, and the
// outer select list over it: the inner names are what ORDER BY sorts on.
#define SB_THREAD_INNER_COLUMNS                                                                               \
    "t.parent_pk, pm.id AS parent_id, t.channel_pk, c.cid, t.created_by, t.title, t.custom::text AS custom, "  \
    "t.created_at, t.updated_at, t.last_message_at, pm.reply_count, "                                         \
    "(SELECT count(*) FROM thread_participants a WHERE a.parent_pk = t.parent_pk) AS participants, "           \
    "p.user_id, p.created_at AS joined_at, p.last_thread_message_at, p.last_read_at, p.last_read_message_id, " \
    SB_THREAD_UNREAD(p, t, pm) " AS unread "
#define SB_THREAD_OUTER_COLUMNS                                                                                 \
    "q.parent_pk, q.parent_id, q.channel_pk, q.cid, q.created_by, q.title, q.custom, sb_micros(q.created_at), "  \
    "sb_micros(q.updated_at), sb_micros(q.last_message_at), q.participants, "                                   \
    "q.user_id, sb_micros(q.joined_at), sb_micros(q.last_thread_message_at), sb_micros(q.last_read_at), "       \
    "q.last_read_message_id, q.unread"

#define SB_PARTICIPANT_COLUMNS(p)                                                                          \
    #p ".parent_pk, " #p ".user_id, sb_micros(" #p ".created_at), sb_micros(" #p ".last_thread_message_at), " \
    "sb_micros(" #p ".last_read_at), " #p ".last_read_message_id"

// The participations of the user $1 that the thread list shows.
#define SB_THREAD_LIST_FROM \
    "FROM thread_participants p " SB_THREAD_JOINS(p, t, pm, c, m) "WHERE p.user_id = $1 AND " SB_THREAD_VISIBLE(pm, c, m)

const PgStatement kStartOrContinue{
    "thread_reply",
    "INSERT INTO threads AS t (parent_pk, channel_pk, created_by, created_at, updated_at, last_message_at) "
    "VALUES ($1, $2, $3, sb_time($4), sb_time($4), sb_time($4)) "
    "ON CONFLICT (parent_pk) DO UPDATE SET last_message_at = greatest(t.last_message_at, EXCLUDED.last_message_at), "
    "  updated_at = greatest(t.updated_at, EXCLUDED.updated_at)"};
// $1 thread, $2 parent author, $3 parent time, $4 replier, $5 reply time, $6 reply id. When the
// author replies to itself, DISTINCT ON keeps the reply's row (an upsert may not touch a row twice).
const PgStatement kJoin{
    "thread_participants_reply",
    "INSERT INTO thread_participants AS p "
    "  (parent_pk, user_id, created_at, last_thread_message_at, last_read_at, last_read_message_id) "
    "SELECT DISTINCT ON (v.user_id) $1::bigint, v.user_id, v.at, v.replied_at, v.at, v.read_id "
    "FROM (VALUES ($2::text, sb_time($3), NULL::timestamptz, NULL::text), "
    "             ($4::text, sb_time($5), sb_time($5), $6::text)) AS v(user_id, at, replied_at, read_id) "
    "ORDER BY v.user_id, v.replied_at DESC NULLS LAST "
    "ON CONFLICT (parent_pk, user_id) DO UPDATE SET "
    "  last_thread_message_at = EXCLUDED.last_thread_message_at, "
    "  last_read_at = greatest(p.last_read_at, EXCLUDED.last_read_at), "
    "  last_read_message_id = EXCLUDED.last_read_message_id "
    "WHERE EXCLUDED.last_thread_message_at IS NOT NULL"};

const PgStatement kFind{
    "thread_find", "SELECT " SB_THREAD_OUTER_COLUMNS " FROM (SELECT " SB_THREAD_INNER_COLUMNS
                   "  FROM threads t JOIN messages pm ON pm.pk = t.parent_pk JOIN channels c ON c.pk = t.channel_pk "
                   "  LEFT JOIN thread_participants p ON p.parent_pk = t.parent_pk AND p.user_id = $2 "
                   "  WHERE t.parent_pk = $1) q"};

const PgStatement kParticipants{
    "thread_participants_of",
    "SELECT " SB_PARTICIPANT_COLUMNS(x) ", x.unread FROM unnest($1::bigint[]) AS want(pk) "
    "CROSS JOIN LATERAL (SELECT p.*, " SB_THREAD_UNREAD(p, t, pm) " AS unread FROM thread_participants p "
    "  JOIN threads t ON t.parent_pk = p.parent_pk JOIN messages pm ON pm.pk = t.parent_pk "
    "  WHERE p.parent_pk = want.pk ORDER BY p.created_at, p.user_id LIMIT $2) x"};

const PgStatement kLatestReplies{
    "thread_latest_replies",
    "SELECT " SB_MESSAGE_COLUMNS
    " FROM unnest($1::text[]) AS want(id) "
    "CROSS JOIN LATERAL (SELECT * FROM messages x WHERE x.parent_id = want.id "
    "  ORDER BY x.created_at DESC, x.pk DESC LIMIT $2) msg JOIN channels ch ON ch.pk = msg.channel_pk"};

const PgStatement kUnread{"thread_unread",
                          "SELECT pm.id, sb_micros(p.last_read_at), p.last_read_message_id, " SB_THREAD_UNREAD(p, t, pm)
                          " " SB_THREAD_LIST_FROM "AND t.last_message_at > p.last_read_at"};

// Reading moves forward only: to now, or to the newest reply when stamps ran ahead of the clock.
const PgStatement kMarkRead{
    "thread_mark_read",
    "UPDATE thread_participants p SET last_read_at = greatest(sb_time($3), t.last_message_at, p.last_read_at), "
    "  last_read_message_id = coalesce((SELECT r.id FROM messages r WHERE r.parent_id = pm.id "
    "                                   ORDER BY r.created_at DESC, r.pk DESC LIMIT 1), p.last_read_message_id) "
    "FROM threads t JOIN messages pm ON pm.pk = t.parent_pk "
    "WHERE p.parent_pk = $1 AND p.user_id = $2 AND t.parent_pk = p.parent_pk "
    "RETURNING " SB_PARTICIPANT_COLUMNS(p)};

const PgStatement kMarkAllRead{
    "thread_mark_all_read",
    "UPDATE thread_participants p SET last_read_at = greatest(sb_time($2), t.last_message_at), "
    "  last_read_message_id = coalesce((SELECT r.id FROM messages r WHERE r.parent_id = pm.id "
    "                                   ORDER BY r.created_at DESC, r.pk DESC LIMIT 1), p.last_read_message_id) "
    "FROM threads t JOIN messages pm ON pm.pk = t.parent_pk "
    "WHERE p.user_id = $1 AND t.parent_pk = p.parent_pk AND t.last_message_at > p.last_read_at"};

// $3: the first unread reply, or '' for the newest reply by someone else. The read point goes to
// just before it, and the last read message to the reply before it (none: the parent).
const PgStatement kMarkUnread{
    "thread_mark_unread",
    "WITH first AS (SELECT r.id, r.created_at, r.pk, pm.id AS parent_id FROM messages pm "
    "  JOIN messages r ON r.parent_id = pm.id "
    "  WHERE pm.pk = $1 AND (r.id = $3 OR ($3 = '' AND r.user_id <> $2)) "
    "  ORDER BY r.created_at DESC, r.pk DESC LIMIT 1) "
    "UPDATE thread_participants p SET last_read_at = first.created_at - interval '1 microsecond', "
    "  last_read_message_id = (SELECT b.id FROM messages b WHERE b.parent_id = first.parent_id "
    "                          AND (b.created_at, b.pk) < (first.created_at, first.pk) "
    "                          ORDER BY b.created_at DESC, b.pk DESC LIMIT 1) "
    "FROM first WHERE p.parent_pk = $1 AND p.user_id = $2 "
    "RETURNING first.id"};

const PgStatement kUpdate{
    "thread_update",
    "UPDATE threads SET title = coalesce($2, title), custom = (custom || $3::jsonb) - $4::text[], "
    "  updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond') "
    "WHERE parent_pk = $1 RETURNING parent_pk"};

const PgStatement kUnreadOfOthers{
    "thread_unread_of_others",
    "SELECT p.user_id, " SB_THREAD_UNREAD(p, t, pm) ", "
    "  (SELECT count(*) FROM thread_participants p2 " SB_THREAD_JOINS(p2, t2, pm2, c2, m2)
    "   WHERE p2.user_id = p.user_id AND t2.last_message_at > p2.last_read_at AND " SB_THREAD_VISIBLE(pm2, c2, m2)
    "   AND " SB_THREAD_UNREAD(p2, t2, pm2) " > 0) "
    "FROM thread_participants p " SB_THREAD_JOINS(p, t, pm, c, m)
    "WHERE p.parent_pk = $1 AND p.user_id <> $2"};

// clang-format on

ParticipantRow ReadParticipant(const PgResult& r, int row, int c) {
    ParticipantRow p;
    p.parent_pk = r.Int(row, c);
    p.user_id = std::string(r.Str(row, c + 1));
    p.created_at = r.Int(row, c + 2);
    p.last_thread_message_at = r.OptInt(row, c + 3);
    p.last_read_at = r.Int(row, c + 4);
    p.last_read_message_id = r.OptStr(row, c + 5);
    return p;
}

ThreadRow ReadThread(const PgResult& r, int row) {
    ThreadRow t;
    t.parent_pk = r.Int(row, 0);
    t.parent_id = std::string(r.Str(row, 1));
    t.channel_pk = r.Int(row, 2);
    t.cid = std::string(r.Str(row, 3));
    t.created_by = std::string(r.Str(row, 4));
    t.title = std::string(r.Str(row, 5));
    t.custom_json = std::string(r.Str(row, 6));
    t.created_at = r.Int(row, 7);
    t.updated_at = r.Int(row, 8);
    t.last_message_at = r.Int(row, 9);
    t.participant_count = r.Int(row, 10);
    if (!r.IsNull(row, 11)) {
        ParticipantRow p;
        p.parent_pk = t.parent_pk;
        p.user_id = std::string(r.Str(row, 11));
        p.created_at = r.Int(row, 12);
        p.last_thread_message_at = r.OptInt(row, 13);
        p.last_read_at = r.Int(row, 14);
        p.last_read_message_id = r.OptStr(row, 15);
        p.unread_messages = r.Int(row, 16);
        t.own = std::move(p);
    }
    return t;
}

}  // namespace

void QueueReply(Pg& db, const MessageRow& parent, const MessageRow& reply) {
    db.Queue(kStartOrContinue,
             PgParams().Add(parent.pk).Add(parent.channel_pk).Add(parent.user_id).Add(reply.created_at));
    db.Queue(kJoin, PgParams()
                        .Add(parent.pk)
                        .Add(parent.user_id)
                        .Add(parent.created_at)
                        .Add(reply.user_id)
                        .Add(reply.created_at)
                        .Add(reply.id));
}

std::vector<ThreadRow> List(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                            int offset) {
    std::string page = params.AddPage(limit, offset);
    std::string sql = "SELECT " SB_THREAD_OUTER_COLUMNS " FROM (SELECT " SB_THREAD_INNER_COLUMNS SB_THREAD_LIST_FROM
                      "AND (" +
                      where + ")) q ORDER BY " + order + page;
    PgResult r = db.RunDynamic(sql, params);
    std::vector<ThreadRow> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadThread(r, i));
    return out;
}

std::optional<ThreadRow> Find(Pg& db, int64_t parent_pk, const std::string& user_id) {
    PgResult r = db.Run(kFind, PgParams().Add(parent_pk).Add(user_id));
    if (r.empty()) return std::nullopt;
    return ReadThread(r, 0);
}

void Participants(PgBatch& batch, const std::vector<int64_t>& parent_pks, int limit,
                  std::vector<ParticipantRow>& into) {
    batch.Add(kParticipants, PgParams().AddArray(parent_pks).Add(limit), [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i) {
            ParticipantRow p = ReadParticipant(r, i, 0);
            p.unread_messages = r.Int(i, 6);
            into.push_back(std::move(p));
        }
    });
}

void LatestReplies(PgBatch& batch, const std::vector<std::string>& parent_ids, int limit,
                   std::vector<MessageRow>& into) {
    batch.Add(kLatestReplies, PgParams().AddArray(parent_ids).Add(limit), [&into](const PgResult& r) {
        size_t first = into.size();
        for (int i = 0; i < r.rows(); ++i) into.push_back(ReadMessage(r, i, 0));
        // The statement gives each thread's replies together, newest first: ascending for the client.
        auto group = into.begin() + static_cast<std::ptrdiff_t>(first);
        while (group != into.end()) {
            auto end = std::find_if(group, into.end(),
                                    [&group](const MessageRow& m) { return m.parent_id != group->parent_id; });
            std::reverse(group, end);
            group = end;
        }
    });
}

void Unread(PgBatch& batch, std::string_view user_id, std::vector<UnreadThread>& into) {
    batch.Add(kUnread, PgParams().Add(user_id), [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i) {
            int64_t n = r.Int(i, 3);
            if (n == 0) continue;  // only its own, deleted or muted replies came after the read point
            into.push_back({std::string(r.Str(i, 0)), r.Int(i, 1), r.OptStr(i, 2), n});
        }
    });
}

void MarkRead(PgBatch& batch, int64_t parent_pk, std::string_view user_id, int64_t at,
              std::optional<ParticipantRow>& into) {
    batch.Add(kMarkRead, PgParams().Add(parent_pk).Add(user_id).Add(at), [&into](const PgResult& r) {
        if (!r.empty()) into = ReadParticipant(r, 0, 0);
    });
}

void QueueMarkAllRead(Pg& db, std::string_view user_id, int64_t at) {
    db.Queue(kMarkAllRead, PgParams().Add(user_id).Add(at));
}

void MarkUnread(PgBatch& batch, int64_t parent_pk, std::string_view user_id, std::string_view from_reply_id,
                std::optional<MarkedUnread>& into) {
    batch.Add(kMarkUnread, PgParams().Add(parent_pk).Add(user_id).Add(from_reply_id), [&into](const PgResult& r) {
        if (!r.empty()) into = MarkedUnread{ParticipantRow{}, std::string(r.Str(0, 0))};
    });
    // The participation as marked, with its unread count: the same implicit transaction sees it.
    batch.Add(kFind, PgParams().Add(parent_pk).Add(user_id), [&into](const PgResult& r) {
        if (!into) return;
        if (r.empty() || r.IsNull(0, 11)) {
            into.reset();  // deleted meanwhile
            return;
        }
        into->participant = *ReadThread(r, 0).own;
    });
}

std::optional<ThreadRow> Update(Pg& db, int64_t parent_pk, const std::optional<std::string>& title,
                                const std::string& custom_set_json, const std::vector<std::string>& custom_unset) {
    PgResult r = db.Run(kUpdate, PgParams().Add(parent_pk).Add(title).Add(custom_set_json).AddArray(custom_unset));
    if (r.empty()) return std::nullopt;
    return Find(db, parent_pk, "");
}

std::vector<ParticipantUnread> UnreadOfOthers(Pg& db, int64_t parent_pk, std::string_view except) {
    PgResult r = db.Run(kUnreadOfOthers, PgParams().Add(parent_pk).Add(except));
    std::vector<ParticipantUnread> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) out.push_back({std::string(r.Str(i, 0)), r.Int(i, 2), r.Int(i, 1)});
    return out;
}

}  // namespace streambed::threads
