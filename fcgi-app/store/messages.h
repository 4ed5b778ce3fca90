#pragma once
// Messages and reactions.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

#define SB_MESSAGE_COLUMNS                                                                                       \
    "msg.pk, msg.id, msg.channel_pk, ch.cid, msg.user_id, msg.type, msg.text, msg.html, msg.attachments::text, " \
    "array_to_json(msg.mentioned_users)::text, msg.custom::text, msg.parent_id, msg.show_in_channel, "           \
    "msg.quoted_message_id, msg.reply_count, msg.deleted_reply_count, "                                          \
    "array_to_json(msg.thread_participants)::text, msg.silent, msg.shadowed, msg.pinned, "                       \
    "sb_micros(msg.pinned_at), msg.pinned_by, sb_micros(msg.pin_expires), msg.reaction_groups::text, "           \
    "sb_micros(msg.created_at), sb_micros(msg.updated_at), sb_micros(msg.deleted_at), "                          \
    "sb_micros(msg.message_text_updated_at), msg.shared_location::text, msg.poll_id"
constexpr int kMessageColumnCount = 30;
MessageRow ReadMessage(const PgResult& r, int row, int first_column);

namespace messages {

// What a new message writes besides itself, in the statement that stores it.
struct AppendWrites {
    bool shown_in_channel = true;  // in the channel's list (not a thread-only reply): its latest message
    int events = 1;                // event seqs reserved: the first is the message.new event's
    // message.new, written with kStoreStampMicros for the message's time and PutStoreSeq for its
    // seq (common/json.h): the statement fills both in and logs it with the first seq.
    std::string event_template;
    bool mark_read = false;  // the sender is a member: their read state moves to this message
    bool unhide = true;      // members who hid the channel see it again
};
// A new message of its channel, as stored, the first of the event seqs reserved with it and its
// message.new event as logged.
struct Appended {
    MessageRow message;
    int64_t first_seq = 0;
    std::string event;
};
// Stores `fresh`, a message not stored yet (its pk, counts and reactions are the store's, and its
// time: kStoreStampMicros, common/json.h), and everything it writes (AppendWrites), in one
// statement. The time is later than every earlier message of the channel; stamping it and
// reserving event seqs locks the channel's row until the transaction ends (per-channel writes
// are serialised on it). Outside a transaction the statement is its own, so the row is held for
// no round trip at all. nullopt when a message with that id exists already (nothing is written);
// NotFound when the channel does not exist.
std::optional<Appended> Append(Pg& db, const MessageRow& fresh, const AppendWrites& writes);

std::optional<MessageRow> Find(Pg& db, std::string_view id);
std::optional<MessageRow> Lock(Pg& db, std::string_view id);  // FOR UPDATE, in a transaction
// Reads that go out in a PgBatch fill `into` when it runs; `into` must outlive the Run.
void FindMany(PgBatch& batch, const std::vector<std::string>& ids, std::vector<MessageRow>& into);
std::vector<MessageRow> FindInChannel(Pg& db, int64_t channel_pk, const std::vector<std::string>& ids);

// A position in a message list: messages compare by (created_at, pk).
struct Bound {
    enum class Kind { kBefore, kBeforeOrAt, kAfter, kAtOrAfter };
    Kind kind = Kind::kBefore;
    int64_t created_at = 0;
    int64_t pk = 0;
    static Bound Newest();  // before the end of time: the newest messages
};
// The channel page (top-level messages and replies shown in the channel), ascending. Messages at
// or before `visible_after` (truncation, cleared history) are excluded.
void ChannelPage(PgBatch& batch, int64_t channel_pk, std::optional<int64_t> visible_after, const Bound& bound,
                 int limit, std::vector<MessageRow>& into);
// A thread's replies, ascending.
std::vector<MessageRow> ThreadPage(Pg& db, std::string_view parent_id, const Bound& bound, int limit);
// The newest `limit` channel-page messages of each channel, ascending per channel.
void LatestForChannels(PgBatch& batch, const std::vector<std::pair<int64_t, std::optional<int64_t>>>& channels,
                       int limit, std::vector<MessageRow>& into);
// Pinned messages of each channel, newest pin first, `limit` per channel.
void PinnedForChannels(PgBatch& batch, const std::vector<int64_t>& channel_pks, int limit,
                       std::vector<MessageRow>& into);

// A position among a channel's pinned messages, which sort by (pinned_at, pk); `inclusive` takes
// the message at the position itself too.
struct PinBound {
    int64_t pinned_at = 0;
    int64_t pk = 0;
    bool inclusive = false;
};
// The channel's pins in force (not expired, not deleted, after `visible_after`) between `after` and
// `before`, the newest pin first unless `ascending`; at most `limit`.
std::vector<MessageRow> PinnedPage(Pg& db, int64_t channel_pk, std::optional<int64_t> visible_after,
                                   const std::optional<PinBound>& after, const std::optional<PinBound>& before,
                                   bool ascending, int limit);
// Counts a new reply on its parent and adds the replier to the thread participants.
MessageRow AddReply(Pg& db, int64_t parent_pk, std::string_view replier);
// Counts a deleted reply: soft deletes stay counted as deleted replies, hard deletes disappear
// (a hard delete of a reply that was soft-deleted before also leaves deleted_reply_count).
std::optional<MessageRow> RemoveReply(Pg& db, std::string_view parent_id, bool hard, bool was_soft_deleted = false);

struct Edit {
    std::optional<std::string> text;  // with html
    std::optional<std::string> html;
    std::optional<std::string> attachments_json;
    std::optional<std::vector<std::string>> mentioned_users;
    std::optional<std::optional<std::string>> quoted_message_id;
    std::optional<bool> silent;
    std::optional<std::string> custom_json;  // replaces the custom fields
    std::string custom_set_json = "{}";      // merged into them
    std::vector<std::string> custom_unset;
    std::optional<bool> pinned;
    std::optional<std::string> pinned_by;
    std::optional<std::optional<int64_t>> pin_expires;
    std::optional<bool> show_in_channel;
};
MessageRow Update(Pg& db, int64_t pk, const Edit& edit);
// A live location's new state (StoredLocation's JSON); the message's updated_at moves with it.
MessageRow UpdateSharedLocation(Pg& db, int64_t pk, const std::string& location_json);
// `user_id`'s live locations still running (end_at ahead), newest first, at most `limit`.
std::vector<MessageRow> LiveLocations(Pg& db, std::string_view user_id, int limit);
MessageRow SoftDelete(Pg& db, int64_t pk);
void HardDelete(Pg& db, int64_t pk);

// The latest message time of a user in a channel (slow mode).
std::optional<int64_t> LastSentBy(Pg& db, int64_t channel_pk, std::string_view user_id);

}  // namespace messages

