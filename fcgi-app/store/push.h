#pragma once
// The Web Push tables (sql/010_push.sql): the VAPID key pair and the browsers' push
// subscriptions. Used by the register-subscriptions route, by `streambed-api rotate-vapid`, and
// by streambed-push.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/webpush.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

struct VapidKeyRow {
    int64_t id = 0;
    webpush::KeyPair key;  // raw bytes
    int64_t created_at = 0;
};

struct PushSubscriptionRow {
    std::string id;  // uuid
    std::string user_id;
    std::string endpoint;
    std::string p256dh;                      // base64url, as stored
    std::string auth;                        // base64url, as stored
    std::optional<int64_t> expiration_time;  // unix micros
    int64_t vapid_key_id = 0;
    int64_t created_at = 0;
};

// A user keeps at most this many subscriptions (one per browser profile): registering one more
// removes the least recently registered, as getstream.io does with devices.
constexpr int kMaxPushSubscriptionsPerUser = 25;

namespace vapid_keys {

// The key that signs pushes and that browsers get as applicationServerKey. Generated and stored
// on first use (race-free across processes). `for_share` locks it until the transaction ends, so
// a subscription cannot be stored under a key that a concurrent rotation is retiring.
VapidKeyRow Current(Pg& db, bool for_share = false);

struct Rotation {
    VapidKeyRow key;                    // the new current key
    int64_t retired_keys = 0;           // 1, or 0 when there was no key yet
    int64_t removed_subscriptions = 0;  // subscriptions made with the retired key
};
// Retires the current key, makes a new one current and deletes the subscriptions made with any
// retired key, in one transaction.
Rotation Rotate(Pg& db);

}  // namespace vapid_keys

namespace push_subscriptions {


struct NewSubscription {
    std::string user_id;
    std::string endpoint;
    std::string p256dh;  // canonical base64url (no padding)
    std::string auth;
    std::optional<int64_t> expiration_time;
};
struct Upserted {
    PushSubscriptionRow row;
    bool created = false;  // new for this user (also when it moved here from another user)
};
// Inserts, or updates the keys of a known endpoint, bound to the current VAPID key; then trims
// the user's list to kMaxPushSubscriptionsPerUser. Runs in the caller's transaction.
Upserted Upsert(Pg& db, const NewSubscription& subscription);

std::vector<PushSubscriptionRow> ListForUser(Pg& db, std::string_view user_id);

// Every user with at least one subscription (for keys::kPushSubscribers).
std::vector<std::string> SubscribedUserIds(Pg& db);

// Removes the user's subscription to `endpoint`; returns how many rows went (0 or 1).
int DeleteForUser(Pg& db, std::string_view user_id, std::string_view endpoint);

// For streambed-push: a subscription with the key that signs for it. Subscriptions whose key is
// retired are not returned (a rotation deletes them; this covers one registered during it).
struct Deliverable {
    PushSubscriptionRow subscription;
    VapidKeyRow vapid;
};
// A user's subscriptions owed a push about a message in `cid`: none when the user muted that
// channel (a channel mute not yet expired, or the membership's notifications_muted).
std::vector<Deliverable> DeliverableForMessage(Pg& db, std::string_view user_id, std::string_view cid);
std::optional<Deliverable> DeliverableById(Pg& db, std::string_view id, std::string_view user_id);

// Removes a subscription the push service reports gone (404/410), or that has expired.
int DeleteById(Pg& db, std::string_view id);

// A subscription id as the database writes it (lowercase 8-4-4-4-12 hex uuid).
bool IsSubscriptionId(std::string_view id);

}  // namespace push_subscriptions
}  // namespace streambed
