#include "fcgi-app/store/channels.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

#include <rapidjson/document.h>

#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/unread.h"

namespace streambed {

ChannelRow ReadChannel(const PgResult& r, int row, int c) {
    ChannelRow ch;
    ch.pk = r.Int(row, c + 0);
    ch.cid = std::string(r.Str(row, c + 1));
    ch.type = std::string(r.Str(row, c + 2));
    ch.id = std::string(r.Str(row, c + 3));
    ch.name = r.OptStr(row, c + 4);
    ch.image = r.OptStr(row, c + 5);
    ch.custom_json = std::string(r.Str(row, c + 6));
    ch.team = r.OptStr(row, c + 7);
    ch.created_by = r.OptStr(row, c + 8);
    ch.frozen = r.Bool(row, c + 9);
    ch.disabled = r.Bool(row, c + 10);
    ch.cooldown = static_cast<int>(r.Int(row, c + 11));
    ch.member_count = static_cast<int>(r.Int(row, c + 12));
    ch.last_message_at = r.OptInt(row, c + 13);
    ch.truncated_at = r.OptInt(row, c + 14);
    ch.event_seq = r.Int(row, c + 15);
    ch.created_at = r.Int(row, c + 16);
    ch.updated_at = r.Int(row, c + 17);
    return ch;
}

std::optional<MemberRow> ReadMember(const PgResult& r, int row, int c) {
    if (r.IsNull(row, c + 1)) return std::nullopt;
    MemberRow m;
    m.channel_pk = r.Int(row, c + 0);
    m.user_id = std::string(r.Str(row, c + 1));
    m.channel_role = std::string(r.Str(row, c + 2));
    m.invited = r.Bool(row, c + 3);
    m.invite_accepted_at = r.OptInt(row, c + 4);
    m.invite_rejected_at = r.OptInt(row, c + 5);
    m.notifications_muted = r.Bool(row, c + 6);
    m.hidden = r.Bool(row, c + 7);
    m.history_cleared_at = r.OptInt(row, c + 8);
    m.pinned_at = r.OptInt(row, c + 9);
    m.archived_at = r.OptInt(row, c + 10);
    m.last_read_at = r.Int(row, c + 11);
    m.last_read_message_id = r.OptStr(row, c + 12);
    m.created_at = r.Int(row, c + 13);
    m.updated_at = r.Int(row, c + 14);
    m.banned = r.Bool(row, c + 15);
    m.shadow_banned = r.Bool(row, c + 16);
    m.ban_expires = r.OptInt(row, c + 17);
    m.last_delivered_at = r.OptInt(row, c + 18);
    m.last_delivered_message_id = r.OptStr(row, c + 19);
    return m;
}

// The messages that count as unread (sql/060_unread_index.sql repeats this predicate, so that its
// index serves every count): not thread-only replies, not silent, shadowed or deleted, not system
// or error messages.
#define SB_COUNTABLE_MESSAGE                                                                          \
    "(u.parent_id IS NULL OR u.show_in_channel) AND NOT u.silent AND NOT u.shadowed "               \
    "AND u.type NOT IN ('deleted', 'system', 'error', 'ephemeral')"

// Where member `m`'s unread messages begin (micros, exclusive): after its last read, its cleared
// history and the channel's truncation.
#define SB_READ_UNTIL "greatest(m.last_read_at, m.history_cleared_at, c.truncated_at)"

// Unread messages of member `m`: countable messages after SB_READ_UNTIL that are not its own and
// not from users it muted, up to unread::kMaxCount (255). Every message is stamped with its
// channel's last_stamp of the moment (messages::Append) and keeps that time, so a member whose
// read point is at or past the channel's last_stamp has nothing unread, and the count, an index
// walk per channel, is skipped: a user in 200 channels marking one of them read counted all 200,
// 2.7 ms a call, though nearly all were read. The muted users are read once per member, as an array
// (an InitPlan), not probed once per message: as an anti-join, the probe cost 1 us a message even
// with no mutes at all, and a user with 520 unread in each of 2 channels took 2.3 ms to connect
// instead of 0.28.
#define SB_UNREAD_COUNT                                                                                \
    "(CASE WHEN c.last_stamp <= " SB_READ_UNTIL " THEN 0 ELSE "                                        \
    "(SELECT count(*) FROM (SELECT 1 FROM messages u WHERE u.channel_pk = m.channel_pk "               \
    "  AND u.created_at > " SB_READ_UNTIL " AND u.user_id <> m.user_id AND " SB_COUNTABLE_MESSAGE      \
    "  AND u.user_id <> ALL (ARRAY(SELECT um.target_id FROM user_mutes um WHERE um.user_id = m.user_id)) " \
    "  LIMIT 255) unread) END)"
static_assert(unread::kMaxCount == 255, "SB_UNREAD_COUNT's LIMIT 255 repeats unread::kMaxCount: change both");

// For a page of members, what unread::Count needs besides the channel's window: where each
// member's count begins, and the users it muted (a JSON array, or NULL for none).
#define SB_UNREAD_INPUTS                                                                               \
    "sb_micros(" SB_READ_UNTIL "), "                                                                  \
    "(SELECT array_to_json(array_agg(um.target_id))::text FROM user_mutes um WHERE um.user_id = m.user_id)"

namespace channels {

namespace {

#define SB_TYPE_COLUMNS "name, policy, config::text, sb_micros(created_at), sb_micros(updated_at)"
const PgStatement kTypes{"channel_types_all", "SELECT " SB_TYPE_COLUMNS " FROM channel_types"};
// A new type starts from messaging's settings (the members-only policy), with `$2` over them.
const PgStatement kCreateType{"channel_type_create",
                              "INSERT INTO channel_types (name, policy, config) "
                              "VALUES ($1, 'members', coalesce((SELECT config FROM channel_types "
                              "WHERE name = 'messaging'), '{}'::jsonb) || $2::jsonb) "
                              "ON CONFLICT DO NOTHING RETURNING " SB_TYPE_COLUMNS};
const PgStatement kUpdateType{"channel_type_update",
                              "UPDATE channel_types SET config = config || $2::jsonb, updated_at = now() "
                              "WHERE name = $1 RETURNING " SB_TYPE_COLUMNS};
#undef SB_TYPE_COLUMNS

bool Flag(const rapidjson::Document& d, const char* key, bool fallback) {
    auto it = d.FindMember(key);
    return (it != d.MemberEnd() && it->value.IsBool()) ? it->value.GetBool() : fallback;
}

ChannelTypeRow ReadType(const PgResult& r, int i) {
    ChannelTypeRow t;
    t.name = std::string(r.Str(i, 0));
    t.policy = std::string(r.Str(i, 1));
    t.config_json = std::string(r.Str(i, 2));
    t.created_at = r.Int(i, 3);
    t.updated_at = r.Int(i, 4);
    rapidjson::Document d;
    d.Parse(t.config_json.c_str());
    if (d.IsObject()) {
        for (const auto& flag : kChannelTypeFlags) t.*flag.field = Flag(d, flag.key, flag.fallback);
        auto len = d.FindMember("max_message_length");
        if (len != d.MemberEnd() && len->value.IsInt()) t.max_message_length = len->value.GetInt();
    }
    return t;
}

// Per process (workers are single-threaded). A change made through another worker shows here
// within kTypeCacheSeconds; a name not in the cache is looked up again at once, so a type just
// created works on every worker straight away (a request naming an unknown type costs one small
// query, under the rate limits as every request is).
constexpr int64_t kTypeCacheSeconds = 5;
struct TypeCache {
    std::map<std::string, ChannelTypeRow, std::less<>> types;
    int64_t loaded_at = 0;

