#pragma once
// Errors as values with an HTTP meaning. A handler throws ApiError; the framework turns it into
// getstream.io's envelope: {"code","message","StatusCode","duration","more_info","details"}.

#include <stdexcept>
#include <string>
#include <string_view>

namespace streambed {

// getstream.io's error codes (STREAM-PROTOCOL.md §7). The client reacts to some of them.
namespace code {
constexpr int kInternal = -1;  // also our "temporarily unavailable": the SDK treats -1 as retryable
constexpr int kBadApiKey = 2;
constexpr int kAuthFailed = 3;
constexpr int kInputError = 4;
constexpr int kRateLimited = 9;
constexpr int kNotFound = 16;
constexpr int kNotAllowed = 17;
constexpr int kMessageTooLong = 20;
constexpr int kPayloadTooBig = 22;
constexpr int kTokenExpired = 40;
constexpr int kTokenNotValidYet = 41;
constexpr int kTokenBeforeRevocation = 42;
constexpr int kTokenSignature = 43;
constexpr int kCooldown = 60;
}  // namespace code

class ApiError : public std::runtime_error {
public:
    ApiError(int http_status, int error_code, std::string message, std::string field = {})
        : std::runtime_error(message), http_status_(http_status), code_(error_code), field_(std::move(field)) {}

    int http_status() const { return http_status_; }
    int code() const { return code_; }
    // The request field the error is about, if any ("message.text"); shown in exception_fields.
    const std::string& field() const { return field_; }

private:
    int http_status_;
    int code_;
    std::string field_;
};

inline ApiError BadRequest(std::string message, std::string field = {}) {
    return ApiError(400, code::kInputError, std::move(message), std::move(field));
}
inline ApiError NotFound(std::string message) { return ApiError(404, code::kNotFound, std::move(message)); }
inline ApiError Forbidden(std::string message) { return ApiError(403, code::kNotAllowed, std::move(message)); }
inline ApiError Unauthorized(int error_code, std::string message) {
    return ApiError(401, error_code, std::move(message));
}
// A dependency (PostgreSQL, Redis) is down: retryable for the client, never a crash.
inline ApiError Unavailable(std::string message) { return ApiError(503, code::kInternal, std::move(message)); }

// The envelope as JSON text. `duration` is "<n>ms".
std::string ErrorEnvelope(const ApiError& error, std::string_view duration);
std::string ErrorEnvelope(int http_status, int error_code, std::string_view message, std::string_view duration);

// "1.23ms" for a duration in microseconds.
std::string FormatDuration(int64_t micros);

}  // namespace streambed
