// Channel filters and sorts: FilterCompiler and SortCompiler with the field set of
// POST /api/channels/ (fcgi-app/channel_filter.cpp). Bad input is ApiError 400; whatever compiles is SQL
// made only of our own fragments, every value bound as a parameter. Input: {"filter": .., "sort": ..}.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "common/json.h"
#include "fcgi-app/channel_filter.h"
#include "fuzz/fuzz.h"

using namespace streambed;

namespace {
// No quote, comment or statement break can come from the input: values are parameters.
void CheckSql(std::string sql) {
    // Our own literals ('{}' for an empty member list, '%' and '% ' around autocomplete prefixes).
    for (std::string_view literal : {"'{}'", "'% '", "'%'"}) {
        for (size_t at; (at = sql.find(literal)) != std::string::npos;) sql.erase(at, literal.size());
    }
    FUZZ_CHECK(sql.find('\'') == std::string::npos);
    FUZZ_CHECK(sql.find('"') == std::string::npos);
    FUZZ_CHECK(sql.find(';') == std::string::npos);
    FUZZ_CHECK(sql.find("--") == std::string::npos);
    FUZZ_CHECK(sql.find("/*") == std::string::npos);
    int depth = 0;
    for (char c : sql) {
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        FUZZ_CHECK(depth >= 0);
    }
    FUZZ_CHECK(depth == 0);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    rapidjson::Document doc;
    doc.Parse(reinterpret_cast<const char*>(data), size);
    if (doc.HasParseError() || !doc.IsObject()) return 0;
    PgParams params;
    params.Add(std::string("caller"));  // $1, as the handler binds it
    try {
        FilterCompiler filter(params);
        AddChannelFilterFields(filter);
        const JsonValue* f = json::Find(doc, "filter");
        std::string where = filter.Compile(f);
        CheckSql(where);
        // Every placeholder refers to a bound parameter.
        for (size_t at = where.find('$'); at != std::string::npos; at = where.find('$', at + 1)) {
            size_t n = 0;
            size_t i = at + 1;
            for (; i < where.size() && where[i] >= '0' && where[i] <= '9'; ++i) n = n * 10 + static_cast<size_t>(where[i] - '0');
            FUZZ_CHECK(i > at + 1 && n >= 1 && n <= params.values().size());
        }
    } catch (const ApiError& e) {
        FUZZ_CHECK(e.http_status() == 400);
    }
    try {
        SortCompiler sort;
        AddChannelSortFields(sort);
        const JsonValue* s = json::OptArray(doc, "sort", "sort");
        CheckSql(sort.Compile(s, "c.created_at DESC", "c.pk DESC"));
    } catch (const ApiError& e) {
        FUZZ_CHECK(e.http_status() == 400);
    }
    return 0;
}
