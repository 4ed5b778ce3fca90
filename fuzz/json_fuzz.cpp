// Request JSON: ParseJsonObject and the typed accessors every handler reads fields with. Bad input
// must end as ApiError 400 (never another exception, a crash or undefined behaviour).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/errors.h"
#include "common/json.h"
#include "fuzz/fuzz.h"

using namespace streambed;

namespace {
void ReadEveryWay(const JsonValue& obj, std::string_view key, int depth) {
    auto ignore400 = [](auto&& f) {
        try {
            f();
        } catch (const ApiError& e) {
            FUZZ_CHECK(e.http_status() == 400);
        }
    };
    ignore400([&] { (void)json::OptString(obj, key, key); });
    ignore400([&] { (void)json::OptBool(obj, key, key); });
    ignore400([&] { (void)json::OptInt(obj, key, key); });
    ignore400([&] { (void)json::OptNumber(obj, key, key); });
    ignore400([&] { (void)json::RequireString(obj, key, key); });
    ignore400([&] {
        if (const JsonValue* o = json::OptObject(obj, key, key); o != nullptr && depth < 4) {
            for (auto it = o->MemberBegin(); it != o->MemberEnd(); ++it)
                ReadEveryWay(*o, std::string_view(it->name.GetString(), it->name.GetStringLength()), depth + 1);
        }
    });
    ignore400([&] {
        if (const JsonValue* a = json::OptArray(obj, key, key)) (void)ToJson(*a);
    });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    rapidjson::Document doc;
    try {
        doc = ParseJsonObject(text);
    } catch (const ApiError& e) {
        FUZZ_CHECK(e.http_status() == 400);
        return 0;
    }
    FUZZ_CHECK(doc.IsObject());
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it)
        ReadEveryWay(doc, std::string_view(it->name.GetString(), it->name.GetStringLength()), 0);
    for (std::string_view key : {"id", "text", "user_id", "message", "filter_conditions", "limit"}) ReadEveryWay(doc, key, 0);
    // What we write back parses again (as a request would) and is written the same way. Compared as text, not with
    // RapidJSON's operator==: that looks members up by name, so with a duplicate key it compares
    // the second value with the first and calls equal documents different.
    std::string again = ToJson(doc);
    rapidjson::Document round;
    try {
        round = ParseJsonObject(again);
    } catch (const ApiError&) {
        FUZZ_CHECK(!"what we wrote does not parse");
    }
    FUZZ_CHECK(ToJson(round) == again);
    return 0;
}
