// The shared pure pieces: base64, query strings, timestamps, snowflake ids, configuration.
#define BOOST_TEST_MODULE common
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/base64.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/errors.h"
#include "common/events.h"
#include "common/json.h"
#include "common/ids.h"
#include "common/snowflake.h"
#include "common/url.h"

using namespace streambed;

BOOST_AUTO_TEST_CASE(base64url_round_trip_and_strictness) {
    const std::string samples[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\xfe", 3)};
    for (const std::string& s : samples) {
        BOOST_TEST(*Base64UrlDecode(Base64UrlEncode(s)) == s);
        BOOST_TEST(*Base64Decode(Base64Encode(s)) == s);
    }
    BOOST_TEST(Base64Encode("foobar") == "Zm9vYmFy");
    BOOST_TEST(Base64Encode("fo") == "Zm8=");
    BOOST_TEST(Base64UrlEncode("\xfb\xff") == "-_8");
    BOOST_TEST(!Base64UrlDecode("a+b/").has_value());  // standard alphabet is not url-safe
    BOOST_TEST(!Base64UrlDecode("abc!").has_value());
    BOOST_TEST(!Base64UrlDecode("a").has_value());     // impossible length
    BOOST_TEST(*Base64UrlDecode("Zm8=") == "fo");      // padding is tolerated
    BOOST_TEST(!Base64UrlDecode("Zh").has_value());    // non-zero trailing bits
}

BOOST_AUTO_TEST_CASE(query_parsing) {
    auto q = QueryParams::Parse("a=1&b=hello%20world&c=x+y&empty=&flag&a=2");
    BOOST_REQUIRE(q.has_value());
    BOOST_TEST(*q->Get("a") == "1");
    BOOST_TEST(*q->Get("b") == "hello world");
    BOOST_TEST(*q->Get("c") == "x y");
    BOOST_TEST(*q->Get("empty") == "");
    BOOST_TEST(q->Has("flag"));
    BOOST_TEST(!q->Has("zzz"));
    BOOST_TEST(!QueryParams::Parse("a=%zz").has_value());
    BOOST_TEST(!QueryParams::Parse("a=%4").has_value());
    BOOST_TEST(!QueryParams::Parse("a=%00").has_value());
    BOOST_TEST(!QueryParams::Parse(std::string_view("a=x\0y", 5)).has_value());  // a raw NUL as well
    BOOST_TEST(!PercentDecode(std::string_view("x\0", 2), false).has_value());
    BOOST_TEST(!QueryParams::Parse("a=%ff").has_value());        // not UTF-8
    BOOST_TEST(!QueryParams::Parse("a=%c3").has_value());        // truncated sequence
    BOOST_TEST(!QueryParams::Parse("a=%c0%af").has_value());     // overlong '/'
    BOOST_TEST(!QueryParams::Parse("a=%ed%a0%80").has_value());  // UTF-16 surrogate
    BOOST_TEST(*QueryParams::Parse("a=%c3%bc%f0%9f%98%80")->Get("a") == "\xc3\xbc\xf0\x9f\x98\x80");
    BOOST_TEST(PercentEncode("a b/c:d~") == "a%20b%2Fc%3Ad~");
}

BOOST_AUTO_TEST_CASE(timestamps_round_trip_at_microseconds) {
    int64_t t = 1795685895123456;
    BOOST_TEST(FormatTimestamp(t) == "2026-11-26T09:38:15.123456Z");
    BOOST_TEST(*ParseTimestamp("2026-11-26T09:38:15.123456Z") == t);
    BOOST_TEST(*ParseTimestamp("2026-11-26T09:38:15.123Z") == t - 456);
    BOOST_TEST(*ParseTimestamp("2026-11-26T10:38:15.123456+01:00") == t);
    BOOST_TEST(*ParseTimestamp("2026-11-26T09:38:15Z") == t - 123456);
    BOOST_TEST(!ParseTimestamp("2026-11-26 09:38:15").has_value());  // zone-less: ambiguous
    BOOST_TEST(!ParseTimestamp("yesterday").has_value());
    BOOST_TEST(!ParseTimestamp("2026-13-01T00:00:00Z").has_value());
    BOOST_TEST(!ParseTimestamp("2026-02-29T00:00:00Z").has_value());  // not a leap year
    BOOST_TEST(ParseTimestamp("2024-02-29T00:00:00Z").has_value());
    BOOST_TEST(!ParseTimestamp("2026-04-31T00:00:00Z").has_value());
    BOOST_TEST(FormatTimestamp(0) == "1970-01-01T00:00:00.000000Z");
}

// FormatTimestamp computes the calendar itself; gmtime_r and strftime are the reference, over
// seeded random instants from year 1 to 9999, both sides of the epoch, and the days around leap
// days and century years.
BOOST_AUTO_TEST_CASE(timestamps_format_as_the_c_library_does) {
    auto reference = [](int64_t micros) {
        int64_t sec = micros / 1000000, frac = micros % 1000000;
        if (frac < 0) frac += 1000000, sec -= 1;
        time_t t = static_cast<time_t>(sec);
        struct tm tm_utc {};
        gmtime_r(&t, &tm_utc);
        char date[64], out[96];
        std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm_utc);
        if (tm_utc.tm_year + 1900 < 1000) {  // strftime does not pad years to four digits
            std::snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d", tm_utc.tm_year + 1900, tm_utc.tm_mon + 1,
                          tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec);
        }
        std::snprintf(out, sizeof out, "%s.%06lldZ", date, static_cast<long long>(frac));
        return std::string(out);
    };
    std::mt19937_64 rng(20261127);
    const int64_t first = -62135596800LL * 1000000;  // 0001-01-01
    const int64_t last = 253402300799LL * 1000000;   // 9999-12-31T23:59:59
    for (int i = 0; i < 200000; ++i) {
        int64_t t = std::uniform_int_distribution<int64_t>(first, last)(rng);
        BOOST_TEST_REQUIRE(FormatTimestamp(t) == reference(t), "at " << t);
    }
    for (int64_t day : {-719468LL, -1LL, 0LL, 59LL, 10956LL, 11016LL, 11017LL, 47541LL, 47542LL, 2932896LL})
        for (int64_t offset : {0LL, 1LL, 86399999999LL})
            BOOST_TEST(FormatTimestamp(day * 86400000000LL + offset) == reference(day * 86400000000LL + offset));
    BOOST_TEST(FormatTimestamp(-1) == "1969-12-31T23:59:59.999999Z");
    BOOST_TEST(FormatTimestamp(951782400000000) == "2000-02-29T00:00:00.000000Z");
}

