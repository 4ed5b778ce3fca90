// The metrics library: the exposition format, bounded label sets, and the shared storage of the
// pre-forked pool (children add, the parent and any child render the sum).
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/metrics_catalog.h"
#include "fcgi-app/router.h"

using namespace streambed;
using metrics::Dimension;
using metrics::Registry;

namespace {

bool Contains(const std::string& text, const std::string& piece) { return text.find(piece) != std::string::npos; }

size_t CountLines(const std::string& text, const std::string& prefix) {
    size_t n = 0, pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        if (text.compare(pos, prefix.size(), prefix) == 0) ++n;
        pos = end + 1;
    }
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exposition_of_each_type_is_exact) {
    Registry r;
    auto& requests = r.AddCounter("t_requests_total", "Requests.", {Dimension("code", {"200", "500"})});
    auto& depth = r.AddGauge("t_depth", "Depth.");
    auto& latency = r.AddHistogram("t_latency_seconds", "Latency.", {0.1, 1}, {Dimension("kind", {"a"})});
    r.Allocate(Registry::Storage::kProcess);

    requests.With({"200"}).Inc(3);
    requests.With({"500"}).Inc();
    depth.With().Set(2.5);
    latency.With({"a"}).Observe(0.1);  // on the bound: counts in le="0.1"
    latency.With({"a"}).Observe(0.5);
    latency.With({"a"}).Observe(30);  // only +Inf

    const std::string expected =
        "# HELP t_requests_total Requests.\n"
        "# TYPE t_requests_total counter\n"
        "t_requests_total{code=\"200\"} 3\n"
        "t_requests_total{code=\"500\"} 1\n"
        "t_requests_total{code=\"other\"} 0\n"
        "# HELP t_depth Depth.\n"
        "# TYPE t_depth gauge\n"
        "t_depth 2.5\n"
        "# HELP t_latency_seconds Latency.\n"
        "# TYPE t_latency_seconds histogram\n"
        "t_latency_seconds_bucket{kind=\"a\",le=\"0.1\"} 1\n"
        "t_latency_seconds_bucket{kind=\"a\",le=\"1\"} 2\n"
        "t_latency_seconds_bucket{kind=\"a\",le=\"+Inf\"} 3\n"
        "t_latency_seconds_sum{kind=\"a\"} 30.6\n"
        "t_latency_seconds_count{kind=\"a\"} 3\n"
        "t_latency_seconds_bucket{kind=\"other\",le=\"0.1\"} 0\n"
        "t_latency_seconds_bucket{kind=\"other\",le=\"1\"} 0\n"
        "t_latency_seconds_bucket{kind=\"other\",le=\"+Inf\"} 0\n"
        "t_latency_seconds_sum{kind=\"other\"} 0\n"
        "t_latency_seconds_count{kind=\"other\"} 0\n";
    BOOST_TEST(r.Render() == expected);
    BOOST_TEST(std::string(metrics::kContentType) == "text/plain; version=0.0.4; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(help_and_label_values_are_escaped) {
    BOOST_TEST(metrics::EscapeHelp("a\\b\nc \"q\"") == "a\\\\b\\nc \"q\"");  // quotes stay in HELP
    BOOST_TEST(metrics::EscapeLabelValue("a\\b\nc \"q\"") == "a\\\\b\\nc \\\"q\\\"");

    Registry r;
    auto& c = r.AddCounter("t_escaped_total", "Line one\nline \\two", {Dimension("v", {"say \"hi\"\n\\"})});
    r.Allocate(Registry::Storage::kProcess);
    c.With({"say \"hi\"\n\\"}).Inc();
    std::string text = r.Render();
    BOOST_TEST(Contains(text, "# HELP t_escaped_total Line one\\nline \\\\two\n"));
    BOOST_TEST(Contains(text, "t_escaped_total{v=\"say \\\"hi\\\"\\n\\\\\"} 1\n"));
}

BOOST_AUTO_TEST_CASE(values_are_formatted_the_way_prometheus_reads_them) {
    BOOST_TEST(metrics::FormatValue(0) == "0");
    BOOST_TEST(metrics::FormatValue(-0.0) == "0");
    BOOST_TEST(metrics::FormatValue(1) == "1");
    BOOST_TEST(metrics::FormatValue(0.0025) == "0.0025");
    BOOST_TEST(metrics::FormatValue(-3.5) == "-3.5");
    BOOST_TEST(metrics::FormatValue(0.0005) == "0.0005");  // not 5e-04: le labels match other exporters'
    BOOST_TEST(metrics::FormatValue(1795691925.95) == "1795691925.95");
    BOOST_TEST(metrics::FormatValue(1e-7) == "1e-07");
    BOOST_TEST(metrics::FormatValue(1e20) == "1e+20");
    BOOST_TEST(metrics::FormatValue(INFINITY) == "+Inf");
    BOOST_TEST(metrics::FormatValue(-INFINITY) == "-Inf");
    BOOST_TEST(metrics::FormatValue(NAN) == "NaN");
}

BOOST_AUTO_TEST_CASE(unknown_label_values_fall_back_and_memory_stays_fixed) {
    Registry r;
    auto& c = r.AddCounter("t_by_kind_total", "By kind.", {Dimension("kind", {"a", "b"})});
    r.Allocate(Registry::Storage::kProcess);
    size_t bytes = r.bytes();
    std::string before = r.Render();
    for (int i = 0; i < 10000; ++i) c.With({"scanner-" + std::to_string(i)}).Inc();
    c.With({"a"}).Inc();
    BOOST_TEST(r.bytes() == bytes);
    BOOST_TEST(c.series_count() == 3u);
    std::string after = r.Render();
    BOOST_TEST(after.size() == before.size() + 4);  // "0" -> "10000" and "0" -> "1": nothing else changed
    BOOST_TEST(Contains(after, "t_by_kind_total{kind=\"other\"} 10000\n"));
    BOOST_TEST(Contains(after, "t_by_kind_total{kind=\"a\"} 1\n"));
    BOOST_TEST(!Contains(after, "scanner"));
}

BOOST_AUTO_TEST_CASE(tuple_dimensions_hold_only_declared_combinations) {
    Registry r;
    Dimension route = Dimension::Tuples(
        {"route", "method"}, {{"/a/", "GET"}, {"/a/", "POST"}, {"/b/", "GET"}, {"/a/", "GET"}}, {"unmatched", "other"});
    BOOST_TEST(route.size() == 4u);  // the duplicate collapsed, the fallback was added
    auto& c = r.AddCounter("t_routes_total", "Routes.", {route, Dimension("status", {"200", "404"})});
    r.Allocate(Registry::Storage::kProcess);
    BOOST_TEST(c.series_count() == 12u);  // 4 tuples x 3 statuses, not 3 routes x 3 methods x 3
    c.With({"/b/", "GET", "200"}).Inc();
    c.With({"/b/", "POST", "200"}).Inc();  // not a route of the table
    c.With({"/nowhere/", "GET", "404"}).Inc();
    c.With({"/a/", "POST", "302"}).Inc();  // unknown status only
    std::string text = r.Render();
    BOOST_TEST(Contains(text, "t_routes_total{route=\"/b/\",method=\"GET\",status=\"200\"} 1\n"));
    BOOST_TEST(Contains(text, "t_routes_total{route=\"unmatched\",method=\"other\",status=\"200\"} 1\n"));
    BOOST_TEST(Contains(text, "t_routes_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"));
    BOOST_TEST(Contains(text, "t_routes_total{route=\"/a/\",method=\"POST\",status=\"other\"} 1\n"));
    BOOST_TEST(CountLines(text, "t_routes_total{") == 12u);
}

BOOST_AUTO_TEST_CASE(histogram_edges) {
    Registry r;
    auto& h = r.AddHistogram("t_edges_seconds", "Edges.", {0.001, 0.01});
    r.Allocate(Registry::Storage::kProcess);
    auto s = h.With();
    s.Observe(NAN);  // ignored
    s.Observe(-1);   // a clock step: counted as 0
    s.Observe(0.001);
    s.Observe(0.0011);
    s.ObserveMicros(2'000'000);
    BOOST_TEST(s.Count() == 4u);
    BOOST_TEST(s.CumulativeCount(0) == 2u);
    BOOST_TEST(s.CumulativeCount(1) == 3u);
    BOOST_TEST(s.CumulativeCount(2) == 4u);
    BOOST_TEST(std::abs(s.Sum() - 2.0021) < 1e-12);
    std::string text = r.Render();
    BOOST_TEST(Contains(text, "t_edges_seconds_bucket{le=\"0.001\"} 2\n"));
    BOOST_TEST(Contains(text, "t_edges_seconds_bucket{le=\"+Inf\"} 4\n"));
    BOOST_TEST(Contains(text, "t_edges_seconds_count 4\n"));
}

BOOST_AUTO_TEST_CASE(gauges_go_both_ways) {
    Registry r;
    auto& g = r.AddGauge("t_level", "Level.", {Dimension("kind", {"x"})});
    r.Allocate(Registry::Storage::kProcess);
    auto x = g.With({"x"});
    x.Inc();
    x.Inc();
    x.Dec();
    x.Add(0.5);
    BOOST_TEST(x.Value() == 1.5);
    x.Set(-2);
    BOOST_TEST(Contains(r.Render(), "t_level{kind=\"x\"} -2\n"));
}

BOOST_AUTO_TEST_CASE(declarations_are_checked) {
    Registry r;
    BOOST_CHECK_THROW(r.AddCounter("t_requests", "no _total"), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddGauge("9lives", "bad name"), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddGauge("t-dash", "bad name"), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddGauge("t_reserved", "x", {Dimension("__name", {"a"})}), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddGauge("t_twice_label", "x", {Dimension("a", {"1"}), Dimension("a", {"2"})}),
                      std::invalid_argument);
    BOOST_CHECK_THROW(r.AddHistogram("t_le_seconds", "x", {1}, {Dimension("le", {"1"})}), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddHistogram("t_unsorted_seconds", "x", {1, 0.5}), std::invalid_argument);
    BOOST_CHECK_THROW(r.AddHistogram("t_empty_seconds", "x", {}), std::invalid_argument);
    BOOST_CHECK_THROW(Dimension::Tuples({"a", "b"}, {{"1"}}, {"x", "y"}), std::invalid_argument);

    auto& ok = r.AddCounter("t_ok_total", "x", {Dimension("a", {"1"})});
    BOOST_CHECK_THROW(r.AddGauge("t_ok_total", "twice"), std::invalid_argument);
    BOOST_CHECK_THROW(ok.With({"1"}), std::logic_error);  // before Allocate
    BOOST_CHECK_THROW(r.Render(), std::logic_error);
    r.Allocate(Registry::Storage::kProcess);
    BOOST_CHECK_THROW(r.AddGauge("t_late", "after Allocate"), std::logic_error);
    BOOST_CHECK_THROW(r.Allocate(Registry::Storage::kProcess), std::logic_error);
    BOOST_CHECK_THROW(ok.With({}), std::logic_error);          // too few values
    BOOST_CHECK_THROW(ok.With({"1", "2"}), std::logic_error);  // too many
    BOOST_CHECK_NO_THROW(ok.With({"1"}).Inc());
}

BOOST_AUTO_TEST_CASE(process_storage_is_safe_across_threads) {
    Registry r;
    auto& c = r.AddCounter("t_threads_total", "x");
    auto& h = r.AddHistogram("t_threads_seconds", "x", {0.5});
    auto& g = r.AddGauge("t_threads_level", "x");
    r.Allocate(Registry::Storage::kProcess);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50000; ++i) {
                c.With().Inc();
                h.With().Observe(0.25);
                g.With().Add(0.5);
            }
        });
    }
    for (auto& t : threads) t.join();
    BOOST_TEST(c.With().Value() == 200000u);
    BOOST_TEST(h.With().Count() == 200000u);
    BOOST_TEST(h.With().Sum() == 50000.0);  // 0.25 and 0.5 add up exactly in binary
    BOOST_TEST(g.With().Value() == 100000.0);
}

