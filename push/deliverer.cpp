#include "push/deliverer.h"

#include <chrono>
#include <thread>

#include "common/base64.h"
#include "common/clock.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/push_endpoint.h"
#include "common/webpush.h"

namespace streambed {

namespace {
// RFC 8292 allows at most 24 hours; half leaves room for clock skew at the push service.
constexpr int64_t kVapidLifetimeSeconds = 12 * 3600;
// When PostgreSQL is down a job waits this long before it is tried again (not counted as an attempt).
constexpr int64_t kDatabaseRetryMs = 5000;
}  // namespace

Deliverer::Deliverer(const Config& config, const PushSettings& settings, const PushMetrics& metrics,
                     Watchdog& watchdog, size_t slot)
    : config_(config),
      settings_(settings),
      metrics_(metrics),
      redis_(config.redis, 3000),
      db_(config.pg_conninfo, config.pg_statement_timeout_ms),
      sender_(config.dev_mode, settings.request_timeout_ms, watchdog, slot),
      random_(std::random_device{}()) {
    policy_.max_attempts = settings.max_attempts;
    policy_.base_delay_ms = settings.retry_base_ms;
    policy_.max_delay_ms = int64_t{settings.max_retry_delay_s} * 1000;
}

void Deliverer::Run(const std::atomic<bool>& stopping) {
    // The job handled last, not yet removed from the in-flight list. Its LREM goes out with the
    // next BLMOVE, in one pipeline: Redis runs the LREM at once and then blocks on the BLMOVE, so
    // the acknowledgement is not delayed, and a job costs one round trip instead of two.
    std::optional<std::string> done;
    auto ack = [](const std::string& job) -> std::vector<std::string> {
        return {"LREM", keys::kPushInflight, "1", job};
    };
    while (!stopping.load()) {
        std::optional<std::string> job;
        try {
            // Blocks at most a second, so a stop is noticed; the job stays in the in-flight list
            // until it is done, so a crash does not lose it (main.cpp puts it back at start).
            std::vector<std::string> fetch{"BLMOVE", keys::kPushQueue, keys::kPushInflight, "RIGHT", "LEFT", "1"};
            if (done) {
                auto replies = redis_.Pipeline({ack(*done), fetch});
                if (replies[0]->type == REDIS_REPLY_ERROR)
                    Log(LogLevel::kWarn, "push.ack_failed").Str("error", replies[0]->str);
                done.reset();  // acknowledged, or refused by Redis, which a retry would not change
                if (replies[1]->type == REDIS_REPLY_ERROR) throw RedisError(replies[1]->str);
                job = ReplyString(replies[1].get());
            } else {
                job = ReplyString(redis_.Command(fetch).get());
            }
        } catch (const RedisError& e) {
            // An I/O error leaves `done` set when the pipeline failed: its LREM is sent again
            // (removing a job that is already gone removes nothing).
            metrics_.redis_errors.With({"push"}).Inc();
            Log(LogLevel::kWarn, "push.redis_error").Str("error", e.what());
            for (int i = 0; i < 10 && !stopping.load(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        if (!job) continue;
        Handle(*job);
        done = std::move(job);
    }
    if (done) {
        try {
            redis_.Command(ack(*done));
        } catch (const RedisError& e) {
            Log(LogLevel::kWarn, "push.ack_failed").Str("error", e.what());
        }
    }
}

void Deliverer::Handle(const std::string& raw) {
    auto job = ParsePushJob(raw);
    if (!job) {
        Log(LogLevel::kWarn, "push.bad_job").Int("bytes", static_cast<int64_t>(raw.size()));
        return;
    }
    int64_t age_ms = NowMicros() / 1000 - job->queued_at_ms;
    if (age_ms > int64_t{settings_.ttl_seconds} * 1000) {
        // The push service would drop it anyway: a notification this old is noise.
        Log(LogLevel::kInfo, "push.expired").Str("message_id", job->message_id).Int("age_ms", age_ms);
        return;
    }
    std::vector<push_subscriptions::Deliverable> targets;
    try {
        if (!job->subscription_id.empty()) {
            if (auto target = push_subscriptions::DeliverableById(db_, job->subscription_id, job->recipient_id))
                targets.push_back(std::move(*target));
        } else {
            targets = push_subscriptions::DeliverableForMessage(db_, job->recipient_id, job->cid);
        }
    } catch (const PgUnavailable&) {
        Log(LogLevel::kWarn, "push.db_unavailable").Str("message_id", job->message_id);
        ScheduleRetry(raw, kDatabaseRetryMs);
        return;
    } catch (const std::exception& e) {
        Log(LogLevel::kError, "push.db_error").Str("message_id", job->message_id).Str("error", e.what());
        return;
    }
    for (const auto& target : targets) DeliverTo(*job, target);
}

void Deliverer::DeliverTo(const PushJob& job, const push_subscriptions::Deliverable& target) {
    const PushSubscriptionRow& sub = target.subscription;
    const int64_t now = NowMicros();
    auto remove = [&](const char* reason, int status) {
        try {
            push_subscriptions::DeleteById(db_, sub.id);
        } catch (const std::exception& e) {
            Log(LogLevel::kWarn, "push.remove_failed").Str("subscription_id", sub.id).Str("error", e.what());
            return;
        }
        Log(LogLevel::kInfo, "push.subscription_removed")
            .Str("subscription_id", sub.id)
            .Str("user_id", sub.user_id)
            .Str("reason", reason)
            .Int("status", status);
    };
    if (sub.expiration_time && *sub.expiration_time <= now) {
        remove("expired", 0);
        return;
    }

    // Checked again here: the rules may have tightened (development mode off) since it was stored.
    std::string error;
    auto endpoint = ParsePushEndpoint(sub.endpoint, &error);
    if (endpoint) {
        if (auto problem = PushEndpointProblem(*endpoint, config_.dev_mode)) {
            error = *problem;
            endpoint.reset();
        }
    }
    if (!endpoint) {
        Log(LogLevel::kWarn, "push.endpoint_refused").Str("subscription_id", sub.id).Str("error", error);
        return;
    }

    PushRequest request;
    request.endpoint = *endpoint;
    try {
        auto ua_public = Base64UrlDecode(sub.p256dh);
        auto auth = Base64UrlDecode(sub.auth);
        if (!ua_public || !auth) throw webpush::CryptoError("stored subscription keys are not base64url");
        request.body = webpush::Encrypt(PushPayload(job), *ua_public, *auth);
        std::string token = webpush::VapidToken(endpoint->Origin(), now / 1000000 + kVapidLifetimeSeconds,
                                                settings_.vapid_subject, target.vapid.key);
        request.authorization = webpush::VapidAuthorization(token, target.vapid.key.public_key);
    } catch (const webpush::CryptoError& e) {
        Log(LogLevel::kError, "push.crypto_error").Str("subscription_id", sub.id).Str("error", e.what());
        return;
    }
    // The push service keeps it for what is left of the TTL, counted from when it was queued.
    int64_t age_s = std::max<int64_t>(0, (now / 1000 - job.queued_at_ms) / 1000);
    request.ttl_seconds = static_cast<int>(std::max<int64_t>(0, settings_.ttl_seconds - age_s));
    request.urgency = settings_.urgency;

    PushResponse response = sender_.Send(request);
    int attempts = (job.subscription_id.empty() ? 0 : job.attempts) + 1;
    double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
    PushDecision decision;
    if (!response.refused)
        decision = DecidePush(response.status, response.retry_after_seconds, attempts, policy_, jitter);

    switch (decision.outcome) {
        case PushOutcome::kDelivered:
            metrics_.deliveries.With({"delivered"}).Inc();
            Log(LogLevel::kInfo, "push.delivered")
                .Str("subscription_id", sub.id)
                .Str("message_id", job.message_id)
                .Str("origin", endpoint->Origin())
                .Int("status", response.status)
                .Int("attempts", attempts);
            break;
        case PushOutcome::kGone:
            metrics_.deliveries.With({"gone"}).Inc();
            remove("gone", response.status);
            break;
        case PushOutcome::kRetry: {
            metrics_.deliveries.With({"retried"}).Inc();
            PushJob retry = job;
            retry.subscription_id = sub.id;
            retry.attempts = attempts;
            ScheduleRetry(SerializePushJob(retry), decision.delay_ms);
            Log(LogLevel::kInfo, "push.retry_scheduled")
                .Str("subscription_id", sub.id)
                .Str("message_id", job.message_id)
                .Str("origin", endpoint->Origin())
                .Int("status", response.status)
                .Str("error", response.error)
                .Int("attempts", attempts)
                .Int("delay_ms", decision.delay_ms);
            break;
        }
        case PushOutcome::kFailed:
            metrics_.deliveries.With({"failed"}).Inc();
            // The endpoint URL itself is a bearer capability: only its origin is logged.
            Log(LogLevel::kWarn, "push.failed")
                .Str("subscription_id", sub.id)
                .Str("message_id", job.message_id)
                .Str("origin", endpoint->Origin())
                .Int("status", response.status)
                .Str("error", response.error)
                .Int("attempts", attempts);
            break;
    }
}

void Deliverer::ScheduleRetry(const std::string& raw_job, int64_t delay_ms) {
    try {
        redis_.Command({"ZADD", keys::kPushRetry, std::to_string(NowMicros() / 1000 + delay_ms), raw_job});
    } catch (const RedisError& e) {
        Log(LogLevel::kWarn, "push.retry_lost").Str("error", e.what());
    }
}

}  // namespace streambed
