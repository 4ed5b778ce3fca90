#pragma once
// multipart/form-data (RFC 7578), as browsers and the SDK's form-data send uploads: the parts'
// headers are parsed, their contents are left where they are (offsets into the body, which may be
// a 100 MB file mapped from disk). Malformed input is a 400 naming what is wrong.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streambed {

struct MultipartPart {
    std::string name;                     // Content-Disposition name=
    std::optional<std::string> filename;  // filename= (or filename*=), as sent: sanitise before use
    std::string content_type;             // as sent, lower-cased; empty when absent
    size_t offset = 0;                    // where the content starts in the body
    size_t length = 0;
    std::string_view In(std::string_view body) const { return body.substr(offset, length); }
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; nullopt for anything else.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// Every part of `body`. Throws BadRequest when the structure is broken (no closing boundary, a
// part without Content-Disposition or name, headers over 8 KiB, more than kMaxMultipartParts).
std::vector<MultipartPart> ParseMultipart(std::string_view body, std::string_view boundary);

constexpr size_t kMaxMultipartParts = 16;

}  // namespace streambed
