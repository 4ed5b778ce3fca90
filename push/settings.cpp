#include "push/settings.h"

#include <cstdlib>
#include <string_view>

#include "common/config.h"

namespace streambed {

namespace {

std::string Env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

int EnvInt(const char* name, int fallback, int min, int max) {
    std::string text = Env(name);
    if (text.empty()) return fallback;
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v < min || v > max) {
        throw ConfigError(std::string(name) + "=" + text + " is not a whole number between " + std::to_string(min) +
                          " and " + std::to_string(max));
    }
    return static_cast<int>(v);
}

}  // namespace

PushSettings PushSettings::FromEnvironment(bool dev_mode) {
    PushSettings s;
    s.vapid_subject = Env("STREAMBED_VAPID_SUBJECT");
    if (s.vapid_subject.empty()) {
        if (!dev_mode) {
            throw ConfigError(
                "STREAMBED_VAPID_SUBJECT is not set: give a contact for push services, e.g. mailto:ops@example.com");
        }
        s.vapid_subject = kDevSubject;
    }
    std::string_view subject = s.vapid_subject;
    if ((subject.substr(0, 7) != "mailto:" || subject.size() < 10) &&
        (subject.substr(0, 8) != "https://" || subject.size() < 12)) {
        throw ConfigError("STREAMBED_VAPID_SUBJECT must be a mailto: or https: URL (RFC 8292), not '" +
                          s.vapid_subject + "'");
    }
    for (char c : subject) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '"' || c == '\\')
            throw ConfigError("STREAMBED_VAPID_SUBJECT must be a URL without spaces or quotes");
    }
    s.concurrency = EnvInt("STREAMBED_PUSH_CONCURRENCY", 4, 1, 64);
    s.ttl_seconds = EnvInt("STREAMBED_PUSH_TTL", 86400, 0, 28 * 86400);
    std::string urgency = Env("STREAMBED_PUSH_URGENCY");
    if (!urgency.empty()) {
        if (urgency != "very-low" && urgency != "low" && urgency != "normal" && urgency != "high")
            throw ConfigError("STREAMBED_PUSH_URGENCY must be very-low, low, normal or high, not '" + urgency + "'");
        s.urgency = urgency;
    }
    s.request_timeout_ms = EnvInt("STREAMBED_PUSH_TIMEOUT_MS", 10000, 500, 120000);
    s.max_attempts = EnvInt("STREAMBED_PUSH_MAX_ATTEMPTS", 5, 1, 20);
    s.retry_base_ms = EnvInt("STREAMBED_PUSH_RETRY_BASE_MS", 1000, 10, 600000);
    s.max_retry_delay_s = EnvInt("STREAMBED_PUSH_MAX_RETRY_DELAY", 3600, 1, 7 * 86400);
    if (std::string listen = Env("STREAMBED_PUSH_METRICS_LISTEN"); !listen.empty()) s.metrics_listen = listen;
    return s;
}

}  // namespace streambed
