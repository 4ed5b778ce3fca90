#pragma once
// Link previews, the pure part (fcgi-app/link_preview.h fetches): the links in a message's text,
// and what a page's head says about itself in its Open Graph tags. The HTML is hostile by
// assumption: no regular expressions (std::regex backtracks without bound), every scan moves
// forward, and every field is capped.

#include <string>
#include <string_view>
#include <vector>

namespace streambed {

// The http(s) links of a message text, in order, at most `max`, each at most 2,048 bytes (longer
// ones are skipped). A link starts with "http://" or "https://" (any case), or "www." (which gets
// "https://" in front), where no letter, digit or '/' comes just before (nor, for "www.", one of
// . @ - _ as in an e-mail address); it ends at whitespace, a control character, non-ASCII, or one
// of < > " `. Trailing sentence punctuation is not part of it, nor a closing ')' or ']' it did not
// open ("(see https://a.example/x)"). A link needs a host: "https://" alone is none.
std::vector<std::string> FindLinks(std::string_view text, size_t max);

// What a page says about itself: og:* tags first, twitter:* and <title> / the description meta as
// fallbacks. Every field is plain UTF-8: entities decoded, whitespace collapsed, trimmed, and cut
// at a character boundary (title 256 bytes, description 1,024, site name 128); links are absolute
// http(s) (relative ones resolved against the page), at most 2,048 bytes, or empty.
struct OpenGraph {
    std::string title;
    std::string description;
    std::string site_name;
    std::string url;   // og:url
    std::string type;  // og:type: "website", "article", "video.other", ...
    std::string image;
    std::string video;
    std::string audio;
    bool empty() const { return title.empty() && description.empty() && image.empty(); }
};

// Reads at most `limit` bytes of `html`, and stops at the end of its head (</head> or <body>).
// Tags inside <script>, <style> and comments do not count; the first value of a property wins.
OpenGraph ParseOpenGraph(std::string_view html, std::string_view page_url, size_t limit = 512 * 1024);

// `ref` resolved against `base` (an absolute http(s) URL), RFC 3986 style, dot segments left as
// they are: "" when the result would not be http(s).
std::string ResolveLink(std::string_view base, std::string_view ref);

// HTML character references in `text` as UTF-8. Numeric ones that are not Unicode scalar values
// (or NUL) become U+FFFD; unknown or unterminated ones stay as written.
std::string DecodeHtmlEntities(std::string_view text);

}  // namespace streambed
