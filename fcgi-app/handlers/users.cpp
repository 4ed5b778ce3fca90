// User routes (STREAM-PROTOCOL.md §4.5 and §1.3): query, upsert, partial update, guests.

#include <unordered_set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/jwt.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/membership.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"

namespace streambed {

namespace {

constexpr size_t kMaxUsersPerCall = 100;

std::string CustomOfUser(const JsonValue& user, std::string_view field) {
    rapidjson::Document custom(rapidjson::kObjectType);
    for (auto it = user.MemberBegin(); it != user.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (IsReservedUserField(key)) continue;
        custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                         custom.GetAllocator());
    }
    std::string text = ToJson(custom);
    if (text.size() > 5 * 1024) throw BadRequest(std::string(field) + " custom data is larger than 5 KB", std::string(field));
    return text;
}

std::optional<std::string> Limited(const JsonValue& o, std::string_view key, std::string field, size_t max) {
    auto v = json::OptString(o, key, field);
    if (!v) return std::nullopt;
    if (v->size() > max) throw BadRequest(field + " is too long", field);
    return std::string(*v);
}

std::optional<std::string> RoleOf(const JsonValue& o, std::string field, const Actor& actor) {
    auto role = json::OptString(o, "role", field);
    if (!role) return std::nullopt;
    if (*role != "user" && *role != "admin" && *role != "guest")
        throw BadRequest(field + " must be user, admin or guest", field);
    // Roles are the server's to give.
    if (!actor.admin()) throw Forbidden("only server tokens and admins change roles");
    return std::string(*role);
}

// user.updated to the user's own sockets and to those following their presence.
void AnnounceUser(Call& call, const UserRow& user, Outbox& outbox) {
    Event e("user.updated", "", NowMicros());
    PutKey(e.w(), "user");
    WriteUser(e.w(), user, OnlineUsers(call.redis(), {user.id}).count(user.id) > 0, true);
    std::string payload = e.Done();
    outbox.Publish(keys::PresenceTopic(user.id), payload);
    outbox.Publish(keys::UserTopic(user.id), payload);
}

Reply UsersMapReply(Call& call, const std::vector<UserRow>& rows) {
    std::vector<std::string> ids;
    for (const auto& u : rows) ids.push_back(u.id);
    auto online = OnlineUsers(call.redis(), ids);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "users");
    w.StartObject();
    for (const auto& u : rows) {
        PutKey(w, u.id);
        WriteUser(w, u, online.count(u.id) > 0);
    }
    w.EndObject();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace

// GET /api/users/?payload={"filter_conditions","sort","presence","limit","offset"}
Reply HandleQueryUsers(Call& call) {
    auto payload = QueryJson(call, "payload");
    Actor actor = LoadActor(call, NamedUser(payload), false);
    int limit = BodyInt(payload, "limit", "limit", 30, 0, 100);
    int offset = BodyInt(payload, "offset", "offset", 0, 0, 10000);
    bool presence = json::OptBool(payload, "presence", "presence").value_or(false);
    PgParams params;
    FilterCompiler filter(params);
    filter.AddField("id", "u.id", FilterCompiler::Kind::kText);
    filter.AddField("name", "u.name", FilterCompiler::Kind::kText);
    filter.AddField("role", "u.role", FilterCompiler::Kind::kText);
    filter.AddField("banned", "u.banned", FilterCompiler::Kind::kBool);
    filter.AddField("language", "u.language", FilterCompiler::Kind::kText);
    filter.AddField("created_at", "u.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "u.updated_at", FilterCompiler::Kind::kTime);
    filter.AddField("last_active", "u.last_active", FilterCompiler::Kind::kTime);
    filter.AddSpecial("teams", [](FilterCompiler& f, std::string_view op, const JsonValue& v) -> std::string {
        if (op == "$contains") return "u.teams ? " + f.Bind(FilterCompiler::TextValue(v, "teams"), "text");
        if (op == "$in") return "u.teams ?| " + f.BindTextArray(FilterCompiler::TextList(v, "teams"));
        throw BadRequest("teams supports $contains and $in", "filter_conditions.teams");
    });
    filter.AllowCustom("u.custom");
    const JsonValue* filter_json = json::OptObject(payload, "filter_conditions", "filter_conditions");
    std::string where = filter.Compile(filter_json);
    SortCompiler sort;
    sort.AddField("id", "u.id");
    sort.AddField("name", "u.name");
    sort.AddField("created_at", "u.created_at");
    sort.AddField("updated_at", "u.updated_at");
    sort.AddField("last_active", "u.last_active");
    std::string order = sort.Compile(json::OptArray(payload, "sort", "sort"), "u.created_at DESC", "u.id ASC");
    params.Add(limit);
    std::string lp = "$" + std::to_string(params.values().size());
    params.Add(offset);
    std::string op = "$" + std::to_string(params.values().size());
    // Anonymous visitors are transient and never listed; deactivated users neither.
    PgResult rows = call.db().RunDynamic("SELECT " SB_USER_COLUMNS " FROM users u WHERE u.deactivated_at IS NULL AND " +
                                             where + " ORDER BY " + order + " LIMIT " + lp + " OFFSET " + op,
                                         params);
    std::vector<UserRow> list;
    std::vector<std::string> ids;
    for (int i = 0; i < rows.rows(); ++i) {
        list.push_back(ReadUser(rows, i, 0));
        ids.push_back(list.back().id);
    }
    auto online = OnlineUsers(call.redis(), ids);
    if (presence) FollowPresence(call, actor, ids);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "users");
    w.StartArray();
    for (const auto& u : list) WriteUser(w, u, online.count(u.id) > 0);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/users/ {"users": {"<id>": {...}}}: server tokens upsert anyone; users only themselves.
Reply HandleUpsertUsers(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, std::nullopt, false);
    const JsonValue* map = json::OptObject(body, "users", "users");
    if (map == nullptr || map->MemberCount() == 0) throw BadRequest("users is required", "users");
    if (map->MemberCount() > kMaxUsersPerCall) throw BadRequest("at most 100 users per call", "users");
    std::vector<UserRow> rows;
    Outbox outbox;
    // One transaction for the batch: a bad entry anywhere leaves every user as it was.
    PgTransaction tx(call.db());
    for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
        std::string id(it->name.GetString(), it->name.GetStringLength());
        std::string field = "users." + id;
        if (!IsValidUserId(id)) throw BadRequest(field + ": invalid user id", field);
        if (!it->value.IsObject()) throw BadRequest(field + " must be an object", field);
        if (!actor.admin() && id != actor.id()) throw Forbidden("users can only update themselves");
        auto teams = json::OptArray(it->value, "teams", field + ".teams");
        if (teams && !actor.admin()) throw Forbidden("only server tokens and admins set teams");
        std::optional<std::string> privacy;
        if (const JsonValue* p = json::Find(it->value, "privacy_settings"); p != nullptr && !p->IsNull())
            privacy = PrivacySettingsJson(*p, field + ".privacy_settings");
        rows.push_back(users::Upsert(call.db(), id, Limited(it->value, "name", field + ".name", 1000),
                                     Limited(it->value, "image", field + ".image", 2000),
                                     CustomOfUser(it->value, field), RoleOf(it->value, field + ".role", actor),
                                     teams ? std::optional<std::string>(ToJson(*teams)) : std::nullopt, privacy));
        AnnounceUser(call, rows.back(), outbox);
    }
    tx.Commit();
    outbox.Flush(call.redis());
    return UsersMapReply(call, rows);
}

