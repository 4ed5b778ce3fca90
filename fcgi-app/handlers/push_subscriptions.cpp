// /api/register-subscriptions/ (API.md §3): the caller's Web Push subscriptions, and the VAPID
// public key a browser passes to pushManager.subscribe() as applicationServerKey.

#include <cmath>

#include "common/base64.h"
#include "common/errors.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/push_endpoint.h"
#include "common/webpush.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

// The browser's expirationTime: null, or milliseconds since the epoch.
std::optional<int64_t> ExpirationMicros(const JsonValue& body) {
    const JsonValue* v = json::Find(body, "expirationTime");
    if (v == nullptr || v->IsNull()) return std::nullopt;
    // Year 5000 is far enough; beyond it the value is garbage.
    if (!v->IsNumber() || !std::isfinite(v->GetDouble()) || v->GetDouble() < 0 || v->GetDouble() > 9.5e13)
        throw BadRequest("expirationTime must be null or a time in milliseconds since the epoch", "expirationTime");
    return static_cast<int64_t>(v->GetDouble()) * 1000;
}

// A W3C PushSubscription as PushSubscription.toJSON() writes it, validated field by field.
push_subscriptions::NewSubscription ParseSubscription(const JsonValue& body, bool dev_mode) {
    push_subscriptions::NewSubscription sub;
    sub.endpoint = std::string(json::RequireString(body, "endpoint", "endpoint"));
    if (auto problem = PushEndpointUrlProblem(sub.endpoint, dev_mode)) throw BadRequest(*problem, "endpoint");
    sub.expiration_time = ExpirationMicros(body);

    const JsonValue* keys = json::OptObject(body, "keys", "keys");
    if (keys == nullptr) throw BadRequest("keys is required", "keys");
    std::string_view p256dh = json::RequireString(*keys, "p256dh", "keys.p256dh");
    if (auto problem = webpush::P256dhProblem(p256dh)) throw BadRequest(*problem, "keys.p256dh");
    std::string_view auth = json::RequireString(*keys, "auth", "keys.auth");
    if (auto problem = webpush::AuthSecretProblem(auth)) throw BadRequest(*problem, "keys.auth");
    // Stored canonical (unpadded base64url), whatever padding the client used.
    sub.p256dh = Base64UrlEncode(*Base64UrlDecode(p256dh));
    sub.auth = Base64UrlEncode(*Base64UrlDecode(auth));
    return sub;
}

}  // namespace

// GET → 200 {"vapid_public_key", "subscriptions": [{"id", "endpoint", "created_at"}]}
Reply HandleListPushSubscriptions(Call& call) {
    std::string user_id = LoadOwner(call, call.Query("user_id")).id();
    VapidKeyRow key = vapid_keys::Current(call.db());
    auto subscriptions = push_subscriptions::ListForUser(call.db(), user_id);

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "vapid_public_key", Base64UrlEncode(key.key.public_key));
    PutKey(w, "subscriptions");
    w.StartArray();
    for (const auto& s : subscriptions) WritePushSubscription(w, s);
    w.EndArray();
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()));
}

// POST {"endpoint", "expirationTime", "keys": {"p256dh", "auth"}} → 201 new / 200 already known,
// {"subscription": {"id", "endpoint", "created_at"}}
Reply HandleRegisterPushSubscription(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    std::string user_id = LoadOwner(call, json::OptString(body, "user_id", "user_id")).id();
    push_subscriptions::NewSubscription sub = ParseSubscription(body, call.config().dev_mode);
    sub.user_id = user_id;

    PgTransaction tx(call.db());
    push_subscriptions::Upserted result = push_subscriptions::Upsert(call.db(), sub);
    // Before the commit (keys.h): should Redis refuse, nothing is stored and the client retries;
    // once stored, the audience script cannot miss the user.
    call.redis().Command({"SADD", keys::kPushSubscribers, user_id});
    tx.Commit();

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "subscription");
    WritePushSubscription(w, result.row);
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()), result.created ? 201 : 200);
}

// DELETE ?endpoint=<url> → 200 {}. Idempotent: an endpoint the caller does not have is a no-op,
// so a client may unsubscribe again after a lost reply (and learns nothing about other users').
Reply HandleDeletePushSubscription(Call& call) {
    std::string user_id = LoadOwner(call, call.Query("user_id")).id();
    auto endpoint = call.Query("endpoint");
    if (!endpoint || endpoint->empty()) throw BadRequest("endpoint is required", "endpoint");
    if (endpoint->size() > kMaxPushEndpointBytes) throw BadRequest("endpoint is longer than 2048 bytes", "endpoint");
    push_subscriptions::DeleteForUser(call.db(), user_id, *endpoint);
    return Reply::Json("{}");
}

}  // namespace streambed
