#pragma once
// 64-bit snowflake ids (API.md §2): 41 bits of milliseconds since 2024-01-01T00:00:00Z, 10 bits
// of node id, 12 bits of sequence. The node id is leased in Redis, so two live processes never
// share one and never mint the same id.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streambed {

class RedisClient;

class Snowflake {
public:
    static constexpr int64_t kEpochMillis = 1704067200000;  // 2024-01-01T00:00:00Z
    static constexpr int kNodeBits = 10;
    static constexpr int kSequenceBits = 12;
    static constexpr uint16_t kMaxNode = (1 << kNodeBits) - 1;

    explicit Snowflake(uint16_t node_id);

    // Not thread-safe: one generator per thread. Waits for the next millisecond when 4096 ids
    // were minted in this one, and never goes backwards when the wall clock does.
    uint64_t Next();
    uint64_t NextAt(int64_t now_millis);  // for tests

    uint16_t node_id() const { return node_id_; }

    static int64_t MillisOf(uint64_t id) { return static_cast<int64_t>(id >> (kNodeBits + kSequenceBits)) + kEpochMillis; }
    static uint16_t NodeOf(uint64_t id) { return static_cast<uint16_t>((id >> kSequenceBits) & kMaxNode); }

private:
    uint16_t node_id_;
    int64_t last_millis_ = 0;
    uint32_t sequence_ = 0;
};

// A node id held in Redis under sb:node:<id> with a TTL, refreshed by its holder.
class NodeLease {
public:
    static constexpr int kTtlSeconds = 60;

    // Claims the first free id. Throws RedisError when Redis is down or all 1024 are taken.
    static NodeLease Acquire(RedisClient& redis, std::string_view role);

    // Extends the lease if it is still ours; false when it was lost (expired and taken).
    bool Refresh(RedisClient& redis);
    // Refreshes when half the TTL has passed since the last refresh, re-acquiring a new id when
    // the old one was lost. Returns true when the id changed. Call before minting ids.
    bool KeepAlive(RedisClient& redis);
    void Release(RedisClient& redis);

    // For holders on an asynchronous connection: the EVAL command that extends the lease (its
    // reply is 1 while the lease is ours), and the bookkeeping once it succeeded.
    std::vector<std::string> RefreshCommand() const;
    void MarkRefreshed(int64_t now_seconds) { refreshed_at_ = now_seconds; }

    uint16_t id() const { return id_; }

private:
    NodeLease(uint16_t id, std::string owner, std::string role, int64_t refreshed_at)
        : id_(id), owner_(std::move(owner)), role_(std::move(role)), refreshed_at_(refreshed_at) {}

    uint16_t id_;
    std::string owner_;
    std::string role_;
    int64_t refreshed_at_;  // seconds
};

}  // namespace streambed
