// GET /api/health/: 200 when PostgreSQL, Redis and at least one gateway are up; 503 naming what
// is down otherwise. No auth: load balancers and scripts/run poll it.

#include "common/clock.h"
#include "common/errors.h"
#include "common/json.h"
#include "common/keys.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

namespace {
const PgStatement kPing{"health_ping", "SELECT 1"};
}

Reply HandleHealth(Call& call) {
    bool pg_up = false;
    bool redis_up = false;
    int64_t gateways = 0;
    try {
        pg_up = call.db().Run(kPing).rows() == 1;
    } catch (const PgError&) {
    }
    try {
        call.redis().Command({"PING"});
        redis_up = true;
        gateways = ReplyInteger(call.redis()
                                    .Command({"ZCOUNT", keys::kGateways, std::to_string(NowSeconds() - keys::kGatewayTtl),
                                              "+inf"})
                                    .get());
    } catch (const RedisError&) {
    }
    bool gateway_up = gateways > 0;
    bool ok = pg_up && redis_up && gateway_up;

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "status", ok ? "ok" : "unavailable");
    PutString(w, "postgres", pg_up ? "up" : "down");
    PutString(w, "redis", redis_up ? "up" : "down");
    PutString(w, "gateway", gateway_up ? "up" : "down");
    PutInt(w, "gateways", gateways);
    if (!ok) {
        std::string down;
        if (!pg_up) down += "postgres ";
        if (!redis_up) down += "redis ";
        if (!gateway_up) down += "gateway ";
        down.pop_back();
        PutInt(w, "code", code::kInternal);
        PutString(w, "message", "down: " + down);
        PutInt(w, "StatusCode", 503);
    }
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()), ok ? 200 : 503);
}

// GET /api/hi/: the SDK's warm-up call (`warmUp: true`), made while its WebSocket opens so that
// the connection to the API is ready for the first request. Nothing to check and nothing to read.
Reply HandleHi(Call&) { return EmptyReply(); }

}  // namespace streambed
