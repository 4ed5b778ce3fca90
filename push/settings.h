#pragma once
// streambed-push's own settings, read from the environment at start (docs/push.md lists them).
// The shared ones (Redis, PostgreSQL, development mode, log level) come from common/config.h.

#include <string>

namespace streambed {

struct PushSettings {
    // STREAMBED_VAPID_SUBJECT: the VAPID `sub` claim, a mailto: or https: URL a push service can
    // use to reach the operator (RFC 8292 §2.1). Required outside development mode.
    std::string vapid_subject;
    int concurrency = 4;             // STREAMBED_PUSH_CONCURRENCY: deliveries in flight at once
    int ttl_seconds = 86400;         // STREAMBED_PUSH_TTL: how long a push service keeps an undelivered push
    std::string urgency = "normal";  // STREAMBED_PUSH_URGENCY: RFC 8030 §5.3; "normal" is the chat-message level
    int request_timeout_ms = 10000;  // STREAMBED_PUSH_TIMEOUT_MS: one request, connect to last byte
    int max_attempts = 5;            // STREAMBED_PUSH_MAX_ATTEMPTS: per subscription and message
    int retry_base_ms = 1000;        // STREAMBED_PUSH_RETRY_BASE_MS: first backoff; doubles each attempt
    int max_retry_delay_s = 3600;    // STREAMBED_PUSH_MAX_RETRY_DELAY: longest wait (also caps Retry-After)
    // STREAMBED_PUSH_METRICS_LISTEN: host:port of the Prometheus endpoint (GET /metrics); keep it private.
    std::string metrics_listen = "127.0.0.1:9464";

    static constexpr const char* kDevSubject = "mailto:streambed@localhost";

    // Throws ConfigError naming the variable and what to do.
    static PushSettings FromEnvironment(bool dev_mode);
};

}  // namespace streambed
