#pragma once
// What streambed-push does with a push service's answer (RFC 8030 §5-8): the pure decision,
// kept apart from the sending so the unit tests cover it.
//
//   2xx                      delivered
//   404, 410                 the subscription is gone: delete it
//   408, 429, 5xx, no answer retry after max(backoff, Retry-After), at most max_attempts in all;
//                            a Retry-After beyond max_delay gives up instead of waiting that long
//   anything else            failed, not retried (400, 401/403 VAPID refused, 413, redirects, ...)
//
// Backoff: base * 2^(attempts-1), plus up to 25 % jitter, capped at max_delay.

#include <cstdint>
#include <optional>
#include <string_view>

namespace streambed {

struct RetryPolicy {
    int max_attempts = 5;
    int64_t base_delay_ms = 1000;
    int64_t max_delay_ms = 3600 * 1000;
};

enum class PushOutcome { kDelivered, kGone, kRetry, kFailed };

struct PushDecision {
    PushOutcome outcome = PushOutcome::kFailed;
    int64_t delay_ms = 0;  // kRetry only
};

// `status` is the HTTP status, or 0 when no answer came (network error, timeout). `attempts`
// counts the attempts made so far, this one included. `jitter` is in [0, 1).
PushDecision DecidePush(int status, std::optional<int64_t> retry_after_seconds, int attempts, const RetryPolicy& policy,
                        double jitter);

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns seconds from `now`
// (0 for a date in the past); nullopt when absent or malformed.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds);

}  // namespace streambed
