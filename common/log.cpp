#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "common/clock.h"

namespace streambed {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::string g_component = "streambed";

const char* LevelName(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug: return "debug";
        case LogLevel::kInfo: return "info";
        case LogLevel::kWarn: return "warn";
        case LogLevel::kError: return "error";
    }
    return "info";
}
}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
    if (name == "debug") return LogLevel::kDebug;
    if (name == "info") return LogLevel::kInfo;
    if (name == "warn") return LogLevel::kWarn;
    if (name == "error") return LogLevel::kError;
    return std::nullopt;
}

void InitLogging(std::string_view component, LogLevel level) {
    g_component = std::string(component);
    g_level = static_cast<int>(level);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

Log::Log(LogLevel level, std::string_view event) : enabled_(LogEnabled(level)), writer_(buffer_) {
    if (!enabled_) return;
    writer_.StartObject();
    PutTime(writer_, "ts", NowMicros());
    PutString(writer_, "level", LevelName(level));
    PutString(writer_, "component", g_component);
    PutInt(writer_, "pid", getpid());
    PutString(writer_, "event", event);
}

Log::~Log() {
    if (!enabled_) return;
    writer_.EndObject();
    std::string line(buffer_.GetString(), buffer_.GetSize());
    line += '\n';
    // One write per line: concurrent processes appending to one file never interleave lines.
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

Log& Log::Str(std::string_view key, std::string_view value) {
    if (enabled_) PutString(writer_, key, value);
    return *this;
}
Log& Log::Int(std::string_view key, int64_t value) {
    if (enabled_) PutInt(writer_, key, value);
    return *this;
}
Log& Log::Num(std::string_view key, double value) {
    if (enabled_) {
        PutKey(writer_, key);
        writer_.Double(value);
    }
    return *this;
}
Log& Log::Bool(std::string_view key, bool value) {
    if (enabled_) PutBool(writer_, key, value);
    return *this;
}

}  // namespace streambed
