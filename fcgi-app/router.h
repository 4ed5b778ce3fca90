#pragma once
// Maps method + path to a route. Patterns are written with their trailing slash, with {name}
// for one path segment: "/api/channels/{type}/{id}/query/". A path that matches no pattern is a
// 404; a path that matches only with another method is a 405 (with Allow).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streambed {

class Call;
struct Reply;

// Who may call a route, and which surface's error rules apply (API.md "Auth").
enum class Access {
    kPublic,    // no token
    kStream,    // getstream.io surface: api_key + JWT, or stream-auth-type: anonymous
    kRoom,      // room surfaces: JWT; a bad token is 403
    kInternal,  // gateway to worker: server token only, never exposed by nginx
};

using Handler = Reply (*)(Call&);

// What a route's request body may be (worker.cpp reads it accordingly).
enum class BodyKind {
    kSmall,   // JSON, at most kMaxBodyBytes (1 MiB), read into memory
    kUpload,  // multipart, at most UploadRequestLimit(config), spooled to a temporary file
};

struct Route {
    std::string method;
    std::string pattern;
    Access access;
    Handler handler;
    std::vector<std::string> segments;  // split pattern; "{x}" marks a parameter
    BodyKind body = BodyKind::kSmall;
};

using PathParams = std::vector<std::pair<std::string, std::string>>;

struct RouteMatch {
    const Route* route = nullptr;       // set on a match
    PathParams params;                  // decoded segment values
    std::vector<std::string> allowed;   // methods that would match, for a 405
    bool bad_encoding = false;          // a segment had a malformed %-escape
};

class Router {
public:
    void Add(std::string method, std::string pattern, Access access, Handler handler,
             BodyKind body = BodyKind::kSmall);
    RouteMatch Match(std::string_view method, std::string_view path) const;
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

// Every route of streambed-api, defined in routes.cpp: the one place to find a path's handler.
const Router& AllRoutes();

// (pattern, method) of every route: the label values of the request metrics.
std::vector<std::pair<std::string, std::string>> RouteLabels(const Router& router);

}  // namespace streambed
