#include "common/metrics.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <new>
#include <set>
#include <stdexcept>

namespace streambed::metrics {

namespace {

constexpr char kJoin = '\x1f';  // cannot be typed into a label value by accident

void AddDouble(Slot& slot, double delta) {
    uint64_t old_bits = slot.load(std::memory_order_relaxed);
    while (!slot.compare_exchange_weak(old_bits, std::bit_cast<uint64_t>(std::bit_cast<double>(old_bits) + delta),
                                       std::memory_order_relaxed)) {
    }
}

double LoadDouble(const Slot& slot) { return std::bit_cast<double>(slot.load(std::memory_order_relaxed)); }

bool ValidMetricName(std::string_view name) {
    if (name.empty()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool ValidLabelName(std::string_view name) {
    if (name.empty() || name.substr(0, 2) == "__") return false;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

std::string JoinKey(const std::string_view* values, size_t n) {
    std::string key;
    for (size_t i = 0; i < n; ++i) {
        if (i > 0) key += kJoin;
        key.append(values[i]);
    }
    return key;
}

std::string FormatUnsigned(uint64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, end);
}

const char* TypeName(Type type) {
    switch (type) {
        case Type::kCounter:
            return "counter";
        case Type::kGauge:
            return "gauge";
        case Type::kHistogram:
            return "histogram";
    }
    return "untyped";
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += EscapeHelp(help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// `name{labels} value\n`, braces only when there are labels.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

// --- process_* metrics, read from /proc at render time ----------------------------------------

struct ProcessSample {
    double open_fds = -1;
    double max_fds = -1;
    double resident_bytes = -1;
    double virtual_bytes = -1;
    double cpu_seconds = -1;
    double start_time = -1;
};

ProcessSample ReadProcess() {
    ProcessSample s;
    if (DIR* dir = opendir("/proc/self/fd")) {
        double n = 0;
        while (dirent* e = readdir(dir)) {
            if (e->d_name[0] != '.') ++n;
        }
        closedir(dir);
        s.open_fds = n - 1;  // the directory stream's own descriptor
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        s.max_fds = limit.rlim_cur == RLIM_INFINITY ? INFINITY : static_cast<double>(limit.rlim_cur);
    }
    long page = sysconf(_SC_PAGESIZE);
    if (std::ifstream statm("/proc/self/statm"); statm) {
        double size = 0, resident = 0;
        if (statm >> size >> resident) {
            s.virtual_bytes = size * static_cast<double>(page);
            s.resident_bytes = resident * static_cast<double>(page);
        }
    }
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) == 0) {
        s.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    }
    // Field 22 of /proc/self/stat is the start time in clock ticks after boot. The boot time comes
    // from the clocks, not /proc/stat, which systemd's ProcSubset=pid hides.
    std::ifstream stat("/proc/self/stat");
    std::string line;
    timespec real{}, boot{};
    long hz = sysconf(_SC_CLK_TCK);
    if (std::getline(stat, line) && hz > 0 && clock_gettime(CLOCK_REALTIME, &real) == 0 &&
        clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
        size_t close = line.rfind(')');  // the command name may contain spaces and parentheses
        if (close != std::string::npos && close + 2 < line.size()) {
            const char* p = line.c_str() + close + 2;  // field 3
            for (int field = 3; field < 22 && p != nullptr; ++field) {
                p = std::strchr(p, ' ');
                if (p != nullptr) ++p;
            }
            if (p != nullptr) {
                double ticks = static_cast<double>(std::strtoull(p, nullptr, 10));
                double boot_time = static_cast<double>(real.tv_sec - boot.tv_sec) +
                                   static_cast<double>(real.tv_nsec - boot.tv_nsec) / 1e9;
                s.start_time = std::round((boot_time + ticks / static_cast<double>(hz)) * 100) / 100;
            }
        }
    }
    return s;
}

void AppendProcessMetrics(std::string& out) {
    ProcessSample s = ReadProcess();
    auto one = [&out](const char* name, const char* help, const char* type, double value) {
        if (value < 0) return;
        AppendHeader(out, name, help, type);
        AppendSample(out, name, "", FormatValue(value));
    };
    one("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", s.cpu_seconds);
    one("process_open_fds", "Number of open file descriptors.", "gauge", s.open_fds);
    one("process_max_fds", "Maximum number of open file descriptors (the soft limit).", "gauge", s.max_fds);
    one("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", s.virtual_bytes);
    one("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", s.resident_bytes);
    one("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", s.start_time);
}

}  // namespace

// --- Exposition helpers ------------------------------------------------------------------------

std::string EscapeHelp(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string EscapeLabelValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string FormatValue(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (value == 0) return "0";  // also turns -0 into 0
    // The shortest text that reads back exactly; plain decimals in the usual range, as Go's 'g'
    // format writes them, so a bucket reads le="0.0005" in both streambed's and other exporters' output.
    char buf[64];
    double magnitude = std::fabs(value);
    auto format = magnitude >= 1e-4 && magnitude < 1e15 ? std::chars_format::fixed : std::chars_format::general;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, format);
    return std::string(buf, end);
}

// --- Dimension ---------------------------------------------------------------------------------

Dimension::Dimension(std::string name, std::vector<std::string> values, std::string fallback) {
    names_.push_back(std::move(name));
    for (auto& v : values) tuples_.push_back({std::move(v)});
    tuples_.push_back({std::move(fallback)});  // Index() drops it again when it was declared
    Index();
}

Dimension Dimension::Tuples(std::vector<std::string> names, std::vector<std::vector<std::string>> tuples,
                            std::vector<std::string> fallback) {
    Dimension d;
    d.names_ = std::move(names);
    d.tuples_ = std::move(tuples);
    d.tuples_.push_back(std::move(fallback));
    d.Index();
    return d;
}

void Dimension::Index() {
    if (names_.empty()) throw std::invalid_argument("metrics: a dimension needs at least one label");
    // The fallback went in last; it takes the index of an identical declared tuple, if any.
    std::vector<std::string> fallback = std::move(tuples_.back());
    tuples_.pop_back();
    std::vector<std::vector<std::string>> unique;
    for (auto& tuple : tuples_) {
        if (tuple.size() != names_.size()) {
            throw std::invalid_argument("metrics: a tuple of dimension '" + names_.front() + "' has " +
                                        std::to_string(tuple.size()) + " values for " + std::to_string(names_.size()) +
                                        " labels");
        }
        std::vector<std::string_view> views(tuple.begin(), tuple.end());
        // Duplicates (two routes with the same pattern and method) collapse into one series.
        if (index_.emplace(JoinKey(views.data(), views.size()), unique.size()).second)
            unique.push_back(std::move(tuple));
    }
    tuples_ = std::move(unique);
    if (fallback.size() != names_.size()) throw std::invalid_argument("metrics: the fallback tuple has the wrong size");
    std::vector<std::string_view> views(fallback.begin(), fallback.end());
    auto [it, added] = index_.emplace(JoinKey(views.data(), views.size()), tuples_.size());
    if (added) tuples_.push_back(std::move(fallback));
    fallback_ = it->second;
}

size_t Dimension::Find(const std::string_view* values) const {
    if (names_.size() == 1) {
        auto it = index_.find(values[0]);  // no key to build for the common case
        return it == index_.end() ? fallback_ : it->second;
    }
    auto it = index_.find(JoinKey(values, names_.size()));
    return it == index_.end() ? fallback_ : it->second;
}

// --- Series ------------------------------------------------------------------------------------

void Gauge::Set(double value) const { slot_->store(std::bit_cast<uint64_t>(value), std::memory_order_relaxed); }
void Gauge::Add(double delta) const { AddDouble(*slot_, delta); }
double Gauge::Value() const { return LoadDouble(*slot_); }

void Histogram::Observe(double value) const {
    if (std::isnan(value)) return;
    if (value < 0) value = 0;
    // The first bound >= value: buckets are "less than or equal".
    size_t bucket = static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin());
    slots_[bucket].fetch_add(1, std::memory_order_relaxed);
    AddDouble(slots_[bounds_->size() + 1], value);
}

uint64_t Histogram::Count() const { return CumulativeCount(bounds_->size()); }

double Histogram::Sum() const { return LoadDouble(slots_[bounds_->size() + 1]); }

uint64_t Histogram::CumulativeCount(size_t i) const {
    uint64_t total = 0;
    for (size_t b = 0; b <= i && b <= bounds_->size(); ++b) total += slots_[b].load(std::memory_order_relaxed);
    return total;
}

// --- Families ----------------------------------------------------------------------------------

Family::Family(std::string name, std::string help, Type type, std::vector<Dimension> dimensions)
    : name_(std::move(name)), help_(std::move(help)), type_(type), dimensions_(std::move(dimensions)) {
    std::set<std::string> seen;
    for (const Dimension& d : dimensions_) {
        for (const std::string& label : d.names()) {
            if (!ValidLabelName(label))
                throw std::invalid_argument("metrics: bad label name '" + label + "' on " + name_);
            if (!seen.insert(label).second)
                throw std::invalid_argument("metrics: label '" + label + "' twice on " + name_);
            label_names_.push_back(label);
        }
        series_count_ *= d.size();
    }
}

size_t Family::SeriesIndex(std::initializer_list<std::string_view> values) const {
    if (slots_ == nullptr) throw std::logic_error("metrics: " + name_ + " used before Registry::Allocate()");
    if (values.size() != label_names_.size()) {
        throw std::logic_error("metrics: " + name_ + " takes " + std::to_string(label_names_.size()) +
                               " label values, not " + std::to_string(values.size()));
    }
    // Mixed radix, first dimension most significant: the order Render() walks.
    size_t series = 0;
    const std::string_view* v = values.begin();
    for (const Dimension& d : dimensions_) {
        series = series * d.size() + d.Find(v);
        v += d.names().size();
    }
    return series;
}

Slot* Family::SeriesSlots(size_t series) const {
    if (slots_ == nullptr) throw std::logic_error("metrics: " + name_ + " used before Registry::Allocate()");
    if (series >= series_count_)
        throw std::out_of_range("metrics: no series " + std::to_string(series) + " in " + name_);
    return slots_ + series * SlotsPerSeries();
}

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<double> bounds,
                                 std::vector<Dimension> dimensions)
    : Family(std::move(name), std::move(help), Type::kHistogram, std::move(dimensions)), bounds_(std::move(bounds)) {
    if (bounds_.empty()) throw std::invalid_argument("metrics: histogram " + this->name() + " has no buckets");
    for (size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
            throw std::invalid_argument("metrics: the buckets of " + this->name() +
                                        " must be finite and strictly increasing (+Inf is implied)");
        }
    }
    for (const std::string& label : label_names()) {
        if (label == "le") throw std::invalid_argument("metrics: 'le' is reserved on histogram " + this->name());
    }
}

