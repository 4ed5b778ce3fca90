#pragma once
// What one worker process holds between requests: its configuration and its connections. A
// worker keeps no other state; everything shared lives in PostgreSQL or Redis.

#include <memory>
#include <optional>

#include "common/config.h"
#include "common/redis.h"
#include "common/snowflake.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

class App {
public:
    explicit App(const Config& config);
    ~App();

    const Config& config() const { return config_; }
    Pg& db() { return db_; }
    RedisClient& redis() { return redis_; }
    // Snowflake ids minted under this process's node lease (leased on first use).
    uint64_t NextSnowflake();

private:
    const Config& config_;
    Pg db_;
    RedisClient redis_;
    std::optional<NodeLease> lease_;
    std::optional<Snowflake> snowflake_;
};

}  // namespace streambed