BOOST_AUTO_TEST_CASE(snowflake_layout_and_order) {
    Snowflake ids(5);
    int64_t ms = Snowflake::kEpochMillis + 1000;
    uint64_t a = ids.NextAt(ms);
    uint64_t b = ids.NextAt(ms);
    BOOST_TEST(b == a + 1);
    BOOST_TEST(Snowflake::NodeOf(a) == 5);
    BOOST_TEST(Snowflake::MillisOf(a) == ms);
    BOOST_TEST((a >> 22) == 1000u);
    // 4096 ids in one millisecond borrow the next one instead of repeating.
    std::set<uint64_t> seen{a, b};
    for (int i = 0; i < 5000; ++i) BOOST_TEST(seen.insert(ids.NextAt(ms)).second);
    // A clock that goes back never makes an id go back.
    uint64_t before = ids.NextAt(ms + 10);
    BOOST_TEST(ids.NextAt(ms) > before);
    // Different nodes never collide in the same millisecond.
    Snowflake other(6);
    BOOST_TEST(other.NextAt(ms + 20) != Snowflake(5).NextAt(ms + 20));
}

BOOST_AUTO_TEST_CASE(cid_rules) {
    BOOST_TEST(ParseCid("messaging:general").has_value());
    BOOST_TEST(ParseCid("messaging:!members-abc").has_value());
    BOOST_TEST(!ParseCid("messaging").has_value());
    BOOST_TEST(!ParseCid("messaging:").has_value());
    BOOST_TEST(!ParseCid(":general").has_value());
    BOOST_TEST(!ParseCid("a:b:c").has_value());
    BOOST_TEST(!ParseCid("bad type:x").has_value());
    BOOST_TEST(!ParseCid("t:" + std::string(65, 'x')).has_value());
    BOOST_TEST(!IsValidChannelType("a!b"));
}

