// POST and DELETE /api/channels/{type}/{id}/image/ and /file/ (STREAM-PROTOCOL.md §4.7,
// docs/uploads.md). The body arrives spooled to disk (worker.cpp); here it is parsed, checked by
// content, stored under a random key, thumbnailed, and recorded.

#include "fcgi-app/handlers/uploads.h"

#include <algorithm>
#include <cctype>

#include "common/errors.h"
#include "common/log.h"
#include "common/url.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/multipart.h"
#include "fcgi-app/thumbnail.h"
#include "fcgi-app/upload_policy.h"
#include "fcgi-app/upload_storage.h"

namespace streambed {

namespace {

enum class Kind { kImage, kFile };

// Where the files are served: STREAMBED_UPLOAD_URL, or the host the client reached us on.
std::string BaseUrl(const Call& call) {
    if (!call.config().upload_url.empty()) return call.config().upload_url;
    const std::string& host = call.request().host;
    bool plain = !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    });
    if (!plain) return "/uploads";  // no usable Host: a URL relative to the page's origin
    return std::string(call.request().scheme == "https" ? "https" : "http") + "://" + host + "/uploads";
}

// The URL of a stored path: its name segment percent-encoded.
std::string UrlOf(const Call& call, const std::string& path) {
    size_t slash = path.rfind('/');
    return BaseUrl(call) + "/" + path.substr(0, slash + 1) + PercentEncode(path.substr(slash + 1));
}

std::string_view MagickFormat(std::string_view ext) {
    if (ext == "png") return "PNG";
    if (ext == "jpg") return "JPEG";
    if (ext == "gif") return "GIF";
    return "WEBP";
}

// A declared type worth recording: "type/subtype" of plain characters, else octet-stream.
std::string CleanMime(std::string_view declared) {
    declared = declared.substr(0, declared.find(';'));
    while (!declared.empty() && declared.back() == ' ') declared.remove_suffix(1);
    bool ok = !declared.empty() && declared.size() <= 100 && declared.find('/') != std::string_view::npos &&
              std::all_of(declared.begin(), declared.end(), [](char c) {
                  return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '+' || c == '-';
              });
    return ok ? std::string(declared) : "application/octet-stream";
}

// The filesystem failing is not the client's fault: logged, and a 503 the SDK may retry.
template <typename F>
auto Storage(const Call& call, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const ApiError&) {
        throw;
    } catch (const std::runtime_error& e) {
        Log(LogLevel::kError, "upload.storage_failed")
            .Str("error", e.what())
            .Str("request_id", call.request().request_id);
        throw Unavailable("the upload storage is not available, retry later");
    }
}

