#pragma once
// Every handler of streambed-api, grouped by the file that holds it. routes.cpp maps paths to them.

#include "fcgi-app/call.h"
#include "fcgi-app/http.h"

namespace streambed {

// handlers/health.cpp
Reply HandleHealth(Call& call);

// handlers/ws_auth.cpp
Reply HandleWsAuth(Call& call);

// handlers/push_subscriptions.cpp (API.md §3)
Reply HandleListPushSubscriptions(Call& call);
Reply HandleRegisterPushSubscription(Call& call);
Reply HandleDeletePushSubscription(Call& call);

// handlers/devices.cpp (STREAM-PROTOCOL.md §4.5)
Reply HandleAddDevice(Call& call);
Reply HandleListDevices(Call& call);
Reply HandleRemoveDevice(Call& call);

// handlers/internal.cpp (the gateway's calls; never routed by nginx from outside)
Reply HandleInternalConnect(Call& call);

}  // namespace streambed
