#include "fcgi-app/outbox.h"

#include <algorithm>

#include "common/errors.h"
#include "common/keys.h"
#include "common/log.h"

namespace streambed {

namespace {
const PgStatement kAppend{"event_append",
                          "INSERT INTO channel_events (channel_pk, seq, type, payload) "
                          "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])"};
// The seq token as common/json.h writes it (kStoreSeqToken), replaced as messages::Append does.
const PgStatement kLogEvents{
    "event_log",
    "WITH s AS (UPDATE channels SET event_seq = event_seq + cardinality($2::text[]) WHERE pk = $1 "
    "  RETURNING event_seq - cardinality($2::text[]) AS base) "
    "INSERT INTO channel_events (channel_pk, seq, type, payload) "
    "SELECT $1, s.base + e.n, e.type, replace(e.payload, E'\\x01seq\\x01', (s.base + e.n)::text) "
    "FROM s, unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(type, payload, n) "
    "RETURNING seq, payload"};
}  // namespace

void Outbox::Channel(int64_t channel_pk, const std::string& cid, int64_t seq, std::string type, std::string payload) {
    published_.emplace_back(keys::ChannelTopic(cid), payload);
    persisted_.push_back({channel_pk, seq, std::move(type), std::move(payload)});
}

void Outbox::LogAndCommit(PgTransaction& tx, int64_t channel_pk, const std::string& cid,
                          const std::vector<Logged>& events) {
    std::vector<std::string> types, payloads;
    for (const auto& e : events) {
        types.push_back(e.type);
        payloads.push_back(e.payload);
    }
    PgResult r = tx.CommitWith(kLogEvents, PgParams().Add(channel_pk).AddArray(types).AddArray(payloads));
    if (r.rows() != static_cast<int>(events.size())) throw NotFound("channel does not exist");
    // Published in seq order, whatever order the rows came back in.
    std::vector<std::pair<int64_t, std::string>> logged;
    for (int i = 0; i < r.rows(); ++i) logged.emplace_back(r.Int(i, 0), std::string(r.Str(i, 1)));
    std::sort(logged.begin(), logged.end());
    for (auto& [seq, payload] : logged) published_.emplace_back(keys::ChannelTopic(cid), std::move(payload));
}

void Outbox::Publish(std::string topic, std::string payload) { published_.emplace_back(std::move(topic), std::move(payload)); }

void Outbox::Persist(Pg& db) {
    if (persisted_.empty()) return;
    std::vector<int64_t> pks, seqs;
    std::vector<std::string> types, payloads;
    for (const auto& e : persisted_) {
        pks.push_back(e.channel_pk);
        seqs.push_back(e.seq);
        types.push_back(e.type);
        payloads.push_back(e.payload);
    }
    db.Queue(kAppend, PgParams().AddArray(pks).AddArray(seqs).AddArray(types).AddArray(payloads));
}

void Outbox::Flush(RedisClient& redis) {
    if (published_.empty()) return;
    size_t events = published_.size();
    RedisBatch batch;
    Flush(batch);
    try {
        batch.Run(redis);
    } catch (const RedisError& e) {
        Log(LogLevel::kWarn, "events.publish_failed").Str("error", e.what()).Int("events", static_cast<int64_t>(events));
    }
}

void Outbox::Flush(RedisBatch& batch) {
    for (auto& [topic, payload] : published_) batch.Add({"PUBLISH", topic, std::move(payload)}, [](const redisReply*) {});
    published_.clear();
}

}  // namespace streambed