    // Rows are updated in place and never dropped (types cannot be deleted: channels refer to
    // them), so a pointer FindType handed out earlier in a request stays valid across a reload.
    void Load(Pg& db) {
        PgResult r = db.Run(kTypes);
        for (int i = 0; i < r.rows(); ++i) {
            ChannelTypeRow t = ReadType(r, i);
            auto it = types.find(t.name);
            if (it == types.end()) {
                types.emplace(t.name, std::move(t));
            } else {
                it->second = std::move(t);
            }
        }
        loaded_at = NowSeconds();
    }
    void Fresh(Pg& db) {
        if (types.empty() || NowSeconds() - loaded_at >= kTypeCacheSeconds) Load(db);
    }
};
TypeCache& Types() {
    static TypeCache cache;
    return cache;
}

}  // namespace

const ChannelTypeRow* FindType(Pg& db, std::string_view name, bool fresh) {
    TypeCache& cache = Types();
    fresh ? cache.Load(db) : cache.Fresh(db);
    auto it = cache.types.find(name);
    if (it == cache.types.end() && !fresh) {
        cache.Load(db);
        it = cache.types.find(name);
    }
    return it == cache.types.end() ? nullptr : &it->second;
}

std::vector<ChannelTypeRow> AllTypes(Pg& db) {
    TypeCache& cache = Types();
    cache.Load(db);
    std::vector<ChannelTypeRow> out;
    for (const auto& [name, type] : cache.types) out.push_back(type);
    return out;
}

std::vector<std::string> DeliveryEventTypes(Pg& db) {
    TypeCache& cache = Types();
    cache.Fresh(db);
    std::vector<std::string> out;
    for (const auto& [name, type] : cache.types)
        if (type.delivery_events) out.push_back(name);
    return out;
}

std::optional<ChannelTypeRow> CreateType(Pg& db, std::string_view name, const std::string& config_json) {
    PgResult r = db.Run(kCreateType, PgParams().Add(name).Add(config_json));
    if (r.empty()) return std::nullopt;
    Types().Load(db);
    return ReadType(r, 0);
}

std::optional<ChannelTypeRow> UpdateType(Pg& db, std::string_view name, const std::string& config_json) {
    PgResult r = db.Run(kUpdateType, PgParams().Add(name).Add(config_json));
    if (r.empty()) return std::nullopt;
    Types().Load(db);
    return ReadType(r, 0);
}

namespace {
// A channel with the membership and ban of the user bound to $2, for the channel `where` selects.
#define SB_CHANNEL_VIEW(where)                                                             \
    "SELECT " SB_CHANNEL_COLUMNS ", " SB_MEMBER_COLUMNS ", "                               \
    "  EXISTS (SELECT 1 FROM channel_bans x WHERE x.channel_pk = c.pk AND x.user_id = $2 " \
    "          AND (x.expires IS NULL OR x.expires > now())) "                             \
    "FROM channels c " SB_JOIN_OWN_MEMBER("m", "$2")                                       \
    "LEFT JOIN channel_bans b ON b.channel_pk = c.pk AND b.user_id = m.user_id "           \
    "WHERE " where
const PgStatement kFindView{"channel_find_view", SB_CHANNEL_VIEW("c.cid = $1")};
const PgStatement kFindViewByPk{"channel_find_view_pk", SB_CHANNEL_VIEW("c.pk = $1")};
const PgStatement kFindViewOfMessage{"channel_find_view_of_message",
                                     SB_CHANNEL_VIEW("c.pk = (SELECT channel_pk FROM messages WHERE id = $1)")};
#undef SB_CHANNEL_VIEW
const PgStatement kFind{"channel_find", "SELECT " SB_CHANNEL_COLUMNS " FROM channels c WHERE c.cid = $1"};
const PgStatement kLock{"channel_lock", "SELECT " SB_CHANNEL_COLUMNS " FROM channels c WHERE c.pk = $1 FOR UPDATE"};
const PgStatement kCreate{
    "channel_create",
    "INSERT INTO channels AS c (cid, type, id, created_by, name, image, custom, team, distinct_members) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::text[]) "
    "ON CONFLICT DO NOTHING RETURNING " SB_CHANNEL_COLUMNS};
const PgStatement kFindDistinct{"channel_find_distinct",
                                "SELECT " SB_CHANNEL_COLUMNS
                                " FROM channels c WHERE c.type = $1 AND c.distinct_members = $2::text[]"};
const PgStatement kReserveSeq{"channel_reserve_seq",
                              "UPDATE channels SET event_seq = event_seq + $2 WHERE pk = $1 "
                              "RETURNING event_seq - $2 + 1"};
// Locked first, in pk order, so that two callers locking overlapping sets cannot deadlock.
const PgStatement kReserveSeqs{"channel_reserve_seqs",
                               "WITH locked AS (SELECT pk FROM channels WHERE pk = ANY($1::bigint[]) "
                               "                ORDER BY pk FOR UPDATE) "
                               "UPDATE channels c SET event_seq = c.event_seq + 1 FROM locked WHERE c.pk = locked.pk "
                               "RETURNING c.pk, c.event_seq"};
// $1 channel pk, $2 after seq, $3 after time (micros or NULL), $4 limit.
const PgStatement kEventsSince{"channel_events_since",
                               "SELECT seq, payload FROM channel_events WHERE channel_pk = $1 AND seq > $2 "
                               "AND ($3::bigint IS NULL OR created_at > sb_time($3)) ORDER BY seq LIMIT $4"};
const PgStatement kUpdate{
    "channel_update",
    "UPDATE channels c SET "
    "  name = CASE WHEN $2 THEN $3 ELSE name END, "
    "  image = CASE WHEN $4 THEN $5 ELSE image END, "
    "  team = CASE WHEN $6 THEN $7 ELSE team END, "
    "  frozen = coalesce($8, frozen), disabled = coalesce($9, disabled), cooldown = coalesce($10, cooldown), "
    "  custom = CASE WHEN $11 THEN $12::jsonb ELSE (custom || $12::jsonb) - $13::text[] END, "
    "  updated_at = now() "
    "WHERE pk = $1 RETURNING " SB_CHANNEL_COLUMNS};
const PgStatement kDelete{"channel_delete", "DELETE FROM channels WHERE pk = $1"};
const PgStatement kTruncate{"channel_truncate",
                            "UPDATE channels c SET truncated_at = sb_time($2), updated_at = now() "
                            "WHERE pk = $1 RETURNING " SB_CHANNEL_COLUMNS};
const PgStatement kHardTruncate{"channel_truncate_hard",
                                "DELETE FROM messages WHERE channel_pk = $1 AND created_at <= sb_time($2)"};

ChannelView ReadView(const PgResult& r, int row = 0) {
    ChannelView v;
    v.channel = ReadChannel(r, row, 0);
    v.membership = ReadMember(r, row, kChannelColumnCount);
    v.banned = r.Bool(row, kChannelColumnCount + kMemberColumnCount);
    if (v.membership) v.membership->banned = v.banned;
    return v;
}
}  // namespace

std::optional<ChannelView> FindView(Pg& db, std::string_view cid, std::string_view user_id) {
    return RunAlone<std::optional<ChannelView>>(db, [&](PgBatch& b, auto& into) { FindView(b, cid, user_id, into); });
}

void FindView(PgBatch& batch, std::string_view cid, std::string_view user_id, std::optional<ChannelView>& into) {
    batch.Add(kFindView, PgParams().Add(cid).Add(user_id), [&into](const PgResult& r) {
        into = r.empty() ? std::nullopt : std::optional<ChannelView>(ReadView(r));
    });
}

std::optional<ChannelView> FindViewByPk(Pg& db, int64_t pk, std::string_view user_id) {
    PgResult r = db.Run(kFindViewByPk, PgParams().Add(pk).Add(user_id));
    if (r.empty()) return std::nullopt;
    return ReadView(r);
}

void FindViewOfMessage(PgBatch& batch, std::string_view message_id, std::string_view user_id,
                       std::optional<ChannelView>& into) {
    batch.Add(kFindViewOfMessage, PgParams().Add(message_id).Add(user_id), [&into](const PgResult& r) {
        into = r.empty() ? std::nullopt : std::optional<ChannelView>(ReadView(r));
    });
}

std::vector<ChannelView> FindViewsSelected(Pg& db, const std::string& pks_sql, const PgParams& params) {
    std::string sql = "SELECT " SB_CHANNEL_COLUMNS ", " SB_MEMBER_COLUMNS ", "
                      "  EXISTS (SELECT 1 FROM channel_bans x WHERE x.channel_pk = c.pk AND x.user_id = $1 "
                      "          AND (x.expires IS NULL OR x.expires > now())) "
                      "FROM unnest(ARRAY(" + pks_sql + ")) WITH ORDINALITY AS t(pk, n) "
                      "JOIN channels c ON c.pk = t.pk "
                      SB_JOIN_OWN_MEMBER("m", "$1")
                      "LEFT JOIN channel_bans b ON b.channel_pk = c.pk AND b.user_id = m.user_id "
                      "ORDER BY t.n";
    PgResult r = db.RunDynamic(sql, params);
    std::vector<ChannelView> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadView(r, i));
    return out;
}

std::optional<ChannelRow> Find(Pg& db, std::string_view cid) {
    PgResult r = db.Run(kFind, PgParams().Add(cid));
    if (r.empty()) return std::nullopt;
    return ReadChannel(r, 0, 0);
}

std::pair<ChannelRow, bool> Create(Pg& db, const NewChannel& n) {
    PgParams p;
    p.Add(n.type + ":" + n.id).Add(n.type).Add(n.id).Add(n.created_by).Add(n.name).Add(n.image).Add(n.custom_json).Add(
        n.team);
    if (n.distinct_members) {
        p.AddArray(*n.distinct_members);
    } else {
        p.AddNull();
    }
    PgResult r = db.Run(kCreate, p);
    if (!r.empty()) return {ReadChannel(r, 0, 0), true};
    // Someone created it first (same cid or same distinct member set): use theirs.
    if (n.distinct_members) {
        if (auto existing = FindDistinct(db, n.type, *n.distinct_members)) return {*existing, false};
    }
    auto existing = Find(db, n.type + ":" + n.id);
    if (!existing) throw ApiError(409, code::kInputError, "the channel was created and deleted concurrently, retry");
    return {*existing, false};
}

std::optional<ChannelRow> FindDistinct(Pg& db, std::string_view type, const std::vector<std::string>& members) {
    PgResult r = db.Run(kFindDistinct, PgParams().Add(type).AddArray(members));
    if (r.empty()) return std::nullopt;
    return ReadChannel(r, 0, 0);
}

std::optional<ChannelRow> Lock(Pg& db, int64_t pk) {
    PgResult r = db.Run(kLock, PgParams().Add(pk));
    if (r.empty()) return std::nullopt;
    return ReadChannel(r, 0, 0);
}

void ReserveEventSeq(PgBatch& batch, int64_t channel_pk, int events, int64_t& first) {
    batch.Add(kReserveSeq, PgParams().Add(channel_pk).Add(events), [&first](const PgResult& r) {
        if (r.empty()) throw NotFound("channel does not exist");
        first = r.Int(0, 0);
    });
}

int64_t ReserveEventSeq(Pg& db, int64_t channel_pk, int events) {
    return RunAlone<int64_t>(db, [&](PgBatch& b, int64_t& first) { ReserveEventSeq(b, channel_pk, events, first); });
}

std::unordered_map<int64_t, int64_t> ReserveEventSeqs(Pg& db, const std::vector<int64_t>& channel_pks) {
    std::unordered_map<int64_t, int64_t> out;
    if (channel_pks.empty()) return out;
    PgResult r = db.Run(kReserveSeqs, PgParams().AddArray(channel_pks));
    for (int i = 0; i < r.rows(); ++i) out[r.Int(i, 0)] = r.Int(i, 1);
    return out;
}

std::vector<LoggedEvent> EventsSince(Pg& db, int64_t channel_pk, int64_t after_seq, std::optional<int64_t> after_time,
                                     int limit) {
    PgResult r = db.Run(kEventsSince, PgParams().Add(channel_pk).Add(after_seq).Add(after_time).Add(limit));
    std::vector<LoggedEvent> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.Int(i, 0), std::string(r.Str(i, 1))});
    return out;
}

