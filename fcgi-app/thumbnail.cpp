#include "fcgi-app/thumbnail.h"

#include <Magick++.h>
#include <magick/api.h>

#include <algorithm>
#include <mutex>

#include "common/log.h"

namespace streambed {

namespace {

// Once per worker process (after the fork): the library, and limits that hold whatever the image
// claims. Past the memory limit the pixel cache goes to disk (bounded too) instead of growing RSS.
void InitMagick() {
    static std::once_flag once;
    std::call_once(once, [] {
        Magick::InitializeMagick(nullptr);
        MagickLib::SetMagickResourceLimit(MagickLib::WidthResource, kMaxImageSide);
        MagickLib::SetMagickResourceLimit(MagickLib::HeightResource, kMaxImageSide);
        MagickLib::SetMagickResourceLimit(MagickLib::PixelsResource, kMaxImagePixels);
        MagickLib::SetMagickResourceLimit(MagickLib::MemoryResource, 256LL << 20);
        MagickLib::SetMagickResourceLimit(MagickLib::MapResource, 256LL << 20);
        MagickLib::SetMagickResourceLimit(MagickLib::DiskResource, 1LL << 30);
        // One thread: a worker serves one request at a time and the pool has a process per core.
        MagickLib::SetMagickResourceLimit(MagickLib::ThreadsResource, 1);
    });
}

}  // namespace

Thumbnail MakeThumbnail(const std::string& source, std::string_view format, const ImageSize& size,
                        const std::string& destination_stem) {
    InitMagick();
    // "PNG:/path" makes GraphicsMagick use that decoder and no other.
    const std::string spec = std::string(format) + ":" + source;
    Thumbnail out;
    try {
        Magick::Image image;
        image.quiet(true);
        image.subRange(1);  // the first frame of an animation only
        // JPEG decodes straight at a reduced scale (1/2 .. 1/8) when told the size wanted.
        // Only for large ones: for a smaller image the decoder would scale up.
        if (format == "JPEG" && std::max(size.width, size.height) > 2 * kThumbnailSide)
            image.size(Magick::Geometry(2 * kThumbnailSide, 2 * kThumbnailSide));
        image.read(spec);
        image.autoOrient();  // camera rotation, before the EXIF saying so is stripped
        Magick::Geometry fit(kThumbnailSide, kThumbnailSide);
        fit.greater(true);  // only ever shrink
        image.thumbnail(fit);
        image.strip();
        bool alpha = image.matte();
        out.ext = alpha ? "png" : "jpg";
        if (!alpha) image.quality(85);
        image.write(std::string(alpha ? "PNG:" : "JPEG:") + destination_stem + "." + out.ext);
    } catch (const Magick::Exception& e) {
        // The library's text names our paths: it goes to the log, not to the client.
        Log(LogLevel::kInfo, "upload.image_refused").Str("format", format).Str("error", e.what());
        throw ImageRefused("the image cannot be decoded (damaged or truncated " + std::string(format) + ")");
    }
    return out;
}

}  // namespace streambed
