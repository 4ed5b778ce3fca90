#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace streambed {

int64_t NowMicros() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// The proleptic Gregorian date of a day counted from 1970-01-01, by 400-year eras (146,097 days
// each, starting on March 1st so that the leap day ends a year).
void CivilFromDays(int64_t days, int& year, int& month, int& day) {
    days += 719468;  // days from 0000-03-01 to 1970-01-01
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;                                                  // [0, 146096]
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);  // [0, 365]
    int64_t month_from_march = (5 * day_of_year + 2) / 153;                                    // [0, 11]
    day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    month = static_cast<int>(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    year = static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
}

char* PutDigits(char* out, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

}  // namespace

// Written digit by digit: every timestamp of every answer comes through here (a channel state holds
// hundreds), and gmtime_r with snprintf was a tenth of a worker's CPU in the load test.
std::string FormatTimestamp(int64_t unix_micros) {
    int64_t seconds = unix_micros / 1000000;
    int64_t micros = unix_micros % 1000000;
    if (micros < 0) {
        micros += 1000000;
        seconds -= 1;
    }
    int64_t days = seconds / 86400;
    int64_t second_of_day = seconds % 86400;
    if (second_of_day < 0) {
        second_of_day += 86400;
        days -= 1;
    }
    int year, month, day;
    CivilFromDays(days, year, month, day);
    if (year < 0 || year > 9999) {  // not four digits: printf's own rendering, as before
        char buf[64];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", year, month, day,
                      static_cast<int>(second_of_day / 3600), static_cast<int>(second_of_day / 60 % 60),
                      static_cast<int>(second_of_day % 60), static_cast<long long>(micros));
        return buf;
    }
    std::string out(27, '\0');  // 2026-11-26T09:15:03.123456Z
    char* p = out.data();
    p = PutDigits(p, year, 4);
    *p++ = '-';
    p = PutDigits(p, month, 2);
    *p++ = '-';
    p = PutDigits(p, day, 2);
    *p++ = 'T';
    p = PutDigits(p, second_of_day / 3600, 2);
    *p++ = ':';
    p = PutDigits(p, second_of_day / 60 % 60, 2);
    *p++ = ':';
    p = PutDigits(p, second_of_day % 60, 2);
    *p++ = '.';
    p = PutDigits(p, micros, 6);
    *p = 'Z';
    return out;
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