ChannelRow Update(Pg& db, int64_t pk, const ChannelChange& ch) {
    PgParams p;
    p.Add(pk);
    p.Add(ch.name.has_value()).Add(ch.name.value_or(std::nullopt));
    p.Add(ch.image.has_value()).Add(ch.image.value_or(std::nullopt));
    p.Add(ch.team.has_value()).Add(ch.team.value_or(std::nullopt));
    ch.frozen ? p.Add(*ch.frozen) : p.AddNull();
    ch.disabled ? p.Add(*ch.disabled) : p.AddNull();
    ch.cooldown ? p.Add(*ch.cooldown) : p.AddNull();
    p.Add(ch.replace_custom).Add(ch.custom_set_json).AddArray(ch.custom_unset);
    PgResult r = db.Run(kUpdate, p);
    if (r.empty()) throw NotFound("channel does not exist");
    return ReadChannel(r, 0, 0);
}

void Delete(Pg& db, int64_t pk) { db.Run(kDelete, PgParams().Add(pk)); }

ChannelRow Truncate(Pg& db, int64_t pk, int64_t truncated_at, bool hard) {
    if (hard) db.Run(kHardTruncate, PgParams().Add(pk).Add(truncated_at));
    PgResult r = db.Run(kTruncate, PgParams().Add(pk).Add(truncated_at));
    if (r.empty()) throw NotFound("channel does not exist");
    return ReadChannel(r, 0, 0);
}

}  // namespace channels

