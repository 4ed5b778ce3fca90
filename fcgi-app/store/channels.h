#pragma once
// Channel types, channels, members and bans.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/threads.h"

namespace streambed {

// Select lists and their readers, for queries over `channels c` and `members m` (+ `channel_bans b`).
#define SB_CHANNEL_COLUMNS                                                                                    \
    "c.pk, c.cid, c.type, c.id, c.name, c.image, c.custom::text, c.team, c.created_by, c.frozen, c.disabled, " \
    "c.cooldown, c.member_count, sb_micros(c.last_message_at), sb_micros(c.truncated_at), c.event_seq, "      \
    "sb_micros(c.created_at), sb_micros(c.updated_at)"
constexpr int kChannelColumnCount = 18;
ChannelRow ReadChannel(const PgResult& r, int row, int first_column);

#define SB_MEMBER_COLUMNS                                                                                   \
    "m.channel_pk, m.user_id, m.channel_role, m.invited, sb_micros(m.invite_accepted_at), "                 \
    "sb_micros(m.invite_rejected_at), m.notifications_muted, m.hidden, sb_micros(m.history_cleared_at), "   \
    "sb_micros(m.pinned_at), sb_micros(m.archived_at), sb_micros(m.last_read_at), m.last_read_message_id, " \
    "sb_micros(m.created_at), sb_micros(m.updated_at), "                                                    \
    "(b.user_id IS NOT NULL AND (b.expires IS NULL OR b.expires > now())), coalesce(b.shadow, false), "     \
    "sb_micros(b.expires), sb_micros(m.last_delivered_at), m.last_delivered_message_id"
constexpr int kMemberColumnCount = 20;
// The acting user's member row of channel `c`, joined as `alias` (NULLs when not a member; the
// user's id is the parameter `user_param`). A subquery per channel, whose LIMIT keeps the planner
// from flattening it: as a plain `LEFT JOIN members ... ON channel_pk = c.pk AND user_id = $n`,
// the generic plan (it expects one membership per user) walked all of the user's memberships by
// user id and kept the one of `c`, so a lookup cost O(channels the user is in): 140 buffer reads
// instead of 7 to find one channel for a user in 200, on every send (docs/performance.md).
#define SB_JOIN_OWN_MEMBER(alias, user_param)                                                          \
    "LEFT JOIN LATERAL (SELECT * FROM members own WHERE own.channel_pk = c.pk AND own.user_id = " user_param \
    " LIMIT 1) " alias " ON true "

// nullopt when the member columns are NULL (a LEFT JOIN found no member).
std::optional<MemberRow> ReadMember(const PgResult& r, int row, int first_column);

namespace channels {

// Channel types change rarely: cached per process, re-read every few seconds, and at once for a
// name the cache lacks (a type created through another worker) or with `fresh` (the channel type
// routes, which must show a change made through another worker).
const ChannelTypeRow* FindType(Pg& db, std::string_view name, bool fresh = false);
// Every type, read afresh.
std::vector<ChannelTypeRow> AllTypes(Pg& db);
// The types whose channels keep delivery receipts (config.delivery_events).
std::vector<std::string> DeliveryEventTypes(Pg& db);
// `config_json` (an object of settings) over messaging's settings for a new members-only type;
// nullopt when the name is taken. UpdateType merges it into the stored settings; nullopt when
// there is no such type. Both refresh this process's cache.
std::optional<ChannelTypeRow> CreateType(Pg& db, std::string_view name, const std::string& config_json);
std::optional<ChannelTypeRow> UpdateType(Pg& db, std::string_view name, const std::string& config_json);

// A channel together with one user's member row (if any) and ban.
struct ChannelView {
    ChannelRow channel;
    std::optional<MemberRow> membership;
    bool banned = false;  // channel ban of that user, member or not
};
std::optional<ChannelView> FindView(Pg& db, std::string_view cid, std::string_view user_id);
// The same, into `into` when `batch` runs (nullopt when there is no such channel).
void FindView(PgBatch& batch, std::string_view cid, std::string_view user_id, std::optional<ChannelView>& into);
std::optional<ChannelView> FindViewByPk(Pg& db, int64_t pk, std::string_view user_id);
// The view of the channel that holds the message `message_id`, into `into` when `batch` runs
// (nullopt when there is no such message): read beside the message itself.
void FindViewOfMessage(PgBatch& batch, std::string_view message_id, std::string_view user_id,
                       std::optional<ChannelView>& into);
// The views of the channels that `pks_sql` selects (one column, channel pks), in its order, for
// the user bound to $1 of `params`: a queryChannels filter (handlers/channels.cpp) and the views
// of the page it finds in one statement.
std::vector<ChannelView> FindViewsSelected(Pg& db, const std::string& pks_sql, const PgParams& params);
std::optional<ChannelRow> Find(Pg& db, std::string_view cid);

struct NewChannel {
    std::string type;
    std::string id;
    std::optional<std::string> created_by;
    std::optional<std::string> name;
    std::optional<std::string> image;
    std::string custom_json = "{}";
    std::optional<std::string> team;
    std::optional<std::vector<std::string>> distinct_members;  // sorted
};
// Inserts unless the cid (or the distinct member set) exists; returns the row and whether it was new.
std::pair<ChannelRow, bool> Create(Pg& db, const NewChannel& channel);
std::optional<ChannelRow> FindDistinct(Pg& db, std::string_view type, const std::vector<std::string>& members);

// Locks the channel row for this transaction (per-channel writes are serialised on it).
std::optional<ChannelRow> Lock(Pg& db, int64_t pk);

// Reserves `events` sequence numbers; returns the first (the batch form: into `first` when
// `batch` runs). Both lock the channel's row for the transaction, as a send does.
int64_t ReserveEventSeq(Pg& db, int64_t channel_pk, int events);
void ReserveEventSeq(PgBatch& batch, int64_t channel_pk, int events, int64_t& first);
// One event's seq in each of `channel_pks`, in one statement that locks their rows in pk order
// (the order every caller that locks several channels keeps): channel pk -> its seq.
std::unordered_map<int64_t, int64_t> ReserveEventSeqs(Pg& db, const std::vector<int64_t>& channel_pks);

// One persisted event of a channel's log (channel_events): its sequence number and its payload.
struct LoggedEvent {
    int64_t seq;
    std::string payload;
};
// The channel's events after `after_seq` (and after `after_time`, micros, when given), in seq
// order, at most `limit`: what /api/sync/ and the room socket's resume replay.
std::vector<LoggedEvent> EventsSince(Pg& db, int64_t channel_pk, int64_t after_seq, std::optional<int64_t> after_time,
                                     int limit);

// Channel updates. `set_json` is merged into the custom fields; name/image/team/frozen/cooldown
// are columns. Returns the updated row.
struct ChannelChange {
    std::optional<std::optional<std::string>> name;  // outer: touched; inner nullopt: cleared
    std::optional<std::optional<std::string>> image;
    std::optional<std::optional<std::string>> team;
    std::optional<bool> frozen;
    std::optional<bool> disabled;
    std::optional<int> cooldown;
    std::string custom_set_json = "{}";
    std::vector<std::string> custom_unset;
    bool replace_custom = false;  // full update: custom becomes custom_set_json
};
ChannelRow Update(Pg& db, int64_t pk, const ChannelChange& change);
void Delete(Pg& db, int64_t pk);
ChannelRow Truncate(Pg& db, int64_t pk, int64_t truncated_at, bool hard);

}  // namespace channels

namespace members {

// Up to `limit` members from `offset`, ordered by (created_at, user_id), optionally filtered.
struct MemberQuery {
    int limit = 100;
    int offset = 0;
    std::optional<std::string> channel_role;     // exact role
    std::optional<bool> banned;
    std::vector<std::string> user_ids;           // only these (empty: all)
    std::optional<std::string> name_prefix;      // autocomplete on user name or id
};
// Member pages come with their unread counts, which take a second read: the rows come with
// `batch`, and the reads that count go out with `then`, to be run after it (with other reads that
// need the first batch's rows). `into` must outlive both.
void List(PgBatch& batch, PgBatch& then, int64_t channel_pk, const MemberQuery& query, std::vector<MemberRow>& into);
std::vector<MemberRow> List(Pg& db, int64_t channel_pk, const MemberQuery& query);
int64_t Count(Pg& db, int64_t channel_pk, const MemberQuery& query);
// Member rows of several channels at once, the first `limit` of each, with unread counts.
void ListForChannels(PgBatch& batch, PgBatch& then, const std::vector<int64_t>& channel_pks, int limit_per_channel,
                     std::vector<MemberRow>& into);
// The ids of those same members, without the rest (whose presence a watcher follows).
void UserIdsForChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, int limit_per_channel,
                        std::vector<std::string>& into);
// One user's rows (with unread counts) in one or more channels, in one read.
void FindInChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, std::string_view user_id,
                    std::vector<MemberRow>& into);
