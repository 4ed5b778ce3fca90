#pragma once
// Rate limits as getstream.io applies them (issue 8): every route belongs to an endpoint class
// with an app-wide budget per minute, and client-side calls (user tokens) also have a budget per
// user per route per minute; server-token calls are exempt from the latter. Counted in Redis in
// one-minute windows, so every worker on every host shares the same counts. nginx's limit_req per
// address stands in front of this.
//
// STREAMBED_RATE_LIMITS overrides the defaults: "off", or comma-separated class=limit pairs
// ("send_message=5000,user=120"); "*" sets every class.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/redis.h"
#include "fcgi-app/caller.h"
#include "fcgi-app/router.h"

namespace streambed {

class RateLimits {
public:
    // Throws ConfigError for an unknown class or a bad number.
    static RateLimits Parse(std::string_view spec);

    bool enabled() const { return enabled_; }
    int per_user() const { return per_user_; }
    int LimitOf(std::string_view klass) const;

    // The endpoint class of a route: "query_channels", "send_message", ..., "other".
    static std::string_view ClassOf(const Route& route);

private:
    bool enabled_ = true;
    int per_user_ = 60;
    std::map<std::string, int, std::less<>> limits_;
};

struct RateDecision {
    bool allowed = true;
    int64_t limit = 0;
    int64_t remaining = 0;
    int64_t reset = 0;  // unix seconds when the window ends
    bool counted = false;  // false: not limited (disabled, exempt route, or Redis unreachable)
};

// Counts this request against its class and, for user tokens, against the user's budget for the
// route; reports the tighter of the two. Fails open when Redis cannot be reached: a Redis outage
// fails the requests that need Redis anyway, and must not fail every other one.
RateDecision CheckRateLimit(RedisClient& redis, const RateLimits& limits, const Route& route, const Caller& caller,
                            int64_t now_seconds);

}  // namespace streambed
