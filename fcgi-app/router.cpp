#include "fcgi-app/router.h"

#include <algorithm>

#include "common/url.h"

namespace streambed {

namespace {
std::vector<std::string_view> SplitPath(std::string_view path) {
    std::vector<std::string_view> parts;
    // "/a/b/" -> {"a", "b", ""}: the trailing empty segment keeps the slash significant.
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (true) {
        size_t slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

bool IsParam(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}
}  // namespace

void Router::Add(std::string method, std::string pattern, Access access, Handler handler, BodyKind body) {
    Route r{std::move(method), std::move(pattern), access, handler, {}, body};
    for (auto s : SplitPath(r.pattern)) r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
    RouteMatch result;
    auto parts = SplitPath(path);
    int best_literals = -1;
    for (const Route& route : routes_) {
        if (route.segments.size() != parts.size()) continue;
        PathParams params;
        int literals = 0;
        bool ok = true;
        for (size_t i = 0; i < parts.size() && ok; ++i) {
            const std::string& seg = route.segments[i];
            if (IsParam(seg)) {
                auto decoded = PercentDecode(parts[i], false);
                if (!decoded) {
                    result.bad_encoding = true;
                    ok = false;
                } else if (decoded->empty()) {
                    ok = false;
                } else {
                    params.emplace_back(seg.substr(1, seg.size() - 2), std::move(*decoded));
                }
            } else {
                ok = seg == parts[i];
                ++literals;
            }
        }
        if (!ok) continue;
        if (route.method != method) {
            if (std::find(result.allowed.begin(), result.allowed.end(), route.method) == result.allowed.end())
                result.allowed.push_back(route.method);
            continue;
        }
        // The most literal pattern wins: /channels/{type}/query/ over /channels/{type}/{id}/.
        if (literals > best_literals) {
            best_literals = literals;
            result.route = &route;
            result.params = std::move(params);
        }
    }
    return result;
}

std::vector<std::pair<std::string, std::string>> RouteLabels(const Router& router) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (const Route& r : router.routes()) labels.emplace_back(r.pattern, r.method);
    return labels;
}

}  // namespace streambed