BOOST_AUTO_TEST_CASE(secret_must_be_32_bytes) {
    setenv("STREAMBED_API_KEY", "key", 1);
    setenv("STREAMBED_API_SECRET", "short", 1);
    BOOST_CHECK_EXCEPTION(Config::FromEnvironment(), ConfigError, [](const ConfigError& e) {
        return std::string(e.what()).find("at least 32 bytes") != std::string::npos &&
               std::string(e.what()).find("short") == std::string::npos;  // never echo the secret
    });
    setenv("STREAMBED_API_SECRET", std::string(32, 's').c_str(), 1);
    BOOST_CHECK_NO_THROW(Config::FromEnvironment());
    setenv("STREAMBED_WORKERS", "0", 1);
    BOOST_CHECK_THROW(Config::FromEnvironment(), ConfigError);
    unsetenv("STREAMBED_WORKERS");
}

BOOST_AUTO_TEST_CASE(gateway_listens_on_tcp_and_unix_addresses) {
    setenv("STREAMBED_API_KEY", "key", 1);
    setenv("STREAMBED_API_SECRET", std::string(32, 's').c_str(), 1);
    unsetenv("STREAMBED_GATEWAY_LISTEN");
    BOOST_TEST(Config::FromEnvironment().gateway_listen == std::vector<std::string>{"127.0.0.1:8180"});
    setenv("STREAMBED_GATEWAY_LISTEN", "127.0.0.1:8180, /run/streambed/gateway-8180.sock", 1);
    BOOST_TEST(Config::FromEnvironment().gateway_listen ==
               (std::vector<std::string>{"127.0.0.1:8180", "/run/streambed/gateway-8180.sock"}));
    setenv("STREAMBED_GATEWAY_LISTEN", "[::1]:8180", 1);
    BOOST_TEST(Config::FromEnvironment().gateway_listen == std::vector<std::string>{"[::1]:8180"});
    // A port alone, a relative path, an empty entry, a missing port: each refused by name.
    for (const char* bad : {"8180", "run/gateway.sock", "127.0.0.1:8180,,/run/x.sock", "127.0.0.1:", ":8180"}) {
        setenv("STREAMBED_GATEWAY_LISTEN", bad, 1);
        BOOST_CHECK_EXCEPTION(Config::FromEnvironment(), ConfigError, [](const ConfigError& e) {
            return std::string(e.what()).find("STREAMBED_GATEWAY_LISTEN") != std::string::npos;
        });
    }
    unsetenv("STREAMBED_GATEWAY_LISTEN");
}

BOOST_AUTO_TEST_CASE(origin_allow_list) {
    Config c;
    BOOST_TEST(c.OriginAllowed("https://anything"));
    c.allowed_origins = "https://chat.example.com, http://localhost:5173";
    BOOST_TEST(c.OriginAllowed("https://chat.example.com"));
    BOOST_TEST(c.OriginAllowed("http://localhost:5173"));
    BOOST_TEST(c.OriginAllowed(""));  // not a browser
    BOOST_TEST(!c.OriginAllowed("https://evil.example"));
    BOOST_TEST(!c.OriginAllowed("https://chat.example.com.evil.example"));
}

BOOST_AUTO_TEST_CASE(event_seq_is_read_from_the_tail_only) {
    using streambed::EventSeq;
    BOOST_TEST(EventSeq(R"({"type":"message.new","cid":"m:x","message":{"id":"a"},"seq":42})").value_or(-1) == 42);
    BOOST_TEST(!EventSeq(R"({"type":"typing.start","cid":"m:x"})").has_value());
    // A "seq" inside a nested object, far from the end, is not the event's.
    std::string nested = R"({"type":"x","message":{"text":",\"seq\":7}"},"pad":")" + std::string(100, 'p') + R"("})";
    BOOST_TEST(!EventSeq(nested).has_value());
    BOOST_TEST(!EventSeq(R"({"seq":})").has_value());
    BOOST_TEST(!EventSeq("").has_value());
    BOOST_TEST(!EventSeq(",\"seq\":1").has_value());
}

