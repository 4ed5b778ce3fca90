// GET /api/search/?payload={"filter_conditions":{...},"query"|"message_filter_conditions",
//                           "limit","offset"|"next","sort"}           (STREAM-PROTOCOL.md §4.7)
// Messages of the channels the caller may read, found with PostgreSQL full-text search over
// messages.text ('simple' configuration, the expression index of sql/005_search.sql). The channel
// filter is queryChannels' own (channel_filter.h). Pages: `limit` with `offset`, or the opaque
// `next`/`previous` cursors of the previous answer. docs/uploads.md, "Search".

#include <algorithm>
#include <cctype>

#include "common/base64.h"
#include "common/errors.h"
#include "fcgi-app/channel_filter.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/hydrate.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

constexpr int kDefaultLimit = 20;
constexpr int kMaxLimit = 100;
constexpr int kMaxOffset = 1000;  // deep pages cost a scan each: narrow the search instead

// The document every text condition is matched against; the index is on this very expression.
constexpr const char* kDocument = "to_tsvector('simple', msg.text)";

// Cursors are opaque to clients; today they carry the offset of the page they open.
std::string Cursor(int offset) { return Base64UrlEncode("search:" + std::to_string(offset)); }

int OffsetOf(std::string_view cursor) {
    auto text = Base64UrlDecode(cursor);
    if (text && text->rfind("search:", 0) == 0 && text->size() > 7 && text->size() <= 12) {
        std::string digits = text->substr(7);
        if (std::all_of(digits.begin(), digits.end(),
                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            int offset = std::stoi(digits);
            if (offset <= kMaxOffset) return offset;
        }
    }
    throw BadRequest("next is not a cursor this search returned", "next");
}

// Words to search for: at least one letter or digit (anything else is only separators).
std::string SearchText(std::string text, std::string_view field) {
    if (text.size() > 1000)
        throw BadRequest(std::string(field) + " is longer than 1000 characters", std::string(field));
    bool words = std::any_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
    });
    if (!words) throw BadRequest(std::string(field) + " must contain a word to search for", std::string(field));
    return text;
}

// Web-search syntax ("quoted phrase", or, -not) over whole words.
std::string WordsQuery(FilterCompiler& f, const std::string& text) {
    return "websearch_to_tsquery('simple', " + f.Bind(text, "text") + ")";
}

// Every word as a prefix ("hel wor" finds "hello world"), as the UI's search-as-you-type needs.
std::string PrefixQuery(FilterCompiler& f, const std::string& text) {
    return "(SELECT to_tsquery('simple', string_agg(quote_literal(w) || ':*', ' & ')) FROM "
           "regexp_split_to_table(lower(" +
           f.Bind(text, "text") + "), '[^[:alnum:]_]+') AS w WHERE w <> '')";
}

}  // namespace

