// GET /api/ws-auth/ (API.md §1): a short-lived ticket that opens /ws/<cid>/ or /api/connect.

#include "common/clock.h"
#include "common/errors.h"
#include "common/jwt.h"
#include "common/url.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "common/ids.h"
#include "fcgi-app/store/users.h"

namespace streambed {

Reply HandleWsAuth(Call& call) {
    std::string user_id = call.caller().user_id;
    if (call.caller().server) {
        // A server token mints tickets for the user it names.
        auto named = call.Query("user_id");
        if (!named || !IsValidUserId(*named)) throw BadRequest("user_id is required with a server token", "user_id");
        user_id = std::string(*named);
    }
    std::string cid;
    std::optional<std::string_view> room = call.Query("cid");
    if (room && !ParseCid(*room)) throw BadRequest("cid must be type:id", "cid");
    // The user is loaded even without a cid: that refuses a token issued before the user's
    // revoke_tokens_issued_before, which the ticket's own fresh iat would otherwise launder into
    // a working socket (tests/contracts/security.test.mjs). Room surfaces answer it with 403.
    Actor actor;
    try {
        actor = LoadActor(call, user_id, true);
    } catch (const ApiError& e) {
        if (e.http_status() != 401) throw;
        throw ApiError(403, e.code(), e.what());
    }
    if (room) {
        cid = std::string(*room);
        // A ticket for a room the user cannot read is refused now, not only at the socket.
        OpenForActor(call, cid, actor);
    }
    int64_t now = NowSeconds();
    int64_t expires = now + call.config().ws_ticket_ttl;
    std::string ticket = SignWsTicket(user_id, cid, now, expires, call.config().api_secret);

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "auth", ticket);
    PutInt(w, "expires", expires);
    if (!cid.empty()) {
        const Request& req = call.request();
        std::string scheme = req.scheme == "https" ? "wss" : "ws";
        PutString(w, "url", scheme + "://" + req.host + "/ws/" + cid + "/?auth=" + PercentEncode(ticket));
    }
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace streambed
