#include "fcgi-app/rate_limit.h"

#include <algorithm>
#include <array>

#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"

namespace streambed {

namespace {

// getstream.io's default budgets per minute for the whole app.
constexpr std::array<std::pair<std::string_view, int>, 14> kDefaults = {{
    {"query_channels", 10000},
    {"mark_read", 10000},
    {"send_event", 10000},
    {"send_message", 1000},
    {"reactions", 1000},
    {"replies", 1000},
    {"get_message", 1000},
    // Link previews fetch a page from the internet when the cache does not have it.
    {"og", 1000},
    {"moderation", 300},
    {"query_members", 300},
    {"update_users", 300},
    {"devices", 300},
    {"admin", 60},
    {"other", 10000},
}};

// Both windows in one round trip: each counter starts its minute on first use.
constexpr std::string_view kCountScript = R"(
local out = {}
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  out[i] = n
end
return out)";

}  // namespace

std::string_view RateLimits::ClassOf(const Route& r) {
    const std::string& p = r.pattern;
    const std::string& m = r.method;
    auto ends = [&p](std::string_view tail) {
        return p.size() >= tail.size() && p.compare(p.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (p == "/api/channels/" && m == "POST") return "query_channels";
    // Delivery receipts come as often as reads do, from the same clients.
    if (ends("/read/") || ends("/unread/") || p == "/api/channels/delivered/") return "mark_read";
    if (ends("/event/")) return "send_event";
    if (ends("/message/") && m == "POST") return "send_message";
    if (p.find("/reaction") != std::string::npos) return "reactions";
    if (ends("/replies/")) return "replies";
    if (p == "/api/messages/{id}/" && m == "GET") return "get_message";
    if (p == "/api/og/") return "og";
    if (p.find("/moderation/") != std::string::npos || p.find("/users/block") != std::string::npos ||
        p.find("/users/unblock") != std::string::npos)
        return "moderation";
    if (p == "/api/members/") return "query_members";
    if (p == "/api/users/" && (m == "POST" || m == "PATCH")) return "update_users";
    if (p == "/api/devices/") return "devices";
    if ((p == "/api/channels/{type}/{id}/" && m == "DELETE") || ends("/truncate/")) return "admin";
    return "other";
}

RateLimits RateLimits::Parse(std::string_view spec) {
    RateLimits limits;
    for (const auto& [k, v] : kDefaults) limits.limits_.emplace(std::string(k), v);
    if (spec == "off") {
        limits.enabled_ = false;
        return limits;
    }
    while (!spec.empty()) {
        size_t comma = spec.find(',');
        std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        std::string_view name = item.substr(0, eq);
        std::string number = eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
        char* end = nullptr;
        long value = std::strtol(number.c_str(), &end, 10);
        if (number.empty() || *end != '\0' || value < 1 || value > 100000000)
            throw ConfigError("STREAMBED_RATE_LIMITS: " + std::string(item) + " needs a limit from 1 to 100000000");
        if (name == "user") {
            limits.per_user_ = static_cast<int>(value);
        } else if (name == "*") {
            for (auto& [k, v] : limits.limits_) v = static_cast<int>(value);
        } else if (auto it = limits.limits_.find(name); it != limits.limits_.end()) {
            it->second = static_cast<int>(value);
        } else {
            throw ConfigError("STREAMBED_RATE_LIMITS: unknown endpoint class '" + std::string(name) + "'");
        }
    }
    return limits;
}

int RateLimits::LimitOf(std::string_view klass) const {
    auto it = limits_.find(klass);
    return it == limits_.end() ? limits_.at("other") : it->second;
}

RateDecision CheckRateLimit(RedisClient& redis, const RateLimits& limits, const Route& route, const Caller& caller,
                            int64_t now_seconds) {
    RateDecision d;
    if (!limits.enabled() || route.access == Access::kPublic || route.access == Access::kInternal) return d;
    int64_t window = now_seconds / 60;
    std::string_view klass = RateLimits::ClassOf(route);
    std::vector<std::string> keys{keys::RateLimitApp(klass, window)};
    bool per_user = !caller.server && !caller.user_id.empty();
    if (per_user) keys.push_back(keys::RateLimitUser(caller.user_id, route.method, route.pattern, window));
    RedisReply reply;
    try {
        reply = redis.Eval(kCountScript, keys, {"61"});
    } catch (const RedisError& e) {
        Log(LogLevel::kWarn, "rate_limit.unavailable").Str("error", e.what());
        return d;
    }
    d.counted = true;
    d.reset = (window + 1) * 60;
    int64_t app_count = reply->element[0]->integer;
    int64_t app_limit = limits.LimitOf(klass);
    d.limit = app_limit;
    d.remaining = std::max<int64_t>(0, app_limit - app_count);
    d.allowed = app_count <= app_limit;
    if (per_user) {
        int64_t user_count = reply->element[1]->integer;
        int64_t user_remaining = std::max<int64_t>(0, limits.per_user() - user_count);
        if (user_remaining < d.remaining || user_count > limits.per_user()) {
            d.limit = limits.per_user();
            d.remaining = user_remaining;
        }
        d.allowed = d.allowed && user_count <= limits.per_user();
    }
    return d;
}

}  // namespace streambed