// The pool's case: the parent declares and allocates shared storage, then forks; the children add
// concurrently; the parent (the supervisor) and any child (the worker answering /metrics) see the sum.
BOOST_AUTO_TEST_CASE(forked_children_add_and_the_parent_sees_the_sum) {
    Registry r;
    auto& requests = r.AddCounter("t_pool_requests_total", "x", {Dimension("status", {"200", "500"})});
    auto& duration = r.AddHistogram("t_pool_duration_seconds", "x", {0.01, 0.1});
    auto& inflight = r.AddGauge("t_pool_inflight", "x");
    auto& workers = r.AddGauge("t_pool_workers", "x");
    r.Allocate(Registry::Storage::kShared);
    BOOST_TEST((r.storage() == Registry::Storage::kShared));
    workers.With().Set(4);  // the supervisor's write, seen by the children

    constexpr int kChildren = 4;
    constexpr int kEach = 20000;
    int pipe_fds[2];
    BOOST_REQUIRE(pipe(pipe_fds) == 0);
    std::vector<pid_t> children;
    for (int child = 0; child < kChildren; ++child) {
        pid_t pid = fork();
        BOOST_REQUIRE(pid >= 0);
        if (pid == 0) {
            // No Boost.Test in here: the child reports through its exit code only.
            if (workers.With().Value() != 4) _exit(3);
            for (int i = 0; i < kEach; ++i) {
                inflight.With().Inc();
                requests.With({i % 10 == 0 ? "500" : "200"}).Inc();
                duration.With().Observe(child % 2 == 0 ? 0.005 : 0.05);
                inflight.With().Dec();
            }
            _exit(0);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        BOOST_REQUIRE(waitpid(pid, &status, 0) == pid);
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    BOOST_TEST(requests.With({"200"}).Value() == uint64_t{kChildren * kEach * 9 / 10});
    BOOST_TEST(requests.With({"500"}).Value() == uint64_t{kChildren * kEach / 10});
    BOOST_TEST(duration.With().Count() == uint64_t{kChildren * kEach});
    BOOST_TEST(duration.With().CumulativeCount(0) == uint64_t{kChildren * kEach / 2});
    BOOST_TEST(inflight.With().Value() == 0.0);

    // A later child (a replacement worker) renders the same totals for GET /metrics.
    pid_t renderer = fork();
    BOOST_REQUIRE(renderer >= 0);
    if (renderer == 0) {
        close(pipe_fds[0]);
        std::string text = r.Render();
        ssize_t written = write(pipe_fds[1], text.data(), text.size());
        _exit(written == static_cast<ssize_t>(text.size()) ? 0 : 1);
    }
    close(pipe_fds[1]);
    std::string rendered;
    char buf[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0) rendered.append(buf, static_cast<size_t>(n));
    close(pipe_fds[0]);
    int status = 0;
    waitpid(renderer, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    BOOST_TEST(rendered == r.Render());
    BOOST_TEST(Contains(rendered, "t_pool_requests_total{status=\"200\"} 72000\n"));
    BOOST_TEST(Contains(rendered, "t_pool_duration_seconds_count 80000\n"));
    BOOST_TEST(Contains(rendered, "t_pool_workers 4\n"));
}

BOOST_AUTO_TEST_CASE(process_metrics_are_refused_in_shared_storage) {
    Registry shared;
    shared.IncludeProcessMetrics();
    BOOST_CHECK_THROW(shared.Allocate(Registry::Storage::kShared), std::logic_error);

    Registry local;
    local.IncludeProcessMetrics();
    local.Allocate(Registry::Storage::kProcess);
    std::string text = local.Render();
    BOOST_TEST(Contains(text, "# TYPE process_open_fds gauge\nprocess_open_fds "));
    BOOST_TEST(Contains(text, "\nprocess_max_fds "));
    BOOST_TEST(Contains(text, "\nprocess_resident_memory_bytes "));
    BOOST_TEST(Contains(text, "\nprocess_start_time_seconds "));
    BOOST_TEST(Contains(text, "\nprocess_cpu_seconds_total "));
}

BOOST_AUTO_TEST_CASE(status_labels_are_bounded) {
    BOOST_TEST(StatusLabel(200) == "200");
    BOOST_TEST(StatusLabel(429) == "429");
    BOOST_TEST(StatusLabel(418) == "4xx");
    BOOST_TEST(StatusLabel(599) == "5xx");
    BOOST_TEST(StatusLabel(302) == "3xx");
    BOOST_TEST(StatusLabel(101) == "other");
    BOOST_TEST(StatusLabel(0) == "other");
    BOOST_TEST(StatusLabel(1000) == "other");
    for (int code = -5; code < 1100; ++code) {
        std::string label(StatusLabel(code));
        bool listed = label == "other";
        for (const auto& s : StatusCodes()) listed = listed || s == label;
        BOOST_TEST_REQUIRE(listed, "StatusLabel(" << code << ") = " << label << " is not a declared value");
    }
}

BOOST_AUTO_TEST_CASE(pg_error_kinds) {
    BOOST_TEST(PgErrorKind("") == "unavailable");
    BOOST_TEST(PgErrorKind("08006") == "unavailable");
    BOOST_TEST(PgErrorKind("57P01") == "unavailable");  // admin shutdown: the primary is going away
    BOOST_TEST(PgErrorKind("57014") == "timeout");
    BOOST_TEST(PgErrorKind("40001") == "conflict");
    BOOST_TEST(PgErrorKind("40P01") == "conflict");
    BOOST_TEST(PgErrorKind("23505") == "constraint");
    BOOST_TEST(PgErrorKind("42P01") == "other");
}

// The contract of docs/metrics.md: every name the lead records exists, with its labels, and the
// route labels come from the real route table.
BOOST_AUTO_TEST_CASE(catalog_declares_the_contract) {
    Registry api;
    ApiMetrics m = DeclareApiMetrics(api, RouteLabels(AllRoutes()));
    api.Allocate(Registry::Storage::kShared);
    BOOST_TEST((m.http_requests.label_names() == std::vector<std::string>{"route", "method", "status"}));
    BOOST_TEST((m.http_request_duration.label_names() == std::vector<std::string>{"route", "method"}));
    BOOST_TEST(m.http_requests.series_count() == (AllRoutes().routes().size() + 1) * (StatusCodes().size() + 1));
    m.http_requests.With({"/api/health/", "GET", StatusLabel(200)}).Inc();
    m.http_requests.With({kUnmatchedRoute, "other", StatusLabel(404)}).Inc();
    m.http_requests.With({"/api/health/", "DELETE", StatusLabel(405)}).Inc();
    m.workers.With().Set(4);
    std::string text = api.Render();
    BOOST_TEST(
        Contains(text, "streambed_http_requests_total{route=\"/api/health/\",method=\"GET\",status=\"200\"} 1\n"));
    BOOST_TEST(
        Contains(text, "streambed_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1\n"));
    BOOST_TEST(
        Contains(text, "streambed_http_requests_total{route=\"unmatched\",method=\"other\",status=\"405\"} 1\n"));
    BOOST_TEST(Contains(text, "streambed_build_info{process=\"api\",version=\""));
    for (const char* name : {"streambed_http_requests_total", "streambed_http_request_duration_seconds",
                             "streambed_pg_errors_total", "streambed_pg_query_duration_seconds",
                             "streambed_redis_errors_total", "streambed_workers", "streambed_worker_restarts_total"}) {
        BOOST_TEST(api.Find(name) != nullptr, name);
    }
    BOOST_TEST(!Contains(text, "process_open_fds"));

    Registry gateway;
    GatewayMetrics g = DeclareGatewayMetrics(gateway);
    gateway.Allocate(Registry::Storage::kProcess);
    for (const char* name :
         {"streambed_ws_connections", "streambed_ws_connections_opened_total", "streambed_ws_events_received_total",
          "streambed_ws_frames_delivered_total", "streambed_ws_events_dropped_total",
          "streambed_ws_slow_consumers_cut_total", "streambed_ws_protocol_errors_total", "streambed_ws_topics",
          "streambed_ws_delivery_latency_seconds"}) {
        BOOST_TEST(gateway.Find(name) != nullptr, name);
    }
    g.connections.With({"room"}).Inc();
    BOOST_TEST(Contains(gateway.Render(), "streambed_ws_connections{kind=\"room\"} 1\n"));

    Registry push;
    PushMetrics p = DeclarePushMetrics(push);
    push.Allocate(Registry::Storage::kProcess);
    BOOST_TEST(push.Find("streambed_push_queue_depth") != nullptr);
    for (const char* outcome : {"delivered", "gone", "retried", "failed"}) p.deliveries.With({outcome}).Inc();
    BOOST_TEST(p.deliveries.series_count() == 4u);  // "failed" is also the fallback
}
