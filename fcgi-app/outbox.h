#pragma once
// The events one write causes. Channel events go into the channel's event log inside the write's
// transaction (Persist) and are published after it commits (Publish), so a client only ever hears
// about committed state and every committed change has its event in the log (/api/sync/ replays it).

#include <cstdint>
#include <string>
#include <vector>

#include "common/redis.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

class Outbox {
public:
    // A persisted channel event; `payload` already carries `seq`.
    void Channel(int64_t channel_pk, const std::string& cid, int64_t seq, std::string type, std::string payload);
    // A transaction's events of one channel, in order, logged by its last statement and committed
    // with it, in one round trip (PgTransaction::CommitWith): the statement reserves their seqs
    // and puts each where its payload has the store's token (Event::SeqFromStore). Channel and
    // Persist need the seqs reserved, a round trip, before the payloads are written, and hold the
    // channel's row, which the reservation locks, across the round trip to the COMMIT; here it is
    // held only while the two statements run. Published by Flush like the others.
    struct Logged {
        std::string type;
        std::string payload;
    };
    void LogAndCommit(PgTransaction& tx, int64_t channel_pk, const std::string& cid, const std::vector<Logged>& events);
    // Published only: typing, watching, notifications to users.
    void Publish(std::string topic, std::string payload);

    // In the transaction, queued (Pg::Queue): the log rows leave with the COMMIT that follows.
    void Persist(Pg& db);
    // After the commit. Never throws: the write is durable either way, and clients that missed an
    // event recover it (a Redis outage makes every gateway resync its clients).
    void Flush(RedisClient& redis);
    // The same, the publishing going out with `batch` (which may then throw RedisError on Run).
    void Flush(RedisBatch& batch);

    bool empty() const { return persisted_.empty() && published_.empty(); }

private:
    struct Persisted {
        int64_t channel_pk;
        int64_t seq;
        std::string type;
        std::string payload;
    };
    std::vector<Persisted> persisted_;
    std::vector<std::pair<std::string, std::string>> published_;  // topic, payload
};

}  // namespace streambed
