#pragma once
// JSON in and out. Requests are parsed into RapidJSON documents and read through the typed
// accessors below, whose errors name the offending field; replies are written straight to a
// rapidjson::Writer (no DOM) by the one function that owns each wire object.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace streambed {

using JsonBuffer = rapidjson::StringBuffer;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
using JsonValue = rapidjson::Value;

// Parses text that must hold one JSON object. An empty text is an empty object (the SDK sends
// no body on some POSTs). Throws ApiError 400 naming `what` when it is not valid.
rapidjson::Document ParseJsonObject(std::string_view text, std::string_view what = "request body");

// Serialises any value (used for custom fields stored as JSON).
std::string ToJson(const JsonValue& value);

namespace json {

// nullptr when absent. Object values only; a non-object `obj` has no fields.
const JsonValue* Find(const JsonValue& obj, std::string_view key);

// The Opt* accessors return nullopt when the key is absent or null and throw ApiError 400
// ("<field> must be a string") when present with another type. `field` is the name shown to the
// client, e.g. "message.text".
std::optional<std::string_view> OptString(const JsonValue& obj, std::string_view key, std::string_view field);
std::optional<bool> OptBool(const JsonValue& obj, std::string_view key, std::string_view field);
std::optional<int64_t> OptInt(const JsonValue& obj, std::string_view key, std::string_view field);
std::optional<double> OptNumber(const JsonValue& obj, std::string_view key, std::string_view field);
const JsonValue* OptObject(const JsonValue& obj, std::string_view key, std::string_view field);
const JsonValue* OptArray(const JsonValue& obj, std::string_view key, std::string_view field);

std::string_view RequireString(const JsonValue& obj, std::string_view key, std::string_view field);

}  // namespace json

// Writer helpers. Distinct names on purpose: an overloaded Put("k", "literal") would pick bool.
inline void PutKey(JsonWriter& w, std::string_view key) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
inline void PutString(JsonWriter& w, std::string_view key, std::string_view value) {
    PutKey(w, key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
inline void PutInt(JsonWriter& w, std::string_view key, int64_t value) {
    PutKey(w, key);
    w.Int64(value);
}
inline void PutBool(JsonWriter& w, std::string_view key, bool value) {
    PutKey(w, key);
    w.Bool(value);
}
inline void PutNull(JsonWriter& w, std::string_view key) {
    PutKey(w, key);
    w.Null();
}
inline void WriteString(JsonWriter& w, std::string_view value) {
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
// Already-serialised JSON (an object or array built elsewhere, or stored as JSON).
inline void PutRaw(JsonWriter& w, std::string_view key, std::string_view json_text) {
    PutKey(w, key);
    w.RawValue(json_text.data(), json_text.size(), rapidjson::kObjectType);
}
void PutOptString(JsonWriter& w, std::string_view key, const std::optional<std::string>& value);
// Timestamps in the one wire format (see clock.h); null when absent.
void PutTime(JsonWriter& w, std::string_view key, int64_t unix_micros);

// Values only the database knows when an event is written by the statement that makes them (a new
// message's time and its event's seq, messages::Append): PutTime(kStoreStampMicros) and
// PutStoreSeq write these tokens, and the statement puts the values in their place. A token holds
// a raw control character, which JSON escapes inside every string, so no text a client sends can
// contain one.
constexpr int64_t kStoreStampMicros = INT64_MIN;
inline constexpr std::string_view kStoreStampToken = "\x01stamp\x01";
inline constexpr std::string_view kStoreSeqToken = "\x01seq\x01";
inline void PutStoreSeq(JsonWriter& w, std::string_view key) {
    PutKey(w, key);
    w.RawValue(kStoreSeqToken.data(), kStoreSeqToken.size(), rapidjson::kNumberType);
}
void PutOptTime(JsonWriter& w, std::string_view key, const std::optional<int64_t>& unix_micros);

}  // namespace streambed