const std::vector<double>& RequestBuckets() {
    static const std::vector<double> kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return kBuckets;
}

const std::vector<double>& FastBuckets() {
    static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1,     2.5,  5};
    return kBuckets;
}

// --- Registry ----------------------------------------------------------------------------------

Registry::~Registry() {
    if (slots_ == nullptr) return;
    if (storage_ == Storage::kShared) {
        munmap(slots_, mapped_bytes_);  // this process's view only; the others keep theirs
    } else {
        for (size_t i = 0; i < slot_count_; ++i) slots_[i].~Slot();
        ::operator delete (slots_, std::align_val_t{alignof(Slot)});
    }
}

void Registry::CheckName(const std::string& name) const {
    if (slots_ != nullptr) throw std::logic_error("metrics: " + name + " declared after Registry::Allocate()");
    if (!ValidMetricName(name)) throw std::invalid_argument("metrics: bad metric name '" + name + "'");
    for (const auto& f : families_) {
        if (f->name() == name) throw std::invalid_argument("metrics: " + name + " declared twice");
    }
    for (const auto& i : infos_) {
        if (i.name == name) throw std::invalid_argument("metrics: " + name + " declared twice");
    }
}

template <typename F, typename... Args>
F& Registry::Add(Args&&... args) {
    // The constructors are private to the families: only a registry makes them.
    std::unique_ptr<F> family(new F(std::forward<Args>(args)...));
    F& ref = *family;
    families_.push_back(std::move(family));
    return ref;
}

