#include "common/json.h"

#include "common/clock.h"
#include "common/errors.h"
#include "common/utf8.h"

#include <rapidjson/error/en.h>

namespace streambed {

namespace {
// The first key or string value for which `bad` holds.
template <typename Bad>
bool AnyString(const JsonValue& v, const Bad& bad) {
    auto text = [](const JsonValue& str) { return std::string_view(str.GetString(), str.GetStringLength()); };
    if (v.IsString()) return bad(text(v));
    if (v.IsArray()) {
        for (const auto& item : v.GetArray()) {
            if (AnyString(item, bad)) return true;
        }
    } else if (v.IsObject()) {
        for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
            if (bad(text(it->name)) || AnyString(it->value, bad)) return true;
        }
    }
    return false;
}
}  // namespace

rapidjson::Document ParseJsonObject(std::string_view text, std::string_view what) {
    rapidjson::Document doc;
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        doc.SetObject();
        return doc;
    }
    // kParseStopWhenDoneFlag is not used: trailing garbage after the object is an error. Strings
    // must be UTF-8 (PostgreSQL refuses anything else, which would surface as a 500). Full
    // precision: RapidJSON's fast number parsing can land one unit off in the last place, so a
    // number stored in a custom field came back other than the client sent it (fuzz/json_fuzz.cpp,
    // fuzz/corpus/json/huge_limit: 6.666666666666667e57 was read as ...666e57).
    doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
    if (doc.HasParseError()) {
        throw BadRequest(std::string(what) + " is not valid JSON: " + rapidjson::GetParseError_En(doc.GetParseError()),
                         std::string(what));
    }
    if (!doc.IsObject()) throw BadRequest(std::string(what) + " must be a JSON object", std::string(what));
    // PostgreSQL text cannot hold U+0000: libpq would cut the string there (storing something
    // other than what was sent) and jsonb refuses it. Refused here, for keys and values alike.
    if (AnyString(doc, [](std::string_view t) { return t.find('\0') != std::string_view::npos; })) {
        throw BadRequest(std::string(what) + " has a string with a NUL (\\u0000) character", std::string(what));
    }
    // kParseValidateEncodingFlag checks the bytes sent, not what \u escapes decode to: RapidJSON
    // 1.1.0 turns a lone surrogate ("\udc00") into the bytes of U+DC00, which is not UTF-8, so it
    // reached PostgreSQL and came back as a 500 (fuzz/json_fuzz.cpp, fuzz/corpus/json/lone_surrogate).
    if (AnyString(doc, [](std::string_view t) { return !IsValidUtf8(t); })) {
        throw BadRequest(std::string(what) + " has a string with a lone surrogate (\\ud800-\\udfff)",
                         std::string(what));
    }
    return doc;
}

std::string ToJson(const JsonValue& value) {
    JsonBuffer buf;
    JsonWriter w(buf);
    value.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

namespace json {

const JsonValue* Find(const JsonValue& obj, std::string_view key) {
    if (!obj.IsObject()) return nullptr;
    auto it = obj.FindMember(JsonValue(rapidjson::StringRef(key.data(), key.size())));
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

namespace {
const JsonValue* Present(const JsonValue& obj, std::string_view key) {
    const JsonValue* v = Find(obj, key);
    return (v == nullptr || v->IsNull()) ? nullptr : v;
}
[[noreturn]] void WrongType(std::string_view field, std::string_view type) {
    throw BadRequest(std::string(field) + " must be " + std::string(type), std::string(field));
}
}  // namespace

std::optional<std::string_view> OptString(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsString()) WrongType(field, "a string");
    return std::string_view(v->GetString(), v->GetStringLength());
}

std::optional<bool> OptBool(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsBool()) WrongType(field, "a boolean");
    return v->GetBool();
}

std::optional<int64_t> OptInt(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v == nullptr) return std::nullopt;
    if (v->IsInt64()) return v->GetInt64();
    // JavaScript numbers arrive as doubles when large; accept integral ones.
    if (v->IsDouble()) {
        double d = v->GetDouble();
        // The range first: converting a double outside int64's range is undefined behaviour
        // (UBSan, fuzz/corpus/json/huge_limit), so the cast may only follow the check.
        if (d > -9.0e15 && d < 9.0e15 && d == static_cast<double>(static_cast<int64_t>(d)))
            return static_cast<int64_t>(d);
    }
    WrongType(field, "an integer");
}

std::optional<double> OptNumber(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v == nullptr) return std::nullopt;
    if (!v->IsNumber()) WrongType(field, "a number");
    return v->GetDouble();
}

const JsonValue* OptObject(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v != nullptr && !v->IsObject()) WrongType(field, "an object");
    return v;
}

const JsonValue* OptArray(const JsonValue& obj, std::string_view key, std::string_view field) {
    const JsonValue* v = Present(obj, key);
    if (v != nullptr && !v->IsArray()) WrongType(field, "an array");
    return v;
}

std::string_view RequireString(const JsonValue& obj, std::string_view key, std::string_view field) {
    auto v = OptString(obj, key, field);
    if (!v) throw BadRequest(std::string(field) + " is required", std::string(field));
    return *v;
}

}  // namespace json

void PutOptString(JsonWriter& w, std::string_view key, const std::optional<std::string>& value) {
    if (value) {
        PutString(w, key, *value);
    } else {
        PutNull(w, key);
    }
}

void PutTime(JsonWriter& w, std::string_view key, int64_t unix_micros) {
    if (unix_micros == kStoreStampMicros) {
        PutKey(w, key);
        std::string quoted = '"' + std::string(kStoreStampToken) + '"';
        w.RawValue(quoted.data(), quoted.size(), rapidjson::kStringType);
        return;
    }
    PutString(w, key, FormatTimestamp(unix_micros));
}

void PutOptTime(JsonWriter& w, std::string_view key, const std::optional<int64_t>& unix_micros) {
    if (unix_micros) {
        PutTime(w, key, *unix_micros);
    } else {
        PutNull(w, key);
    }
}

}  // namespace streambed
