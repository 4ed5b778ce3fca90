#include "fcgi-app/app.h"

namespace streambed {

App::App(const Config& config) : config_(config), db_(config.pg_conninfo), redis_(config.redis) {}

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