CounterFamily& Registry::AddCounter(std::string name, std::string help, std::vector<Dimension> dimensions) {
    CheckName(name);
    // The exposition convention the alert rules rely on (and promtool checks).
    if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0) {
        throw std::invalid_argument("metrics: counter " + name + " must end in _total");
    }
    return Add<CounterFamily>(std::move(name), std::move(help), Type::kCounter, std::move(dimensions));
}

GaugeFamily& Registry::AddGauge(std::string name, std::string help, std::vector<Dimension> dimensions) {
    CheckName(name);
    return Add<GaugeFamily>(std::move(name), std::move(help), Type::kGauge, std::move(dimensions));
}

HistogramFamily& Registry::AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                        std::vector<Dimension> dimensions) {
    CheckName(name);
    return Add<HistogramFamily>(std::move(name), std::move(help), std::move(bounds), std::move(dimensions));
}

void Registry::AddInfo(std::string name, std::string help, std::vector<std::pair<std::string, std::string>> labels) {
    CheckName(name);
    std::string rendered;
    for (const auto& [label, value] : labels) {
        if (!ValidLabelName(label)) throw std::invalid_argument("metrics: bad label name '" + label + "' on " + name);
        if (!rendered.empty()) rendered += ',';
        rendered += label + "=\"" + EscapeLabelValue(value) + "\"";
    }
    infos_.push_back({std::move(name), std::move(help), std::move(rendered)});
}

void Registry::IncludeProcessMetrics() {
    if (slots_ != nullptr && storage_ == Storage::kShared) {
        throw std::logic_error("metrics: process metrics are per process; the shared pool registry cannot carry them");
    }
    process_metrics_ = true;
}

