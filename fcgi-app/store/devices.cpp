#include "fcgi-app/store/devices.h"

namespace streambed {

bool IsPushProvider(std::string_view provider) {
    return provider == "firebase" || provider == "apn" || provider == "huawei" || provider == "xiaomi";
}

namespace devices {

namespace {
#define SB_DEVICE_COLUMNS \
    "d.id, d.push_provider, d.push_provider_name, d.user_id, sb_micros(d.created_at), d.disabled, d.disabled_reason"

const PgStatement kUpsert{
    "device_upsert",
    "INSERT INTO devices AS d (id, push_provider, push_provider_name, user_id) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET "
    "  created_at = CASE WHEN d.user_id = EXCLUDED.user_id THEN d.created_at ELSE now() END, "
    "  push_provider = EXCLUDED.push_provider, push_provider_name = EXCLUDED.push_provider_name, "
    "  user_id = EXCLUDED.user_id, disabled = false, disabled_reason = NULL"};
const PgStatement kTrim{"device_trim",
                        "DELETE FROM devices WHERE id IN (SELECT id FROM devices WHERE user_id = $1 "
                        "ORDER BY created_at DESC, id DESC OFFSET $2)"};
const PgStatement kList{"device_list",
                        "SELECT " SB_DEVICE_COLUMNS " FROM devices d WHERE d.user_id = $1 ORDER BY d.created_at, d.id"};
const PgStatement kDelete{"device_delete", "DELETE FROM devices WHERE id = $1 AND user_id = $2"};
}  // namespace

void Upsert(Pg& db, std::string_view id, std::string_view push_provider,
            const std::optional<std::string>& push_provider_name, std::string_view user_id) {
    db.Run(kUpsert, PgParams().Add(id).Add(push_provider).Add(push_provider_name).Add(user_id));
    db.Run(kTrim, PgParams().Add(user_id).Add(kMaxDevicesPerUser));
}

void ListForUser(PgBatch& batch, std::string_view user_id, std::vector<DeviceRow>& into) {
    batch.Add(kList, PgParams().Add(user_id), [&into](const PgResult& r) {
        into.reserve(into.size() + static_cast<size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i) {
            DeviceRow d;
            d.id = std::string(r.Str(i, 0));
            d.push_provider = std::string(r.Str(i, 1));
            d.push_provider_name = r.OptStr(i, 2);
            d.user_id = std::string(r.Str(i, 3));
            d.created_at = r.Int(i, 4);
            d.disabled = r.Bool(i, 5);
            d.disabled_reason = r.OptStr(i, 6);
            into.push_back(std::move(d));
        }
    });
}

std::vector<DeviceRow> ListForUser(Pg& db, std::string_view user_id) {
    return RunAlone<std::vector<DeviceRow>>(db, [&](PgBatch& b, auto& into) { ListForUser(b, user_id, into); });
}

int DeleteForUser(Pg& db, std::string_view id, std::string_view user_id) {
    return db.Run(kDelete, PgParams().Add(id).Add(user_id)).affected();
}

}  // namespace devices
}  // namespace streambed