namespace members {

namespace {
// $1 channel, $2 role or NULL, $3 banned or NULL, $4 user ids or NULL, $5 name prefix or NULL.
#define SB_MEMBER_FILTER                                                                                    \
    "m.channel_pk = $1 AND ($2::text IS NULL OR m.channel_role = $2) "                                      \
    "AND ($3::boolean IS NULL OR (b.user_id IS NOT NULL AND (b.expires IS NULL OR b.expires > now())) = $3) " \
    "AND ($4::text[] IS NULL OR m.user_id = ANY($4::text[])) "                                              \
    "AND ($5::text IS NULL OR lower(u.name) LIKE $5 || '%' OR lower(u.id) LIKE $5 || '%') "
const PgStatement kList{"member_list",
                        "SELECT " SB_MEMBER_COLUMNS ", " SB_UNREAD_INPUTS
                        " FROM members m JOIN channels c ON c.pk = m.channel_pk JOIN users u ON u.id = m.user_id "
                        "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id "
                        "WHERE " SB_MEMBER_FILTER " ORDER BY m.created_at, m.user_id LIMIT $6 OFFSET $7"};
const PgStatement kCount{"member_count",
                         "SELECT count(*) FROM members m JOIN users u ON u.id = m.user_id "
                         "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id "
                         "WHERE " SB_MEMBER_FILTER};
const PgStatement kListForChannels{
    "member_list_channels",
    "SELECT " SB_MEMBER_COLUMNS ", " SB_UNREAD_INPUTS
    " FROM unnest($1::bigint[]) AS ch(pk) "
    "JOIN channels c ON c.pk = ch.pk "
    "CROSS JOIN LATERAL (SELECT * FROM members mm WHERE mm.channel_pk = ch.pk "
    "                    ORDER BY mm.created_at, mm.user_id LIMIT $2) m "
    "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id"};
const PgStatement kFindInChannels{"member_find_in_channels",
                                  "SELECT " SB_MEMBER_COLUMNS ", " SB_UNREAD_COUNT
                                  " FROM members m JOIN channels c ON c.pk = m.channel_pk "
                                  "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id "
                                  "WHERE m.channel_pk = ANY($1::bigint[]) AND m.user_id = $2"};
// unread::Window for each channel: its newest countable messages after $2 (micros), newest first.
const PgStatement kUnreadWindows{
    "member_unread_windows",
    "SELECT t.pk, sb_micros(u.created_at), u.user_id FROM unnest($1::bigint[], $2::bigint[]) AS t(pk, since) "
    "CROSS JOIN LATERAL (SELECT u.created_at, u.user_id FROM messages u WHERE u.channel_pk = t.pk "
    "  AND u.created_at > sb_time(t.since) AND " SB_COUNTABLE_MESSAGE " ORDER BY u.created_at DESC LIMIT $3) u"};
// The counts a window could not tell, one by one: members ($1 channel, $2 user) whose own messages
// and muted users' fill the window before their last read.
const PgStatement kUnreadOneByOne{
    "member_unread_one_by_one",
    "SELECT m.channel_pk, m.user_id, " SB_UNREAD_COUNT
    " FROM unnest($1::bigint[], $2::text[]) AS t(pk, user_id) "
    "JOIN members m ON m.channel_pk = t.pk AND m.user_id = t.user_id JOIN channels c ON c.pk = m.channel_pk"};
const PgStatement kUserIds{"member_user_ids", "SELECT user_id FROM members WHERE channel_pk = $1"};
const PgStatement kUserIdsForChannels{
    "member_user_ids_for_channels",
    "SELECT DISTINCT m.user_id FROM unnest($1::bigint[]) AS ch(pk) "
    "CROSS JOIN LATERAL (SELECT mm.user_id FROM members mm WHERE mm.channel_pk = ch.pk "
    "                    ORDER BY mm.created_at, mm.user_id LIMIT $2) m"};
// New members start with everything already read (getstream.io: unread starts at zero on join);
// with hide_history they also do not see the messages sent before they joined.
const PgStatement kAdd{
    "member_add",
    "WITH added AS ("
    "  INSERT INTO members AS m (channel_pk, user_id, channel_role, invited, history_cleared_at) "
    "  SELECT $1, x, $3, $5, CASE WHEN $4 THEN now() END FROM unnest($2::text[]) AS x "
    "  ON CONFLICT DO NOTHING RETURNING *) "
    "SELECT " SB_MEMBER_COLUMNS ", 0 FROM added m "
    "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id"};
const PgStatement kRemove{"member_remove",
                          "DELETE FROM members WHERE channel_pk = $1 AND user_id = ANY($2::text[]) RETURNING user_id"};
// A statement counts with the snapshot it starts with; were the count to wait for the channel's
// row behind a concurrent change of members, it would leave that change's members out once it
// committed. So the row is locked by a statement of its own first, and the count starts after.
// NO KEY UPDATE, the lock the count's UPDATE takes anyway: FOR UPDATE would also wait for the key
// share that inserting a member takes on its channel, and two adds would deadlock.
const PgStatement kLockForCount{"member_count_lock", "SELECT 1 FROM channels WHERE pk = $1 FOR NO KEY UPDATE"};
const PgStatement kRefreshCount{
    "member_refresh_count",
    "UPDATE channels SET member_count = (SELECT count(*) FROM members WHERE channel_pk = $1) WHERE pk = $1"};
// A member update that answers with the row as updated, unread count included, in the same
// statement: one round trip instead of the update and a read back (mark read runs for every
// message a user sees).
#define SB_MEMBER_AS_UPDATED(update)                                                                    \
    "WITH m AS (" update " RETURNING *) "                                                              \
    "SELECT " SB_MEMBER_COLUMNS ", " SB_UNREAD_COUNT " FROM m JOIN channels c ON c.pk = m.channel_pk " \
    "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id"
const PgStatement kSetRole{"member_set_role",
                           SB_MEMBER_AS_UPDATED("UPDATE members SET channel_role = $3, updated_at = now() "
                                                "WHERE channel_pk = $1 AND user_id = $2")};
const PgStatement kUpdate{
    "member_update",
    SB_MEMBER_AS_UPDATED(
    "UPDATE members SET "
    "  pinned_at = CASE WHEN $3::boolean IS NULL THEN pinned_at WHEN $3 THEN coalesce(pinned_at, now()) END, "
    "  archived_at = CASE WHEN $4::boolean IS NULL THEN archived_at WHEN $4 THEN coalesce(archived_at, now()) END, "
    "  hidden = coalesce($5, hidden), "
    "  history_cleared_at = coalesce(sb_time($6), history_cleared_at), "
    "  notifications_muted = coalesce($7, notifications_muted), "
    "  invite_accepted_at = CASE WHEN $8::boolean THEN now() ELSE invite_accepted_at END, "
    "  invite_rejected_at = CASE WHEN NOT $8::boolean THEN now() ELSE invite_rejected_at END, "
    "  invited = CASE WHEN $8::boolean IS NULL THEN invited ELSE false END, "
    "  updated_at = now() "
    "WHERE channel_pk = $1 AND user_id = $2")};
#define SB_MARK_READ \
    "UPDATE members SET last_read_at = sb_time($3), last_read_message_id = $4 WHERE channel_pk = $1 AND user_id = $2"
const PgStatement kMarkRead{"member_mark_read", SB_MEMBER_AS_UPDATED(SB_MARK_READ)};
// The same update for QueueMarkRead, whose result nobody reads: no member row, no unread count.
const PgStatement kMarkReadQueued{"member_mark_read_queued", SB_MARK_READ};
const PgStatement kMarkAllRead{"member_mark_all_read",
                               "UPDATE members m SET last_read_at = now(), last_read_message_id = "
                               " (SELECT id FROM messages x WHERE x.channel_pk = m.channel_pk "
                               "  AND (x.parent_id IS NULL OR x.show_in_channel) ORDER BY created_at DESC, pk DESC LIMIT 1) "
                               "WHERE user_id = $1 "
                               "RETURNING channel_pk, (SELECT cid FROM channels c WHERE c.pk = m.channel_pk), "
                               "last_read_message_id"};
// $1 the asked cids, $2 the channel types with delivery_events.
const PgStatement kLockForDelivery{"member_delivery_lock",
                                   "SELECT pk FROM channels WHERE cid = ANY($1::text[]) AND type = ANY($2::text[]) "
                                   "ORDER BY pk FOR UPDATE"};
// $1 the user, $2 the asked cids, $3 their message ids, $4 the channel types with delivery_events.
// A cid the request names twice keeps its last message (DISTINCT ON by position).
const PgStatement kMarkDelivered{
    "member_mark_delivered",
    "WITH asked AS ("
    "  SELECT DISTINCT ON (a.cid) a.cid, a.message_id FROM unnest($2::text[], $3::text[]) WITH ORDINALITY "
    "  AS a(cid, message_id, n) ORDER BY a.cid, a.n DESC), "
    "target AS ("
    "  SELECT c.pk, c.cid, x.id, x.created_at FROM asked a "
    "  JOIN channels c ON c.cid = a.cid AND c.type = ANY($4::text[]) "
    "  JOIN messages x ON x.id = a.message_id AND x.channel_pk = c.pk "
    "   AND (x.parent_id IS NULL OR x.show_in_channel) AND x.type <> 'deleted' "
    "  WHERE NOT EXISTS (SELECT 1 FROM channel_bans b WHERE b.channel_pk = c.pk AND b.user_id = $1 "
    "                    AND (b.expires IS NULL OR b.expires > now()))) "
    "UPDATE members m SET last_delivered_at = t.created_at, last_delivered_message_id = t.id FROM target t "
    "WHERE m.channel_pk = t.pk AND m.user_id = $1 "
    "AND (m.last_delivered_at IS NULL OR m.last_delivered_at < t.created_at) "
    "RETURNING m.channel_pk, t.cid, t.id, sb_micros(t.created_at)"};
const PgStatement kUnread{"member_unread",
                          "SELECT c.cid, " SB_UNREAD_COUNT ", sb_micros(m.last_read_at) "
                          "FROM members m JOIN channels c ON c.pk = m.channel_pk "
                          "WHERE m.user_id = $1 AND NOT m.hidden"};

PgParams FilterParams(int64_t channel_pk, const MemberQuery& q) {
    PgParams p;
    p.Add(channel_pk).Add(q.channel_role);
    q.banned ? p.Add(*q.banned) : p.AddNull();
    if (q.user_ids.empty()) {
        p.AddNull();
    } else {
        p.AddArray(q.user_ids);
    }
    std::optional<std::string> prefix;
    if (q.name_prefix) {
        // LIKE metacharacters in user input are matched literally.
        std::string escaped;
        for (char ch : *q.name_prefix) {
            if (ch == '%' || ch == '_' || ch == '\\') escaped += '\\';
            escaped += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        prefix = escaped;
    }
    p.Add(prefix);
    return p;
}

std::vector<MemberRow> ReadMembersWithUnread(const PgResult& r) {
    std::vector<MemberRow> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        auto m = ReadMember(r, i, 0);
        if (!m) continue;
        m->unread_messages = r.Int(i, kMemberColumnCount);
        out.push_back(std::move(*m));
    }
    return out;
}
// Members followed by the SB_UNREAD_INPUTS columns, into `into`; their unread counts are worked
// out when `then` runs: one window read for all the channels on the page, and a count in SQL
// only for the members the windows cannot decide (a round trip of its own, rarely needed).
void ReadMembersCountingUnread(const PgResult& r, PgBatch& then, std::vector<MemberRow>& into) {
    into.clear();
    std::vector<int64_t> read_until;
    std::vector<std::vector<std::string>> muted;
    std::map<int64_t, int64_t> since;  // channel pk -> the earliest read_until on the page
    into.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        auto m = ReadMember(r, i, 0);
        if (!m) continue;
        int64_t until = r.Int(i, kMemberColumnCount);
        std::vector<std::string> targets;
        if (!r.IsNull(i, kMemberColumnCount + 1)) {
            std::string_view json = r.Str(i, kMemberColumnCount + 1);
            rapidjson::Document doc;
            doc.Parse(json.data(), json.size());
            if (doc.IsArray())
                for (const auto& v : doc.GetArray())
                    if (v.IsString()) targets.emplace_back(v.GetString(), v.GetStringLength());
        }
        auto [it, fresh] = since.emplace(m->channel_pk, until);
        if (!fresh) it->second = std::min(it->second, until);
        read_until.push_back(until);
        muted.push_back(std::move(targets));
        into.push_back(std::move(*m));
    }
    if (into.empty()) return;

