#pragma once
// Threads (sql/100_threads.sql): a parent message with replies, its title and custom data, and
// its participants with their read state in it. The replies themselves are messages.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"

namespace streambed::threads {

// One user's part in a thread. unread_messages counts the replies after last_read_at that are
// not the user's own, from users it has not muted, and neither deleted, silent nor shadowed (the
// rules of a channel's unread count), up to unread::kMaxCount.
struct ParticipantRow {
    int64_t parent_pk = 0;
    std::string user_id;
    int64_t created_at = 0;
    std::optional<int64_t> last_thread_message_at;
    int64_t last_read_at = 0;
    std::optional<std::string> last_read_message_id;
    int64_t unread_messages = 0;
};

struct ThreadRow {
    int64_t parent_pk = 0;
    std::string parent_id;
    int64_t channel_pk = 0;
    std::string cid;
    std::string created_by;
    std::string title;
    std::string custom_json = "{}";
    int64_t created_at = 0;
    int64_t updated_at = 0;
    int64_t last_message_at = 0;
    int64_t participant_count = 0;
    std::optional<ParticipantRow> own;  // the part of the user the thread was read for, if any
};

// In a reply's transaction, after the reply is stored (queued: it leaves with the COMMIT): the
// thread starts with its first reply, or takes the reply as its last; the parent's author takes
// part from the start, and the replier from its first reply, its read point moved to the reply.
void QueueReply(Pg& db, const MessageRow& parent, const MessageRow& reply);

// The threads the user bound to $1 of `params` takes part in, in channels it is still a member
// of and whose parent it can still see (not truncated away, not before its cleared history).
// `where` is a condition over threads `t`, parent messages `pm`, channels `c` and participations
// `p`; `order` sorts the rows of `q`, which names parent_pk, parent_id, created_at, updated_at,
// last_message_at, reply_count, participants and unread (the user's unread replies). Their
// parameters are in `params` (FilterCompiler, SortCompiler: handlers/threads.cpp).
std::vector<ThreadRow> List(Pg& db, const std::string& where, const std::string& order, PgParams params, int limit,
                            int offset);
// One thread, with `user_id`'s part in it if it has one; nullopt when the message has no replies.
std::optional<ThreadRow> Find(Pg& db, int64_t parent_pk, const std::string& user_id);

// The first `limit` participants of each thread (by when they joined), into `into` when `batch` runs.
void Participants(PgBatch& batch, const std::vector<int64_t>& parent_pks, int limit, std::vector<ParticipantRow>& into);
// The newest `limit` replies of each thread, ascending per thread.
void LatestReplies(PgBatch& batch, const std::vector<std::string>& parent_ids, int limit,
                   std::vector<MessageRow>& into);

// The threads with unread replies for `user_id` (its participations, as List sees them).
struct UnreadThread {
    std::string parent_id;
    int64_t last_read_at = 0;
    std::optional<std::string> last_read_message_id;
    int64_t unread_messages = 0;
};
void Unread(PgBatch& batch, std::string_view user_id, std::vector<UnreadThread>& into);

// Moves `user_id`'s read point in the thread to `at` or its newest reply, whichever is later, into
// `into` when `batch` runs (nullopt: the user takes no part in the thread). Read state changes go
// out in a batch so that the user's new totals (members::Unread) can follow in the same round trip.
void MarkRead(PgBatch& batch, int64_t parent_pk, std::string_view user_id, int64_t at,
              std::optional<ParticipantRow>& into);
// Mark all read: every thread of the user read up to its newest reply, in the caller's
// transaction (queued: it leaves with the COMMIT).
void QueueMarkAllRead(Pg& db, std::string_view user_id, int64_t at);
// Makes the thread unread from reply `from_reply_id`, or, when empty, from its newest reply by
// someone else, into `into` when `batch` runs (nullopt when the user does not take part, or there
// is no such reply).
struct MarkedUnread {
    ParticipantRow participant;  // with its unread count
    std::string first_unread_message_id;
};
void MarkUnread(PgBatch& batch, int64_t parent_pk, std::string_view user_id, std::string_view from_reply_id,
                std::optional<MarkedUnread>& into);

// Sets the title (when given) and merges `custom_set_json` into the custom data, then removes
// `custom_unset`. nullopt when there is no such thread.
std::optional<ThreadRow> Update(Pg& db, int64_t parent_pk, const std::optional<std::string>& title,
                                const std::string& custom_set_json, const std::vector<std::string>& custom_unset);

// For the participants of a thread other than `except`: their unread threads in all and their
// unread replies in this one (notification.thread_message_new carries both).
struct ParticipantUnread {
    std::string user_id;
    int64_t unread_threads = 0;
    int64_t unread_thread_messages = 0;
};
std::vector<ParticipantUnread> UnreadOfOthers(Pg& db, int64_t parent_pk, std::string_view except);

}  // namespace streambed::threads