Reply HandleSearch(Call& call) {
    rapidjson::Document payload = QueryJson(call, "payload");
    std::optional<std::string_view> named = NamedUser(payload);
    if (!named) named = call.Query("user_id");
    Actor actor = LoadActor(call, named, false);

    const JsonValue* channel_filter = json::OptObject(payload, "filter_conditions", "filter_conditions");
    if (channel_filter == nullptr)
        throw BadRequest("filter_conditions is required (the channels to search)", "filter_conditions");
    auto query = json::OptString(payload, "query", "query");
    const JsonValue* message_filter =
        json::OptObject(payload, "message_filter_conditions", "message_filter_conditions");
    if (!query && (message_filter == nullptr || message_filter->ObjectEmpty()))
        throw BadRequest("query or message_filter_conditions is required", "query");
    int limit = BodyInt(payload, "limit", "limit", kDefaultLimit, 1, kMaxLimit);
    int offset = BodyInt(payload, "offset", "offset", 0, 0, kMaxOffset);
    if (auto next = json::OptString(payload, "next", "next"); next && !next->empty()) {
        if (json::OptInt(payload, "offset", "offset").value_or(0) != 0)
            throw BadRequest("offset and next cannot be used together", "next");
        offset = OffsetOf(*next);
    }

    PgParams params;
    params.Add(actor.id());  // $1
    FilterCompiler channels(params);
    AddChannelFilterFields(channels);
    std::string channel_where = channels.Compile(*channel_filter);

    // The tsquery the results are ranked by: the query string's, else the first text condition's.
    std::string rank_query;
    std::string text_where = "TRUE";
    if (query) {
        rank_query = WordsQuery(channels, SearchText(std::string(*query), "query"));
        text_where = std::string(kDocument) + " @@ " + rank_query;
    }
    FilterCompiler messages(params);
    messages.AddField("id", "msg.id", FilterCompiler::Kind::kText);
    messages.AddField("user_id", "msg.user_id", FilterCompiler::Kind::kText);
    messages.AddField("user.id", "msg.user_id", FilterCompiler::Kind::kText);
    messages.AddField("type", "msg.type", FilterCompiler::Kind::kText);
    messages.AddField("parent_id", "msg.parent_id", FilterCompiler::Kind::kText);
    messages.AddField("quoted_message_id", "msg.quoted_message_id", FilterCompiler::Kind::kText);
    messages.AddField("cid", "ch.cid", FilterCompiler::Kind::kText);
    messages.AddField("created_at", "msg.created_at", FilterCompiler::Kind::kTime);
    messages.AddField("updated_at", "msg.updated_at", FilterCompiler::Kind::kTime);
    messages.AddField("pinned", "msg.pinned", FilterCompiler::Kind::kBool);
    messages.AddField("silent", "msg.silent", FilterCompiler::Kind::kBool);
    messages.AddField("reply_count", "msg.reply_count", FilterCompiler::Kind::kInt);
    messages.AllowCustom("msg.custom");
    messages.AddSpecial("text", [&rank_query](FilterCompiler& f, std::string_view op, const JsonValue& v) {
        std::string tsquery;
        if (op == "$eq" || op == "$q") {
            tsquery = WordsQuery(f, SearchText(FilterCompiler::TextValue(v, "text"), "message_filter_conditions.text"));
        } else if (op == "$autocomplete") {
            tsquery =
                PrefixQuery(f, SearchText(FilterCompiler::TextValue(v, "text"), "message_filter_conditions.text"));
        } else {
            throw BadRequest("text supports $q, $autocomplete and $eq (all full-text)",
                             "message_filter_conditions.text");
        }
        if (rank_query.empty()) rank_query = tsquery;
        return std::string(kDocument) + " @@ " + tsquery;
    });
    messages.AddSpecial("mentioned_users.id", [](FilterCompiler& f, std::string_view op, const JsonValue& v) {
        if (op == "$contains" || op == "$eq")
            return f.Bind(FilterCompiler::TextValue(v, "mentioned_users.id"), "text") + " = ANY(msg.mentioned_users)";
        if (op == "$in")
            return "msg.mentioned_users && " + f.BindTextArray(FilterCompiler::TextList(v, "mentioned_users.id"));
        throw BadRequest("mentioned_users.id supports $contains and $in",
                         "message_filter_conditions.mentioned_users.id");
    });
    messages.AddSpecial("attachments", [](FilterCompiler&, std::string_view op, const JsonValue& v) {
        if (op != "$exists")
            throw BadRequest("attachments supports only $exists", "message_filter_conditions.attachments");
        return std::string(FilterCompiler::BoolValue(v, "attachments") ? "" : "NOT ") +
               "(jsonb_array_length(msg.attachments) > 0)";
    });
    std::string message_where = messages.Compile(message_filter);

    std::string relevance =
        rank_query.empty() ? "0::real" : "ts_rank(" + std::string(kDocument) + ", " + rank_query + ")";
    SortCompiler sort;
    sort.AddField("relevance", "relevance");
    sort.AddField("created_at", "msg.created_at");
    sort.AddField("updated_at", "msg.updated_at");
    sort.AddField("reply_count", "msg.reply_count");
    std::string order =
        sort.Compile(json::OptArray(payload, "sort", "sort"),
                     rank_query.empty() ? "msg.created_at DESC" : "relevance DESC, msg.created_at DESC", "msg.pk DESC");

    params.Add(limit + 1);  // one more than asked: whether there is a next page
    std::string limit_param = "$" + std::to_string(params.values().size());
    params.Add(offset);
    std::string offset_param = "$" + std::to_string(params.values().size());
    std::string sql =
        "WITH chans AS (SELECT c.pk, greatest(c.truncated_at, me.history_cleared_at) AS visible_after "
        "FROM channels c JOIN channel_types ct ON ct.name = c.type "
        SB_JOIN_OWN_MEMBER("me", "$1")
        "WHERE coalesce((ct.config ->> 'search')::boolean, false) AND " +
        ChannelVisibleSql(actor.admin()) + " AND " + channel_where +
        ") "
        "SELECT " SB_MESSAGE_COLUMNS ", " +
        relevance +
        " AS relevance "
        "FROM messages msg JOIN chans ON chans.pk = msg.channel_pk JOIN channels ch ON ch.pk = msg.channel_pk "
        "WHERE msg.type IN ('regular', 'reply') AND msg.deleted_at IS NULL "
        "AND (NOT msg.shadowed OR msg.user_id = $1) "
        "AND (chans.visible_after IS NULL OR msg.created_at > chans.visible_after) "
        "AND " +
        text_where + " AND " + message_where + " ORDER BY " + order + " LIMIT " + limit_param + " OFFSET " +
        offset_param;
    PgResult r = call.db().RunDynamic(sql, params);

    std::vector<MessageRow> rows;
    for (int i = 0; i < r.rows() && i < limit; ++i) rows.push_back(ReadMessage(r, i, 0));
    bool more = r.rows() > limit;
    std::vector<const MessageRow*> refs;
    for (const auto& m : rows) refs.push_back(&m);
    MessageContext ctx;
    ctx.Load(call.db(), call.redis(), refs, actor.id());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "results");
    w.StartArray();
    for (const auto& m : rows) {
        w.StartObject();
        PutKey(w, "message");
        WriteMessage(w, m, ctx);
        w.EndObject();
    }
    w.EndArray();
    if (more && offset + limit <= kMaxOffset) PutString(w, "next", Cursor(offset + limit));
    if (offset > 0) PutString(w, "previous", Cursor(std::max(0, offset - limit)));
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
