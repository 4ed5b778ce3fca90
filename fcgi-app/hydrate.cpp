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
    if (wanted_.empty()) return;
    std::vector<std::string> ids(wanted_.begin(), wanted_.end());
    wanted_.clear();
    for (auto& u : users::FindMany(db, ids)) users_.emplace(u.id, std::move(u));
    for (auto& id : OnlineUsers(redis, ids)) online_.insert(id);
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
    // Only messages with reactions are looked up: reaction_groups is rewritten in the transaction
    // of every reaction change (reactions::RefreshGroups), so "{}" means none, and most messages
    // (a fresh send always) have none.
    std::vector<int64_t> reacted_pks;
    std::vector<std::string> quoted_ids;
    for (const MessageRow* m : messages) {
        if (m->reaction_groups_json != "{}") reacted_pks.push_back(m->pk);
        users.Want(m->user_id);
        users.Want(m->mentioned_users);
        users.Want(m->thread_participants);
        if (m->pinned_by) users.Want(*m->pinned_by);
        if (m->quoted_message_id && quoted.find(*m->quoted_message_id) == quoted.end())
            quoted_ids.push_back(*m->quoted_message_id);
    }
    for (auto& q : messages::FindMany(db, quoted_ids)) {
        users.Want(q.user_id);
        users.Want(q.mentioned_users);
        quoted.emplace(q.id, std::move(q));
    }
    // Stream keeps about ten latest reactions per message; so do we.
    for (auto& r : reactions::Latest(db, reacted_pks, 10)) {
        users.Want(r.user_id);
        latest_reactions[r.message_pk].push_back(std::move(r));
    }
    for (auto& r : reactions::Own(db, reacted_pks, caller)) {
        users.Want(r.user_id);
        own_reactions[r.message_pk].push_back(std::move(r));
    }
    users.Load(db, redis);
}

}  // namespace streambed
