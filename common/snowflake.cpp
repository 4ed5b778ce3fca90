#include "common/snowflake.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include "common/clock.h"
#include "common/redis.h"

namespace streambed {

Snowflake::Snowflake(uint16_t node_id) : node_id_(node_id & kMaxNode) {}

uint64_t Snowflake::Next() {
    for (int spins = 0;; ++spins) {
        int64_t now = NowMicros() / 1000;
        if (now < last_millis_) now = last_millis_;  // clock went back: stay on our own timeline
        if (now > last_millis_ || sequence_ < (1u << kSequenceBits)) return NextAt(now);
        // 4096 ids in one millisecond: wait for the next one (bounded: a millisecond passes).
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (spins > 100000) return NextAt(last_millis_ + 1);
    }
}

uint64_t Snowflake::NextAt(int64_t now_millis) {
    if (now_millis > last_millis_) {
        last_millis_ = now_millis;
        sequence_ = 0;
    } else if (sequence_ >= (1u << kSequenceBits)) {
        // Borrow the next millisecond rather than repeat an id.
        ++last_millis_;
        sequence_ = 0;
    }
    uint64_t millis = static_cast<uint64_t>(last_millis_ - kEpochMillis) & ((1ull << 41) - 1);
    uint64_t id = (millis << (kNodeBits + kSequenceBits)) | (static_cast<uint64_t>(node_id_) << kSequenceBits) |
                  sequence_;
    ++sequence_;
    return id;
}

namespace {

std::string LeaseKey(uint16_t id) { return "sb:node:" + std::to_string(id); }

std::string MakeOwner(std::string_view role) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    std::random_device rd;
    return std::string(role) + "@" + host + ":" + std::to_string(getpid()) + ":" + std::to_string(rd());
}

// Extend only when the key still names us: a lease that expired and was re-taken stays theirs.
constexpr std::string_view kRefreshScript = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0)";

constexpr std::string_view kReleaseScript = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0)";

}  // namespace

NodeLease NodeLease::Acquire(RedisClient& redis, std::string_view role) {
    std::string owner = MakeOwner(role);
    // Start at a random id so processes starting together rarely race for the same one.
    std::random_device rd;
    uint16_t start = static_cast<uint16_t>(rd() % (Snowflake::kMaxNode + 1));
    for (int i = 0; i <= Snowflake::kMaxNode; ++i) {
        uint16_t id = static_cast<uint16_t>((start + i) % (Snowflake::kMaxNode + 1));
        auto reply = redis.Command({"SET", LeaseKey(id), owner, "NX", "EX", std::to_string(kTtlSeconds)});
        if (reply->type == REDIS_REPLY_STATUS) return NodeLease(id, owner, std::string(role), NowSeconds());
    }
    throw RedisError("all 1024 snowflake node ids are leased");
}

bool NodeLease::Refresh(RedisClient& redis) {
    auto reply = redis.Eval(kRefreshScript, {LeaseKey(id_)}, {owner_, std::to_string(kTtlSeconds)});
    bool ok = ReplyInteger(reply.get()) == 1;
    if (ok) refreshed_at_ = NowSeconds();
    return ok;
}

bool NodeLease::KeepAlive(RedisClient& redis) {
    if (NowSeconds() - refreshed_at_ < kTtlSeconds / 2) return false;
    if (NowSeconds() - refreshed_at_ < kTtlSeconds && Refresh(redis)) return false;
    *this = Acquire(redis, role_);
    return true;
}

std::vector<std::string> NodeLease::RefreshCommand() const {
    return {"EVAL", std::string(kRefreshScript), "1", LeaseKey(id_), owner_, std::to_string(kTtlSeconds)};
}

void NodeLease::Release(RedisClient& redis) { redis.Eval(kReleaseScript, {LeaseKey(id_)}, {owner_}); }

}  // namespace streambed
