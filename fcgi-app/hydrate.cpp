#include "fcgi-app/hydrate.h"

#include "common/keys.h"
#include "fcgi-app/store/messages.h"

namespace streambed {

std::unordered_set<std::string> OnlineUsers(RedisClient& redis, const std::vector<std::string>& user_ids) {
    std::unordered_set<std::string> online;
    if (user_ids.empty()) return online;
    std::vector<std::string> args{"SMISMEMBER", keys::kOnlineUsers};
    args.insert(args.end(), user_ids.begin(), user_ids.end());
    RedisReply reply = redis.Command(args);
    for (size_t i = 0; i < reply->elements && i < user_ids.size(); ++i) {
        if (reply->element[i]->integer == 1) online.insert(user_ids[i]);
    }
    return online;
}

void UserDirectory::Load(Pg& db, RedisClient& redis) {
    PgBatch batch(db);
    Load(batch);
    batch.Run();
    Settle(redis);
}

void UserDirectory::Load(PgBatch& batch) {
    if (wanted_.empty()) return;
    std::vector<std::string> ids(wanted_.begin(), wanted_.end());
    loading_.insert(wanted_.begin(), wanted_.end());
    wanted_.clear();
    users::FindMany(batch, ids, arrived_);  // appends: Load may go out in more than one batch
}

void UserDirectory::Settle(RedisClient& redis) {
    if (loading_.empty()) return;
    for (auto& u : arrived_) users_.emplace(u.id, std::move(u));
    for (auto& id : OnlineUsers(redis, std::vector<std::string>(loading_.begin(), loading_.end()))) online_.insert(id);
    loading_.clear();
    arrived_.clear();
}

void UserDirectory::Put(const UserRow& user, bool online) {
    users_[user.id] = user;
    wanted_.erase(user.id);
    if (online) online_.insert(user.id);
}

const UserRow* UserDirectory::Find(const std::string& user_id) const {
    auto it = users_.find(user_id);
    return it == users_.end() ? nullptr : &it->second;
}

void MessageContext::Load(Pg& db, RedisClient& redis, const std::vector<const MessageRow*>& messages,
                          const std::string& caller) {
    PgBatch batch(db);
    Load(batch, messages, caller);
    batch.Run();
    Settle(db, redis);
}

void MessageContext::Load(PgBatch& batch, const std::vector<const MessageRow*>& messages, const std::string& caller) {
    // Only messages with reactions are looked up: reaction_groups is rewritten in the transaction
    // of every reaction change (reactions::RefreshGroups), so "{}" means none, and most messages
    // (a fresh send always) have none.
    std::vector<int64_t> reacted_pks;
    std::vector<int64_t> all_pks;
    std::vector<std::string> quoted_ids;
    std::vector<std::string> poll_ids;
    for (const MessageRow* m : messages) {
        if (m->poll_id && polls.find(*m->poll_id) == polls.end()) poll_ids.push_back(*m->poll_id);
        if (m->reaction_groups_json != "{}") reacted_pks.push_back(m->pk);
        all_pks.push_back(m->pk);
        users.Want(m->user_id);
        users.Want(m->mentioned_users);
        users.Want(m->thread_participants);
        if (m->pinned_by) users.Want(*m->pinned_by);
        if (m->quoted_message_id && quoted.find(*m->quoted_message_id) == quoted.end())
            quoted_ids.push_back(*m->quoted_message_id);
    }
    messages::FindMany(batch, quoted_ids, quoted_rows_);
    // Stream keeps about ten latest reactions per message; so do we.
    reactions::Latest(batch, reacted_pks, 10, latest_rows_);
    reactions::Own(batch, reacted_pks, caller, own_rows_);
    // Any message may carry the caller's reminder: a lookup by the primary key per message.
    reminders::Own(batch, all_pks, caller, reminder_rows_);
    // Only messages that carry a poll cost a read: three statements for all their polls.
    polls::Load(batch, poll_ids, caller, poll_rows_, own_vote_rows_);
    users.Load(batch);
}

void MessageContext::PutPoll(polls::PollRow poll, std::vector<polls::VoteRow> own) {
    users.Want(poll.created_by);
    // An anonymous poll's votes are written without their users: none to load.
    if (!poll.anonymous()) {
        for (const auto& v : poll.latest_votes) users.Want(v.user_id);
        for (const auto& v : poll.latest_answers) users.Want(v.user_id);
    }
    for (const auto& v : own) users.Want(v.user_id);
    own_poll_votes[poll.id] = std::move(own);
    std::string id = poll.id;
    polls.insert_or_assign(std::move(id), std::move(poll));
}

void MessageContext::Settle(Pg& db, RedisClient& redis) {
    for (auto& q : quoted_rows_) {
        users.Want(q.user_id);
        users.Want(q.mentioned_users);
        quoted.emplace(q.id, std::move(q));
    }
    for (auto& r : latest_rows_) {
        users.Want(r.user_id);
        latest_reactions[r.message_pk].push_back(std::move(r));
    }
    for (auto& r : own_rows_) {
        users.Want(r.user_id);
        own_reactions[r.message_pk].push_back(std::move(r));
    }
    for (auto& r : reminder_rows_) own_reminders.emplace(r.message_pk, std::move(r));
    std::unordered_map<std::string, std::vector<polls::VoteRow>> own_by_poll;
    for (auto& v : own_vote_rows_) own_by_poll[v.poll_id].push_back(std::move(v));
    for (auto& p : poll_rows_) {
        auto own = std::move(own_by_poll[p.id]);
        PutPoll(std::move(p), std::move(own));
    }
    quoted_rows_.clear();
    latest_rows_.clear();
    own_rows_.clear();
    reminder_rows_.clear();
    poll_rows_.clear();
    own_vote_rows_.clear();
    // Users named only by quoted messages, reactions or polls: the batch could not know them.
    PgBatch more(db);
    users.Load(more);
    more.Run();
    users.Settle(redis);
}

}  // namespace streambed
