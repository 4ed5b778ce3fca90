#include "fcgi-app/store/users.h"

#include <array>

#include <rapidjson/document.h>

#include "common/errors.h"

namespace streambed {

UserRow ReadUser(const PgResult& r, int row, int c) {
    UserRow u;
    u.id = std::string(r.Str(row, c + 0));
    u.name = r.OptStr(row, c + 1);
    u.image = r.OptStr(row, c + 2);
    u.role = std::string(r.Str(row, c + 3));
    u.custom_json = std::string(r.Str(row, c + 4));
    u.teams_json = std::string(r.Str(row, c + 5));
    u.language = std::string(r.Str(row, c + 6));
    u.invisible = r.Bool(row, c + 7);
    u.banned = r.Bool(row, c + 8);
    u.ban_expires = r.OptInt(row, c + 9);
    u.revoke_tokens_issued_before = r.OptInt(row, c + 10);
    u.last_active = r.OptInt(row, c + 11);
    u.created_at = r.Int(row, c + 12);
    u.updated_at = r.Int(row, c + 13);
    u.deactivated_at = r.OptInt(row, c + 14);
    u.deleted_at = r.OptInt(row, c + 15);
    u.privacy_json = std::string(r.Str(row, c + 16));
    if (u.privacy_json != "{}") {
        rapidjson::Document d;
        d.Parse(u.privacy_json.c_str());
        auto enabled = [&d](const char* key) {
            if (!d.IsObject()) return true;
            auto it = d.FindMember(key);
            if (it == d.MemberEnd() || !it->value.IsObject()) return true;
            auto e = it->value.FindMember("enabled");
            return e == it->value.MemberEnd() || !e->value.IsBool() || e->value.GetBool();
        };
        u.typing_indicators = enabled("typing_indicators");
        u.read_receipts = enabled("read_receipts");
        u.delivery_receipts = enabled("delivery_receipts");
    }
    return u;
}

std::string PrivacySettingsJson(const JsonValue& value, std::string_view field) {
    std::string f(field);
    if (!value.IsObject()) throw BadRequest(f + " must be an object", f);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        std::string item = f + "." + std::string(key);
        if (key != "typing_indicators" && key != "read_receipts" && key != "delivery_receipts")
            throw BadRequest(item + " is not a privacy setting (typing_indicators, read_receipts, delivery_receipts)",
                             item);
        const JsonValue& v = it->value;
        auto enabled = v.IsObject() ? v.FindMember("enabled") : v.MemberEnd();
        if (!v.IsObject() || v.MemberCount() != 1 || enabled == v.MemberEnd() || !enabled->value.IsBool())
            throw BadRequest(item + " must be {\"enabled\": true or false}", item);
        PutKey(w, key);
        w.StartObject();
        PutBool(w, "enabled", enabled->value.GetBool());
        w.EndObject();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

bool IsValidUserId(std::string_view id) {
    if (id.empty() || id.size() > 255) return false;
    for (char ch : id) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '@' ||
                  ch == '_' || ch == '-' || ch == '.' || ch == '!';
        if (!ok) return false;
    }
    return true;
}

bool IsReservedUserField(std::string_view key) {
    static constexpr std::array<std::string_view, 30> kReserved = {
        "id", "name", "image", "role", "online", "last_active", "created_at", "updated_at", "banned",
        "ban_expires", "deactivated_at", "deleted_at", "teams", "language", "invisible", "shadow_banned",
        "revoke_tokens_issued_before", "privacy_settings", "push_preferences", "mutes", "channel_mutes",
        "devices", "total_unread_count", "unread_count", "unread_channels", "unread_threads", "blocked_user_ids",
        "anon", "roles", "teams_role"};
    for (auto r : kReserved) {
        if (r == key) return true;
    }
    return false;
}

namespace users {

namespace {
const PgStatement kFind{"user_find", "SELECT " SB_USER_COLUMNS " FROM users u WHERE u.id = $1"};
const PgStatement kFindMany{"user_find_many", "SELECT " SB_USER_COLUMNS " FROM users u WHERE u.id = ANY($1::text[])"};
// $2 name, $3 image: NULL keeps the stored value; $4 custom is merged into the stored object.
const PgStatement kUpsertOnConnect{
    "user_upsert_on_connect",
    "INSERT INTO users AS u (id, name, image, custom, role, last_active) "
    "VALUES ($1, $2, $3, $4::jsonb, $5, now()) "
    "ON CONFLICT (id) DO UPDATE SET "
    "  name = COALESCE(EXCLUDED.name, u.name), image = COALESCE(EXCLUDED.image, u.image), "
    "  custom = u.custom || EXCLUDED.custom, last_active = now(), "
    "  updated_at = CASE WHEN (EXCLUDED.name IS NOT NULL AND EXCLUDED.name IS DISTINCT FROM u.name) "
    "                      OR (EXCLUDED.image IS NOT NULL AND EXCLUDED.image IS DISTINCT FROM u.image) "
    "                      OR NOT (u.custom @> EXCLUDED.custom) THEN now() ELSE u.updated_at END "
    "RETURNING " SB_USER_COLUMNS};
}  // namespace

std::optional<UserRow> Find(Pg& db, std::string_view id) {
    PgResult r = db.Run(kFind, PgParams().Add(id));
    if (r.empty()) return std::nullopt;
    return ReadUser(r, 0, 0);
}

void FindMany(PgBatch& batch, const std::vector<std::string>& ids, std::vector<UserRow>& into) {
    if (ids.empty()) return;
    batch.Add(kFindMany, PgParams().AddArray(ids), [&into](const PgResult& r) {
        into.reserve(into.size() + static_cast<size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i) into.push_back(ReadUser(r, i, 0));
    });
}

void UpsertOnConnect(PgBatch& batch, std::string_view id, const JsonValue* details, std::string_view role,
                     UserRow& into) {
    std::optional<std::string> name;
    std::optional<std::string> image;
    rapidjson::Document custom(rapidjson::kObjectType);
    if (details != nullptr && details->IsObject()) {
        if (auto v = json::OptString(*details, "name", "user_details.name")) name = std::string(*v);
        if (auto v = json::OptString(*details, "image", "user_details.image")) image = std::string(*v);
        for (auto it = details->MemberBegin(); it != details->MemberEnd(); ++it) {
            std::string_view key(it->name.GetString(), it->name.GetStringLength());
            if (IsReservedUserField(key)) continue;
            custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                             custom.GetAllocator());
        }
    }
    if (name && name->size() > 1000) throw BadRequest("user name is too long", "user.name");
    if (image && image->size() > 2000) throw BadRequest("user image is too long", "user.image");
    std::string custom_json = ToJson(custom);
    if (custom_json.size() > 5000) throw BadRequest("user custom data is larger than 5 KB", "user");
    batch.Add(kUpsertOnConnect, PgParams().Add(id).Add(name).Add(image).Add(custom_json).Add(std::string(role)),
              [&into](const PgResult& r) { into = ReadUser(r, 0, 0); });
}

}  // namespace users
}  // namespace streambed

