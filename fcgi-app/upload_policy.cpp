#include "fcgi-app/upload_policy.h"

#include <algorithm>
#include <cctype>

#include "common/json.h"

namespace streambed {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool Contains(const std::vector<std::string_view>& list, std::string_view item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::string Lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// One UTF-8 sequence at `s[i]`: its length, or 0 when invalid (overlong, surrogate, > U+10FFFF).
size_t Utf8Length(std::string_view s, size_t i, char32_t& cp) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t n;
    if (c < 0x80) {
        cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

// Characters that make a name lie about itself or break out of a path, header or URL.
bool Unwanted(char32_t cp) {
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;  // C0, DEL, C1
    // Bidirectional overrides and marks: "gnp.exe" shown as "exe.png".
    if (cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return true;
    if (cp == 0xFEFF) return true;
    static constexpr std::string_view kReserved = "<>:\"/\\|?*%#;";
    return cp < 0x80 && kReserved.find(static_cast<char>(cp)) != std::string_view::npos;
}

// Extensions that run when double-clicked on some desktop, under any content.
const std::vector<std::string_view> kBlockedExtensions = {
    ".exe", ".dll",  ".com", ".scr",     ".pif", ".msi",      ".msp",  ".msc", ".bat",  ".cmd", ".cpl",
    ".vbs", ".vbe",  ".jse", ".wsf",     ".wsh", ".ps1",      ".psm1", ".hta", ".lnk",  ".reg", ".jar",
    ".sh",  ".bash", ".run", ".command", ".app", ".appimage", ".elf",  ".so",  ".dylib"};
const std::vector<std::string_view> kBlockedMimeTypes = {"application/x-msdownload",
                                                         "application/x-dosexec",
                                                         "application/vnd.microsoft.portable-executable",
                                                         "application/x-executable",
                                                         "application/x-elf",
                                                         "application/x-sharedlib",
                                                         "application/x-mach-binary",
                                                         "application/x-sh",
                                                         "application/x-shellscript",
                                                         "application/x-msi",
                                                         "application/x-ms-installer",
                                                         "application/java-archive",
                                                         "application/x-bat",
                                                         "application/hta"};
const std::vector<std::string_view> kImageExtensions = {".png", ".jpg", ".jpeg", ".gif", ".webp"};
const std::vector<std::string_view> kImageMimeTypes = {"image/png", "image/jpeg", "image/gif", "image/webp"};

// Names whose extension promises a format we can recognise must hold that format.
std::optional<ContentKind> PromisedBy(std::string_view ext) {
    if (ext == "png") return ContentKind::kPng;
    if (ext == "jpg" || ext == "jpeg" || ext == "jpe") return ContentKind::kJpeg;
    if (ext == "gif") return ContentKind::kGif;
    if (ext == "webp") return ContentKind::kWebp;
    if (ext == "pdf") return ContentKind::kPdf;
    static const std::vector<std::string_view> kZips = {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"};
    if (Contains(kZips, ext)) return ContentKind::kZip;
    return std::nullopt;
}

std::optional<std::string> RefuseCommon(const DetectedContent& content, std::string_view name,
                                        std::string_view declared_type) {
    if (content.kind == ContentKind::kExecutable || content.kind == ContentKind::kScript)
        return "executable files are not accepted (the content is " + std::string(content.what) + ")";
    std::string ext = ExtensionOf(name);
    if (!ext.empty() && Contains(kBlockedExtensions, "." + ext)) return "files ending in ." + ext + " are not accepted";
    std::string type = Lower(declared_type.substr(0, declared_type.find(';')));
    if (Contains(kBlockedMimeTypes, type)) return "files of type " + type + " are not accepted";
    return std::nullopt;
}

}  // namespace

DetectedContent DetectContent(std::string_view h) {
    DetectedContent d;
    auto set = [&d](ContentKind k, std::string_view what, std::string_view mime = {}, std::string_view ext = {}) {
        d.kind = k, d.what = what, d.mime = mime, d.ext = ext;
        return d;
    };
    if (StartsWith(h, "\x89PNG\r\n\x1a\n")) return set(ContentKind::kPng, "a PNG image", "image/png", "png");
    if (StartsWith(h, "\xFF\xD8\xFF")) return set(ContentKind::kJpeg, "a JPEG image", "image/jpeg", "jpg");
    if (StartsWith(h, "GIF87a") || StartsWith(h, "GIF89a"))
        return set(ContentKind::kGif, "a GIF image", "image/gif", "gif");
    if (h.size() >= 16 && StartsWith(h, "RIFF") && h.substr(8, 4) == "WEBP" &&
        (h.substr(12, 4) == "VP8 " || h.substr(12, 4) == "VP8L" || h.substr(12, 4) == "VP8X"))
        return set(ContentKind::kWebp, "a WebP image", "image/webp", "webp");
    if (StartsWith(h,
                   "\x7F"
                   "ELF"))
        return set(ContentKind::kExecutable, "an ELF executable");
    if (StartsWith(h, "MZ")) return set(ContentKind::kExecutable, "a Windows (PE/MZ) executable");
    static constexpr std::string_view kMachO[] = {"\xFE\xED\xFA\xCE", "\xFE\xED\xFA\xCF", "\xCE\xFA\xED\xFE",
                                                  "\xCF\xFA\xED\xFE", "\xCA\xFE\xBA\xBE", "\xBE\xBA\xFE\xCA",
                                                  "\xCA\xFE\xBA\xBF"};
    for (auto magic : kMachO) {
        if (StartsWith(h, magic)) return set(ContentKind::kExecutable, "a Mach-O executable");
    }
    std::string_view text = StartsWith(h, "\xEF\xBB\xBF") ? h.substr(3) : h;  // a UTF-8 BOM first
    if (StartsWith(text, "#!")) return set(ContentKind::kScript, "a script (#!)");
    if (StartsWith(h, "%PDF-")) return set(ContentKind::kPdf, "a PDF document");
    if (StartsWith(h, "PK\x03\x04") || StartsWith(h, std::string_view("PK\x05\x06", 4)))
        return set(ContentKind::kZip, "a ZIP archive");
    return set(ContentKind::kOther, "unrecognised data");
}

std::optional<ImageSize> ImageDimensions(std::string_view h, ContentKind kind) {
    auto u8 = [&h](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(h[i])); };
    auto be16 = [&](size_t i) { return (u8(i) << 8) | u8(i + 1); };
    auto le16 = [&](size_t i) { return u8(i) | (u8(i + 1) << 8); };
    auto le24 = [&](size_t i) { return u8(i) | (u8(i + 1) << 8) | (u8(i + 2) << 16); };
    ImageSize size;
    switch (kind) {
        case ContentKind::kPng:  // the IHDR chunk comes first, always
            if (h.size() < 24 || h.substr(12, 4) != "IHDR") return std::nullopt;
            size.width = static_cast<int>(std::min<uint32_t>((be16(16) << 16) | be16(18), 0x7FFFFFFF));
            size.height = static_cast<int>(std::min<uint32_t>((be16(20) << 16) | be16(22), 0x7FFFFFFF));
            break;
        case ContentKind::kGif:  // the logical screen
            if (h.size() < 10) return std::nullopt;
            size.width = static_cast<int>(le16(6));
            size.height = static_cast<int>(le16(8));
            break;
        case ContentKind::kWebp:
            if (h.size() < 30) return std::nullopt;
            if (h.substr(12, 4) == "VP8X") {
                size.width = static_cast<int>(le24(24) + 1);
                size.height = static_cast<int>(le24(27) + 1);
            } else if (h.substr(12, 4) == "VP8 ") {
                if (h.substr(23, 3) != "\x9d\x01\x2a") return std::nullopt;
                size.width = static_cast<int>(le16(26) & 0x3FFF);
                size.height = static_cast<int>(le16(28) & 0x3FFF);
            } else {  // VP8L: 14 bits of width - 1, then 14 of height - 1
                if (u8(20) != 0x2F) return std::nullopt;
                uint32_t bits = u8(21) | (u8(22) << 8) | (u8(23) << 16) | (u8(24) << 24);
                size.width = static_cast<int>((bits & 0x3FFF) + 1);
                size.height = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
            }
            break;
        case ContentKind::kJpeg: {  // the first start-of-frame marker
            size_t i = 2;
            while (i + 9 < h.size()) {
                if (u8(i) != 0xFF) return std::nullopt;
                uint32_t marker = u8(i + 1);
                if (marker == 0xFF) {  // fill byte
                    ++i;
                    continue;
                }
                if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
                    i += 2;
                    continue;
                }
                if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                    size.height = static_cast<int>(be16(i + 5));
                    size.width = static_cast<int>(be16(i + 7));
                    break;
                }
                if (marker == 0xD9 || marker == 0xDA) return std::nullopt;  // image data before any frame
                i += 2 + be16(i + 2);
            }
            if (size.width == 0) return std::nullopt;
            break;
        }
        default:
            return std::nullopt;
    }
    if (size.width <= 0 || size.height <= 0) return std::nullopt;
    return size;
}

std::optional<std::string> RefuseImageSize(const ImageSize& size) {
    if (size.width > kMaxImageSide || size.height > kMaxImageSide ||
        static_cast<long long>(size.width) * size.height > kMaxImagePixels) {
        return "the image is " + std::to_string(size.width) + "x" + std::to_string(size.height) + " pixels; at most " +
               std::to_string(kMaxImageSide) + " per side and " + std::to_string(kMaxImagePixels / 1000000) +
               " megapixels are accepted";
    }
    return std::nullopt;
}

std::string SanitizeFileName(std::string_view raw) {
    size_t slash = raw.find_last_of("/\\");
    if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
    std::string clean;
    for (size_t i = 0; i < raw.size();) {
        char32_t cp = 0;
        size_t n = Utf8Length(raw, i, cp);
        if (n == 0) {
            clean += '_';
            ++i;
            continue;
        }
        if (Unwanted(cp)) {
            if (cp >= 0x20 && cp < 0x7F) clean += '_';  // reserved characters show; controls and marks vanish
        } else {
            clean.append(raw.substr(i, n));
        }
        i += n;
    }
    // No hidden files, no "." or "..", nothing a Windows shell would trim to another name.
    size_t first = clean.find_first_not_of(". ");
    clean = first == std::string::npos ? std::string() : clean.substr(first);
    while (!clean.empty() && (clean.back() == '.' || clean.back() == ' ')) clean.pop_back();
    if (clean.empty()) return "file";
    if (clean.size() > kMaxFileNameBytes) {
        std::string ext = ExtensionOf(clean);
        std::string suffix = !ext.empty() && ext.size() <= 16 ? "." + clean.substr(clean.size() - ext.size()) : "";
        size_t keep = kMaxFileNameBytes - suffix.size();
        // Cut at a character boundary.
        while (keep > 0 && (static_cast<unsigned char>(clean[keep]) & 0xC0) == 0x80) --keep;
        clean = clean.substr(0, keep) + suffix;
        while (!clean.empty() && (clean.back() == '.' || clean.back() == ' ')) clean.pop_back();
        if (clean.empty()) return "file";
    }
    return clean;
}

std::string ExtensionOf(std::string_view name) {
    size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
    return Lower(name.substr(dot + 1));
}

std::optional<std::string> RefuseImage(const DetectedContent& content, std::string_view name,
                                       std::string_view declared_type) {
    if (auto why = RefuseCommon(content, name, declared_type)) return why;
    if (!content.image())
        return "not a PNG, JPEG, GIF or WebP image (the content is " + std::string(content.what) + ")";
    return std::nullopt;
}

std::optional<std::string> RefuseFile(const DetectedContent& content, std::string_view name,
                                      std::string_view declared_type) {
    if (auto why = RefuseCommon(content, name, declared_type)) return why;
    std::string ext = ExtensionOf(name);
    if (auto promised = PromisedBy(ext); promised && *promised != content.kind)
        return "the name ends in ." + ext + " but the content is " + std::string(content.what);
    return std::nullopt;
}

const UploadLists& ImageUploadLists() {
    static const UploadLists lists{kImageExtensions, {}, kImageMimeTypes, {}};
    return lists;
}

const UploadLists& FileUploadLists() {
    static const UploadLists lists{{}, kBlockedExtensions, {}, kBlockedMimeTypes};
    return lists;
}

std::optional<UploadRef> ParseUploadUrl(std::string_view url) {
    url = url.substr(0, url.find_first_of("?#"));
    auto is_key = [](std::string_view k) {
        return k.size() == 32 &&
               std::all_of(k.begin(), k.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
    };
    size_t last = url.rfind('/');
    if (last == std::string_view::npos || last == 0) return std::nullopt;
    std::string_view leaf = url.substr(last + 1);
    std::string_view rest = url.substr(0, last);
    size_t prev = rest.rfind('/');
    if (prev == std::string_view::npos) return std::nullopt;
    std::string_view parent = rest.substr(prev + 1);
    // .../i/<key>.<ext> or .../i/<key>.thumb.<ext>
    if (parent == "i" && leaf.size() > 33 && leaf[32] == '.' && is_key(leaf.substr(0, 32)))
        return UploadRef{UploadRef::Kind::kImage, std::string(leaf.substr(0, 32))};
    // .../f/<key>/<name>
    size_t grand = prev == 0 ? std::string_view::npos : rest.rfind('/', prev - 1);
    if (grand != std::string_view::npos && rest.substr(grand + 1, prev - grand - 1) == "f" && is_key(parent) &&
        !leaf.empty())
        return UploadRef{UploadRef::Kind::kFile, std::string(parent)};
    return std::nullopt;
}

std::vector<UploadRef> UploadsInAttachments(std::string_view attachments_json) {
    std::vector<UploadRef> refs;
    rapidjson::Document d;
    d.Parse(attachments_json.data(), attachments_json.size());
    if (d.HasParseError() || !d.IsArray()) return refs;
    for (const auto& a : d.GetArray()) {
        if (!a.IsObject()) continue;
        for (const char* field : {"image_url", "asset_url", "thumb_url"}) {
            auto it = a.FindMember(field);
            if (it == a.MemberEnd() || !it->value.IsString()) continue;
            auto ref = ParseUploadUrl(std::string_view(it->value.GetString(), it->value.GetStringLength()));
            if (!ref) continue;
            bool seen = std::any_of(refs.begin(), refs.end(), [&](const UploadRef& r) { return r.key == ref->key; });
            if (!seen) refs.push_back(std::move(*ref));
        }
    }
    return refs;
}

}  // namespace streambed
