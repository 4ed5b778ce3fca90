#include "fcgi-app/filters.h"

#include <algorithm>
#include <cctype>

#include "common/clock.h"
#include "common/errors.h"

namespace streambed {

namespace {
bool IsCustomName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

[[noreturn]] void Fail(std::string message, std::string_view field = "filter_conditions") {
    throw BadRequest(std::move(message), std::string(field));
}

std::string Joined(const std::vector<std::string>& parts, std::string_view glue) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += glue;
        out += parts[i];
    }
    return out;
}
}  // namespace

std::string EscapeLike(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string FilterCompiler::Bind(std::string value, std::string_view cast) {
    params_.Add(value);
    return "$" + std::to_string(params_.values().size()) + "::" + std::string(cast);
}

std::string FilterCompiler::BindNull(std::string_view cast) {
    params_.AddNull();
    return "$" + std::to_string(params_.values().size()) + "::" + std::string(cast);
}

std::string FilterCompiler::BindTextArray(const std::vector<std::string>& values) {
    params_.AddArray(values);
    return "$" + std::to_string(params_.values().size()) + "::text[]";
}

std::string FilterCompiler::TextValue(const JsonValue& value, std::string_view field) {
    if (!value.IsString()) Fail(std::string(field) + " must be a string");
    return std::string(value.GetString(), value.GetStringLength());
}

std::vector<std::string> FilterCompiler::TextList(const JsonValue& value, std::string_view field) {
    if (!value.IsArray()) Fail(std::string(field) + " needs a list");
    if (value.Size() > kMaxListItems) Fail(std::string(field) + " lists at most 1000 values");
    std::vector<std::string> out;
    for (const auto& v : value.GetArray()) out.push_back(TextValue(v, field));
    return out;
}

bool FilterCompiler::BoolValue(const JsonValue& value, std::string_view field) {
    if (!value.IsBool()) Fail(std::string(field) + " must be true or false");
    return value.GetBool();
}

void FilterCompiler::Count() {
    if (++conditions_ > kMaxConditions) Fail("the filter has more than 100 conditions");
}

bool FilterCompiler::Mentions(std::string_view field) const {
    return std::find(mentioned_.begin(), mentioned_.end(), field) != mentioned_.end();
}

std::string FilterCompiler::Compile(const JsonValue& filter) {
    if (filter.IsNull()) return "TRUE";
    if (!filter.IsObject()) Fail("filter_conditions must be an object");
    return CompileObject(filter, 0);
}

std::string FilterCompiler::CompileObject(const JsonValue& filter, int depth) {
    if (depth > kMaxDepth) Fail("the filter is nested too deeply");
    if (!filter.IsObject()) Fail("each filter must be an object");
    std::vector<std::string> parts;
    for (auto it = filter.MemberBegin(); it != filter.MemberEnd(); ++it) {
        std::string name(it->name.GetString(), it->name.GetStringLength());
        const JsonValue& value = it->value;
        if (name == "$and" || name == "$or" || name == "$nor") {
            if (!value.IsArray() || value.Empty()) Fail(name + " needs a non-empty list of filters");
            if (value.Size() > kMaxConditions) Fail(name + " lists too many filters");
            std::vector<std::string> sub;
            for (const auto& f : value.GetArray()) sub.push_back(CompileObject(f, depth + 1));
            std::string joined = "(" + Joined(sub, name == "$and" ? " AND " : " OR ") + ")";
            parts.push_back(name == "$nor" ? "NOT " + joined : joined);
        } else if (!name.empty() && name[0] == '$') {
            Fail("unknown operator " + name + " at the top of a filter");
        } else {
            parts.push_back(CompileField(name, value, depth));
        }
    }
    return parts.empty() ? "TRUE" : "(" + Joined(parts, " AND ") + ")";
}

std::string FilterCompiler::CompileField(const std::string& name, const JsonValue& condition, int depth) {
    if (depth > kMaxDepth) Fail("the filter is nested too deeply");
    mentioned_.push_back(name);
    // {"field": {"$op": value, ...}}: every operator must hold. Anything else is {"$eq": value}.
    bool operators = condition.IsObject() && condition.MemberCount() > 0 && condition.MemberBegin()->name.GetString()[0] == '$';
    if (!operators) return CompileOp(name, "$eq", condition);
    std::vector<std::string> parts;
    for (auto it = condition.MemberBegin(); it != condition.MemberEnd(); ++it) {
        std::string_view op(it->name.GetString(), it->name.GetStringLength());
        if (op.empty() || op[0] != '$') Fail("mixing operators and values in the filter of " + name);
        parts.push_back(CompileOp(name, op, it->value));
    }
    return parts.size() == 1 ? parts[0] : "(" + Joined(parts, " AND ") + ")";
}

std::string FilterCompiler::CompileOp(const std::string& name, std::string_view op, const JsonValue& value) {
    Count();
    static const std::vector<std::string_view> kOps = {"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt",
                                                       "$lte", "$exists", "$autocomplete", "$contains", "$q"};
    if (std::find(kOps.begin(), kOps.end(), op) == kOps.end())
        Fail("unknown operator " + std::string(op) + " for " + name);
    if (auto s = specials_.find(name); s != specials_.end()) return s->second(*this, op, value);
    if (auto f = fields_.find(name); f != fields_.end()) return CompileColumn(name, f->second, op, value);
    if (!custom_column_.empty() && IsCustomName(name)) return CompileCustom(name, op, value);
    Fail("cannot filter on " + name);
}

std::string FilterCompiler::BindTyped(const std::string& name, Kind kind, const JsonValue& value) {
    switch (kind) {
        case Kind::kText:
            if (!value.IsString()) Fail(name + " must be compared with a string");
            return Bind(std::string(value.GetString(), value.GetStringLength()), "text");
        case Kind::kTime: {
            std::optional<int64_t> t;
            if (value.IsString()) t = ParseTimestamp(std::string_view(value.GetString(), value.GetStringLength()));
            if (!t) Fail(name + " must be compared with an RFC 3339 time such as 2026-01-01T00:00:00Z");
            // The parsed instant, not the text: PostgreSQL's own parser refuses some times ours
            // accepts (year 0, lower-case separators), which would be a 500.
            return "sb_time(" + Bind(std::to_string(*t), "bigint") + ")";
        }
        case Kind::kInt:
            if (!value.IsInt64()) Fail(name + " must be compared with an integer");
            return Bind(std::to_string(value.GetInt64()), "bigint");
        case Kind::kBool:
            if (!value.IsBool()) Fail(name + " must be compared with true or false");
            return Bind(value.GetBool() ? "true" : "false", "boolean");
    }
    Fail("unsupported field " + name);
}

std::string FilterCompiler::CompileColumn(const std::string& name, const Field& f, std::string_view op,
                                          const JsonValue& value) {
    const std::string& col = f.sql;
    if (op == "$eq") return col + " = " + BindTyped(name, f.kind, value);
    if (op == "$ne") return col + " IS DISTINCT FROM " + BindTyped(name, f.kind, value);
    if (op == "$gt") return col + " > " + BindTyped(name, f.kind, value);
    if (op == "$gte") return col + " >= " + BindTyped(name, f.kind, value);
    if (op == "$lt") return col + " < " + BindTyped(name, f.kind, value);
    if (op == "$lte") return col + " <= " + BindTyped(name, f.kind, value);
    if (op == "$exists") return col + (BoolValue(value, name) ? " IS NOT NULL" : " IS NULL");
    if (op == "$in" || op == "$nin") {
        if (!value.IsArray()) Fail(name + " " + std::string(op) + " needs a list");
        if (value.Size() > kMaxListItems) Fail(name + " lists at most 1000 values");
        if (value.Empty()) return op == "$in" ? "FALSE" : "TRUE";
        std::vector<std::string> items;
        for (const auto& v : value.GetArray()) items.push_back(BindTyped(name, f.kind, v));
        return col + (op == "$in" ? " IN (" : " NOT IN (") + Joined(items, ", ") + ")";
    }
    if (op == "$autocomplete" && f.kind == Kind::kText) {
        std::string prefix = EscapeLike(TextValue(value, name));
        std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string p = Bind(prefix, "text");
        // Word prefixes, as getstream.io's autocomplete: "ali" finds "Alice" and "Mary Alice".
        return "(lower(" + col + ") LIKE " + p + " || '%' OR lower(" + col + ") LIKE '% ' || " + p + " || '%')";
    }
    Fail("operator " + std::string(op) + " is not supported for " + name);
}

std::string FilterCompiler::CompileCustom(const std::string& name, std::string_view op, const JsonValue& value) {
    std::string key = Bind(name, "text");
    auto json_of = [this](const JsonValue& v) { return Bind(ToJson(v), "jsonb"); };
    if (op == "$eq") return "(" + custom_column_ + " -> " + key + ") = " + json_of(value);
    if (op == "$ne") return "(" + custom_column_ + " -> " + key + ") IS DISTINCT FROM " + json_of(value);
    if (op == "$exists") return std::string(BoolValue(value, name) ? "" : "NOT ") + "(" + custom_column_ + " ? " + key + ")";
    if (op == "$in" || op == "$nin") {
        if (!value.IsArray() || value.Size() > kMaxListItems) Fail(name + " " + std::string(op) + " needs a list");
        std::string list = json_of(value);
        std::string in = "(" + custom_column_ + " -> " + key + ") IN (SELECT jsonb_array_elements(" + list + "))";
        return op == "$in" ? in : "NOT coalesce(" + in + ", false)";
    }
    if (op == "$gt" || op == "$gte" || op == "$lt" || op == "$lte") {
        if (!value.IsNumber() && !value.IsString()) Fail(name + " must be compared with a number or a string");
        std::string sql_op = op == "$gt" ? ">" : op == "$gte" ? ">=" : op == "$lt" ? "<" : "<=";
        // jsonb compares numbers as numbers and strings as strings; mixed types never match.
        return "(jsonb_typeof(" + custom_column_ + " -> " + key + ") = jsonb_typeof(" + json_of(value) + ") AND (" +
               custom_column_ + " -> " + key + ") " + sql_op + " " + json_of(value) + ")";
    }
    if (op == "$contains") return "(" + custom_column_ + " -> " + key + ") @> " + json_of(value);
    Fail("operator " + std::string(op) + " is not supported for custom field " + name);
}

std::string SortCompiler::Compile(const JsonValue* sort, std::string_view fallback, std::string_view tiebreak) const {
    std::vector<std::string> parts;
    if (sort != nullptr && !sort->IsNull()) {
        if (!sort->IsArray()) throw BadRequest("sort must be a list of {field, direction}", "sort");
        if (sort->Size() > 5) throw BadRequest("sort lists at most 5 fields", "sort");
        for (const auto& item : sort->GetArray()) {
            if (!item.IsObject()) throw BadRequest("sort must be a list of {field, direction}", "sort");
            auto field = json::RequireString(item, "field", "sort.field");
            auto it = fields_.find(field);
            if (it == fields_.end()) throw BadRequest("cannot sort on " + std::string(field), "sort");
            auto direction = json::OptInt(item, "direction", "sort.direction").value_or(1);
            if (direction != 1 && direction != -1) throw BadRequest("sort.direction must be 1 or -1", "sort");
            parts.push_back(it->second + (direction == 1 ? " ASC NULLS LAST" : " DESC NULLS LAST"));
        }
    }
    if (parts.empty()) parts.emplace_back(fallback);
    parts.emplace_back(tiebreak);
    return Joined(parts, ", ");
}

}  // namespace streambed