namespace reactions {

void Latest(PgBatch& batch, const std::vector<int64_t>& message_pks, int per_message, std::vector<ReactionRow>& into);
void Own(PgBatch& batch, const std::vector<int64_t>& message_pks, std::string_view user_id,
         std::vector<ReactionRow>& into);
struct Upserted {
    ReactionRow reaction;
    bool replaced = false;  // enforce_unique removed the user's other reactions, or the same type existed
};
// A reaction change, in a transaction, is Upsert or Remove and then RefreshGroups, in one batch.
// Both lock the message's row before they touch its reactions, so that changes to one message's
// reactions take turns: RefreshGroups counts with the snapshot its statement starts with, and
// without the lock two concurrent changes each counted without the other's reaction, leaving
// reaction_groups short (tests/contracts/chat_reactions.test.mjs, "reactions sent at once").
//
// Adds the reaction (or updates its score and custom data), into `into` when `batch` runs; with
// `enforce_unique`, removes the user's other reactions to the message first.
void Upsert(PgBatch& batch, int64_t message_pk, std::string_view user_id, std::string_view type, int score,
            const std::string& custom_json, bool enforce_unique, Upserted& into);
// Removes the user's reaction of `type`, into `into` (nullopt when there was none).
void Remove(PgBatch& batch, int64_t message_pk, std::string_view user_id, std::string_view type,
            std::optional<ReactionRow>& into);
// Rebuilds the message's reaction_groups from its reactions and bumps updated_at.
void RefreshGroups(PgBatch& batch, int64_t message_pk, MessageRow& into);
std::vector<ReactionRow> List(Pg& db, int64_t message_pk, const std::optional<std::string>& type,
                              const std::optional<std::string>& user_id, int limit, int offset);

}  // namespace reactions

}  // namespace streambed
