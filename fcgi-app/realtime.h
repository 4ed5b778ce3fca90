#pragma once
// The worker's side of the realtime link: making a socket watch channels (and follow users'
// presence) before the query that asked for it returns, reading watcher sets, and finding the
// members a new message should notify. The socket lives on a gateway; the worker registers the
// watch in Redis (registry.h) and tells that gateway to subscribe the socket, then waits for the
// gateway's acknowledgement. Only then does it read the channel state, so every message committed
// after the state was read is delivered, and every one before it is in the state.

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/push_queue.h"
#include "common/redis.h"

namespace streambed {

struct WatchOutcome {
    bool attached = false;                 // false: unknown or foreign connection id
    // cids where the user became a watcher and user.watching.start is to be published (in a crowded
    // channel only some are: registry.h)
    std::vector<std::string> announce_start;
    std::unordered_map<std::string, int64_t> watcher_counts;
};

// `cids` may be empty when only presence is wanted. Presence subscriptions follow `presence_users`.
WatchOutcome WatchChannels(RedisClient& redis, const std::string& connection_id, const std::string& user_id,
                           const std::vector<std::string>& cids, const std::vector<std::string>& presence_users);

struct UnwatchOutcome {
    // cid, watcher_count: where the user stopped watching and user.watching.stop is to be published
    std::vector<std::pair<std::string, int64_t>> announce_stop;
};
UnwatchOutcome UnwatchChannels(RedisClient& redis, const std::string& connection_id, const std::string& user_id,
                               const std::vector<std::string>& cids);

struct WatcherSet {
    int64_t count = 0;
    std::vector<std::string> user_ids;  // at most the limit asked for
};
// The watchers of each channel, into `into` (by cid) when `batch` runs; `into` must outlive it.
void Watchers(RedisBatch& batch, const std::vector<std::string>& cids, int limit,
              std::unordered_map<std::string, WatcherSet>& into);

struct Audience {
    std::vector<std::string> online_not_watching;  // notification.message_new
};
// What the audience script may need from PostgreSQL when Redis lacks it: the channel's member ids,
// and the ids of the users with a Web Push subscription (keys::kPushSubscribers).
struct AudienceSources {
    std::function<std::vector<std::string>()> members;
    std::function<std::vector<std::string>()> push_subscribers;
};
// Who a new message notifies, asked with other commands: the audience script goes out with
// `batch`, and Finish, once it has run, returns the audience, or asks again on its own when Redis
// lacked the script, the channel's member cache or the push subscribers (read from `sources`
// then). `push`: the message's push job frame, queued by the script for each offline member with
// a subscription; none for no push.
class AudienceQuery {
public:
    AudienceQuery(RedisBatch& batch, const std::string& cid, const std::string& sender,
                  std::optional<PushJobFrame> push);
    AudienceQuery(const AudienceQuery&) = delete;  // the batch holds on to it until it runs
    AudienceQuery& operator=(const AudienceQuery&) = delete;
    Audience Finish(RedisClient& redis, const AudienceSources& sources);

  private:
    std::string cid_;
    std::string sender_;
    std::optional<PushJobFrame> push_;
    std::optional<Audience> answered_;
};
// Drops the member cache of a channel after a membership change.
void ForgetMembers(RedisClient& redis, const std::string& cid);

}  // namespace streambed
