#include "fcgi-app/store/messages.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include <rapidjson/document.h>

#include "common/errors.h"
#include "common/json.h"

namespace streambed {

namespace {
std::vector<std::string> JsonStrings(std::string_view text) {
    std::vector<std::string> out;
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (!d.IsArray()) return out;
    for (const auto& v : d.GetArray()) {
        if (v.IsString()) out.emplace_back(v.GetString(), v.GetStringLength());
    }
    return out;
}

}  // namespace

MessageRow ReadMessage(const PgResult& r, int row, int c) {
    MessageRow m;
    m.pk = r.Int(row, c + 0);
    m.id = std::string(r.Str(row, c + 1));
    m.channel_pk = r.Int(row, c + 2);
    m.cid = std::string(r.Str(row, c + 3));
    m.user_id = std::string(r.Str(row, c + 4));
    m.type = std::string(r.Str(row, c + 5));
    m.text = std::string(r.Str(row, c + 6));
    m.html = std::string(r.Str(row, c + 7));
    m.attachments_json = std::string(r.Str(row, c + 8));
    m.mentioned_users = JsonStrings(r.Str(row, c + 9));
    m.custom_json = std::string(r.Str(row, c + 10));
    m.parent_id = r.OptStr(row, c + 11);
    m.show_in_channel = r.Bool(row, c + 12);
    m.quoted_message_id = r.OptStr(row, c + 13);
    m.reply_count = static_cast<int>(r.Int(row, c + 14));
    m.deleted_reply_count = static_cast<int>(r.Int(row, c + 15));
    m.thread_participants = JsonStrings(r.Str(row, c + 16));
    m.silent = r.Bool(row, c + 17);
    m.shadowed = r.Bool(row, c + 18);
    m.pinned = r.Bool(row, c + 19);
    m.pinned_at = r.OptInt(row, c + 20);
    m.pinned_by = r.OptStr(row, c + 21);
    m.pin_expires = r.OptInt(row, c + 22);
    m.reaction_groups_json = std::string(r.Str(row, c + 23));
    m.created_at = r.Int(row, c + 24);
    m.updated_at = r.Int(row, c + 25);
    m.deleted_at = r.OptInt(row, c + 26);
    m.message_text_updated_at = r.OptInt(row, c + 27);
    m.shared_location_json = r.OptStr(row, c + 28);
    m.poll_id = r.OptStr(row, c + 29);
    return m;
}

namespace messages {

namespace {
std::vector<MessageRow> ReadAll(const PgResult& r) {
    std::vector<MessageRow> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMessage(r, i, 0));
    return out;
}

// Everything a new message writes, in one statement (see Append): the channel's stamp and seqs
// (which lock its row), the message, its message.new event with the stamp and seq put in place of
// the template's tokens (common/json.h: kStoreStampToken, kStoreSeqToken; the time in clock.h's
// format), the sender's read state and the unhiding. The members' updates read `stamp`, so they
// run after the channel's row is locked: writers lock a channel before its members (a deadlock
// between two orders is retried, worker.cpp RunHandler). No ON CONFLICT: a taken id fails the
// whole statement, stamp included. One row when the channel exists: the first reserved seq, the
// message's columns, the event as logged.
const PgStatement kAppend{
    "message_append",
    "WITH t AS (SELECT date_trunc('milliseconds', clock_timestamp()) AS now), "
    "stamp AS (UPDATE channels SET "
    "  last_stamp = greatest(t.now, last_stamp + interval '1 millisecond'), "
    "  last_message_at = CASE WHEN $15 THEN greatest(t.now, last_stamp + interval '1 millisecond') "
    "                         ELSE last_message_at END, "
    "  event_seq = event_seq + $16 "
    "  FROM t WHERE pk = $2 RETURNING last_stamp, event_seq - $16 + 1 AS first_seq), "
    "ins AS (INSERT INTO messages (id, channel_pk, user_id, type, text, html, attachments, mentioned_users, "
    "  custom, parent_id, show_in_channel, quoted_message_id, silent, shadowed, shared_location, poll_id, "
    "  created_at, updated_at) "
    "  SELECT $1::text, $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::text[], $9::jsonb, "
    "         $10::text, $11::boolean, $12::text, $13::boolean, $14::boolean, $20::jsonb, $21::text, s.last_stamp, "
    "         s.last_stamp "
    "  FROM stamp s RETURNING *), "
    "ev AS (INSERT INTO channel_events (channel_pk, seq, type, payload) "
    "  SELECT $2, s.first_seq, 'message.new', "
    "         replace(replace($17::text, E'\\x01stamp\\x01', "
    "                         to_char(s.last_stamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')), "
    "                 E'\\x01seq\\x01', s.first_seq::text) "
    "  FROM stamp s RETURNING payload), "
    "rd AS (UPDATE members m SET last_read_at = s.last_stamp, last_read_message_id = $1 "
    "  FROM stamp s WHERE $18 AND m.channel_pk = $2 AND m.user_id = $3), "
    "uh AS (UPDATE members m SET hidden = false FROM stamp s WHERE $19 AND m.channel_pk = $2 AND m.hidden) "
    "SELECT s.first_seq, " SB_MESSAGE_COLUMNS
    ", ev.payload "
    " FROM stamp s JOIN ins msg ON true JOIN channels ch ON ch.pk = msg.channel_pk JOIN ev ON true"};
const PgStatement kFind{"message_find",
                        "SELECT " SB_MESSAGE_COLUMNS
                        " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk WHERE msg.id = $1"};
const PgStatement kLock{"message_lock",
                        "SELECT " SB_MESSAGE_COLUMNS
                        " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk WHERE msg.id = $1 "
                        "FOR UPDATE OF msg"};
const PgStatement kFindMany{"message_find_many",
                            "SELECT " SB_MESSAGE_COLUMNS
                            " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk "
                            "WHERE msg.id = ANY($1::text[])"};
const PgStatement kFindInChannel{"message_find_in_channel",
                                 "SELECT " SB_MESSAGE_COLUMNS
                                 " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk "
                                 "WHERE msg.channel_pk = $1 AND msg.id = ANY($2::text[]) "
                                 "ORDER BY msg.created_at, msg.pk"};

// Channel pages: messages_channel_all walks the channel in time order from the cursor, and the
// predicate leaves out thread-only replies as each row is fetched (sql/070).
#define SB_CHANNEL_PAGE(name, op, order)                                                                      \
    PgStatement {                                                                                             \
        name, "SELECT " SB_MESSAGE_COLUMNS " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk "   \
              "WHERE msg.channel_pk = $1 AND (msg.parent_id IS NULL OR msg.show_in_channel) "                \
              "AND ($2::bigint IS NULL OR msg.created_at > sb_time($2)) "                                     \
              "AND (msg.created_at, msg.pk) " op " (sb_time($3), $4) "                                        \
              "ORDER BY msg.created_at " order ", msg.pk " order " LIMIT $5"                                  \
    }
const PgStatement kPageBefore = SB_CHANNEL_PAGE("message_page_before", "<", "DESC");
const PgStatement kPageBeforeOrAt = SB_CHANNEL_PAGE("message_page_before_at", "<=", "DESC");
const PgStatement kPageAfter = SB_CHANNEL_PAGE("message_page_after", ">", "ASC");
const PgStatement kPageAtOrAfter = SB_CHANNEL_PAGE("message_page_at_after", ">=", "ASC");

#define SB_THREAD_PAGE(name, op, order)                                                                     \
    PgStatement {                                                                                           \
        name, "SELECT " SB_MESSAGE_COLUMNS " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk " \
              "WHERE msg.parent_id = $1 AND (msg.created_at, msg.pk) " op " (sb_time($2), $3) "            \
              "ORDER BY msg.created_at " order ", msg.pk " order " LIMIT $4"                                \
    }
const PgStatement kThreadBefore = SB_THREAD_PAGE("thread_page_before", "<", "DESC");
const PgStatement kThreadBeforeOrAt = SB_THREAD_PAGE("thread_page_before_at", "<=", "DESC");
const PgStatement kThreadAfter = SB_THREAD_PAGE("thread_page_after", ">", "ASC");
const PgStatement kThreadAtOrAfter = SB_THREAD_PAGE("thread_page_at_after", ">=", "ASC");

const PgStatement kLatestForChannels{
    "message_latest_for_channels",
    "SELECT " SB_MESSAGE_COLUMNS " FROM unnest($1::bigint[], $2::bigint[]) AS t(pk, after) "
    "JOIN channels ch ON ch.pk = t.pk "
    "CROSS JOIN LATERAL (SELECT * FROM messages x WHERE x.channel_pk = t.pk "
    "  AND (x.parent_id IS NULL OR x.show_in_channel) AND (t.after IS NULL OR x.created_at > sb_time(t.after)) "
    "  ORDER BY x.created_at DESC, x.pk DESC LIMIT $3) msg"};
const PgStatement kPinnedForChannels{
    "message_pinned_for_channels",
    "SELECT " SB_MESSAGE_COLUMNS " FROM unnest($1::bigint[]) AS t(pk) "
    "JOIN channels ch ON ch.pk = t.pk "
    "CROSS JOIN LATERAL (SELECT * FROM messages x WHERE x.channel_pk = t.pk AND x.pinned "
    "  AND (x.pin_expires IS NULL OR x.pin_expires > now()) AND x.type <> 'deleted' "
    "  AND (ch.truncated_at IS NULL OR x.created_at > ch.truncated_at) "
    "  ORDER BY x.pinned_at DESC LIMIT $2) msg"};
// $2 the visible-after point, $3-$5 the lower bound (time, pk, inclusive), $6-$8 the upper one;
// NULL times leave a side open. The partial index messages_pinned serves it.
#define SB_PINNED_PAGE(name, order)                                                                                \
    PgStatement {                                                                                                  \
        name, "SELECT " SB_MESSAGE_COLUMNS                                                                         \
              " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk "                                     \
              "WHERE msg.channel_pk = $1 AND msg.pinned AND (msg.pin_expires IS NULL OR msg.pin_expires > now()) " \
              "AND msg.type <> 'deleted' AND ($2::bigint IS NULL OR msg.created_at > sb_time($2)) "                \
              "AND ($3::bigint IS NULL OR (msg.pinned_at, msg.pk) > (sb_time($3), $4::bigint) "                    \
              "     OR ($5 AND (msg.pinned_at, msg.pk) = (sb_time($3), $4::bigint))) "                             \
              "AND ($6::bigint IS NULL OR (msg.pinned_at, msg.pk) < (sb_time($6), $7::bigint) "                    \
              "     OR ($8 AND (msg.pinned_at, msg.pk) = (sb_time($6), $7::bigint))) "                             \
              "ORDER BY msg.pinned_at " order ", msg.pk " order " LIMIT $9"                                        \
    }
const PgStatement kPinnedAscending = SB_PINNED_PAGE("message_pinned_page_asc", "ASC");
const PgStatement kPinnedDescending = SB_PINNED_PAGE("message_pinned_page_desc", "DESC");
#undef SB_PINNED_PAGE
const PgStatement kAddReply{
    "message_add_reply",
    "WITH up AS (UPDATE messages SET reply_count = reply_count + 1, "
    "  thread_participants = CASE WHEN $2 = ANY(thread_participants) THEN thread_participants "
    "                             ELSE array_append(thread_participants, $2) END, "
    "  updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond') "
    "  WHERE pk = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
const PgStatement kRemoveReply{
    "message_remove_reply",
    "WITH up AS (UPDATE messages SET "
    "  reply_count = CASE WHEN $2 THEN greatest(reply_count - 1, 0) ELSE reply_count END, "
    "  deleted_reply_count = CASE WHEN NOT $2 THEN deleted_reply_count + 1 "
    "                             WHEN $3 THEN greatest(deleted_reply_count - 1, 0) ELSE deleted_reply_count END, "
    "  updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond') "
    "  WHERE id = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
const PgStatement kUpdateSharedLocation{
    "message_update_shared_location",
    "WITH up AS (UPDATE messages SET shared_location = $2::jsonb, "
    "  updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond') "
    "  WHERE pk = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
const PgStatement kLiveLocations{
    "message_live_locations",
    "SELECT " SB_MESSAGE_COLUMNS
    " FROM messages msg JOIN channels ch ON ch.pk = msg.channel_pk "
    "WHERE msg.user_id = $1 AND msg.shared_location IS NOT NULL AND msg.deleted_at IS NULL "
    "AND (msg.shared_location ->> 'end_at')::timestamptz > now() ORDER BY msg.created_at DESC, msg.pk DESC LIMIT $2"};
// NULL parameters keep the column. message_text_updated_at moves only when the text changes.
const PgStatement kUpdate{
    "message_update",
    "WITH up AS (UPDATE messages m SET "
    "  message_text_updated_at = CASE WHEN $2::text IS NOT NULL AND $2 <> m.text THEN clock_timestamp() "
    "                                 ELSE m.message_text_updated_at END, "
    "  text = coalesce($2, m.text), html = coalesce($3, m.html), "
    "  attachments = coalesce($4::jsonb, m.attachments), "
    "  mentioned_users = coalesce($5::text[], m.mentioned_users), "
    "  quoted_message_id = CASE WHEN $6 THEN $7 ELSE m.quoted_message_id END, "
    "  silent = coalesce($8, m.silent), "
    "  custom = (coalesce($9::jsonb, m.custom) || $10::jsonb) - $11::text[], "
    "  pinned = coalesce($12, m.pinned), "
    "  pinned_at = CASE WHEN $12::boolean IS NULL THEN m.pinned_at WHEN $12 THEN coalesce(m.pinned_at, now()) END, "
    "  pinned_by = CASE WHEN $12::boolean IS NULL THEN m.pinned_by WHEN $12 THEN coalesce($13, m.pinned_by) END, "
    "  pin_expires = CASE WHEN $14 THEN sb_time($15) WHEN $12 = false THEN NULL ELSE m.pin_expires END, "
    "  show_in_channel = coalesce($16, m.show_in_channel), "
    "  updated_at = greatest(clock_timestamp(), m.updated_at + interval '1 microsecond') "
    "  WHERE pk = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
const PgStatement kSoftDelete{
    "message_soft_delete",
    "WITH up AS (UPDATE messages SET type = 'deleted', text = '', html = '', attachments = '[]', "
    "  mentioned_users = '{}', deleted_at = clock_timestamp(), "
    "  updated_at = greatest(clock_timestamp(), updated_at + interval '1 microsecond') "
    "  WHERE pk = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
const PgStatement kHardDelete{"message_hard_delete", "DELETE FROM messages WHERE pk = $1"};
const PgStatement kLastSentBy{"message_last_sent_by",
                              "SELECT sb_micros(max(created_at)) FROM messages "
                              "WHERE channel_pk = $1 AND user_id = $2 AND created_at > now() - interval '1 day'"};

MessageRow One(const PgResult& r) {
    if (r.empty()) throw NotFound("message does not exist");
    return ReadMessage(r, 0, 0);
}
}  // namespace

Bound Bound::Newest() {
    Bound b;
    b.kind = Kind::kBefore;
    b.created_at = 9000000000000000;  // far beyond any real time
    b.pk = std::numeric_limits<int64_t>::max();
    return b;
}

MessageRow UpdateSharedLocation(Pg& db, int64_t pk, const std::string& location_json) {
    PgResult r = db.Run(kUpdateSharedLocation, PgParams().Add(pk).Add(location_json));
    if (r.empty()) throw NotFound("message does not exist");
    return ReadMessage(r, 0, 0);
}

std::vector<MessageRow> LiveLocations(Pg& db, std::string_view user_id, int limit) {
    return ReadAll(db.Run(kLiveLocations, PgParams().Add(user_id).Add(limit)));
}

std::optional<Appended> Append(Pg& db, const MessageRow& m, const AppendWrites& writes) {
    PgParams p;
    p.Add(m.id).Add(m.channel_pk).Add(m.user_id).Add(m.type).Add(m.text).Add(m.html).Add(m.attachments_json);
    p.AddArray(m.mentioned_users).Add(m.custom_json).Add(m.parent_id).Add(m.show_in_channel).Add(m.quoted_message_id);
    p.Add(m.silent).Add(m.shadowed).Add(writes.shown_in_channel).Add(writes.events).Add(writes.event_template);
    p.Add(writes.mark_read).Add(writes.unhide).Add(m.shared_location_json).Add(m.poll_id);
    try {
        PgResult r = db.Run(kAppend, p);
        if (r.empty()) throw NotFound("channel does not exist");
        constexpr int kEventColumn = 1 + kMessageColumnCount;
        return Appended{ReadMessage(r, 0, 1), r.Int(0, 0), std::string(r.Str(0, kEventColumn))};
    } catch (const PgError& e) {
        // The one unique key a client's input can hit.
        if (e.IsUniqueViolation() && std::string_view(e.what()).find("messages_id_key") != std::string_view::npos)
            return std::nullopt;
        // A poll sent twice at the same moment: the second send finds it sent.
        if (e.IsUniqueViolation() && std::string_view(e.what()).find("messages_poll") != std::string_view::npos)
            throw BadRequest("poll " + m.poll_id.value_or("") + " was sent already", "message.poll_id");
        if (e.sqlstate() == "23503" &&
            std::string_view(e.what()).find("messages_poll_id_fkey") != std::string_view::npos)
            throw BadRequest("poll " + m.poll_id.value_or("") + " does not exist", "message.poll_id");
        throw;
    }
}

std::optional<MessageRow> Find(Pg& db, std::string_view id) {
    PgResult r = db.Run(kFind, PgParams().Add(id));
    if (r.empty()) return std::nullopt;
    return ReadMessage(r, 0, 0);
}

std::optional<MessageRow> Lock(Pg& db, std::string_view id) {
    PgResult r = db.Run(kLock, PgParams().Add(id));
    if (r.empty()) return std::nullopt;
    return ReadMessage(r, 0, 0);
}

void FindMany(PgBatch& batch, const std::vector<std::string>& ids, std::vector<MessageRow>& into) {
    if (ids.empty()) return;
    batch.Add(kFindMany, PgParams().AddArray(ids), [&into](const PgResult& r) { into = ReadAll(r); });
}

std::vector<MessageRow> FindInChannel(Pg& db, int64_t channel_pk, const std::vector<std::string>& ids) {
    if (ids.empty()) return {};
    return ReadAll(db.Run(kFindInChannel, PgParams().Add(channel_pk).AddArray(ids)));
}

namespace {
// Pages are fetched toward the cursor's side and returned ascending.
std::vector<MessageRow> Ascending(std::vector<MessageRow> rows, bool fetched_descending) {
    if (fetched_descending) std::reverse(rows.begin(), rows.end());
    return rows;
}
}  // namespace

void ChannelPage(PgBatch& batch, int64_t channel_pk, std::optional<int64_t> visible_after, const Bound& b,
                 int limit, std::vector<MessageRow>& into) {
    const PgStatement* s = nullptr;
    bool descending = false;
    switch (b.kind) {
        case Bound::Kind::kBefore: s = &kPageBefore; descending = true; break;
        case Bound::Kind::kBeforeOrAt: s = &kPageBeforeOrAt; descending = true; break;
        case Bound::Kind::kAfter: s = &kPageAfter; break;
        case Bound::Kind::kAtOrAfter: s = &kPageAtOrAfter; break;
    }
    PgParams p;
    p.Add(channel_pk).Add(visible_after).Add(b.created_at).Add(b.pk).Add(limit);
    batch.Add(*s, std::move(p), [&into, descending](const PgResult& r) { into = Ascending(ReadAll(r), descending); });
}

std::vector<MessageRow> ThreadPage(Pg& db, std::string_view parent_id, const Bound& b, int limit) {
    const PgStatement* s = nullptr;
    bool descending = false;
    switch (b.kind) {
        case Bound::Kind::kBefore: s = &kThreadBefore; descending = true; break;
        case Bound::Kind::kBeforeOrAt: s = &kThreadBeforeOrAt; descending = true; break;
        case Bound::Kind::kAfter: s = &kThreadAfter; break;
        case Bound::Kind::kAtOrAfter: s = &kThreadAtOrAfter; break;
    }
    return Ascending(ReadAll(db.Run(*s, PgParams().Add(parent_id).Add(b.created_at).Add(b.pk).Add(limit))), descending);
}

void LatestForChannels(PgBatch& batch, const std::vector<std::pair<int64_t, std::optional<int64_t>>>& channels,
                       int limit, std::vector<MessageRow>& into) {
    if (channels.empty()) return;
    std::string pks = "{", afters = "{";
    for (size_t i = 0; i < channels.size(); ++i) {
        if (i > 0) {
            pks += ',';
            afters += ',';
        }
        pks += std::to_string(channels[i].first);
        afters += channels[i].second ? std::to_string(*channels[i].second) : "NULL";
    }
    pks += '}';
    afters += '}';
    // Ordered here rather than in SQL: PostgreSQL sorted the wide rows by columns that follow
    // variable-length ones, locating them again in every comparison (nocachegetattr), a tenth of
    // the statement's time for 10 channels.
    batch.Add(kLatestForChannels, PgParams().Add(pks).Add(afters).Add(limit), [&into](const PgResult& r) {
        into = ReadAll(r);
        std::sort(into.begin(), into.end(), [](const MessageRow& a, const MessageRow& b) {
            return std::tie(a.channel_pk, a.created_at, a.pk) < std::tie(b.channel_pk, b.created_at, b.pk);
        });
    });
}

void PinnedForChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, int limit,
                       std::vector<MessageRow>& into) {
    if (channel_pks.empty()) return;
    batch.Add(kPinnedForChannels, PgParams().AddArray(channel_pks).Add(limit),
              [&into](const PgResult& r) { into = ReadAll(r); });
}

std::vector<MessageRow> PinnedPage(Pg& db, int64_t channel_pk, std::optional<int64_t> visible_after,
                                   const std::optional<PinBound>& after, const std::optional<PinBound>& before,
                                   bool ascending, int limit) {
    PgParams p;
    p.Add(channel_pk).Add(visible_after);
    for (const auto* bound : {&after, &before}) {
        if (*bound) {
            p.Add((*bound)->pinned_at).Add((*bound)->pk).Add((*bound)->inclusive);
        } else {
            p.AddNull().AddNull().Add(false);
        }
    }
    p.Add(limit);
    PgResult r = db.Run(ascending ? kPinnedAscending : kPinnedDescending, p);
    std::vector<MessageRow> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMessage(r, i, 0));
    return out;
}

MessageRow AddReply(Pg& db, int64_t parent_pk, std::string_view replier) {
    return One(db.Run(kAddReply, PgParams().Add(parent_pk).Add(replier)));
}

std::optional<MessageRow> RemoveReply(Pg& db, std::string_view parent_id, bool hard, bool was_soft_deleted) {
    PgResult r = db.Run(kRemoveReply, PgParams().Add(parent_id).Add(hard).Add(was_soft_deleted));
    if (r.empty()) return std::nullopt;
    return ReadMessage(r, 0, 0);
}

MessageRow Update(Pg& db, int64_t pk, const Edit& e) {
    PgParams p;
    p.Add(pk).Add(e.text).Add(e.html).Add(e.attachments_json);
    if (e.mentioned_users) {
        p.AddArray(*e.mentioned_users);
    } else {
        p.AddNull();
    }
    p.Add(e.quoted_message_id.has_value()).Add(e.quoted_message_id.value_or(std::nullopt));
    e.silent ? p.Add(*e.silent) : p.AddNull();
    p.Add(e.custom_json).Add(e.custom_set_json).AddArray(e.custom_unset);
    e.pinned ? p.Add(*e.pinned) : p.AddNull();
    p.Add(e.pinned_by);
    p.Add(e.pin_expires.has_value()).Add(e.pin_expires.value_or(std::nullopt));
    e.show_in_channel ? p.Add(*e.show_in_channel) : p.AddNull();
    return One(db.Run(kUpdate, p));
}

MessageRow SoftDelete(Pg& db, int64_t pk) { return One(db.Run(kSoftDelete, PgParams().Add(pk))); }

void HardDelete(Pg& db, int64_t pk) { db.Run(kHardDelete, PgParams().Add(pk)); }

std::optional<int64_t> LastSentBy(Pg& db, int64_t channel_pk, std::string_view user_id) {
    PgResult r = db.Run(kLastSentBy, PgParams().Add(channel_pk).Add(user_id));
    return r.OptInt(0, 0);
}

}  // namespace messages

namespace reactions {

namespace {
#define SB_REACTION_COLUMNS                                                                             \
    "r.message_pk, mm.id, r.user_id, r.type, r.score, r.custom::text, sb_micros(r.created_at), "       \
    "sb_micros(r.updated_at)"

ReactionRow ReadReaction(const PgResult& r, int row) {
    ReactionRow x;
    x.message_pk = r.Int(row, 0);
    x.message_id = std::string(r.Str(row, 1));
    x.user_id = std::string(r.Str(row, 2));
    x.type = std::string(r.Str(row, 3));
    x.score = static_cast<int>(r.Int(row, 4));
    x.custom_json = std::string(r.Str(row, 5));
    x.created_at = r.Int(row, 6);
    x.updated_at = r.Int(row, 7);
    return x;
}

std::vector<ReactionRow> ReadAll(const PgResult& r) {
    std::vector<ReactionRow> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadReaction(r, i));
    return out;
}

const PgStatement kLatest{
    "reaction_latest",
    "SELECT " SB_REACTION_COLUMNS " FROM unnest($1::bigint[]) AS t(pk) JOIN messages mm ON mm.pk = t.pk "
    "CROSS JOIN LATERAL (SELECT * FROM reactions x WHERE x.message_pk = t.pk "
    "                    ORDER BY x.created_at DESC LIMIT $2) r"};
const PgStatement kOwn{"reaction_own",
                       "SELECT " SB_REACTION_COLUMNS " FROM reactions r JOIN messages mm ON mm.pk = r.message_pk "
                       "WHERE r.message_pk = ANY($1::bigint[]) AND r.user_id = $2 ORDER BY r.created_at DESC"};
const PgStatement kLockForReactions{"reaction_lock_message", "SELECT 1 FROM messages WHERE pk = $1 FOR NO KEY UPDATE"};
const PgStatement kRemoveOthers{"reaction_remove_others",
                                "DELETE FROM reactions WHERE message_pk = $1 AND user_id = $2 AND type <> $3 "
                                "RETURNING type"};
const PgStatement kUpsert{
    "reaction_upsert",
    "WITH up AS (INSERT INTO reactions AS r (message_pk, user_id, type, score, custom) "
    "  VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (message_pk, user_id, type) DO UPDATE SET "
    "  score = EXCLUDED.score, custom = EXCLUDED.custom, updated_at = now() "
    "  RETURNING r.*, (xmax <> 0) AS existed) "
    "SELECT " SB_REACTION_COLUMNS ", r.existed FROM up r JOIN messages mm ON mm.pk = r.message_pk"};
const PgStatement kRemove{
    "reaction_remove",
    "WITH del AS (DELETE FROM reactions WHERE message_pk = $1 AND user_id = $2 AND type = $3 RETURNING *) "
    "SELECT " SB_REACTION_COLUMNS " FROM del r JOIN messages mm ON mm.pk = r.message_pk"};
const PgStatement kList{"reaction_list",
                        "SELECT " SB_REACTION_COLUMNS " FROM reactions r JOIN messages mm ON mm.pk = r.message_pk "
                        "WHERE r.message_pk = $1 AND ($2::text IS NULL OR r.type = $2) "
                        "AND ($3::text IS NULL OR r.user_id = $3) "
                        "ORDER BY r.created_at DESC, r.user_id LIMIT $4 OFFSET $5"};
// reaction_groups as getstream.io returns them; times in the one wire format (clock.h).
const PgStatement kRefreshGroups{
    "reaction_refresh_groups",
    "WITH up AS (UPDATE messages m SET reaction_groups = coalesce((SELECT jsonb_object_agg(g.type, jsonb_build_object("
    "    'count', g.n, 'sum_scores', g.s, "
    "    'first_reaction_at', to_char(g.first AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "    'last_reaction_at', to_char(g.last AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))) "
    "  FROM (SELECT type, count(*) AS n, sum(score) AS s, min(created_at) AS first, max(updated_at) AS last "
    "        FROM reactions WHERE message_pk = m.pk GROUP BY type) g), '{}'::jsonb), "
    "  updated_at = greatest(clock_timestamp(), m.updated_at + interval '1 microsecond') "
    "  WHERE m.pk = $1 RETURNING *) "
    "SELECT " SB_MESSAGE_COLUMNS " FROM up msg JOIN channels ch ON ch.pk = msg.channel_pk"};
}  // namespace

void Latest(PgBatch& batch, const std::vector<int64_t>& message_pks, int per_message, std::vector<ReactionRow>& into) {
    if (message_pks.empty()) return;
    batch.Add(kLatest, PgParams().AddArray(message_pks).Add(per_message),
              [&into](const PgResult& r) { into = ReadAll(r); });
}

void Own(PgBatch& batch, const std::vector<int64_t>& message_pks, std::string_view user_id,
         std::vector<ReactionRow>& into) {
    if (message_pks.empty() || user_id.empty()) return;
    batch.Add(kOwn, PgParams().AddArray(message_pks).Add(user_id),
              [&into](const PgResult& r) { into = ReadAll(r); });
}

void Upsert(PgBatch& batch, int64_t message_pk, std::string_view user_id, std::string_view type, int score,
            const std::string& custom_json, bool enforce_unique, Upserted& into) {
    into.replaced = false;
    batch.Add(kLockForReactions, PgParams().Add(message_pk), [](const PgResult&) {});
    if (enforce_unique) {
        batch.Add(kRemoveOthers, PgParams().Add(message_pk).Add(user_id).Add(type),
                  [&into](const PgResult& r) { into.replaced = into.replaced || !r.empty(); });
    }
    batch.Add(kUpsert, PgParams().Add(message_pk).Add(user_id).Add(type).Add(score).Add(custom_json),
              [&into](const PgResult& r) {
                  into.reaction = ReadReaction(r, 0);
                  into.replaced = into.replaced || r.Bool(0, 8);
              });
}

void Remove(PgBatch& batch, int64_t message_pk, std::string_view user_id, std::string_view type,
            std::optional<ReactionRow>& into) {
    batch.Add(kLockForReactions, PgParams().Add(message_pk), [](const PgResult&) {});
    batch.Add(kRemove, PgParams().Add(message_pk).Add(user_id).Add(type), [&into](const PgResult& r) {
        if (r.empty())
            into.reset();
        else
            into = ReadReaction(r, 0);
    });
}

std::vector<ReactionRow> List(Pg& db, int64_t message_pk, const std::optional<std::string>& type,
                              const std::optional<std::string>& user_id, int limit, int offset) {
    return ReadAll(db.Run(kList, PgParams().Add(message_pk).Add(type).Add(user_id).Add(limit).Add(offset)));
}

void RefreshGroups(PgBatch& batch, int64_t message_pk, MessageRow& into) {
    batch.Add(kRefreshGroups, PgParams().Add(message_pk), [&into](const PgResult& r) {
        if (r.empty()) throw NotFound("message does not exist");
        into = ReadMessage(r, 0, 0);
    });
}

}  // namespace reactions

}  // namespace streambed
