#pragma once
// The metric families of each streambed process, declared in one place. Their names and labels
// are a contract with the alert rules and the dashboard (deploy/) and are documented in
// docs/metrics.md; tests/ops/check fails when the three drift apart.
//
// streambed-api (the pre-forked pool), in main() before RunWorkerPool:
//     metrics::Registry registry;
//     ApiMetrics m = DeclareApiMetrics(registry, RouteLabels(AllRoutes()));
//     registry.Allocate(metrics::Registry::Storage::kShared);  // before the first fork()
// then the supervisor keeps m.workers and m.worker_restarts, each worker records, e.g.
//     m.http_requests.With({route, method, StatusLabel(status)}).Inc();
//     m.http_request_duration.With({route, method}).ObserveMicros(micros);
// and GET /metrics answers registry.Render() with metrics::kContentType.
// The gateway and the push sender do the same with Storage::kProcess.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics.h"

namespace streambed {

// The route label of a request that matched no route (a 404 or 405), with method "other".
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

struct ApiMetrics {
    metrics::CounterFamily& http_requests;            // {route, method, status}
    metrics::HistogramFamily& http_request_duration;  // {route, method}
    metrics::CounterFamily& pg_errors;                // {kind}: PgErrorKind()
    metrics::HistogramFamily& pg_query_duration;
    metrics::CounterFamily& redis_errors;     // {process="api"}
    metrics::GaugeFamily& workers;            // set by the supervisor
    metrics::CounterFamily& worker_restarts;  // counted by the supervisor
};

struct GatewayMetrics {
    metrics::GaugeFamily& connections;  // {kind}: "stream" (/api/connect) | "room" (/ws/<cid>/)
    metrics::CounterFamily& connections_opened;
    metrics::CounterFamily& connections_closed;
    metrics::CounterFamily& events_received;
    metrics::CounterFamily& frames_delivered;
    metrics::CounterFamily& events_dropped;
    metrics::CounterFamily& slow_consumers_cut;
    metrics::CounterFamily& protocol_errors;
    metrics::GaugeFamily& topics;
    metrics::HistogramFamily& delivery_latency;  // publish (event created_at) to write
    metrics::CounterFamily& redis_errors;        // {process="gateway"}
};

struct PushMetrics {
    metrics::GaugeFamily& queue_depth;
    metrics::CounterFamily& deliveries;    // {outcome}: delivered | gone | retried | failed
    metrics::CounterFamily& redis_errors;  // {process="push"}
};

// (pattern, method) of every route, the label tuples of the route dimension.
using RouteLabelList = std::vector<std::pair<std::string, std::string>>;

ApiMetrics DeclareApiMetrics(metrics::Registry& registry, const RouteLabelList& routes);
GatewayMetrics DeclareGatewayMetrics(metrics::Registry& registry);  // also process_* metrics
PushMetrics DeclarePushMetrics(metrics::Registry& registry);        // also process_* metrics

// The status label: the code itself when it is one of the codes streambed answers with (kStatusCodes),
// else its class ("4xx"), so that status=~"5.." still matches every server error; "other" outside 100-599.
std::string_view StatusLabel(int http_status);
// The codes kept as themselves. Codes, not only classes, because the operator needs to tell 401/403
// (a secret rotated, a client misconfigured) from 404 and 429; and a fixed list, so the series are
// bounded: (routes + 1) x 20 for the counter.
const std::vector<std::string>& StatusCodes();

// The pg_errors kind of a SQLSTATE: "unavailable" (connection lost or refused, class 08 / 57P0x),
// "timeout" (57014), "conflict" (serialization failure or deadlock, 40001/40P01), "constraint" (class 23),
// "other". An empty sqlstate (the connection is gone) is "unavailable".
std::string_view PgErrorKind(std::string_view sqlstate);

// The version this binary was built from (git describe), as streambed_build_info shows it.
std::string_view BuildVersion();

}  // namespace streambed
