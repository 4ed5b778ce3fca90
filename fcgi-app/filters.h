#pragma once
// getstream.io's filter and sort objects, compiled to SQL. A filter such as
//     {"type": "messaging", "members": {"$in": ["alice"]}, "last_message_at": {"$gt": "2026-01-01T00:00:00Z"}}
// becomes a boolean SQL expression over whitelisted columns, with every value a bound parameter.
// Field names outside the whitelist are either custom fields (JSON, when allowed) or a 400 that
// names them. Structure is bounded: nesting depth, number of conditions and list lengths.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

class FilterCompiler {
public:
    enum class Kind { kText, kTime, kInt, kBool };
    // A field backed by one SQL expression.
    struct Field {
        std::string sql;
        Kind kind;
    };
    // A field with its own translation: gets the operator ("$eq", "$in", ...) and the value, returns SQL.
    using Special = std::function<std::string(FilterCompiler& compiler, std::string_view op, const JsonValue& value)>;

    static constexpr int kMaxDepth = 6;
    static constexpr int kMaxConditions = 100;
    static constexpr size_t kMaxListItems = 1000;

    // Parameters are appended to `params`; their numbers start after the ones already there.
    explicit FilterCompiler(PgParams& params) : params_(params) {}

    void AddField(std::string name, std::string sql, Kind kind) { fields_[std::move(name)] = Field{std::move(sql), kind}; }
    void AddSpecial(std::string name, Special special) { specials_[std::move(name)] = std::move(special); }
    // Unknown names are custom fields stored in this JSON column (e.g. "c.custom").
    void AllowCustom(std::string json_column) { custom_column_ = std::move(json_column); }

    // "TRUE" for an empty filter. Throws ApiError 400 naming the problem.
    std::string Compile(const JsonValue& filter);
    // The same for a filter the request may leave out (nullptr: "TRUE").
    std::string Compile(const JsonValue* filter) { return filter != nullptr ? Compile(*filter) : "TRUE"; }

    // Whether a field name appeared anywhere in the compiled filter.
    bool Mentions(std::string_view field) const;

    // Binds a value and returns its placeholder with a cast, e.g. "$3::text".
    std::string Bind(std::string value, std::string_view cast);
    std::string BindNull(std::string_view cast);
    std::string BindTextArray(const std::vector<std::string>& values);

    // Helpers for specials: the value as one string / a list of strings / a bool (400 otherwise).
    static std::string TextValue(const JsonValue& value, std::string_view field);
    static std::vector<std::string> TextList(const JsonValue& value, std::string_view field);
    static bool BoolValue(const JsonValue& value, std::string_view field);

private:
    std::string CompileObject(const JsonValue& filter, int depth);
    std::string CompileField(const std::string& name, const JsonValue& condition, int depth);
    std::string CompileOp(const std::string& name, std::string_view op, const JsonValue& value);
    std::string CompileColumn(const std::string& name, const Field& field, std::string_view op, const JsonValue& value);
    std::string CompileCustom(const std::string& name, std::string_view op, const JsonValue& value);
    std::string BindTyped(const std::string& name, Kind kind, const JsonValue& value);
    void Count();

    PgParams& params_;
    std::map<std::string, Field, std::less<>> fields_;
    std::map<std::string, Special, std::less<>> specials_;
    std::string custom_column_;
    std::vector<std::string> mentioned_;
    int conditions_ = 0;
};

// Sorts: [{"field": "last_message_at", "direction": -1}, ...] into an ORDER BY list. Unknown fields
// are a 400. The tie-breaker `tiebreak` (e.g. "c.pk DESC") always ends the list, so pages are stable.
class SortCompiler {
public:
    void AddField(std::string name, std::string sql) { fields_[std::move(name)] = std::move(sql); }
    std::string Compile(const JsonValue* sort, std::string_view fallback, std::string_view tiebreak) const;

private:
    std::map<std::string, std::string, std::less<>> fields_;
};

// For LIKE patterns: % _ and \ in user input match themselves.
std::string EscapeLike(std::string_view text);

}  // namespace streambed
