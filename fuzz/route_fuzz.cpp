// Routing and query strings: Router::Match over the real route table (routes.cpp), QueryParams,
// PercentDecode. Input: "METHOD\nPATH\nQUERY".

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/url.h"
#include "common/utf8.h"
#include "fcgi-app/router.h"
#include "fuzz/fuzz.h"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    size_t a = in.find('\n');
    std::string_view method = in.substr(0, a);
    std::string_view rest = a == std::string_view::npos ? std::string_view{} : in.substr(a + 1);
    size_t b = rest.find('\n');
    std::string_view path = rest.substr(0, b);
    std::string_view query = b == std::string_view::npos ? std::string_view{} : rest.substr(b + 1);

    RouteMatch m = AllRoutes().Match(method, path);
    if (m.route != nullptr) {
        FUZZ_CHECK(m.route->method == method);
        // Decoded {param} values are never empty and never carry a NUL into a handler.
        for (const auto& [name, value] : m.params) FUZZ_CHECK(!name.empty() && !value.empty() && value.find('\0') == std::string::npos);
    }
    if (auto q = QueryParams::Parse(query)) {
        for (const auto& [k, v] : q->pairs()) {
            FUZZ_CHECK(k.find('\0') == std::string::npos && v.find('\0') == std::string::npos);
            FUZZ_CHECK(q->Get(k).has_value());
        }
    }
    for (bool plus : {false, true}) {
        if (auto d = PercentDecode(in, plus)) FUZZ_CHECK(d->size() <= in.size() && d->find('\0') == std::string::npos);
    }
    // Encoding then decoding gives the text back. Only for text that decoding accepts at all: NUL
    // and text that is not UTF-8 are refused on decode, by design (common/url.h).
    if (in.find('\0') == std::string_view::npos && IsValidUtf8(in)) {
        auto back = PercentDecode(PercentEncode(in), false);
        FUZZ_CHECK(back && *back == in);
    }
    return 0;
}
