#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace streambed {

int64_t NowMicros() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatTimestamp(int64_t unix_micros) {
    int64_t seconds = unix_micros / 1000000;
    int64_t micros = unix_micros % 1000000;
    if (micros < 0) {
        micros += 1000000;
        seconds -= 1;
    }
    time_t t = static_cast<time_t>(seconds);
    struct tm tm_utc {};
    gmtime_r(&t, &tm_utc);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm_utc.tm_year + 1900, tm_utc.tm_mon + 1,
                  tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec, static_cast<long long>(micros));
    return buf;
}

namespace {

bool ReadDigits(std::string_view& s, size_t n, int& out) {
    if (s.size() < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    s.remove_prefix(n);
    return true;
}

bool Expect(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view s) {
    int year, month, day, hour, minute, second;
    if (!ReadDigits(s, 4, year) || !Expect(s, '-') || !ReadDigits(s, 2, month) || !Expect(s, '-') ||
        !ReadDigits(s, 2, day))
        return std::nullopt;
    if (s.empty() || (s.front() != 'T' && s.front() != 't' && s.front() != ' ')) return std::nullopt;
    s.remove_prefix(1);
    if (!ReadDigits(s, 2, hour) || !Expect(s, ':') || !ReadDigits(s, 2, minute) || !Expect(s, ':') ||
        !ReadDigits(s, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    // No February 30th: timegm would quietly move it into March.
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
    int64_t micros = 0;
    if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        int digits = 0;
        while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
            if (digits < 6) micros = micros * 10 + (s.front() - '0');
            ++digits;
            s.remove_prefix(1);
        }
        if (digits == 0 || digits > 9) return std::nullopt;
        for (int i = digits; i < 6; ++i) micros *= 10;
    }
    int64_t offset_seconds = 0;
    if (s == "Z" || s == "z") {
        s.remove_prefix(1);
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        int sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        int oh, om;
        if (!ReadDigits(s, 2, oh) || !Expect(s, ':') || !ReadDigits(s, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_seconds = sign * (oh * 3600 + om * 60);
    } else {
        // A zone-less time would be read as local time by the JS client: refuse it here too.
        return std::nullopt;
    }
    if (!s.empty()) return std::nullopt;
    struct tm tm_utc {};
    tm_utc.tm_year = year - 1900;
    tm_utc.tm_mon = month - 1;
    tm_utc.tm_mday = day;
    tm_utc.tm_hour = hour;
    tm_utc.tm_min = minute;
    tm_utc.tm_sec = second;
    time_t t = timegm(&tm_utc);
    return (static_cast<int64_t>(t) - offset_seconds) * 1000000 + micros;
}

}  // namespace streambed
