// The route table: every path streambed-api serves, its access rule, and its handler.
// Paths carry their trailing slash; nginx redirects requests that lack it (API.md).

#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/router.h"

namespace streambed {

namespace {
Router BuildRoutes() {
    Router r;
    // Operations
    r.Add("GET", "/api/health/", Access::kPublic, HandleHealth);

    // Room surfaces (API.md)
    r.Add("GET", "/api/ws-auth/", Access::kRoom, HandleWsAuth);
    r.Add("GET", "/api/register-subscriptions/", Access::kRoom, HandleListPushSubscriptions);
    r.Add("POST", "/api/register-subscriptions/", Access::kRoom, HandleRegisterPushSubscription);
    r.Add("DELETE", "/api/register-subscriptions/", Access::kRoom, HandleDeletePushSubscription);

    // Stream surface (STREAM-PROTOCOL.md)
    r.Add("POST", "/api/devices/", Access::kStream, HandleAddDevice);
    r.Add("GET", "/api/devices/", Access::kStream, HandleListDevices);
    r.Add("DELETE", "/api/devices/", Access::kStream, HandleRemoveDevice);

    // Gateway to worker
    r.Add("POST", "/internal/connect/", Access::kInternal, HandleInternalConnect);
    return r;
}
}  // namespace

const Router& AllRoutes() {
    static const Router routes = BuildRoutes();
    return routes;
}

}  // namespace streambed
