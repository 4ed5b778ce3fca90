#include "push/retry_policy.h"

#include <time.h>

#include <algorithm>
#include <string>

namespace streambed {

PushDecision DecidePush(int status, std::optional<int64_t> retry_after_seconds, int attempts, const RetryPolicy& policy,
                        double jitter) {
    PushDecision d;
    if (status >= 200 && status < 300) {
        d.outcome = PushOutcome::kDelivered;
        return d;
    }
    if (status == 404 || status == 410) {
        d.outcome = PushOutcome::kGone;
        return d;
    }
    bool transient = status == 0 || status == 408 || status == 429 || (status >= 500 && status < 600);
    if (!transient || attempts >= policy.max_attempts) {
        d.outcome = PushOutcome::kFailed;
        return d;
    }
    int shift = std::min(attempts - 1, 30);
    int64_t backoff = policy.base_delay_ms << std::max(shift, 0);
    backoff += static_cast<int64_t>(static_cast<double>(backoff) * 0.25 * std::clamp(jitter, 0.0, 1.0));
    backoff = std::min(backoff, policy.max_delay_ms);
    if (retry_after_seconds) {
        // Honoured, never shortened; but a service asking for more than we are willing to wait
        // gets no retry at all rather than one that arrives long after anyone cares.
        int64_t asked = *retry_after_seconds * 1000;
        if (asked > policy.max_delay_ms) {
            d.outcome = PushOutcome::kFailed;
            return d;
        }
        backoff = std::max(backoff, asked);
    }
    d.outcome = PushOutcome::kRetry;
    d.delay_ms = backoff;
    return d;
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_seconds) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9) return std::nullopt;
        return std::stoll(std::string(value));
    }
    // IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", the one form senders may use (RFC 9110 §5.6.7).
    // Parsed strictly, in the C locale this process never changes.
    std::string text(value);
    struct tm tm {};
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0' || text.size() != 29) return std::nullopt;
    int64_t at = timegm(&tm);
    return std::max<int64_t>(0, at - now_seconds);
}

}  // namespace streambed