namespace streambed::users {

namespace {
const PgStatement kUpsert{
    "user_upsert",
    "INSERT INTO users AS u (id, name, image, custom, role, teams, privacy_settings) "
    "VALUES ($1, $2, $3, $4::jsonb, coalesce($5, 'user'), coalesce($6::jsonb, '[]'), coalesce($7::jsonb, '{}')) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, image = EXCLUDED.image, custom = EXCLUDED.custom, "
    "role = coalesce($5, u.role), teams = coalesce($6::jsonb, u.teams), "
    "privacy_settings = coalesce($7::jsonb, u.privacy_settings), updated_at = now() "
    "RETURNING " SB_USER_COLUMNS};
const PgStatement kUpdate{
    "user_update",
    "UPDATE users u SET "
    "  name = CASE WHEN $2 THEN $3 ELSE name END, image = CASE WHEN $4 THEN $5 ELSE image END, "
    "  role = coalesce($6, role), teams = coalesce($7::jsonb, teams), language = coalesce($8, language), "
    "  invisible = coalesce($9, invisible), "
    "  revoke_tokens_issued_before = CASE WHEN $10 THEN sb_time($11) ELSE revoke_tokens_issued_before END, "
    "  custom = (custom || $12::jsonb) - $13::text[], "
    "  privacy_settings = CASE WHEN $14::jsonb IS NULL THEN privacy_settings WHEN $14::jsonb = '{}' THEN '{}' "
    "    ELSE privacy_settings || $14::jsonb END, "
    "  updated_at = now() "
    "WHERE id = $1 RETURNING " SB_USER_COLUMNS};
const PgStatement kCreateGuest{
    "user_create_guest",
    "INSERT INTO users AS u (id, name, image, custom, role) VALUES ($1, $2, $3, $4::jsonb, 'guest') "
    "ON CONFLICT (id) DO UPDATE SET name = coalesce(EXCLUDED.name, u.name), image = coalesce(EXCLUDED.image, u.image), "
    "updated_at = now() WHERE u.role = 'guest' "
    "RETURNING " SB_USER_COLUMNS};
}  // namespace

UserRow Upsert(Pg& db, std::string_view id, const std::optional<std::string>& name,
               const std::optional<std::string>& image, const std::string& custom_json,
               const std::optional<std::string>& role, const std::optional<std::string>& teams_json,
               const std::optional<std::string>& privacy_json) {
    PgResult r = db.Run(
        kUpsert, PgParams().Add(id).Add(name).Add(image).Add(custom_json).Add(role).Add(teams_json).Add(privacy_json));
    return ReadUser(r, 0, 0);
}

std::optional<UserRow> Update(Pg& db, std::string_view id, const UserChange& c) {
    PgParams p;
    p.Add(id);
    p.Add(c.name.has_value()).Add(c.name.value_or(std::nullopt));
    p.Add(c.image.has_value()).Add(c.image.value_or(std::nullopt));
    p.Add(c.role).Add(c.teams_json).Add(c.language);
    c.invisible ? p.Add(*c.invisible) : p.AddNull();
    p.Add(c.revoke_tokens_issued_before.has_value()).Add(c.revoke_tokens_issued_before.value_or(std::nullopt));
    p.Add(c.custom_set_json).AddArray(c.custom_unset);
    p.Add(c.privacy_json);
    PgResult r = db.Run(kUpdate, p);
    if (r.empty()) return std::nullopt;
    return ReadUser(r, 0, 0);
}

std::optional<UserRow> CreateGuest(Pg& db, std::string_view id, const std::optional<std::string>& name,
                                   const std::optional<std::string>& image, const std::string& custom_json) {
    PgResult r = db.Run(kCreateGuest, PgParams().Add(id).Add(name).Add(image).Add(custom_json));
    if (r.empty()) return std::nullopt;
    return ReadUser(r, 0, 0);
}

}  // namespace streambed::users
