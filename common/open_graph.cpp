#include "common/open_graph.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/utf8.h"

namespace streambed {

namespace {

constexpr size_t kMaxLinkBytes = 2048;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (Lower(s[i]) != prefix[i]) return false;
    return true;
}

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// In a text field a control character (a raw NUL, a vertical tab) is only a space the page spelled oddly.
bool IsSpaceOrControl(char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

bool EndsLink(char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == '"' || c == '`';
}

void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

constexpr uint32_t kReplacement = 0xFFFD;

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0.
size_t Utf8SequenceAt(std::string_view s) {
    auto c = static_cast<unsigned char>(s[0]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > s.size()) return 0;
    return IsValidUtf8(s.substr(0, n)) ? n : 0;
}

// Invalid bytes become U+FFFD, so every field is valid UTF-8 (RapidJSON writes it as it is).
std::string ValidUtf8(std::string_view s) {
    if (IsValidUtf8(s)) return std::string(s);
    std::string out;
    for (size_t i = 0; i < s.size();) {
        size_t n = Utf8SequenceAt(s.substr(i));
        if (n == 0) {
            AppendUtf8(out, kReplacement);
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

// Whitespace runs as one space, trimmed, then cut to `max` bytes at a character boundary.
std::string CleanText(std::string_view raw, size_t max) {
    std::string decoded = ValidUtf8(DecodeHtmlEntities(raw));
    std::string out;
    bool space = false;
    for (char c : decoded) {
        if (IsSpaceOrControl(c)) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    if (out.size() > max) {
        size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
        out.resize(cut);
        while (!out.empty() && out.back() == ' ') out.pop_back();
    }
    return out;
}

std::string CleanLink(std::string_view raw, std::string_view page_url) {
    std::string text = CleanText(raw, kMaxLinkBytes * 2);
    if (text.empty()) return "";
    std::string link = ResolveLink(page_url, text);
    if (link.size() > kMaxLinkBytes) return "";
    for (char c : link)
        if (static_cast<unsigned char>(c) <= 0x20) return "";
    return link;
}

struct NamedEntity {
    std::string_view name;
    uint32_t cp;
};
constexpr std::array<NamedEntity, 16> kNamedEntities = {{{"amp", '&'},
                                                         {"lt", '<'},
                                                         {"gt", '>'},
                                                         {"quot", '"'},
                                                         {"apos", '\''},
                                                         {"nbsp", ' '},
                                                         {"mdash", 0x2014},
                                                         {"ndash", 0x2013},
                                                         {"hellip", 0x2026},
                                                         {"rsquo", 0x2019},
                                                         {"lsquo", 0x2018},
                                                         {"ldquo", 0x201C},
                                                         {"rdquo", 0x201D},
                                                         {"copy", 0xA9},
                                                         {"reg", 0xAE},
                                                         {"trade", 0x2122}}};

// The raw value of attribute `name` (lowercase) in `tag`, what lies between "<meta" and its '>';
// nullopt when absent. The first of duplicated attributes wins, as in browsers.
std::optional<std::string_view> Attribute(std::string_view tag, std::string_view name) {
    size_t i = 0;
    while (i < tag.size()) {
        while (i < tag.size() && (IsSpace(tag[i]) || tag[i] == '/')) ++i;
        size_t start = i;
        while (i < tag.size() && !IsSpace(tag[i]) && tag[i] != '=' && tag[i] != '/') ++i;
        std::string_view attr = tag.substr(start, i - start);
        while (i < tag.size() && IsSpace(tag[i])) ++i;
        std::string_view value;
        if (i < tag.size() && tag[i] == '=') {
            ++i;
            while (i < tag.size() && IsSpace(tag[i])) ++i;
            if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
                char quote = tag[i++];
                size_t end = tag.find(quote, i);
                if (end == std::string_view::npos) end = tag.size();
                value = tag.substr(i, end - i);
                i = end + 1;
            } else {
                size_t value_start = i;
                while (i < tag.size() && !IsSpace(tag[i])) ++i;
                value = tag.substr(value_start, i - value_start);
            }
        }
        if (!attr.empty() && attr.size() == name.size() && StartsWithNoCase(attr, name)) return value;
        if (i == start) ++i;  // a stray character: step over it
    }
    return std::nullopt;
}

// Where a property's value goes, and the first value wins.
struct Fields {
    std::string title, description, site_name, url, type, image, video, audio;
    std::string twitter_title, twitter_description, twitter_image;
    std::string html_title, meta_description;
};

void Take(std::string& field, std::string value) {
    if (field.empty()) field = std::move(value);
}

void Property(std::string_view key, std::string_view content, std::string_view page_url, Fields& f) {
    while (!key.empty() && IsSpace(key.front())) key.remove_prefix(1);
    while (!key.empty() && IsSpace(key.back())) key.remove_suffix(1);
    if (key.empty() || key.size() > 32) return;  // longer than any name we read
    std::string k;
    for (char c : key) k += Lower(c);
    if (k == "og:title")
        Take(f.title, CleanText(content, 256));
    else if (k == "og:description")
        Take(f.description, CleanText(content, 1024));
    else if (k == "og:site_name")
        Take(f.site_name, CleanText(content, 128));
    else if (k == "og:type")
        Take(f.type, CleanText(content, 64));
    else if (k == "og:url")
        Take(f.url, CleanLink(content, page_url));
    else if (k == "og:image" || k == "og:image:url" || k == "og:image:secure_url")
        Take(f.image, CleanLink(content, page_url));
    else if (k == "og:video" || k == "og:video:url" || k == "og:video:secure_url")
        Take(f.video, CleanLink(content, page_url));
    else if (k == "og:audio" || k == "og:audio:url" || k == "og:audio:secure_url")
        Take(f.audio, CleanLink(content, page_url));
    else if (k == "twitter:title")
        Take(f.twitter_title, CleanText(content, 256));
    else if (k == "twitter:description")
        Take(f.twitter_description, CleanText(content, 1024));
    else if (k == "twitter:image" || k == "twitter:image:src")
        Take(f.twitter_image, CleanLink(content, page_url));
    else if (k == "description")
        Take(f.meta_description, CleanText(content, 1024));
}

// Open Graph says property=, Twitter and the description say name=, and pages mix them up: a tag
// counts under either (first value wins, so one that has both sets nothing twice).
void Meta(std::string_view tag, std::string_view page_url, Fields& f) {
    std::optional<std::string_view> content = Attribute(tag, "content");
    if (!content) return;
    if (auto property = Attribute(tag, "property")) Property(*property, *content, page_url, f);
    if (auto name = Attribute(tag, "name")) Property(*name, *content, page_url, f);
}

// Where the case-insensitive `needle` (lowercase) starts at or after `from`, or npos.
size_t FindNoCase(std::string_view hay, std::string_view needle, size_t from) {
    if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
    for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
        if (Lower(hay[i]) == needle[0] && StartsWithNoCase(hay.substr(i), needle)) return i;
    }
    return std::string_view::npos;
}

// Where "</name" starts at or after `from`, followed by what ends a tag name ("</scripts" does
// not end a script). Each search goes on from the last, so the scan stays linear.
size_t EndTag(std::string_view html, std::string_view name, size_t from) {
    std::string needle = "</" + std::string(name);
    for (size_t at = FindNoCase(html, needle, from); at != std::string_view::npos;
         at = FindNoCase(html, needle, at + 1)) {
        size_t after = at + needle.size();
        if (after == html.size() || IsSpace(html[after]) || html[after] == '/' || html[after] == '>') return at;
    }
    return std::string_view::npos;
}

// The '>' that ends the tag whose attributes start at `from`: one inside a quoted value does not.
size_t TagEnd(std::string_view html, size_t from) {
    char quote = 0;
    char last = 0;  // the last character outside spaces, to know whether a quote opens a value
    for (size_t i = from; i < html.size(); ++i) {
        char c = html[i];
        if (quote != 0) {
            if (c == quote) quote = 0;
        } else if ((c == '"' || c == '\'') && last == '=') {
            quote = c;  // a quote elsewhere ("it's" unquoted) is an ordinary character, as in Attribute()
        } else if (c == '>') {
            return i;
        }
        if (!IsSpace(c)) last = c;
    }
    return std::string_view::npos;
}

// True when `rest` ("//host/path...") names a host: "//" and then something before the path.
bool HasHost(std::string_view rest) {
    if (rest.substr(0, 2) != "//") return false;
    size_t end = rest.find_first_of("/?#", 2);
    return (end == std::string_view::npos ? rest.size() : end) > 2;
}

std::string_view SchemeOf(std::string_view url) {
    if (StartsWithNoCase(url, "https:")) return "https:";
    if (StartsWithNoCase(url, "http:")) return "http:";
    return {};
}

}  // namespace

std::vector<std::string> FindLinks(std::string_view text, size_t max) {
    std::vector<std::string> links;
    for (size_t i = 0; i < text.size() && links.size() < max;) {
        // Not in the middle of a word or a path ("xhttps://", "/https://"). A bare "www." must not
        // be inside a name or an address either ("x.www.example.com", "a@www.example.com").
        char before = i == 0 ? ' ' : text[i - 1];
        bool boundary = !(IsAlnum(before) || before == '/');
        bool name_boundary = boundary && before != '.' && before != '@' && before != '-' && before != '_';
        size_t prefix = 0;
        std::string scheme_added;
        if (boundary) {
            if (StartsWithNoCase(text.substr(i), "http://"))
                prefix = 7;
            else if (StartsWithNoCase(text.substr(i), "https://"))
                prefix = 8;
            else if (name_boundary && StartsWithNoCase(text.substr(i), "www."))
                scheme_added = "https://";
        }
        if (prefix == 0 && scheme_added.empty()) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < text.size() && !EndsLink(text[end])) ++end;
        std::string_view link = text.substr(i, end - i);
        // Sentence punctuation after a link, and closing brackets it did not open, are the text's.
        // The brackets are counted once, so a link ending in a thousand ')' stays a linear scan.
        size_t parens = 0, closing_parens = 0, brackets = 0, closing_brackets = 0;
        for (char c : link) {
            parens += c == '(';
            closing_parens += c == ')';
            brackets += c == '[';
            closing_brackets += c == ']';
        }
        while (!link.empty()) {
            char last = link.back();
            if (last == '.' || last == ',' || last == ';' || last == ':' || last == '!' || last == '?' ||
                last == '\'' || last == '*' || last == '_') {
                link.remove_suffix(1);
            } else if (last == ')' && closing_parens > parens) {
                link.remove_suffix(1);
                --closing_parens;
            } else if (last == ']' && closing_brackets > brackets) {
                link.remove_suffix(1);
                --closing_brackets;
            } else {
                break;
            }
        }
        // The host: what follows the scheme, up to the path, query or fragment.
        std::string_view rest = link.substr(prefix);
        size_t host_end = rest.find_first_of("/?#");
        std::string_view host = rest.substr(0, host_end);
        bool host_ok = !host.empty() && (scheme_added.empty() || host.size() > 4);
        if (host_ok && link.size() + scheme_added.size() <= kMaxLinkBytes)
            links.push_back(scheme_added + std::string(link));
        i = end > i ? end : i + 1;
    }
    return links;
}

std::string DecodeHtmlEntities(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text[i] != '&') {
            out += text[i++];
            continue;
        }
        // A reference is short: look at most 12 characters ahead for its ';' (searching further
        // would make a page of '&' quadratic).
        size_t semi = text.substr(i + 1, 12).find(';');
        if (semi != std::string_view::npos) semi += i + 1;
        if (semi == std::string_view::npos) {
            out += text[i++];
            continue;
        }
        std::string_view ref = text.substr(i + 1, semi - i - 1);
        bool decoded = false;
        if (ref.size() >= 2 && ref[0] == '#') {
            bool hex = ref[1] == 'x' || ref[1] == 'X';
            std::string_view digits = ref.substr(hex ? 2 : 1);
            uint32_t cp = 0;
            bool ok = !digits.empty() && digits.size() <= 8;
            for (char c : digits) {
                if (!ok) break;
                int d = c >= '0' && c <= '9'                        ? c - '0'
                        : hex && Lower(c) >= 'a' && Lower(c) <= 'f' ? Lower(c) - 'a' + 10
                                                                    : -1;
                if (d < 0)
                    ok = false;
                else
                    cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
            }
            if (ok) {
                bool scalar = cp != 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
                AppendUtf8(out, scalar ? cp : kReplacement);
                decoded = true;
            }
        } else {
            for (const auto& e : kNamedEntities) {
                if (ref == e.name) {
                    AppendUtf8(out, e.cp);
                    decoded = true;
                    break;
                }
            }
        }
        if (decoded) {
            i = semi + 1;
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::string ResolveLink(std::string_view base, std::string_view ref) {
    while (!ref.empty() && IsSpace(ref.front())) ref.remove_prefix(1);
    while (!ref.empty() && IsSpace(ref.back())) ref.remove_suffix(1);
    if (!SchemeOf(ref).empty()) {
        std::string_view rest = ref.substr(SchemeOf(ref).size());
        return HasHost(rest) ? std::string(ref) : "";
    }
    // Any other scheme (javascript:, data:, mailto:) is not a link we keep: a scheme is letters,
    // digits, + - . before the first ':', which comes before any '/', '?' or '#'.
    size_t colon = ref.find(':');
    if (colon != std::string_view::npos && colon < ref.find_first_of("/?#")) return "";
    std::string_view scheme = SchemeOf(base);
    if (scheme.empty() || !HasHost(base.substr(scheme.size()))) return "";
    if (ref.substr(0, 2) == "//") return HasHost(ref) ? std::string(scheme) + std::string(ref) : "";
    size_t authority_end = base.find_first_of("/?#", scheme.size() + 2);
    std::string_view origin = base.substr(0, authority_end);
    std::string_view path_and_more = authority_end == std::string_view::npos ? "" : base.substr(authority_end);
    std::string_view path = path_and_more.substr(0, path_and_more.find_first_of("?#"));
    if (ref.empty()) return std::string(base.substr(0, base.find('#')));
    if (ref[0] == '/') return std::string(origin) + std::string(ref);
    if (ref[0] == '?') return std::string(origin) + std::string(path.empty() ? "/" : path) + std::string(ref);
    if (ref[0] == '#') return std::string(base.substr(0, base.find('#'))) + std::string(ref);
    std::string_view directory = path.substr(0, path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1);
    return std::string(origin) + (directory.empty() ? "/" : std::string(directory)) + std::string(ref);
}

OpenGraph ParseOpenGraph(std::string_view html, std::string_view page_url, size_t limit) {
    html = html.substr(0, limit);
    Fields f;
    size_t i = 0;
    while (i < html.size()) {
        size_t lt = html.find('<', i);
        if (lt == std::string_view::npos) break;
        std::string_view at = html.substr(lt);
        if (at.substr(0, 4) == "<!--") {
            // Searched from "<!" on, as browsers do: "<!-->" and "<!--->" are whole (empty) comments.
            size_t end = html.find("-->", lt + 2);
            if (end == std::string_view::npos) break;
            i = end + 3;
            continue;
        }
        // The tag's name, lowercase.
        size_t n = lt + 1;
        bool closing = n < html.size() && html[n] == '/';
        if (closing) ++n;
        size_t name_start = n;
        while (n < html.size() && (IsAlnum(html[n]) || html[n] == '-' || html[n] == ':')) ++n;
        std::string name;
        for (char c : html.substr(name_start, std::min<size_t>(n - name_start, 16))) name += Lower(c);
        if (name.empty()) {
            i = lt + 1;
            continue;
        }
        size_t gt = TagEnd(html, n);
        if (gt == std::string_view::npos) break;  // an unfinished tag at the end: nothing more to read
        if (closing) {
            if (name == "head") break;
            i = gt + 1;
            continue;
        }
        if (name == "body") break;
        if (name == "meta") {
            Meta(html.substr(n, gt - n), page_url, f);
        } else if (name == "title" || name == "script" || name == "style") {
            // Their content is text, not tags: up to the matching end tag.
            size_t end = EndTag(html, name, gt + 1);
            if (end == std::string_view::npos) break;
            if (name == "title") Take(f.html_title, CleanText(html.substr(gt + 1, end - gt - 1), 256));
            size_t close = html.find('>', end);
            if (close == std::string_view::npos) break;
            i = close + 1;
            continue;
        }
        i = gt + 1;
    }
    OpenGraph og;
    og.title = !f.title.empty() ? f.title : !f.twitter_title.empty() ? f.twitter_title : f.html_title;
    og.description = !f.description.empty()           ? f.description
                     : !f.twitter_description.empty() ? f.twitter_description
                                                      : f.meta_description;
    og.site_name = f.site_name;
    og.url = f.url;
    og.type = f.type;
    og.image = !f.image.empty() ? f.image : f.twitter_image;
    og.video = f.video;
    og.audio = f.audio;
    return og;
}

}  // namespace streambed
