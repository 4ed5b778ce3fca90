#include "fcgi-app/multipart.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "common/errors.h"
#include "common/url.h"

namespace streambed {

namespace {

constexpr size_t kMaxPartHeaderBytes = 8192;

[[noreturn]] void Malformed(const std::string& why) { throw BadRequest("malformed multipart body: " + why, "file"); }

std::string Lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Header parameters: `; key=token` or `; key="quoted \"string\""`. Keys are lower-cased.
std::vector<std::pair<std::string, std::string>> Params(std::string_view s) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ';' || s[i] == ' ' || s[i] == '\t')) ++i;
        size_t eq = s.find('=', i);
        if (eq == std::string_view::npos) break;
        std::string key = Lower(Trim(s.substr(i, eq - i)));
        i = eq + 1;
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::string value;
        if (i < s.size() && s[i] == '"') {
            ++i;
            bool closed = false;
            while (i < s.size()) {
                char c = s[i++];
                // A backslash escapes only a quote or a backslash: browsers send Windows paths
                // ("C:\\dir\\a.txt") unescaped, and those backslashes must stay for the basename.
                if (c == '\\' && i < s.size() && (s[i] == '"' || s[i] == '\\')) {
                    value += s[i++];
                } else if (c == '"') {
                    closed = true;
                    break;
                } else {
                    value += c;
                }
            }
            if (!closed) Malformed("an unterminated quoted string in a part header");
        } else {
            size_t end = s.find(';', i);
            value = std::string(Trim(s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
            i = end == std::string_view::npos ? s.size() : end;
        }
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

// RFC 5987 ext-value: UTF-8''percent-encoded (other charsets are not worth supporting).
std::optional<std::string> ExtValue(std::string_view v) {
    size_t q = v.find("''");
    if (q == std::string_view::npos || Lower(v.substr(0, q)) != "utf-8") return std::nullopt;
    return PercentDecode(v.substr(q + 2), false);
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
    size_t semi = content_type.find(';');
    if (Lower(Trim(content_type.substr(0, semi))) != "multipart/form-data" || semi == std::string_view::npos)
        return std::nullopt;
    for (auto& [key, value] : Params(content_type.substr(semi + 1))) {
        // RFC 2046: 1 to 70 characters.
        if (key == "boundary" && !value.empty() && value.size() <= 70) return value;
    }
    return std::nullopt;
}

std::vector<MultipartPart> ParseMultipart(std::string_view body, std::string_view boundary) {
    const std::string delimiter = "--" + std::string(boundary);
    const std::string next_delimiter = "\r\n" + delimiter;
    std::boyer_moore_horspool_searcher searcher(next_delimiter.begin(), next_delimiter.end());

    // The first delimiter opens the body (a preamble before it is allowed and ignored).
    size_t pos;
    if (body.substr(0, delimiter.size()) == delimiter) {
        pos = delimiter.size();
    } else {
        auto it = std::search(body.begin(), body.end(), searcher);
        if (it == body.end()) Malformed("the boundary does not occur in the body");
        pos = static_cast<size_t>(it - body.begin()) + next_delimiter.size();
    }

    std::vector<MultipartPart> parts;
    while (true) {
        // After a delimiter: "--" closes the body, otherwise CRLF and the part's headers.
        if (body.substr(pos, 2) == "--") return parts;
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
        if (body.substr(pos, 2) != "\r\n") Malformed("a boundary is not followed by a line break");
        pos += 2;
        if (parts.size() == kMaxMultipartParts) Malformed("more than 16 parts");

        size_t headers_end = body.find("\r\n\r\n", pos);
        // An empty header block: the blank line comes at once.
        bool no_headers = body.substr(pos, 2) == "\r\n";
        if (!no_headers && (headers_end == std::string_view::npos || headers_end - pos > kMaxPartHeaderBytes))
            Malformed(headers_end == std::string_view::npos ? "a part's headers never end"
                                                            : "a part's headers exceed 8 KiB");
        std::string_view headers = no_headers ? std::string_view() : body.substr(pos, headers_end - pos);
        pos = no_headers ? pos + 2 : headers_end + 4;

        MultipartPart part;
        bool disposition = false;
        std::optional<std::string> ext_filename;
        while (!headers.empty()) {
            size_t eol = headers.find("\r\n");
            std::string_view line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
            size_t colon = line.find(':');
            if (colon == std::string_view::npos) Malformed("a part header without a colon");
            std::string name = Lower(Trim(line.substr(0, colon)));
            std::string_view value = Trim(line.substr(colon + 1));
            if (name == "content-disposition") {
                size_t semi = value.find(';');
                if (Lower(Trim(value.substr(0, semi))) != "form-data") Malformed("a part is not form-data");
                disposition = true;
                if (semi == std::string_view::npos) continue;
                for (auto& [key, v] : Params(value.substr(semi + 1))) {
                    if (key == "name") part.name = v;
                    if (key == "filename") part.filename = v;
                    if (key == "filename*") ext_filename = ExtValue(v);
                }
            } else if (name == "content-type") {
                part.content_type = Lower(value);
            }
        }
        if (!disposition) Malformed("a part without Content-Disposition");
        if (part.name.empty()) Malformed("a part without a name");
        if (ext_filename) part.filename = std::move(ext_filename);

        auto it = std::search(body.begin() + static_cast<std::ptrdiff_t>(pos), body.end(), searcher);
        if (it == body.end()) Malformed("no closing boundary");
        size_t end = static_cast<size_t>(it - body.begin());
        part.offset = pos;
        part.length = end - pos;
        parts.push_back(std::move(part));
        pos = end + next_delimiter.size();
    }
}

}  // namespace streambed
