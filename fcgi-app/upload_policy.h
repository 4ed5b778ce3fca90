#pragma once
// What an upload may be (docs/uploads.md): its type by content (magic bytes, never the name or the
// declared type alone), executables refused under any name, names made safe to store and serve,
// the lists GET /api/app/ advertises, and how our public URLs name a stored file. Pure functions.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace streambed {

enum class ContentKind {
    kPng,
    kJpeg,
    kGif,
    kWebp,
    kPdf,
    kZip,
    kExecutable,  // ELF, PE/MZ, Mach-O (and Java classes, which share its fat magic)
    kScript,      // starts with "#!"
    kOther,
};

struct DetectedContent {
    ContentKind kind = ContentKind::kOther;
    std::string_view what;  // "PNG image", "ELF executable", ...
    std::string_view mime;  // for the images we serve inline: image/png, ...; else empty
    std::string_view ext;   // the extension we store an image under: png, jpg, gif, webp
    bool image() const { return !ext.empty(); }
};

// Looks at the first bytes only (a few dozen are enough).
DetectedContent DetectContent(std::string_view head);

// An image's size in pixels, read from its header (`head`: the first bytes, 256 KiB is plenty for
// a JPEG's metadata), without decoding anything. nullopt when the header is damaged.
struct ImageSize {
    int width = 0;
    int height = 0;
};
std::optional<ImageSize> ImageDimensions(std::string_view head, ContentKind kind);

// Decompression bombs: a 40 KB PNG may claim 100000 x 100000 pixels. Larger images are refused
// before any decoding (a 48-megapixel phone photo fits).
constexpr int kMaxImageSide = 16384;
constexpr long long kMaxImagePixels = 50'000'000;
std::optional<std::string> RefuseImageSize(const ImageSize& size);

// A name safe to store on disk and put in a URL: the last path component only, no control or
// bidirectional-override characters, none of <>:"/\|?*%#; and no leading dots, at most
// kMaxFileNameBytes of valid UTF-8 (the extension kept). Never empty ("file").
std::string SanitizeFileName(std::string_view raw);
constexpr size_t kMaxFileNameBytes = 120;

// The extension of a (sanitised) name, lower-cased, without the dot; empty when none.
std::string ExtensionOf(std::string_view name);

// Why an upload is refused (400), or nullopt when it may be stored. `declared_type` is the part's
// Content-Type as sent.
std::optional<std::string> RefuseImage(const DetectedContent& content, std::string_view name,
                                       std::string_view declared_type);
std::optional<std::string> RefuseFile(const DetectedContent& content, std::string_view name,
                                      std::string_view declared_type);

// The lists GET /api/app/ returns, which the UI kit checks before uploading.
struct UploadLists {
    std::vector<std::string_view> allowed_file_extensions;
    std::vector<std::string_view> blocked_file_extensions;
    std::vector<std::string_view> allowed_mime_types;
    std::vector<std::string_view> blocked_mime_types;
};
const UploadLists& ImageUploadLists();
const UploadLists& FileUploadLists();

// The largest request body an upload route accepts: the file plus room for the multipart framing
// and the `user` field. nginx's client_max_body_size on the upload routes is the same number.
constexpr size_t kMultipartAllowance = 1 << 20;
inline size_t UploadRequestLimit(const Config& config) {
    return static_cast<size_t>(config.upload_max_bytes) + kMultipartAllowance;
}

// A stored file as our URLs name it: images ".../i/<key>.<ext>" (thumbnails ".../i/<key>.thumb.<ext>"),
// files ".../f/<key>/<name>". nullopt for any other URL.
struct UploadRef {
    enum class Kind { kImage, kFile } kind;
    std::string key;  // 32 lower-case hex digits
};
std::optional<UploadRef> ParseUploadUrl(std::string_view url);

// The URLs of every attachment of a message (image_url, asset_url, thumb_url) that name our files.
std::vector<UploadRef> UploadsInAttachments(std::string_view attachments_json);

}  // namespace streambed
