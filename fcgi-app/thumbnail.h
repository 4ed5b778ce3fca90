#pragma once
// Image thumbnails with GraphicsMagick's Magick++ (docs/uploads.md). The image is read with the
// decoder its magic bytes named (never a guessed one), its size is checked from the header before
// any pixel is decoded (upload_policy.h), only the first frame is decoded, and GraphicsMagick's own resource limits
// stop whatever slips past that. The thumbnail carries no metadata (EXIF, GPS, ICC, comments).

#include <stdexcept>
#include <string>
#include <string_view>

#include "fcgi-app/upload_policy.h"

namespace streambed {

// Refused images (400): too many pixels, not decodable.
class ImageRefused : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Thumbnail {
    std::string ext;  // "jpg", or "png" when the image has transparency
};

constexpr int kThumbnailSide = 512;  // the thumbnail fits in kThumbnailSide²

// Reads `source` (a file holding a `format` image: "PNG", "JPEG", "GIF", "WEBP", whose header
// said `size`, already checked with RefuseImageSize) and writes its thumbnail to
// `destination_stem` + "." + ext. Throws ImageRefused.
Thumbnail MakeThumbnail(const std::string& source, std::string_view format, const ImageSize& size,
                        const std::string& destination_stem);

}  // namespace streambed
