#pragma once
// What one worker process holds between requests: its configuration and its connections. A
// worker keeps no other state; everything shared lives in PostgreSQL or Redis.

#include <memory>
#include <optional>

#include "common/config.h"
#include "common/metrics_catalog.h"
#include "common/redis.h"
#include "common/snowflake.h"
#include "fcgi-app/rate_limit.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

class App {
public:
    // `registry` and `metrics` live in the supervisor's shared memory (main.cpp); null in tests.
    App(const Config& config, const metrics::Registry* registry = nullptr, const ApiMetrics* metrics = nullptr);
    ~App();

    const Config& config() const { return config_; }
    Pg& db() { return db_; }
    RedisClient& redis() { return redis_; }
    // Snowflake ids minted under this process's node lease (leased on first use).
    uint64_t NextSnowflake();

    const RateLimits& rate_limits() const { return rate_limits_; }
    const metrics::Registry* registry() const { return registry_; }
    const ApiMetrics* metrics() const { return metrics_; }

private:
    const Config& config_;
    const metrics::Registry* registry_;
    const ApiMetrics* metrics_;
    RateLimits rate_limits_;
    Pg db_;
    RedisClient redis_;
    std::optional<NodeLease> lease_;
    std::optional<Snowflake> snowflake_;
};

}  // namespace streambed