void Registry::Allocate(Storage storage) {
    if (slots_ != nullptr) throw std::logic_error("metrics: Registry::Allocate() called twice");
    if (storage == Storage::kShared && process_metrics_) {
        throw std::logic_error("metrics: process metrics are per process; the shared pool registry cannot carry them");
    }
    size_t count = 0;
    for (const auto& f : families_) count += f->series_count() * f->SlotsPerSeries();
    count = std::max<size_t>(count, 1);  // so that allocated() holds for a registry of infos only

    void* memory = nullptr;
    if (storage == Storage::kShared) {
        size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        mapped_bytes_ = (count * sizeof(Slot) + page - 1) / page * page;
        // Anonymous and shared: inherited by every fork() after this, invisible to anything else.
        memory = mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED)
            throw std::runtime_error(std::string("metrics: mmap failed: ") + std::strerror(errno));
    } else {
        memory = ::operator new (count * sizeof(Slot), std::align_val_t{alignof(Slot)});
    }
    auto* slots = static_cast<Slot*>(memory);
    for (size_t i = 0; i < count; ++i) new (&slots[i]) Slot(0);  // every value, and every gauge's 0.0, is all zero bits
    storage_ = storage;
    slot_count_ = count;
    slots_ = slots;

    size_t offset = 0;
    for (auto& f : families_) {
        f->slots_ = slots_ + offset;
        offset += f->series_count() * f->SlotsPerSeries();
        // Each series' label text, escaped once now rather than at every scrape.
        f->labels_.assign(f->series_count(), std::string());
        for (size_t series = 0; series < f->series_count(); ++series) {
            std::string& text = f->labels_[series];
            size_t rest = series;
            std::vector<size_t> tuple_of(f->dimensions_.size());
            for (size_t d = f->dimensions_.size(); d-- > 0;) {
                tuple_of[d] = rest % f->dimensions_[d].size();
                rest /= f->dimensions_[d].size();
            }
            for (size_t d = 0; d < f->dimensions_.size(); ++d) {
                const Dimension& dim = f->dimensions_[d];
                const auto& tuple = dim.tuples()[tuple_of[d]];
                for (size_t l = 0; l < dim.names().size(); ++l) {
                    if (!text.empty()) text += ',';
                    text += dim.names()[l] + "=\"" + EscapeLabelValue(tuple[l]) + "\"";
                }
            }
        }
    }
}

const Family* Registry::Find(std::string_view name) const {
    for (const auto& f : families_) {
        if (f->name() == name) return f.get();
    }
    return nullptr;
}

std::string Registry::Render() const {
    std::string out;
    Render(out);
    return out;
}

void Registry::Render(std::string& out) const {
    if (slots_ == nullptr) throw std::logic_error("metrics: Render() before Registry::Allocate()");
    for (const Info& info : infos_) {
        AppendHeader(out, info.name, info.help, "gauge");
        AppendSample(out, info.name, info.labels, "1");
    }
    for (const auto& f : families_) {
        AppendHeader(out, f->name(), f->help(), TypeName(f->type()));
        for (size_t series = 0; series < f->series_count(); ++series) {
            const std::string& labels = f->labels_[series];
            const Slot* slots = f->slots_ + series * f->SlotsPerSeries();
            if (f->type() == Type::kCounter) {
                AppendSample(out, f->name(), labels, FormatUnsigned(slots[0].load(std::memory_order_relaxed)));
            } else if (f->type() == Type::kGauge) {
                AppendSample(out, f->name(), labels, FormatValue(LoadDouble(slots[0])));
            } else {
                const auto& bounds = static_cast<const HistogramFamily&>(*f).bounds();
                std::string bucket_name = f->name() + "_bucket";
                std::string prefix = labels.empty() ? std::string() : labels + ",";
                uint64_t cumulative = 0;
                for (size_t b = 0; b <= bounds.size(); ++b) {
                    cumulative += slots[b].load(std::memory_order_relaxed);
                    std::string le = b < bounds.size() ? FormatValue(bounds[b]) : std::string("+Inf");
                    AppendSample(out, bucket_name, prefix + "le=\"" + le + "\"", FormatUnsigned(cumulative));
                }
                // _count is the +Inf bucket by construction, so the two always agree.
                AppendSample(out, f->name() + "_sum", labels, FormatValue(LoadDouble(slots[bounds.size() + 1])));
                AppendSample(out, f->name() + "_count", labels, FormatUnsigned(cumulative));
            }
        }
    }
    if (process_metrics_) AppendProcessMetrics(out);
}

}  // namespace streambed::metrics
