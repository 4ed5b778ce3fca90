#include "fcgi-app/store/push.h"

#include <stdexcept>

#include "common/base64.h"
#include "common/log.h"

namespace streambed {

namespace {

#define SB_VAPID_COLUMNS "k.id, k.public_key, k.private_key, sb_micros(k.created_at)"
#define SB_SUBSCRIPTION_COLUMNS                                                                           \
    "s.id::text, s.user_id, s.endpoint, s.p256dh, s.auth, sb_micros(s.expiration_time), s.vapid_key_id, " \
    "sb_micros(s.created_at)"
constexpr int kSubscriptionColumns = 8;

const PgStatement kCurrentKey{"vapid_current",
                              "SELECT " SB_VAPID_COLUMNS " FROM vapid_keys k WHERE k.retired_at IS NULL"};
const PgStatement kCurrentKeyShare{
    "vapid_current_share", "SELECT " SB_VAPID_COLUMNS " FROM vapid_keys k WHERE k.retired_at IS NULL FOR SHARE"};
// The partial unique index vapid_keys_one_current turns a concurrent second insert into a no-op.
const PgStatement kInsertKeyIfNone{
    "vapid_insert_if_none", "INSERT INTO vapid_keys (public_key, private_key) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
const PgStatement kLockCurrentKey{"vapid_lock_current",
                                  "SELECT id FROM vapid_keys WHERE retired_at IS NULL FOR UPDATE"};
const PgStatement kRetireKeys{"vapid_retire", "UPDATE vapid_keys SET retired_at = now() WHERE retired_at IS NULL"};
const PgStatement kInsertKey{"vapid_insert",
                             "INSERT INTO vapid_keys AS k (public_key, private_key) VALUES ($1, $2) "
                             "RETURNING " SB_VAPID_COLUMNS};
const PgStatement kDeleteRetiredSubscriptions{
    "push_sub_delete_retired",
    "DELETE FROM push_subscriptions s USING vapid_keys k WHERE k.id = s.vapid_key_id AND k.retired_at IS NOT NULL"};

// `prev` reads the row as it was before this statement: whose subscription this endpoint was.
// A subscription that moves to another user gets a new id and creation time: for its new owner
// it is a new subscription.
const PgStatement kUpsert{
    "push_sub_upsert",
    "WITH prev AS (SELECT user_id FROM push_subscriptions WHERE endpoint = $2) "
    "INSERT INTO push_subscriptions AS s (user_id, endpoint, p256dh, auth, expiration_time, vapid_key_id) "
    "VALUES ($1, $2, $3, $4, sb_time($5), $6) "
    "ON CONFLICT (endpoint) DO UPDATE SET "
    "  id = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.id ELSE EXCLUDED.id END, "
    "  created_at = CASE WHEN s.user_id = EXCLUDED.user_id THEN s.created_at ELSE now() END, "
    "  user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, "
    "  expiration_time = EXCLUDED.expiration_time, vapid_key_id = EXCLUDED.vapid_key_id, updated_at = now() "
    "RETURNING " SB_SUBSCRIPTION_COLUMNS ", (SELECT user_id FROM prev)"};
const PgStatement kTrim{"push_sub_trim",
                        "DELETE FROM push_subscriptions WHERE id IN (SELECT id FROM push_subscriptions "
                        "WHERE user_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2)"};
const PgStatement kList{"push_sub_list", "SELECT " SB_SUBSCRIPTION_COLUMNS
                                         " FROM push_subscriptions s WHERE s.user_id = $1 ORDER BY s.created_at, s.id"};
const PgStatement kSubscribedUsers{"push_sub_users", "SELECT DISTINCT user_id FROM push_subscriptions"};
const PgStatement kDeleteForUser{"push_sub_delete_for_user",
                                 "DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2"};
const PgStatement kDeliverableForMessage{
    "push_sub_deliverable_for_message",
    "SELECT " SB_SUBSCRIPTION_COLUMNS ", " SB_VAPID_COLUMNS
    " FROM push_subscriptions s JOIN vapid_keys k ON k.id = s.vapid_key_id "
    "WHERE s.user_id = $1 AND k.retired_at IS NULL "
    "  AND NOT EXISTS (SELECT 1 FROM channels c WHERE c.cid = $3 AND ("
    "    EXISTS (SELECT 1 FROM channel_mutes cm WHERE cm.channel_pk = c.pk AND cm.user_id = $1 "
    "            AND (cm.expires IS NULL OR cm.expires > now())) "
    "    OR EXISTS (SELECT 1 FROM members m WHERE m.channel_pk = c.pk AND m.user_id = $1 AND m.notifications_muted))) "
    "ORDER BY s.created_at, s.id LIMIT $2"};
const PgStatement kDeliverableById{"push_sub_deliverable_by_id",
                                   "SELECT " SB_SUBSCRIPTION_COLUMNS ", " SB_VAPID_COLUMNS
                                   " FROM push_subscriptions s JOIN vapid_keys k ON k.id = s.vapid_key_id "
                                   "WHERE s.id = $1::uuid AND s.user_id = $2 AND k.retired_at IS NULL"};
const PgStatement kDeleteById{"push_sub_delete_by_id", "DELETE FROM push_subscriptions WHERE id = $1::uuid"};

VapidKeyRow ReadVapid(const PgResult& r, int row, int c) {
    VapidKeyRow k;
    k.id = r.Int(row, c);
    auto pub = Base64UrlDecode(r.Str(row, c + 1));
    auto priv = Base64UrlDecode(r.Str(row, c + 2));
    if (!pub || !priv || pub->size() != webpush::kPublicKeyBytes || priv->size() != webpush::kPrivateKeyBytes)
        throw std::runtime_error("vapid_keys row " + std::to_string(k.id) + " is corrupt");
    k.key.public_key = std::move(*pub);
    k.key.private_key = std::move(*priv);
    k.created_at = r.Int(row, c + 3);
    return k;
}

PushSubscriptionRow ReadSubscription(const PgResult& r, int row, int c) {
    PushSubscriptionRow s;
    s.id = std::string(r.Str(row, c));
    s.user_id = std::string(r.Str(row, c + 1));
    s.endpoint = std::string(r.Str(row, c + 2));
    s.p256dh = std::string(r.Str(row, c + 3));
    s.auth = std::string(r.Str(row, c + 4));
    s.expiration_time = r.OptInt(row, c + 5);
    s.vapid_key_id = r.Int(row, c + 6);
    s.created_at = r.Int(row, c + 7);
    return s;
}

PgParams KeyParams(const webpush::KeyPair& key) {
    return PgParams().Add(Base64UrlEncode(key.public_key)).Add(Base64UrlEncode(key.private_key));
}

}  // namespace

namespace vapid_keys {

VapidKeyRow Current(Pg& db, bool for_share) {
    // Two rounds at most: a key made by a concurrent caller (or rotation) is seen on the next read.
    for (int round = 0; round < 3; ++round) {
        PgResult r = db.Run(for_share ? kCurrentKeyShare : kCurrentKey);
        if (!r.empty()) return ReadVapid(r, 0, 0);
        PgResult inserted = db.Run(kInsertKeyIfNone, KeyParams(webpush::GenerateKeyPair()));
        if (inserted.affected() == 1) Log(LogLevel::kInfo, "vapid.key_generated");
    }
    throw std::runtime_error("no current VAPID key could be read or created");
}

Rotation Rotate(Pg& db) {
    PgTransaction tx(db);
    Rotation result;
    // Waits for registrations holding the current key (FOR SHARE) to commit, so none slips past.
    db.Run(kLockCurrentKey);
    result.retired_keys = db.Run(kRetireKeys).affected();
    PgResult r = db.Run(kInsertKey, KeyParams(webpush::GenerateKeyPair()));
    result.key = ReadVapid(r, 0, 0);
    result.removed_subscriptions = db.Run(kDeleteRetiredSubscriptions).affected();
    tx.Commit();
    return result;
}

}  // namespace vapid_keys

namespace push_subscriptions {


Upserted Upsert(Pg& db, const NewSubscription& sub) {
    VapidKeyRow key = vapid_keys::Current(db, true);
    PgResult r = db.Run(kUpsert, PgParams()
                                     .Add(sub.user_id)
                                     .Add(sub.endpoint)
                                     .Add(sub.p256dh)
                                     .Add(sub.auth)
                                     .Add(sub.expiration_time)
                                     .Add(key.id));
    Upserted result;
    result.row = ReadSubscription(r, 0, 0);
    auto previous_owner = r.OptStr(0, kSubscriptionColumns);
    result.created = !previous_owner || *previous_owner != sub.user_id;
    db.Run(kTrim, PgParams().Add(sub.user_id).Add(kMaxPushSubscriptionsPerUser));
    return result;
}

std::vector<PushSubscriptionRow> ListForUser(Pg& db, std::string_view user_id) {
    PgResult r = db.Run(kList, PgParams().Add(user_id));
    std::vector<PushSubscriptionRow> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadSubscription(r, i, 0));
    return out;
}

std::vector<std::string> SubscribedUserIds(Pg& db) {
    PgResult r = db.Run(kSubscribedUsers);
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Str(i, 0));
    return out;
}

int DeleteForUser(Pg& db, std::string_view user_id, std::string_view endpoint) {
    return db.Run(kDeleteForUser, PgParams().Add(user_id).Add(endpoint)).affected();
}

std::vector<Deliverable> DeliverableForMessage(Pg& db, std::string_view user_id, std::string_view cid) {
    PgResult r = db.Run(kDeliverableForMessage, PgParams().Add(user_id).Add(kMaxPushSubscriptionsPerUser).Add(cid));
    std::vector<Deliverable> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(Deliverable{ReadSubscription(r, i, 0), ReadVapid(r, i, kSubscriptionColumns)});
    return out;
}

std::optional<Deliverable> DeliverableById(Pg& db, std::string_view id, std::string_view user_id) {
    if (!IsSubscriptionId(id)) return std::nullopt;
    PgResult r = db.Run(kDeliverableById, PgParams().Add(id).Add(user_id));
    if (r.empty()) return std::nullopt;
    return Deliverable{ReadSubscription(r, 0, 0), ReadVapid(r, 0, kSubscriptionColumns)};
}

int DeleteById(Pg& db, std::string_view id) {
    if (!IsSubscriptionId(id)) return 0;
    return db.Run(kDeleteById, PgParams().Add(id)).affected();
}

bool IsSubscriptionId(std::string_view id) {
    if (id.size() != 36) return false;
    for (size_t i = 0; i < id.size(); ++i) {
        char c = id[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace push_subscriptions
}  // namespace streambed
