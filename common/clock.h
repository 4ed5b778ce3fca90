#pragma once
// Wall-clock time and its one wire format (RFC 3339, UTC, microseconds, trailing Z).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streambed {

// Microseconds since the Unix epoch.
int64_t NowMicros();
inline int64_t NowSeconds() { return NowMicros() / 1000000; }

// "2026-11-26T09:15:03.123456Z". Every timestamp on the wire goes through here, so one entity
// always serialises to the same string (the client locates messages by created_at).
std::string FormatTimestamp(int64_t unix_micros);

// Accepts RFC 3339 with 'Z' or a numeric offset and 0-9 fractional digits; nullopt otherwise.
std::optional<int64_t> ParseTimestamp(std::string_view text);

}  // namespace streambed