    std::vector<int64_t> pks, starts;
    for (const auto& [pk, start] : since) {
        pks.push_back(pk);
        starts.push_back(start);
    }
    Pg& db = then.db();
    auto count = [&into, &db, read_until = std::move(read_until), muted = std::move(muted)](const PgResult& w) {
        std::map<int64_t, unread::Window> windows;
        for (int i = 0; i < w.rows(); ++i)
            windows[w.Int(i, 0)].newest_first.push_back({w.Int(i, 1), std::string(w.Str(i, 2))});
        for (auto& [pk, window] : windows) {
            std::sort(window.newest_first.begin(), window.newest_first.end(),
                      [](const unread::Candidate& a, const unread::Candidate& b) { return a.created_at > b.created_at; });
            window.complete = window.newest_first.size() < static_cast<size_t>(unread::kWindowSize);
        }
        std::vector<std::string> undecided_pks, undecided_users;
        const unread::Window empty;
        for (size_t i = 0; i < into.size(); ++i) {
            auto found = windows.find(into[i].channel_pk);
            auto n = unread::Count(found == windows.end() ? empty : found->second, read_until[i], into[i].user_id, muted[i]);
            if (n) {
                into[i].unread_messages = *n;
            } else {
                undecided_pks.push_back(std::to_string(into[i].channel_pk));
                undecided_users.push_back(into[i].user_id);
            }
        }
        if (undecided_pks.empty()) return;
        std::map<std::pair<int64_t, std::string>, int> counted;
        PgResult c = db.Run(kUnreadOneByOne, PgParams().AddArray(undecided_pks).AddArray(undecided_users));
        for (int i = 0; i < c.rows(); ++i)
            counted[{c.Int(i, 0), std::string(c.Str(i, 1))}] = static_cast<int>(c.Int(i, 2));
        for (auto& m : into) {
            auto it = counted.find({m.channel_pk, m.user_id});
            if (it != counted.end()) m.unread_messages = it->second;
        }
    };
    then.Add(kUnreadWindows, PgParams().AddArray(pks).AddArray(starts).Add(unread::kWindowSize), std::move(count));
}

}  // namespace

