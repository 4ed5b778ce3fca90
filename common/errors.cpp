#include "common/errors.h"

#include <cstdio>

#include "common/json.h"

namespace streambed {

namespace {
constexpr std::string_view kMoreInfo = "https://getstream.io/chat/docs/api_errors_response";

std::string Envelope(int http_status, int error_code, std::string_view message, std::string_view duration,
                     std::string_view field) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutInt(w, "code", error_code);
    PutString(w, "message", message);
    PutInt(w, "StatusCode", http_status);
    PutString(w, "duration", duration);
    PutString(w, "more_info", kMoreInfo);
    PutKey(w, "details");
    w.StartArray();
    w.EndArray();
    if (!field.empty()) {
        PutKey(w, "exception_fields");
        w.StartObject();
        PutString(w, field, message);
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}
}  // namespace

std::string ErrorEnvelope(const ApiError& error, std::string_view duration) {
    return Envelope(error.http_status(), error.code(), error.what(), duration, error.field());
}

std::string ErrorEnvelope(int http_status, int error_code, std::string_view message, std::string_view duration) {
    return Envelope(http_status, error_code, message, duration, {});
}

std::string FormatDuration(int64_t micros) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fms", static_cast<double>(micros) / 1000.0);
    return buf;
}

}  // namespace streambed
