#pragma once
// Prometheus metrics: counters, gauges and histograms with fixed label sets, rendered in the text
// exposition format 0.0.4. The names streambed exports are declared in metrics_catalog.h and
// documented in docs/metrics.md.
//
// Every family, and every label value it may carry, is declared at start-up; Allocate() then lays
// all values out in one block of 8-byte atomics and nothing is added afterwards. Two storages:
//   - kProcess: ordinary memory, for the gateway and the push sender (one process, any threads).
//   - kShared:  one anonymous MAP_SHARED mapping. streambed-api's supervisor declares and allocates
//     before fork(); every worker it forks (replacements too) inherits the same mapping, adds to it
//     lock-free, and any worker renders the pool's totals for GET /metrics. Totals survive a
//     worker's death, so a restarted worker never makes a counter go backwards.
// A label value that was not declared is recorded under its dimension's fallback ("other"): no
// input can make the registry grow.
//
//     metrics::Registry registry;                                       // supervisor, at start-up
//     auto& requests = registry.AddCounter("streambed_http_requests_total", "HTTP requests served.",
//                                          {metrics::Dimension("status", {"200", "404"})});
//     registry.Allocate(metrics::Registry::Storage::kShared);           // still before fork()
//     requests.With({"200"}).Inc();                                     // any worker, any time
//     std::string body = registry.Render();                             // any worker, for /metrics

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace streambed::metrics {

// Lock-free atomics are address-free, which is what lets processes share them through a mapping.
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared metrics need lock-free 64-bit atomics");

// The Content-Type of Render()'s output.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// One or more labels whose values are declared together, as tuples. One label:
//     Dimension("kind", {"stream", "room"})
// Correlated labels, so that only real combinations exist (a route and its method):
//     Dimension::Tuples({"route", "method"}, {{"/api/health/", "GET"}, ...}, {"unmatched", "other"})
// A value (or tuple) not declared is counted under the fallback, which is added when missing.
class Dimension {
  public:
    Dimension(std::string name, std::vector<std::string> values, std::string fallback = "other");
    static Dimension Tuples(std::vector<std::string> names, std::vector<std::vector<std::string>> tuples,
                            std::vector<std::string> fallback);

    const std::vector<std::string>& names() const { return names_; }
    const std::vector<std::vector<std::string>>& tuples() const { return tuples_; }
    size_t size() const { return tuples_.size(); }
    size_t fallback() const { return fallback_; }
    // Index of the tuple `values[0..names().size())`, or fallback() when it was not declared.
    size_t Find(const std::string_view* values) const;

  private:
    Dimension() = default;
    void Index();

    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::vector<std::string> names_;
    std::vector<std::vector<std::string>> tuples_;
    size_t fallback_ = 0;
    std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;  // values joined by '\x1f'
};

enum class Type { kCounter, kGauge, kHistogram };

using Slot = std::atomic<uint64_t>;

// A handle on one series; cheap to copy, valid as long as the registry. Keep one for a hot path.
class Counter {
  public:
    void Inc(uint64_t n = 1) const { slot_->fetch_add(n, std::memory_order_relaxed); }
    uint64_t Value() const { return slot_->load(std::memory_order_relaxed); }

  private:
    friend class CounterFamily;
    explicit Counter(Slot* slot) : slot_(slot) {}
    Slot* slot_;
};

class Gauge {
  public:
    void Set(double value) const;
    void Add(double delta) const;
    void Inc() const { Add(1); }
    void Dec() const { Add(-1); }
    double Value() const;

  private:
    friend class GaugeFamily;
    explicit Gauge(Slot* slot) : slot_(slot) {}
    Slot* slot_;  // the double's bits
};

// Buckets count observations <= their upper bound ("le"), in seconds for every streambed histogram.
class Histogram {
  public:
    // NaN is ignored; a negative value (a clock step between two hosts) counts as 0.
    void Observe(double value) const;
    void ObserveMicros(int64_t micros) const { Observe(static_cast<double>(micros) / 1e6); }
    uint64_t Count() const;
    double Sum() const;
    // Cumulative count of bucket `i` (i == bounds().size() is +Inf), as rendered.
    uint64_t CumulativeCount(size_t i) const;

  private:
    friend class HistogramFamily;
    Histogram(Slot* slots, const std::vector<double>* bounds) : slots_(slots), bounds_(bounds) {}
    Slot* slots_;  // one count per bucket (not cumulative), one for +Inf, then the sum's bits
    const std::vector<double>* bounds_;
};

// A metric name with its help text, type and label dimensions, and one series per combination.
class Family {
  public:
    virtual ~Family() = default;
    Family(const Family&) = delete;
    Family& operator=(const Family&) = delete;

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    Type type() const { return type_; }
    const std::vector<Dimension>& dimensions() const { return dimensions_; }
    // Every label name, in the order With() takes their values.
    const std::vector<std::string>& label_names() const { return label_names_; }
    size_t series_count() const { return series_count_; }
    // The series for these label values (in label_names() order); unknown values fall back per
    // dimension. Throws std::logic_error when the count is wrong or the registry is not allocated.
    size_t SeriesIndex(std::initializer_list<std::string_view> values) const;

  protected:
    Family(std::string name, std::string help, Type type, std::vector<Dimension> dimensions);
    Slot* SeriesSlots(size_t series) const;
    virtual size_t SlotsPerSeries() const { return 1; }

  private:
    friend class Registry;
    std::string name_;
    std::string help_;
    Type type_;
    std::vector<Dimension> dimensions_;
    std::vector<std::string> label_names_;
    size_t series_count_ = 1;
    Slot* slots_ = nullptr;            // set by Registry::Allocate
    std::vector<std::string> labels_;  // per series: `a="x",b="y"`, escaped, built by Allocate
};

class CounterFamily final : public Family {
  public:
    Counter With(std::initializer_list<std::string_view> values = {}) const { return At(SeriesIndex(values)); }
    Counter At(size_t series) const { return Counter(SeriesSlots(series)); }

  private:
    friend class Registry;
    using Family::Family;
};

class GaugeFamily final : public Family {
  public:
    Gauge With(std::initializer_list<std::string_view> values = {}) const { return At(SeriesIndex(values)); }
    Gauge At(size_t series) const { return Gauge(SeriesSlots(series)); }

  private:
    friend class Registry;
    using Family::Family;
};

class HistogramFamily final : public Family {
  public:
    Histogram With(std::initializer_list<std::string_view> values = {}) const { return At(SeriesIndex(values)); }
    Histogram At(size_t series) const { return Histogram(SeriesSlots(series), &bounds_); }
    const std::vector<double>& bounds() const { return bounds_; }

  private:
    friend class Registry;
    HistogramFamily(std::string name, std::string help, std::vector<double> bounds, std::vector<Dimension> dimensions);
    size_t SlotsPerSeries() const override { return bounds_.size() + 2; }
    std::vector<double> bounds_;
};

// Upper bounds (seconds) for request-like latencies: 1 ms to 10 s.
const std::vector<double>& RequestBuckets();
// Upper bounds (seconds) for fast internal steps (a query, a fan-out): 0.5 ms to 5 s.
const std::vector<double>& FastBuckets();

class Registry {
  public:
    enum class Storage { kProcess, kShared };

    Registry() = default;
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Declarations, before Allocate(). Names and labels are checked here (std::invalid_argument):
    // metric names [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total, label names are not reserved.
    CounterFamily& AddCounter(std::string name, std::string help, std::vector<Dimension> dimensions = {});
    GaugeFamily& AddGauge(std::string name, std::string help, std::vector<Dimension> dimensions = {});
    HistogramFamily& AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                  std::vector<Dimension> dimensions = {});
    // A constant gauge of value 1 whose labels carry facts (streambed_build_info{version=...}).
    void AddInfo(std::string name, std::string help, std::vector<std::pair<std::string, std::string>> labels);
    // process_* metrics of the process that renders (open and maximum file descriptors, resident
    // memory, CPU time, start time). Process storage only: in the pool they would describe
    // whichever worker happened to answer.
    void IncludeProcessMetrics();

    // Gives every series its zeroed storage. kShared must happen before fork(). Once only.
    void Allocate(Storage storage);
    bool allocated() const { return slots_ != nullptr; }
    Storage storage() const { return storage_; }
    // Bytes of series storage (after Allocate).
    size_t bytes() const { return slot_count_ * sizeof(Slot); }

    const Family* Find(std::string_view name) const;

    // The exposition, families in declaration order.
    std::string Render() const;
    void Render(std::string& out) const;

  private:
    template <typename F, typename... Args>
    F& Add(Args&&... args);
    void CheckName(const std::string& name) const;

    struct Info {
        std::string name;
        std::string help;
        std::string labels;  // rendered
    };
    std::vector<std::unique_ptr<Family>> families_;
    std::vector<Info> infos_;
    bool process_metrics_ = false;
    Storage storage_ = Storage::kProcess;
    Slot* slots_ = nullptr;
    size_t slot_count_ = 0;
    size_t mapped_bytes_ = 0;  // kShared
};

// Exposition helpers, exposed for the tests.
std::string EscapeHelp(std::string_view text);
std::string EscapeLabelValue(std::string_view value);
std::string FormatValue(double value);

}  // namespace streambed::metrics