// Integers that JavaScript sends as doubles: integral ones within 2^53-ish are taken; anything else
// is 400, including doubles past int64's range, which must not even be converted (UBSan caught the
// conversion before the range check: fuzz/corpus/json/huge_limit).
BOOST_AUTO_TEST_CASE(opt_int_takes_integral_doubles_and_refuses_the_rest) {
    auto doc = ParseJsonObject(R"({"a": 42, "b": 1e3, "c": 1.5, "d": 6.6e57, "e": -6.6e57, "f": "7"})");
    BOOST_TEST(*json::OptInt(doc, "a", "a") == 42);
    BOOST_TEST(*json::OptInt(doc, "b", "b") == 1000);
    BOOST_TEST(!json::OptInt(doc, "zz", "zz").has_value());
    for (const char* key : {"c", "d", "e", "f"}) {
        try {
            (void)json::OptInt(doc, key, key);
            BOOST_ERROR(std::string("accepted ") + key);
        } catch (const streambed::ApiError& e) {
            BOOST_TEST(e.http_status() == 400);
        }
    }
}

// Numbers are read at full precision: what a client sends is what it gets back (RapidJSON's fast
// path read 6.666666666666667e57 one unit off in the last place: fuzz/corpus/json/huge_limit).
BOOST_AUTO_TEST_CASE(numbers_round_trip_exactly) {
    for (const char* text : {R"({"n":6.666666666666667e57})", R"({"n":6.666666666666666e57})", R"({"n":0.1})",
                             R"({"n":1.7976931348623157e308})", R"({"n":2.2250738585072014e-308})"}) {
        BOOST_TEST(ToJson(ParseJsonObject(text)) == text);
    }
}

// The database fills a new message's time and seq into its event (fcgi-app/store/messages.cpp,
// Append) by replacing tokens; no string a client sends may contain one once written.
BOOST_AUTO_TEST_CASE(store_tokens_appear_only_where_written) {
    using namespace streambed;
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "text", std::string(kStoreStampToken) + " and " + std::string(kStoreSeqToken));
    PutTime(w, "created_at", kStoreStampMicros);
    PutTime(w, "at", 0);
    PutStoreSeq(w, "seq");
    w.EndObject();
    std::string json(buf.GetString(), buf.GetSize());
    auto count = [&](std::string_view token) {
        int n = 0;
        for (size_t at = json.find(token); at != std::string::npos; at = json.find(token, at + 1)) ++n;
        return n;
    };
    BOOST_TEST(count(kStoreStampToken) == 1);
    BOOST_TEST(count(kStoreSeqToken) == 1);
    BOOST_TEST(json.find("\"created_at\":\"" + std::string(kStoreStampToken) + "\"") != std::string::npos);
    BOOST_TEST(json.find("\"seq\":" + std::string(kStoreSeqToken) + "}") != std::string::npos);
    BOOST_TEST(json.find("\\u0001stamp\\u0001") != std::string::npos);  // the client's text, escaped
    // Filled in, the event is JSON again, with the values in their places.
    std::string filled = json;
    filled.replace(filled.find(kStoreStampToken), kStoreStampToken.size(), FormatTimestamp(1700000000123000));
    filled.replace(filled.find(kStoreSeqToken), kStoreSeqToken.size(), "42");
    rapidjson::Document d;
    d.Parse(filled.c_str());
    BOOST_REQUIRE(!d.HasParseError());
    BOOST_TEST(std::string(d["created_at"].GetString()) == "2023-11-14T22:13:20.123000Z");
    BOOST_TEST(d["seq"].GetInt64() == 42);
    BOOST_TEST(*EventSeq(filled) == 42);
    BOOST_TEST(std::string(d["text"].GetString()) ==
               std::string(kStoreStampToken) + " and " + std::string(kStoreSeqToken));
}
