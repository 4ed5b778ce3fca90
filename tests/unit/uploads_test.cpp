// Uploads: the multipart parser, content detection by magic bytes, file-name sanitising, the
// refusal rules, our URL scheme, and thumbnails (with the decompression-bomb guard).
#define BOOST_TEST_MODULE uploads
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "fcgi-app/multipart.h"
#include "fcgi-app/router.h"
#include "fcgi-app/thumbnail.h"
#include "fcgi-app/upload_policy.h"

using namespace streambed;

namespace {
std::string Form(const std::string& boundary, const std::vector<std::string>& parts) {
    std::string body;
    for (const auto& p : parts) body += "--" + boundary + "\r\n" + p + "\r\n";
    return body + "--" + boundary + "--\r\n";
}

bool Refuses400(std::string_view body, std::string_view boundary) {
    try {
        ParseMultipart(body, boundary);
    } catch (const ApiError& e) {
        return e.http_status() == 400;
    }
    return false;
}

std::string FromHex(std::string_view hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}
// A 1x1 half-transparent red PNG.
const std::string kPng1x1 = FromHex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0d00000048101802c55"
    "ceb00000000049454e44ae426082");
}  // namespace

BOOST_AUTO_TEST_CASE(boundary_from_content_type) {
    BOOST_TEST(*MultipartBoundary("multipart/form-data; boundary=abc123") == "abc123");
    BOOST_TEST(*MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"") == "a b");
    BOOST_TEST(!MultipartBoundary("application/json"));
    BOOST_TEST(!MultipartBoundary("multipart/form-data"));
    BOOST_TEST(!MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

BOOST_AUTO_TEST_CASE(parses_file_and_fields) {
    std::string body = Form("XyZ", {"Content-Disposition: form-data; name=\"user\"\r\n\r\n{\"id\":\"bob\"}",
                                    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".png\"\r\n"
                                    "Content-Type: Image/PNG\r\n\r\n\r\n--not-the-boundary\r\n"});
    auto parts = ParseMultipart(body, "XyZ");
    BOOST_REQUIRE(parts.size() == 2);
    BOOST_TEST(parts[0].name == "user");
    BOOST_TEST(parts[0].In(body) == "{\"id\":\"bob\"}");
    BOOST_TEST(!parts[0].filename);
    BOOST_TEST(parts[1].name == "file");
    BOOST_TEST(*parts[1].filename == "a \"b\".png");
    BOOST_TEST(parts[1].content_type == "image/png");
    // Content that looks like a delimiter but is not the boundary stays content.
    BOOST_TEST(parts[1].In(body) == "\r\n--not-the-boundary\r\n");
}

BOOST_AUTO_TEST_CASE(rfc5987_filename_wins) {
    std::string body = Form("b", {"Content-Disposition: form-data; name=\"file\"; filename=\"x.txt\"; "
                                  "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\ndata"});
    BOOST_TEST(*ParseMultipart(body, "b").at(0).filename == "r\xC3\xA9sum\xC3\xA9.pdf");
}

BOOST_AUTO_TEST_CASE(malformed_bodies_are_400) {
    BOOST_TEST(Refuses400("no boundary here", "b"));
    BOOST_TEST(Refuses400("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata without end", "b"));
    BOOST_TEST(Refuses400("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", "b"));        // no disposition
    BOOST_TEST(Refuses400("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "b"));  // no name
    BOOST_TEST(Refuses400("--b\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--b--", "b"));
    BOOST_TEST(Refuses400("--b\r\nContent-Disposition: form-data; name=\"f\r\n\r\nx\r\n--b--", "b"));  // open quote
    BOOST_TEST(Refuses400("--bXX", "b"));
    std::string many;
    for (int i = 0; i < 17; ++i)
        many += "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nx\r\n";
    BOOST_TEST(Refuses400(many + "--b--", "b"));
    BOOST_TEST(Refuses400(
        "--b\r\nContent-Disposition: form-data; name=\"f\"; x=\"" + std::string(9000, 'a') + "\"\r\n\r\nx\r\n--b--",
        "b"));
}

BOOST_AUTO_TEST_CASE(detects_content_by_magic_bytes) {
    BOOST_TEST(DetectContent(kPng1x1).ext == "png");
    BOOST_TEST(DetectContent("\xFF\xD8\xFF\xE0rest").ext == "jpg");
    BOOST_TEST(DetectContent("GIF89a....").ext == "gif");
    BOOST_TEST(DetectContent(std::string("RIFF\x10\0\0\0WEBPVP8L....", 20)).ext == "webp");
    BOOST_TEST(!DetectContent(std::string("RIFF\x10\0\0\0WAVEfmt ....", 20)).image());
    BOOST_TEST((DetectContent("\x7F"
                              "ELF\x02\x01")
                    .kind == ContentKind::kExecutable));
    BOOST_TEST((DetectContent("MZ\x90\0").kind == ContentKind::kExecutable));
    BOOST_TEST((DetectContent("\xCF\xFA\xED\xFE").kind == ContentKind::kExecutable));
    BOOST_TEST((DetectContent("\xCA\xFE\xBA\xBE").kind == ContentKind::kExecutable));
    BOOST_TEST((DetectContent("#!/bin/sh\nrm -rf /").kind == ContentKind::kScript));
    BOOST_TEST((DetectContent("\xEF\xBB\xBF#!/usr/bin/env python").kind == ContentKind::kScript));
    BOOST_TEST((DetectContent("%PDF-1.7").kind == ContentKind::kPdf));
    BOOST_TEST((DetectContent(std::string_view("PK\x03\x04", 4)).kind == ContentKind::kZip));
    BOOST_TEST((DetectContent("hello world").kind == ContentKind::kOther));
    BOOST_TEST((DetectContent("").kind == ContentKind::kOther));
}

BOOST_AUTO_TEST_CASE(sanitises_names) {
    BOOST_TEST(SanitizeFileName("../../etc/passwd") == "passwd");
    BOOST_TEST(SanitizeFileName("..\\..\\windows\\system32\\x.dll") == "x.dll");
    BOOST_TEST(SanitizeFileName("..") == "file");
    BOOST_TEST(SanitizeFileName("") == "file");
    BOOST_TEST(SanitizeFileName(".hidden") == "hidden");
    BOOST_TEST(SanitizeFileName("a\r\nb\x01.txt") == "ab.txt");
    BOOST_TEST(SanitizeFileName("what?<x>.txt") == "what__x_.txt");
    BOOST_TEST(SanitizeFileName("100%.txt") == "100_.txt");
    BOOST_TEST(SanitizeFileName("report.exe. . ") == "report.exe");
    // U+202E RIGHT-TO-LEFT OVERRIDE would show "invoice\u202Egnp.exe" as "invoiceexe.png".
    BOOST_TEST(SanitizeFileName("invoice\xE2\x80\xAEgnp.exe") == "invoicegnp.exe");
    BOOST_TEST(SanitizeFileName("r\xC3\xA9sum\xC3\xA9.pdf") == "r\xC3\xA9sum\xC3\xA9.pdf");
    BOOST_TEST(SanitizeFileName("bad\xC3\x28utf8") == "bad_(utf8");
    std::string longname = std::string(300, 'a') + ".pdf";
    std::string s = SanitizeFileName(longname);
    BOOST_TEST(s.size() <= kMaxFileNameBytes);
    BOOST_TEST(s.substr(s.size() - 4) == ".pdf");
    // Truncation never splits a character.
    std::string wide;
    for (int i = 0; i < 100; ++i) wide += "\xE2\x82\xAC";  // €
    std::string w = SanitizeFileName(wide);
    BOOST_TEST(w.size() <= kMaxFileNameBytes);
    BOOST_TEST(w.size() % 3 == 0);
}

BOOST_AUTO_TEST_CASE(refusal_rules) {
    auto png = DetectContent(kPng1x1);
    auto elf = DetectContent(
        "\x7F"
        "ELF\x02\x01");
    auto text = DetectContent("hello");
    BOOST_TEST(!RefuseImage(png, "cat.png", "image/png"));
    BOOST_TEST(!RefuseImage(png, "file", ""));
    BOOST_TEST(RefuseImage(text, "cat.png", "image/png").has_value());
    BOOST_TEST(RefuseImage(elf, "cat.png", "image/png").has_value());
    BOOST_TEST(RefuseFile(elf, "notes.txt", "text/plain").has_value());  // an executable under any name
    BOOST_TEST(RefuseFile(DetectContent("#!/bin/sh"), "readme", "").has_value());
    BOOST_TEST(RefuseFile(text, "setup.EXE", "").has_value());  // blocked extension
    BOOST_TEST(RefuseFile(text, "notes.txt", "application/x-msdownload").has_value());
    BOOST_TEST(RefuseFile(text, "photo.jpg", "image/jpeg").has_value());  // not what the name promises
    BOOST_TEST(RefuseFile(text, "report.pdf", "application/pdf").has_value());
    BOOST_TEST(!RefuseFile(text, "notes.txt", "text/plain"));
    BOOST_TEST(!RefuseFile(DetectContent("%PDF-1.4"), "report.pdf", "application/pdf"));
    BOOST_TEST(!RefuseFile(png, "cat.png", "image/png"));
}

BOOST_AUTO_TEST_CASE(our_urls) {
    std::string key = "0123456789abcdef0123456789abcdef";
    auto i = ParseUploadUrl("https://h/uploads/i/" + key + ".png");
    BOOST_REQUIRE(i.has_value());
    BOOST_TEST((i->kind == UploadRef::Kind::kImage));
    BOOST_TEST(i->key == key);
    BOOST_TEST(ParseUploadUrl("http://h:8080/uploads/i/" + key + ".thumb.jpg?x=1")->key == key);
    auto f = ParseUploadUrl("https://cdn.example/x/f/" + key + "/r%C3%A9sum%C3%A9.pdf");
    BOOST_REQUIRE(f.has_value());
    BOOST_TEST((f->kind == UploadRef::Kind::kFile));
    BOOST_TEST(!ParseUploadUrl("https://h/uploads/i/" + key.substr(1) + ".png"));
    BOOST_TEST(!ParseUploadUrl("https://h/uploads/i/0123456789ABCDEF0123456789abcdef.png"));
    BOOST_TEST(!ParseUploadUrl("https://h/uploads/f/" + key + "/"));
    BOOST_TEST(!ParseUploadUrl("https://example.com/cat.png"));
    BOOST_TEST(!ParseUploadUrl(""));
    auto refs = UploadsInAttachments(R"([{"type":"image","image_url":"https://h/uploads/i/)" + key +
                                     R"(.png","thumb_url":"https://h/uploads/i/)" + key +
                                     R"(.thumb.jpg"},{"asset_url":"https://elsewhere/x.pdf"},7,"x"])");
    BOOST_TEST(refs.size() == 1);
    BOOST_TEST(UploadsInAttachments("not json").empty());
}

BOOST_AUTO_TEST_CASE(upload_routes_take_spooled_bodies) {
    auto m = AllRoutes().Match("POST", "/api/channels/messaging/general/image/");
    BOOST_REQUIRE(m.route != nullptr);
    BOOST_TEST((m.route->body == BodyKind::kUpload));
    BOOST_TEST((AllRoutes().Match("POST", "/api/channels/messaging/general/file/").route->body == BodyKind::kUpload));
    BOOST_TEST((AllRoutes().Match("POST", "/api/channels/messaging/general/message/").route->body == BodyKind::kSmall));
    BOOST_TEST((AllRoutes().Match("DELETE", "/api/channels/messaging/general/image/").route->body == BodyKind::kSmall));
}

namespace {
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/streambed-thumb-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string Write(const std::string& name, std::string_view bytes) const {
        std::ofstream(path / name, std::ios::binary) << bytes;
        return (path / name).string();
    }
};

// A valid PNG header claiming `w` x `h` pixels (CRC included), with no image data after it.
std::string PngHeader(uint32_t w, uint32_t h) {
    std::string ihdr = "IHDR";
    for (uint32_t v : {w, h})
        for (int s = 24; s >= 0; s -= 8) ihdr += static_cast<char>((v >> s) & 0xFF);
    ihdr += std::string("\x08\x02\0\0\0", 5);
    uint32_t crc = 0xFFFFFFFF;
    for (unsigned char c : ihdr) {
        crc ^= c;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320 & (0 - (crc & 1)));
    }
    crc ^= 0xFFFFFFFF;
    std::string out = "\x89PNG\r\n\x1a\n";
    out += std::string("\0\0\0\x0d", 4) + ihdr;
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((crc >> s) & 0xFF);
    // The start of the pixel data, as a real bomb has: a zlib stream of one stored block of zeros
    // (CRC left wrong: the header is all that may be read).
    std::string idat = std::string("\x78\x01\x00\x40\x00\xbf\xff", 7) + std::string(64, '\0');
    out += std::string("\0\0\0", 3) + static_cast<char>(idat.size()) + "IDAT" + idat + std::string(4, '\0');
    return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(thumbnail_of_a_png) {
    TempDir dir;
    std::string src = dir.Write("a.png", kPng1x1);
    auto size = ImageDimensions(kPng1x1, ContentKind::kPng);
    BOOST_REQUIRE(size.has_value());
    BOOST_TEST(size->width == 1);
    Thumbnail t = MakeThumbnail(src, "PNG", *size, (dir.path / "a.thumb").string());
    BOOST_TEST(t.ext == "png");  // the sample has an alpha channel
    BOOST_TEST(std::filesystem::file_size(dir.path / "a.thumb.png") > 0);
}

BOOST_AUTO_TEST_CASE(image_sizes_from_headers) {
    auto png = ImageDimensions(PngHeader(100000, 3), ContentKind::kPng);
    BOOST_REQUIRE(png.has_value());
    BOOST_TEST(png->width == 100000);
    BOOST_TEST(png->height == 3);
    auto gif = ImageDimensions(std::string("GIF89a\x40\x01\xF0\x00", 10), ContentKind::kGif);
    BOOST_TEST(gif->width == 320);
    BOOST_TEST(gif->height == 240);
    // VP8X canvas 4000 x 3000 (stored minus one, 24-bit little-endian).
    std::string vp8x =
        std::string("RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0", 24) + std::string("\x9f\x0f\x00\xb7\x0b\x00", 6);
    auto webp = ImageDimensions(vp8x, ContentKind::kWebp);
    BOOST_TEST(webp->width == 4000);
    BOOST_TEST(webp->height == 3000);
    // JPEG: APP0, then SOF0 with height 600 and width 800.
    std::string jpeg = std::string("\xFF\xD8\xFF\xE0\x00\x04\x00\x00\xFF\xC0\x00\x11\x08\x02\x58\x03\x20\x03", 18) +
                       std::string(16, '\0');
    auto j = ImageDimensions(jpeg, ContentKind::kJpeg);
    BOOST_REQUIRE(j.has_value());
    BOOST_TEST(j->width == 800);
    BOOST_TEST(j->height == 600);
    BOOST_TEST(!ImageDimensions("\xFF\xD8\xFF\xDA\x00\x02 scan data before any frame header....", ContentKind::kJpeg));
    BOOST_TEST(!ImageDimensions("\x89PNG\r\n\x1a\n short", ContentKind::kPng));
}

BOOST_AUTO_TEST_CASE(decompression_bombs_are_refused_from_the_header) {
    BOOST_TEST(RefuseImageSize({100000, 100000}).has_value());
    BOOST_TEST(RefuseImageSize({20000, 10}).has_value());   // one side too long
    BOOST_TEST(RefuseImageSize({8000, 7000}).has_value());  // 56 megapixels
    BOOST_TEST(!RefuseImageSize({8064, 6048}));             // a 48-megapixel phone photo
    BOOST_TEST(!RefuseImageSize({1, 1}));
}

BOOST_AUTO_TEST_CASE(garbage_under_an_image_magic_is_refused) {
    TempDir dir;
    std::string src = dir.Write("x.jpg", "\xFF\xD8\xFF\xE0 this is not really a jpeg");
    BOOST_CHECK_THROW(MakeThumbnail(src, "JPEG", {10, 10}, (dir.path / "x.thumb").string()), ImageRefused);
    // A PNG whose header promises more pixels than its data holds.
    std::string cut = dir.Write("cut.png", PngHeader(3000, 3000));
    BOOST_CHECK_THROW(MakeThumbnail(cut, "PNG", {3000, 3000}, (dir.path / "cut.thumb").string()), ImageRefused);
    BOOST_TEST(!std::filesystem::exists(dir.path / "cut.thumb.png"));
}
