// Routing: trailing slashes, parameters, 404 versus 405, the most literal pattern winning.
#define BOOST_TEST_MODULE router
#include <boost/test/unit_test.hpp>

#include "fcgi-app/http.h"
#include "fcgi-app/router.h"

using namespace streambed;

namespace {
Reply A(Call&) { return Reply::Json("{\"a\":1}"); }
Reply B(Call&) { return Reply::Json("{\"b\":1}"); }

Router Sample() {
    Router r;
    r.Add("POST", "/api/channels/{type}/{id}/query/", Access::kStream, A);
    r.Add("POST", "/api/channels/{type}/query/", Access::kStream, B);
    r.Add("POST", "/api/channels/{type}/{id}/", Access::kStream, A);
    r.Add("DELETE", "/api/channels/{type}/{id}/", Access::kStream, B);
    return r;
}
}  // namespace

BOOST_AUTO_TEST_CASE(matches_with_parameters_decoded) {
    Router r = Sample();
    auto m = r.Match("POST", "/api/channels/messaging/gen%21eral/query/");
    BOOST_REQUIRE(m.route != nullptr);
    BOOST_TEST(m.route->pattern == "/api/channels/{type}/{id}/query/");
    BOOST_TEST(m.params.at(0).second == "messaging");
    BOOST_TEST(m.params.at(1).second == "gen!eral");
}

BOOST_AUTO_TEST_CASE(most_literal_pattern_wins) {
    Router r = Sample();
    auto m = r.Match("POST", "/api/channels/messaging/query/");
    BOOST_REQUIRE(m.route != nullptr);
    BOOST_TEST(m.route->pattern == "/api/channels/{type}/query/");
}

BOOST_AUTO_TEST_CASE(slash_is_significant) {
    Router r = Sample();
    BOOST_TEST(r.Match("POST", "/api/channels/messaging/general/query").route == nullptr);
}

BOOST_AUTO_TEST_CASE(not_found_versus_method_not_allowed) {
    Router r = Sample();
    auto missing = r.Match("GET", "/api/nothing/");
    BOOST_TEST(missing.route == nullptr);
    BOOST_TEST(missing.allowed.empty());
    auto wrong = r.Match("GET", "/api/channels/messaging/general/");
    BOOST_TEST(wrong.route == nullptr);
    BOOST_TEST(wrong.allowed.size() == 2u);
}

BOOST_AUTO_TEST_CASE(malformed_and_empty_segments) {
    Router r = Sample();
    auto bad = r.Match("POST", "/api/channels/mess%zzaging/general/");
    BOOST_TEST(bad.route == nullptr);
    BOOST_TEST(bad.bad_encoding);
    BOOST_TEST(r.Match("POST", "/api/channels//general/").route == nullptr);
}

BOOST_AUTO_TEST_CASE(every_route_of_the_api_has_a_trailing_slash) {
    for (const Route& route : AllRoutes().routes()) {
        BOOST_TEST_CONTEXT(route.pattern) { BOOST_TEST(route.pattern.back() == '/'); }
    }
}