Reply Upload(Call& call, Kind kind) {
    auto [type, id] = ChannelPath(call);
    auto boundary = MultipartBoundary(call.request().content_type);
    if (!boundary) throw BadRequest("the body must be multipart/form-data with a boundary", "file");
    std::string_view body = call.request().Body();
    std::vector<MultipartPart> parts = ParseMultipart(body, *boundary);
    const MultipartPart* file = nullptr;
    const MultipartPart* user = nullptr;
    for (const auto& p : parts) {
        if (p.name == "file") {
            if (file != nullptr) throw BadRequest("one file per request", "file");
            file = &p;
        } else if (p.name == "user") {
            user = &p;
        }
    }
    if (file == nullptr) throw BadRequest("the form has no file field", "file");

    // Who uploads: the token's user; a server token names one in the form's `user` ({"id": ...}).
    std::optional<std::string> named;
    if (user != nullptr) {
        if (user->length > 64 * 1024) throw BadRequest("the user field is too large", "user");
        rapidjson::Document u = ParseJsonObject(user->In(body), "user");
        if (auto uid = json::OptString(u, "id", "user.id")) named = std::string(*uid);
    }
    auto [actor, open] = LoadActorIn(call, named, true, type, id);
    RequireCapability(open.caps, "upload-file");

    const Config& config = call.config();
    if (file->length == 0) throw BadRequest("the file is empty", "file");
    if (file->length > static_cast<size_t>(config.upload_max_bytes)) {
        throw ApiError(413, code::kPayloadTooBig,
                       "the file is larger than the limit of " + std::to_string(config.upload_max_bytes) + " bytes");
    }
    std::string_view bytes = file->In(body);
    std::string name = SanitizeFileName(file->filename.value_or(""));
    DetectedContent content = DetectContent(bytes.substr(0, 64));
    auto refused = kind == Kind::kImage ? RefuseImage(content, name, file->content_type)
                                        : RefuseFile(content, name, file->content_type);
    if (refused) throw BadRequest(*refused, "file");

    UploadRow row;
    row.key = NewUploadKey();
    row.channel_pk = open.channel.pk;
    row.user_id = actor.id();
    row.name = name;
    row.size = static_cast<int64_t>(bytes.size());
    const std::string& dir = config.upload_dir;
    Storage(call, [&] { EnsureUploadDirs(config); });
    if (kind == Kind::kImage) {
        row.kind = "image";
        row.mime_type = std::string(content.mime);
        row.path = "i/" + row.key + "." + std::string(content.ext);
        // Its size from the header: a decompression bomb goes before a byte is written or decoded.
        auto size = ImageDimensions(bytes.substr(0, 256 * 1024), content.kind);
        if (!size) throw BadRequest("the image header is damaged (no size found)", "file");
        if (auto why = RefuseImageSize(*size)) throw BadRequest(*why, "file");
        row.width = size->width;
        row.height = size->height;
        Storage(call, [&] { WriteNewFile(dir + "/" + row.path, bytes); });
        try {
            Thumbnail t =
                MakeThumbnail(dir + "/" + row.path, MagickFormat(content.ext), *size, dir + "/i/" + row.key + ".thumb");
            row.thumb_path = "i/" + row.key + ".thumb." + t.ext;
        } catch (const ImageRefused& e) {
            RemoveStored(config, row.path, "i/" + row.key + ".thumb.jpg");
            RemoveStored(config, "", "i/" + row.key + ".thumb.png");
            throw BadRequest(e.what(), "file");
        }
    } else {
        row.kind = "file";
        row.mime_type = CleanMime(file->content_type);
        row.path = "f/" + row.key + "/" + name;
        Storage(call, [&] {
            MakeFolder(dir + "/f/" + row.key);
            WriteNewFile(dir + "/" + row.path, bytes);
        });
    }
    try {
        uploads::Insert(call.db(), row);
    } catch (...) {
        // The channel went meanwhile, or the database is down: nothing may stay behind unrecorded.
        RemoveStored(config, row.path, row.thumb_path);
        throw;
    }
    Log(LogLevel::kInfo, "upload.stored")
        .Str("key", row.key)
        .Str("kind", row.kind)
        .Int("bytes", row.size)
        .Str("request_id", call.request().request_id);

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "file", UrlOf(call, row.path));
    if (!row.thumb_path.empty()) PutString(w, "thumb_url", UrlOf(call, row.thumb_path));
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

Reply DeleteUpload(Call& call, Kind kind) {
    auto [type, id] = ChannelPath(call);
    auto [actor, open] = LoadActorIn(call, call.Query("user_id"), false, type, id);
    auto url = call.Query("url");
    if (!url || url->empty()) throw BadRequest("url is required", "url");
    auto ref = ParseUploadUrl(*url);
    const char* what = kind == Kind::kImage ? "image" : "file";
    if (!ref || (ref->kind == UploadRef::Kind::kImage) != (kind == Kind::kImage))
        throw BadRequest(
            std::string("url does not name an ") + (kind == Kind::kImage ? "image" : "file") + " uploaded to streambed",
            "url");
    auto row = uploads::Find(call.db(), ref->key);
    if (!row || row->channel_pk != open.channel.pk || row->kind != what)
        throw NotFound(std::string("no such ") + what + " in channel " + open.channel.cid);
    bool own = actor.acting && row->user_id == actor.id();
    if (!own && !HasCapability(open.caps, "delete-any-message"))
        throw Forbidden(std::string("only the uploader or a moderator may delete this ") + what);
    uploads::Delete(call.db(), row->key);
    RemoveStored(call.config(), row->path, row->thumb_path);
    return EmptyReply();
}

}  // namespace

std::vector<UploadRow> ForgetMessageUploads(Call& call, const MessageRow& message) {
    std::vector<std::string> keys;
    for (const auto& ref : UploadsInAttachments(message.attachments_json)) keys.push_back(ref.key);
    return uploads::DeleteOwned(call.db(), message.channel_pk, message.user_id, keys);
}

void RemoveUploadFiles(const Call& call, const std::vector<UploadRow>& rows) {
    for (const auto& row : rows) RemoveStored(call.config(), row.path, row.thumb_path);
}

// POST /api/channels/{type}/{id}/image/ (multipart: file, user?)
Reply HandleUploadImage(Call& call) { return Upload(call, Kind::kImage); }
// POST /api/channels/{type}/{id}/file/
Reply HandleUploadFile(Call& call) { return Upload(call, Kind::kFile); }
// DELETE /api/channels/{type}/{id}/image/?url=
Reply HandleDeleteImage(Call& call) { return DeleteUpload(call, Kind::kImage); }
// DELETE /api/channels/{type}/{id}/file/?url=
Reply HandleDeleteFile(Call& call) { return DeleteUpload(call, Kind::kFile); }

}  // namespace streambed