std::vector<std::string> UserIds(Pg& db, int64_t channel_pk);

// Adds users (existing members are left as they are); returns the rows that are new.
std::vector<MemberRow> Add(Pg& db, int64_t channel_pk, const std::vector<std::string>& user_ids,
                           std::string_view channel_role, bool hide_history, bool invited);
std::vector<std::string> Remove(Pg& db, int64_t channel_pk, const std::vector<std::string>& user_ids);
void RefreshMemberCount(Pg& db, int64_t channel_pk);
std::optional<MemberRow> SetRole(Pg& db, int64_t channel_pk, std::string_view user_id, std::string_view role);

struct MemberChange {
    std::optional<bool> pinned;
    std::optional<bool> archived;
    std::optional<bool> hidden;
    std::optional<int64_t> history_cleared_at;
    std::optional<bool> notifications_muted;
    std::optional<bool> invite_accepted;  // true accept, false reject
};
std::optional<MemberRow> Update(Pg& db, int64_t channel_pk, std::string_view user_id, const MemberChange& change);

// Read state. `at` is the read time; message id the last read message. Fills `into` with the
// member as updated (nullopt for a non-member) when `batch` runs; `into` must outlive the Run.
void MarkRead(PgBatch& batch, int64_t channel_pk, std::string_view user_id, int64_t at,
              const std::optional<std::string>& message_id, std::optional<MemberRow>& into);
