#pragma once
// Structured logs: one JSON object per line on stderr (systemd's journal or the run folder's log
// file collects it). Usage:
//     Log(LogLevel::kInfo, "worker.started").Int("pid", pid);
// The line is written when the temporary dies, with one write(2) so lines never interleave.
// Never pass a token, secret or password here.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/json.h"

namespace streambed {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug" | "info" | "warn" | "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);
void InitLogging(std::string_view component, LogLevel level);
bool LogEnabled(LogLevel level);

class Log {
public:
    Log(LogLevel level, std::string_view event);
    ~Log();
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;

    Log& Str(std::string_view key, std::string_view value);
    Log& Int(std::string_view key, int64_t value);
    Log& Num(std::string_view key, double value);
    Log& Bool(std::string_view key, bool value);

private:
    bool enabled_;
    JsonBuffer buffer_;
    JsonWriter writer_;
};

}  // namespace streambed
