#include "fcgi-app/app.h"

namespace streambed {

App::App(const Config& config, const metrics::Registry* registry, const ApiMetrics* metrics)
    : config_(config),
      registry_(registry),
      metrics_(metrics),
      rate_limits_(RateLimits::Parse(config.rate_limits)),
      db_(config.pg_conninfo, config.pg_statement_timeout_ms),
      redis_(config.redis) {
    if (metrics_ != nullptr) {
        const ApiMetrics* m = metrics_;
        db_.SetQueryObserver([m](int64_t micros) { m->pg_query_duration.With().ObserveMicros(micros); });
    }
}

App::~App() {
    if (lease_) {
        try {
            lease_->Release(redis_);
        } catch (...) {
            // The lease expires on its own.
        }
    }
}

uint64_t App::NextSnowflake() {
    if (!lease_) {
        lease_ = NodeLease::Acquire(redis_, "worker");
        snowflake_.emplace(lease_->id());
    } else if (lease_->KeepAlive(redis_)) {
        snowflake_.emplace(lease_->id());
    }
    return snowflake_->Next();
}

}  // namespace streambed
