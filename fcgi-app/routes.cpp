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
