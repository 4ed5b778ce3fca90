// Link previews' pure part on hostile input (common/open_graph.h): a page's HTML and a message's
// text as an attacker writes them. Whatever comes in, every field is valid UTF-8 within its cap,
// every link is an absolute http(s) URL without spaces, and nothing crashes or reads out of bounds.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/open_graph.h"
#include "common/utf8.h"
#include "fuzz/fuzz.h"

using namespace streambed;

namespace {
bool StartsHttp(std::string_view link) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (link.size() < scheme.size()) continue;
        bool same = true;
        for (size_t i = 0; i < scheme.size(); ++i)
            same = same && (link[i] >= 'A' && link[i] <= 'Z' ? link[i] + 32 : link[i]) == scheme[i];
        if (same) return true;
    }
    return false;
}

bool IsHttpLink(std::string_view link) {
    for (char c : link)
        if (static_cast<unsigned char>(c) <= 0x20) return false;
    return StartsHttp(link) && link.size() <= 2048;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const auto& link : FindLinks(text, 10)) FUZZ_CHECK(IsHttpLink(link));
    OpenGraph og = ParseOpenGraph(text, "https://page.example/dir/page.html");
    for (const auto* field : {&og.title, &og.description, &og.site_name, &og.type}) FUZZ_CHECK(IsValidUtf8(*field));
    FUZZ_CHECK(og.title.size() <= 256 && og.description.size() <= 1024 && og.site_name.size() <= 128);
    for (const auto* link : {&og.url, &og.image, &og.video, &og.audio})
        FUZZ_CHECK(link->empty() || (IsHttpLink(*link) && IsValidUtf8(*link)));
    std::string resolved = ResolveLink("https://page.example/dir/page.html?q=1", text.substr(0, 4096));
    FUZZ_CHECK(resolved.empty() || StartsHttp(resolved));
    if (IsValidUtf8(text)) FUZZ_CHECK(IsValidUtf8(DecodeHtmlEntities(text)));
    return 0;
}
