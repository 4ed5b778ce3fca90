#pragma once
// Everything a reply refers to, loaded in a few batched queries before it is written: the users
// it names (with presence), the reactions and quoted messages of its messages. No reply costs one
// query per message or per user.

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/redis.h"
#include "fcgi-app/model.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/polls.h"
#include "fcgi-app/store/reminders.h"
#include "fcgi-app/store/users.h"

namespace streambed {

class UserDirectory {
public:
    void Want(const std::string& user_id) {
        if (!user_id.empty() && users_.find(user_id) == users_.end() && loading_.find(user_id) == loading_.end())
            wanted_.insert(user_id);
    }
    void Want(const std::vector<std::string>& user_ids) {
        for (const auto& id : user_ids) Want(id);
    }
    // Loads every wanted user (one query) and their presence (one Redis call).
    void Load(Pg& db, RedisClient& redis);
    // The same in two halves: the read goes out with `batch`, and once it has run, Settle asks
    // Redis who of them is online.
    void Load(PgBatch& batch);
    void Settle(RedisClient& redis);
    // Adds a user already at hand (not re-read).
    void Put(const UserRow& user, bool online);

    const UserRow* Find(const std::string& user_id) const;
    bool Online(const std::string& user_id) const { return online_.count(user_id) > 0; }

private:
    std::unordered_map<std::string, UserRow> users_;
    std::unordered_set<std::string> online_;
    std::unordered_set<std::string> wanted_;
    std::unordered_set<std::string> loading_;  // asked for in a batch, presence not yet asked
    std::vector<UserRow> arrived_;             // ... and their rows, once it has run
};

// The users who currently have a live socket, out of `user_ids` (presence lives in Redis).
std::unordered_set<std::string> OnlineUsers(RedisClient& redis, const std::vector<std::string>& user_ids);

struct MessageContext {
    UserDirectory users;
    std::unordered_map<int64_t, std::vector<ReactionRow>> latest_reactions;
    std::unordered_map<int64_t, std::vector<ReactionRow>> own_reactions;
    std::unordered_map<int64_t, reminders::ReminderRow> own_reminders;  // by message pk
    std::unordered_map<std::string, MessageRow> quoted;                 // by id
    std::unordered_map<std::string, polls::PollRow> polls;              // the messages' polls, by id
    std::unordered_map<std::string, std::vector<polls::VoteRow>> own_poll_votes;  // by poll id

    // Runs `write` with the caller's own reactions, reminders and poll votes set aside: an event
    // goes to every watcher, and may be written from a context loaded for the caller's own reply.
    template <typename Write>
    void WithoutCallersOwn(Write&& write) {
        auto reactions = std::exchange(own_reactions, {});
        auto reminders = std::exchange(own_reminders, {});
        auto votes = std::exchange(own_poll_votes, {});
        write();
        own_reactions = std::move(reactions);
        own_reminders = std::move(reminders);
        own_poll_votes = std::move(votes);
    }

    // A poll read apart from its message (the poll routes, their events): kept with the caller's
    // own votes, and its users wanted.
    void PutPoll(polls::PollRow poll, std::vector<polls::VoteRow> own);

    // Loads what `messages` refer to. `caller` personalises own_reactions, own_reminders and
    // own_poll_votes (empty: none).
    // `users` may already hold other wanted users: they are loaded in the same query.
    void Load(Pg& db, RedisClient& redis, const std::vector<const MessageRow*>& messages, const std::string& caller);
    // The same with other reads: the quoted messages, reactions and wanted users go out with
    // `batch`, which the caller runs (with whatever else it holds) before calling Settle. Users
    // that only the quoted messages or reactions name cost one more round trip there.
    void Load(PgBatch& batch, const std::vector<const MessageRow*>& messages, const std::string& caller);
    void Settle(Pg& db, RedisClient& redis);

private:
    std::vector<MessageRow> quoted_rows_;  // the batch's answers, until Settle
    std::vector<ReactionRow> latest_rows_;
    std::vector<ReactionRow> own_rows_;
    std::vector<reminders::ReminderRow> reminder_rows_;
    std::vector<polls::PollRow> poll_rows_;
    std::vector<polls::VoteRow> own_vote_rows_;
};

}  // namespace streambed
