#pragma once
// Everything a handler sees for one request: the request, the authenticated caller, the path
// parameters, and the process's connections.

#include <optional>
#include <string>
#include <string_view>

#include "fcgi-app/app.h"
#include "fcgi-app/caller.h"
#include "fcgi-app/http.h"
#include "fcgi-app/router.h"

namespace streambed {


class Call {
public:
    Call(App& app, const Request& request, Caller caller, PathParams params)
        : app_(app), request_(request), caller_(std::move(caller)), params_(std::move(params)) {}

    App& app() { return app_; }
    const Config& config() const { return app_.config(); }
    Pg& db() { return app_.db(); }
    RedisClient& redis() { return app_.redis(); }
    const Request& request() const { return request_; }
    const Caller& caller() const { return caller_; }

    // A path parameter by name; the router guarantees it exists for the route's pattern.
    const std::string& Param(std::string_view name) const;
    bool HasParam(std::string_view name) const;
    std::optional<std::string_view> Query(std::string_view key) const { return request_.query.Get(key); }

private:
    App& app_;
    const Request& request_;
    Caller caller_;
    PathParams params_;
};

}  // namespace streambed