void List(PgBatch& batch, PgBatch& then, int64_t channel_pk, const MemberQuery& q, std::vector<MemberRow>& into) {
    PgParams p = FilterParams(channel_pk, q);
    p.Add(q.limit).Add(q.offset);
    batch.Add(kList, std::move(p), [&into, &then](const PgResult& r) { ReadMembersCountingUnread(r, then, into); });
}

std::vector<MemberRow> List(Pg& db, int64_t channel_pk, const MemberQuery& q) {
    std::vector<MemberRow> out;
    PgBatch rows(db), unread(db);
    List(rows, unread, channel_pk, q, out);
    rows.Run();
    unread.Run();
    return out;
}

int64_t Count(Pg& db, int64_t channel_pk, const MemberQuery& q) {
    return db.Run(kCount, FilterParams(channel_pk, q)).Int(0, 0);
}

void ListForChannels(PgBatch& batch, PgBatch& then, const std::vector<int64_t>& channel_pks, int limit_per_channel,
                     std::vector<MemberRow>& into) {
    if (channel_pks.empty()) return;
    batch.Add(kListForChannels, PgParams().AddArray(channel_pks).Add(limit_per_channel),
              [&into, &then](const PgResult& r) { ReadMembersCountingUnread(r, then, into); });
}

void UserIdsForChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, int limit_per_channel,
                        std::vector<std::string>& into) {
    if (channel_pks.empty()) return;
    batch.Add(kUserIdsForChannels, PgParams().AddArray(channel_pks).Add(limit_per_channel),
              [&into](const PgResult& r) {
                  into.clear();
                  for (int i = 0; i < r.rows(); ++i) into.emplace_back(r.Str(i, 0));
              });
}

void FindInChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, std::string_view user_id,
                    std::vector<MemberRow>& into) {
    if (channel_pks.empty()) return;
    batch.Add(kFindInChannels, PgParams().AddArray(channel_pks).Add(user_id),
              [&into](const PgResult& r) { into = ReadMembersWithUnread(r); });
}

std::vector<std::string> UserIds(Pg& db, int64_t channel_pk) {
    PgResult r = db.Run(kUserIds, PgParams().Add(channel_pk));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Str(i, 0));
    return out;
}

std::vector<MemberRow> Add(Pg& db, int64_t channel_pk, const std::vector<std::string>& user_ids,
                           std::string_view channel_role, bool hide_history, bool invited) {
    if (user_ids.empty()) return {};
    PgResult r = db.Run(kAdd, PgParams()
                                  .Add(channel_pk)
                                  .AddArray(user_ids)
                                  .Add(channel_role)
                                  .Add(hide_history)
                                  .Add(invited));
    auto rows = ReadMembersWithUnread(r);
    if (!rows.empty()) RefreshMemberCount(db, channel_pk);
    return rows;
}

std::vector<std::string> Remove(Pg& db, int64_t channel_pk, const std::vector<std::string>& user_ids) {
    if (user_ids.empty()) return {};
    PgResult r = db.Run(kRemove, PgParams().Add(channel_pk).AddArray(user_ids));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Str(i, 0));
    if (!out.empty()) RefreshMemberCount(db, channel_pk);
    return out;
}

