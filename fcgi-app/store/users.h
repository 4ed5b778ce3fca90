#pragma once
// The users table.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

struct UserRow {
    std::string id;
    std::optional<std::string> name;
    std::optional<std::string> image;
    std::string role = "user";
    std::string custom_json = "{}";  // custom fields, flattened on the wire
    std::string teams_json = "[]";
    std::string language;
    bool invisible = false;
    bool banned = false;
    std::optional<int64_t> ban_expires;
    std::optional<int64_t> revoke_tokens_issued_before;
    std::optional<int64_t> last_active;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::optional<int64_t> deactivated_at;
    std::optional<int64_t> deleted_at;
    // getstream.io's privacy_settings as stored (sql/090), and what they turn off: a user may keep
    // its typing, its read state or its deliveries from the others in its channels.
    std::string privacy_json = "{}";
    bool typing_indicators = true;
    bool read_receipts = true;
    bool delivery_receipts = true;
};

// The select list that ReadUser expects, for any query over `users u`.
#define SB_USER_COLUMNS                                                                                        \
    "u.id, u.name, u.image, u.role, u.custom::text, u.teams::text, u.language, u.invisible, u.banned, "        \
    "sb_micros(u.ban_expires), sb_micros(u.revoke_tokens_issued_before), sb_micros(u.last_active), "           \
    "sb_micros(u.created_at), sb_micros(u.updated_at), sb_micros(u.deactivated_at), sb_micros(u.deleted_at), " \
    "u.privacy_settings::text"
constexpr int kUserColumnCount = 17;

UserRow ReadUser(const PgResult& result, int row, int first_column);

// User ids: getstream.io's alphabet, and ASCII only (the SDK's token decoder is latin-1).
bool IsValidUserId(std::string_view id);

// Names that are part of the UserResponse itself and so can never be custom fields.
bool IsReservedUserField(std::string_view key);

// A privacy_settings object of a request, checked ({"typing_indicators" | "read_receipts" |
// "delivery_receipts": {"enabled": bool}}, nothing else) and written back as stored; 400 otherwise.
std::string PrivacySettingsJson(const JsonValue& value, std::string_view field);

namespace users {

std::optional<UserRow> Find(Pg& db, std::string_view id);
// Appends to `into` when `batch` runs; `into` must outlive the Run.
void FindMany(PgBatch& batch, const std::vector<std::string>& ids, std::vector<UserRow>& into);

// The connect handshake's upsert: creates the user, or updates name, image and custom fields
// that `details` carries (absent fields are kept). `role` applies only on creation. Into `into`
// when `batch` runs, so that the handshake's reads go out with it; bad details throw here, before
// anything is sent.
void UpsertOnConnect(PgBatch& batch, std::string_view id, const JsonValue* details, std::string_view role,
                     UserRow& into);

}  // namespace users
}  // namespace streambed

namespace streambed::users {

// Full upsert (POST /users): replaces name, image, custom and, when set, the role, teams and
// privacy settings.
UserRow Upsert(Pg& db, std::string_view id, const std::optional<std::string>& name,
               const std::optional<std::string>& image, const std::string& custom_json,
               const std::optional<std::string>& role, const std::optional<std::string>& teams_json,
               const std::optional<std::string>& privacy_json);
// Partial update (PATCH /users): set/unset fields; custom keys merged or removed.
struct UserChange {
    std::optional<std::optional<std::string>> name;
    std::optional<std::optional<std::string>> image;
    std::optional<std::string> role;
    std::optional<std::string> teams_json;
    std::optional<std::string> language;
    std::optional<bool> invisible;
    std::optional<std::optional<int64_t>> revoke_tokens_issued_before;
    std::optional<std::string> privacy_json;  // replaces the stored settings ("{}" when unset)
    std::string custom_set_json = "{}";
    std::vector<std::string> custom_unset;
};
std::optional<UserRow> Update(Pg& db, std::string_view id, const UserChange& change);
// A guest: created with role "guest"; nullopt when the id belongs to someone else.
std::optional<UserRow> CreateGuest(Pg& db, std::string_view id, const std::optional<std::string>& name,
                                   const std::optional<std::string>& image, const std::string& custom_json);

}  // namespace streambed::users