// PATCH /api/users/ {"users": [{"id", "set": {...}, "unset": [...]}]}
Reply HandlePartialUpdateUsers(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, std::nullopt, false);
    const JsonValue* list = json::OptArray(body, "users", "users");
    if (list == nullptr || list->Empty()) throw BadRequest("users is required", "users");
    if (list->Size() > kMaxUsersPerCall) throw BadRequest("at most 100 users per call", "users");
    std::vector<UserRow> rows;
    Outbox outbox;
    // One transaction for the batch: a bad entry anywhere leaves every user as it was.
    PgTransaction tx(call.db());
    for (const auto& item : list->GetArray()) {
        if (!item.IsObject()) throw BadRequest("users must list objects", "users");
        std::string id(json::RequireString(item, "id", "users.id"));
        if (!actor.admin() && id != actor.id()) throw Forbidden("users can only update themselves");
        users::UserChange change;
        if (const JsonValue* set = json::OptObject(item, "set", "users.set")) {
            if (json::Find(*set, "name")) change.name = Limited(*set, "name", "set.name", 1000);
            if (json::Find(*set, "image")) change.image = Limited(*set, "image", "set.image", 2000);
            change.role = RoleOf(*set, "set.role", actor);
            if (auto teams = json::OptArray(*set, "teams", "set.teams")) {
                if (!actor.admin()) throw Forbidden("only server tokens and admins set teams");
                change.teams_json = ToJson(*teams);
            }
            if (auto language = Limited(*set, "language", "set.language", 20)) change.language = language;
            change.invisible = json::OptBool(*set, "invisible", "set.invisible");
            if (const JsonValue* p = json::Find(*set, "privacy_settings"); p != nullptr && !p->IsNull())
                change.privacy_json = PrivacySettingsJson(*p, "set.privacy_settings");
            if (json::Find(*set, "revoke_tokens_issued_before")) {
                auto text = json::OptString(*set, "revoke_tokens_issued_before", "set.revoke_tokens_issued_before");
                std::optional<int64_t> at;
                if (text) {
                    at = ParseTimestamp(*text);
                    if (!at) throw BadRequest("revoke_tokens_issued_before must be an RFC 3339 time",
                                              "set.revoke_tokens_issued_before");
                }
                change.revoke_tokens_issued_before = at;
            }
            change.custom_set_json = CustomOfUser(*set, "set");
        }
        if (const JsonValue* unset = json::OptArray(item, "unset", "users.unset")) {
            for (const auto& k : unset->GetArray()) {
                if (!k.IsString()) throw BadRequest("unset must list field names", "unset");
                std::string_view key = k.GetString();
                if (key == "name") change.name = std::optional<std::string>();
                else if (key == "image") change.image = std::optional<std::string>();
                else if (key == "revoke_tokens_issued_before") change.revoke_tokens_issued_before = std::optional<int64_t>();
                else if (key == "privacy_settings")
                    change.privacy_json = "{}";
                else if (!IsReservedUserField(key)) change.custom_unset.emplace_back(key);
            }
        }
        auto row = users::Update(call.db(), id, change);
        if (!row) throw NotFound("user " + id + " does not exist");
        rows.push_back(*row);
        AnnounceUser(call, *row, outbox);
    }
    tx.Commit();
    outbox.Flush(call.redis());
    return UsersMapReply(call, rows);
}

// POST /api/guest/ {"user": {"id", "name"?, ...}}: a guest user and a token for it (§1.3).
Reply HandleCreateGuest(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* user = json::OptObject(body, "user", "user");
    if (user == nullptr) throw BadRequest("user is required", "user");
    std::string id(json::RequireString(*user, "id", "user.id"));
    if (!IsValidUserId(id)) throw BadRequest("user.id has characters outside [A-Za-z0-9@_.!-]", "user.id");
    auto row = users::CreateGuest(call.db(), id, Limited(*user, "name", "user.name", 1000),
                                  Limited(*user, "image", "user.image", 2000), CustomOfUser(*user, "user"));
    if (!row) throw BadRequest("user id " + id + " is taken by a registered user", "user.id");
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "access_token", SignUserToken(row->id, call.config().api_secret, std::nullopt, NowSeconds()));
    PutKey(w, "user");
    WriteUser(w, *row, false);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