void RefreshMemberCount(Pg& db, int64_t channel_pk) {
    PgBatch batch(db);  // one round trip (and one implicit transaction outside one)
    batch.Add(kLockForCount, PgParams().Add(channel_pk), [](const PgResult&) {});
    batch.Add(kRefreshCount, PgParams().Add(channel_pk), [](const PgResult&) {});
    batch.Run();
}

namespace {
std::optional<MemberRow> OneMember(const PgResult& r) {
    auto rows = ReadMembersWithUnread(r);
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}
}  // namespace

std::optional<MemberRow> SetRole(Pg& db, int64_t channel_pk, std::string_view user_id, std::string_view role) {
    return OneMember(db.Run(kSetRole, PgParams().Add(channel_pk).Add(user_id).Add(role)));
}

std::optional<MemberRow> Update(Pg& db, int64_t channel_pk, std::string_view user_id, const MemberChange& c) {
    PgParams p;
    p.Add(channel_pk).Add(user_id);
    c.pinned ? p.Add(*c.pinned) : p.AddNull();
    c.archived ? p.Add(*c.archived) : p.AddNull();
    c.hidden ? p.Add(*c.hidden) : p.AddNull();
    p.Add(c.history_cleared_at);
    c.notifications_muted ? p.Add(*c.notifications_muted) : p.AddNull();
    c.invite_accepted ? p.Add(*c.invite_accepted) : p.AddNull();
    return OneMember(db.Run(kUpdate, p));
}

void MarkRead(PgBatch& batch, int64_t channel_pk, std::string_view user_id, int64_t at,
              const std::optional<std::string>& message_id, std::optional<MemberRow>& into) {
    batch.Add(kMarkRead, PgParams().Add(channel_pk).Add(user_id).Add(at).Add(message_id),
              [&into](const PgResult& r) { into = OneMember(r); });
}

void QueueMarkRead(Pg& db, int64_t channel_pk, std::string_view user_id, int64_t at,
                   const std::optional<std::string>& message_id) {
    db.Queue(kMarkReadQueued, PgParams().Add(channel_pk).Add(user_id).Add(at).Add(message_id));
}

std::vector<Delivered> MarkDelivered(Pg& db, std::string_view user_id, const std::vector<DeliveryAsked>& asked,
                                     const std::vector<std::string>& delivery_types) {
    std::vector<Delivered> out;
    if (asked.empty() || delivery_types.empty()) return out;
    std::vector<std::string> cids, message_ids;
    cids.reserve(asked.size());
    message_ids.reserve(asked.size());
    for (const auto& a : asked) {
        cids.push_back(a.cid);
        message_ids.push_back(a.message_id);
    }
    // The lock and the update in one round trip (a pipeline's statements run in order).
    PgBatch batch(db);
    batch.Add(kLockForDelivery, PgParams().AddArray(cids).AddArray(delivery_types), [](const PgResult&) {});
    batch.Add(kMarkDelivered, PgParams().Add(user_id).AddArray(cids).AddArray(message_ids).AddArray(delivery_types),
              [&](const PgResult& r) {
                  for (int i = 0; i < r.rows(); ++i)
                      out.push_back({r.Int(i, 0), std::string(r.Str(i, 1)), std::string(r.Str(i, 2)), r.Int(i, 3)});
              });
    batch.Run();
    std::sort(out.begin(), out.end(),
              [](const Delivered& a, const Delivered& b) { return a.channel_pk < b.channel_pk; });
    return out;
}

std::vector<MarkedRead> MarkAllRead(Pg& db, std::string_view user_id) {
    PgResult r = db.Run(kMarkAllRead, PgParams().Add(user_id));
    std::vector<MarkedRead> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.Int(i, 0), std::string(r.Str(i, 1)), r.OptStr(i, 2)});
    return out;
}

void Unread(PgBatch& batch, std::string_view user_id, UnreadSummary& into) {
    batch.Add(kUnread, PgParams().Add(user_id), [&into](const PgResult& r) {
        for (int i = 0; i < r.rows(); ++i) {
            int64_t n = r.Int(i, 1);
            into.channels.push_back({std::string(r.Str(i, 0)), n, r.Int(i, 2)});
            into.total_unread_count += n;
            if (n > 0) ++into.unread_channels;
        }
    });
    threads::Unread(batch, user_id, into.threads);
}

UnreadSummary Unread(Pg& db, std::string_view user_id) {
    return RunAlone<UnreadSummary>(db, [&](PgBatch& b, auto& into) { Unread(b, user_id, into); });
}

}  // namespace members

namespace bans {
namespace {
const PgStatement kBan{"ban_channel",
                       "INSERT INTO channel_bans (channel_pk, user_id, banned_by, reason, shadow, expires) "
                       "VALUES ($1, $2, $3, $4, $5, sb_time($6)) ON CONFLICT (channel_pk, user_id) DO UPDATE SET "
                       "banned_by = EXCLUDED.banned_by, reason = EXCLUDED.reason, shadow = EXCLUDED.shadow, "
                       "expires = EXCLUDED.expires, created_at = now()"};
const PgStatement kUnban{"unban_channel",
                         "DELETE FROM channel_bans WHERE channel_pk = $1 AND user_id = $2 RETURNING user_id"};
}  // namespace

void Ban(Pg& db, int64_t channel_pk, std::string_view user_id, std::string_view by,
         const std::optional<std::string>& reason, bool shadow, std::optional<int64_t> expires) {
    db.Run(kBan, PgParams().Add(channel_pk).Add(user_id).Add(by).Add(reason).Add(shadow).Add(expires));
}

bool Unban(Pg& db, int64_t channel_pk, std::string_view user_id) {
    return !db.Run(kUnban, PgParams().Add(channel_pk).Add(user_id)).empty();
}
}  // namespace bans

}  // namespace streambed
