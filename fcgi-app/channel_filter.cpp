#include "fcgi-app/channel_filter.h"

#include <algorithm>
#include <vector>

#include "common/errors.h"

namespace streambed {

void AddChannelFilterFields(FilterCompiler& filter) {
    filter.AddField("cid", "c.cid", FilterCompiler::Kind::kText);
    filter.AddField("id", "c.id", FilterCompiler::Kind::kText);
    filter.AddField("type", "c.type", FilterCompiler::Kind::kText);
    filter.AddField("name", "c.name", FilterCompiler::Kind::kText);
    filter.AddField("team", "c.team", FilterCompiler::Kind::kText);
    filter.AddField("created_by_id", "c.created_by", FilterCompiler::Kind::kText);
    filter.AddField("frozen", "c.frozen", FilterCompiler::Kind::kBool);
    filter.AddField("disabled", "c.disabled", FilterCompiler::Kind::kBool);
    filter.AddField("member_count", "c.member_count", FilterCompiler::Kind::kInt);
    filter.AddField("last_message_at", "c.last_message_at", FilterCompiler::Kind::kTime);
    filter.AddField("created_at", "c.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "c.updated_at", FilterCompiler::Kind::kTime);
    filter.AddField("last_updated", "greatest(c.last_message_at, c.created_at)", FilterCompiler::Kind::kTime);
    filter.AllowCustom("c.custom");
    filter.AddSpecial("members", [](FilterCompiler& f, std::string_view op, const JsonValue& v) -> std::string {
        // {"members": ["a","b"]} and {"$eq": [...]} mean exactly these members; $in any of them.
        std::vector<std::string> ids = FilterCompiler::TextList(v, "members");
        if (op == "$in" || op == "$nin") {
            std::string sql = "EXISTS (SELECT 1 FROM members fm WHERE fm.channel_pk = c.pk AND fm.user_id = ANY(" +
                              f.BindTextArray(ids) + "))";
            return op == "$in" ? sql : "NOT " + sql;
        }
        if (op == "$eq") {
            std::sort(ids.begin(), ids.end());
            ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
            return "(SELECT coalesce(array_agg(fm.user_id ORDER BY fm.user_id), '{}') FROM members fm "
                   "WHERE fm.channel_pk = c.pk) = " +
                   f.BindTextArray(ids);
        }
        throw BadRequest("members supports $eq and $in", "filter_conditions.members");
    });
    auto member_flag = [](std::string sql, std::string name) {
        return [sql, name](FilterCompiler& f, std::string_view op, const JsonValue& v) -> std::string {
            if (op != "$eq") throw BadRequest(name + " supports only $eq", "filter_conditions." + name);
            return "(" + sql + ") = " + f.Bind(FilterCompiler::BoolValue(v, name) ? "true" : "false", "boolean");
        };
    };
    filter.AddSpecial("joined", member_flag("me.user_id IS NOT NULL", "joined"));
    filter.AddSpecial("hidden", member_flag("coalesce(me.hidden, false)", "hidden"));
    filter.AddSpecial("archived", member_flag("me.archived_at IS NOT NULL", "archived"));
    filter.AddSpecial("pinned", member_flag("me.pinned_at IS NOT NULL", "pinned"));
    filter.AddSpecial("muted", member_flag("EXISTS (SELECT 1 FROM channel_mutes cm WHERE cm.channel_pk = c.pk "
                                           "AND cm.user_id = $1 AND (cm.expires IS NULL OR cm.expires > now()))",
                                           "muted"));
}

void AddChannelSortFields(SortCompiler& sort) {
    sort.AddField("last_message_at", "c.last_message_at");
    sort.AddField("created_at", "c.created_at");
    sort.AddField("updated_at", "c.updated_at");
    sort.AddField("last_updated", "greatest(c.last_message_at, c.created_at)");
    sort.AddField("member_count", "c.member_count");
    sort.AddField("pinned_at", "me.pinned_at");
    sort.AddField("cid", "c.cid");
    sort.AddField("name", "c.name");
}

std::string ChannelVisibleSql(bool admin) {
    if (admin) return "TRUE";
    return "((me.user_id IS NOT NULL OR ct.policy = 'public_read') AND NOT EXISTS (SELECT 1 FROM channel_bans xb "
           "WHERE xb.channel_pk = c.pk AND xb.user_id = $1 AND (xb.expires IS NULL OR xb.expires > now())))";
}

}  // namespace streambed
