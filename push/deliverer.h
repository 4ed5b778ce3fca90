#pragma once
// A delivery thread of streambed-push: takes jobs from the Redis queue one at a time, sends the
// message to each of the recipient's subscriptions, and acts on each answer (retry_policy.h):
// delete a gone subscription, schedule a retry in keys::kPushRetry, or log the failure. Each
// thread has its own Redis and PostgreSQL connections; nothing is shared but the Watchdog.

#include <atomic>
#include <random>
#include <string>

#include "common/config.h"
#include "common/metrics_catalog.h"
#include "common/push_queue.h"
#include "common/redis.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/push.h"
#include "push/retry_policy.h"
#include "push/sender.h"
#include "push/settings.h"

namespace streambed {

class Deliverer {
  public:
    Deliverer(const Config& config, const PushSettings& settings, const PushMetrics& metrics, Watchdog& watchdog,
              size_t slot);

    // The thread's main loop; returns within about a second of `stopping` becoming true (plus the
    // one request in flight, bounded by the request timeout).
    void Run(const std::atomic<bool>& stopping);

    // One job as taken from the queue (public for the loop only).
    void Handle(const std::string& raw_job);

  private:
    void DeliverTo(const PushJob& job, const push_subscriptions::Deliverable& target);
    void ScheduleRetry(const std::string& raw_job, int64_t delay_ms);

    const Config& config_;
    const PushSettings& settings_;
    const PushMetrics& metrics_;
    RetryPolicy policy_;
    RedisClient redis_;
    Pg db_;
    PushSender sender_;
    std::mt19937_64 random_;
};

}  // namespace streambed