// The same in a transaction, when nobody reads the row: it leaves with the next round trip.
void QueueMarkRead(Pg& db, int64_t channel_pk, std::string_view user_id, int64_t at,
                   const std::optional<std::string>& message_id);
// Marks read every channel the user is a member of, in one statement; returns each of them with
// the read state it now has.
struct MarkedRead {
    int64_t channel_pk = 0;
    std::string cid;
    std::optional<std::string> last_read_message_id;
};
std::vector<MarkedRead> MarkAllRead(Pg& db, std::string_view user_id);

// Delivery receipts: moves `user_id`'s delivered point in each asked channel forward to the asked
// message, inside the caller's transaction. An entry counts only where the user is a member, not
// banned from the channel, the channel's type is one of `delivery_types`, and the message is one
// shown in that channel (not a thread-only reply) newer than the point; the others change
// nothing. The channels' rows are locked first, in pk order (as ReserveEventSeqs locks them),
// so that a send into one of them, which locks its channel before its sender's member row,
// cannot deadlock with this. Returns what moved, in channel pk order.
struct DeliveryAsked {
    std::string cid;
    std::string message_id;
};
struct Delivered {
    int64_t channel_pk = 0;
    std::string cid;
    std::string message_id;
    int64_t at = 0;  // the message's created_at: the new last_delivered_at
};
std::vector<Delivered> MarkDelivered(Pg& db, std::string_view user_id, const std::vector<DeliveryAsked>& asked,
                                     const std::vector<std::string>& delivery_types);

struct UnreadSummary {
    int64_t total_unread_count = 0;
    int64_t unread_channels = 0;
    struct PerChannel {
        std::string cid;
        int64_t unread_messages;
        int64_t last_read_at;
    };
    std::vector<PerChannel> channels;
    std::vector<threads::UnreadThread> threads;  // the threads with unread replies
    int64_t unread_threads() const { return static_cast<int64_t>(threads.size()); }
};
// The user's unread channels and threads. Fills `into` when `batch` runs; `into` must outlive the Run.
void Unread(PgBatch& batch, std::string_view user_id, UnreadSummary& into);
UnreadSummary Unread(Pg& db, std::string_view user_id);

}  // namespace members

namespace bans {
void Ban(Pg& db, int64_t channel_pk, std::string_view user_id, std::string_view by, const std::optional<std::string>& reason,
         bool shadow, std::optional<int64_t> expires);
bool Unban(Pg& db, int64_t channel_pk, std::string_view user_id);
}  // namespace bans

}  // namespace streambed
