#include "fcgi-app/store/pg.h"

#include <cstdlib>

#include "common/clock.h"
#include "common/log.h"

namespace streambed {

PgResult& PgResult::operator=(PgResult&& other) noexcept {
    if (this != &other) {
        if (result_ != nullptr) PQclear(result_);
        result_ = other.result_;
        other.result_ = nullptr;
    }
    return *this;
}

int PgResult::affected() const {
    const char* n = PQcmdTuples(result_);
    return (n == nullptr || *n == '\0') ? 0 : std::atoi(n);
}

std::optional<std::string> PgResult::OptStr(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return std::string(Str(row, col));
}

int64_t PgResult::Int(int row, int col) const {
    if (IsNull(row, col)) return 0;
    return std::strtoll(PQgetvalue(result_, row, col), nullptr, 10);
}

std::optional<int64_t> PgResult::OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
}

double PgResult::Num(int row, int col) const {
    if (IsNull(row, col)) return 0;
    return std::strtod(PQgetvalue(result_, row, col), nullptr);
}

PgParams& PgParams::AddArray(const std::vector<std::string>& items) {
    std::string literal = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) literal += ',';
        literal += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    literal += '}';
    values_.emplace_back(std::move(literal));
    return *this;
}

PgParams& PgParams::AddArray(const std::vector<int64_t>& items) {
    std::string literal = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) literal += ',';
        literal += std::to_string(items[i]);
    }
    literal += '}';
    values_.emplace_back(std::move(literal));
    return *this;
}

Pg::~Pg() { Reset(); }

void Pg::Reset() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    prepared_.clear();
    dynamic_names_.clear();
    in_transaction_ = false;
    transaction_sent_ = false;
    queued_.clear();
}

PGconn* Pg::Connection() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
        RefreshPlans();
        return conn_;
    }
    if (transaction_sent_) {
        // The connection died under an open transaction: its work is gone, so say so.
        Reset();
        throw PgUnavailable("PostgreSQL connection lost during a transaction");
    }
    // A transaction whose BEGIN is still queued has sent nothing: it starts on the new connection.
    bool in_transaction = in_transaction_;
    std::vector<Pending> queued = std::move(queued_);
    Reset();
    in_transaction_ = in_transaction;
    queued_ = std::move(queued);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string why = PQerrorMessage(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        Log(LogLevel::kWarn, "pg.connect_failed").Str("error", why);
        throw PgUnavailable("PostgreSQL is unavailable");
    }
    // Every prepared statement here is an indexed lookup whose plan does not depend on its
    // parameters, yet PostgreSQL's default (plan_cache_mode auto) kept planning many of them again
    // on every execution, because array and LIMIT parameters make the generic plan's estimate look
    // worse than it is: planning was 8% of the machine, and a channel's member page took 4.7 ms to
    // plan and 1.7 ms to run. With generic plans, made once per connection, the channel query
    // served half again as many requests (docs/performance.md). The filter queries (RunDynamic)
    // are prepared per text too, and use generic plans as well: their conditions are indexed
    // equalities and ranges.
    //
    // A generic plan cannot see how many rows an array parameter holds, and with the default
    // random_page_cost (4, priced for spinning disks) it joined a handful of channel pks to the
    // channels table by scanning all of it, and read a channel's newest messages by sorting all of
    // them instead of walking the index backwards. The working set of a chat server is meant to
    // be in memory, where a random read costs about what a sequential one does; at 1.1 the same
    // statements are index walks (a channel's newest messages 0.9 -> 0.25 ms for two channels).
    //
    // Then the wait limit (see the constructor). All four settings in one round trip: the simple
    // protocol takes several commands at once.
    ExecOn(conn_, "SET plan_cache_mode = force_generic_plan; SET random_page_cost = 1.1; "
                  "SET statement_timeout = " + std::to_string(wait_limit_ms_) +
                  "; SET idle_in_transaction_session_timeout = " + std::to_string(wait_limit_ms_));
    plans_made_at_ = NowMicros();
    return conn_;
}

// A generic plan is made from the table sizes of its first execution and kept until PostgreSQL
// invalidates it (an ANALYZE, by autovacuum, of a table it reads). A table that grows from empty
// in less time than autovacuum takes to notice, as messages does on a new deployment or in a load
// test, would keep a plan that scans a table it thought empty. So the plans are dropped and made
// again every kPlanLifetimeMicros, between transactions: a hundred plannings a connection every
// half minute, against one planning per query otherwise.
void Pg::RefreshPlans() {
    constexpr int64_t kPlanLifetimeMicros = 30 * 1000000;
    if (transaction_sent_ || NowMicros() - plans_made_at_ < kPlanLifetimeMicros) return;
    plans_made_at_ = NowMicros();
    if (prepared_.empty() && dynamic_names_.empty()) return;
    ExecOn(conn_, "DEALLOCATE ALL");
    prepared_.clear();
    dynamic_names_.clear();
}

void Pg::Fail(PGresult* result, std::string_view what) {
    std::string sqlstate;
    std::string message;
    if (result != nullptr) {
        const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        if (state != nullptr) sqlstate = state;
        message = PQresultErrorMessage(result);
        PQclear(result);
    }
    bool broken = conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK || sqlstate.empty() ||
                  sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
    if (broken) {
        Log(LogLevel::kWarn, "pg.connection_broken").Str("while", what).Str("error", message);
        Reset();
        throw PgUnavailable("PostgreSQL is unavailable");
    }
    throw PgError(std::string(what) + ": " + message, sqlstate);
}

namespace {
const PgParams kNoParams;

// Text parameters as libpq takes them.
std::vector<const char*> Values(const PgParams& params) {
    std::vector<const char*> values;
    values.reserve(params.values().size());
    for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
    return values;
}
}  // namespace

PgResult Pg::Run(const PgStatement& statement, const PgParams& params) {
    return Send(Connection(), Query{&statement, {}, &params}, statement.name);
}

PgResult Pg::RunDynamic(const std::string& sql, const PgParams& params) {
    PGconn* conn = Connection();
    PgStatement named{nullptr, nullptr};
    if (auto it = dynamic_names_.find(sql); it != dynamic_names_.end()) {
        named = {it->second.c_str(), it->first.c_str()};
    } else if (dynamic_names_.size() < kMaxDynamicStatements) {
        auto added = dynamic_names_.emplace(sql, "dynamic_" + std::to_string(dynamic_names_.size())).first;
        named = {added->second.c_str(), added->first.c_str()};
    }
    // Beyond kMaxDynamicStatements texts the query is planned on every call (PQexecParams).
    if (named.name == nullptr) return Send(conn, Query{nullptr, sql, &params}, "dynamic query");
    return Send(conn, Query{&named, {}, &params}, "dynamic query");  // Send prepares it once
}

void Pg::Queue(const PgStatement& statement, const PgParams& params) {
    if (!in_transaction_) throw std::logic_error("Pg::Queue outside a transaction");
    queued_.push_back(Pending{&statement, {}, params});
}

PgResult Pg::Send(PGconn* conn, const Query& last, std::string_view what) {
    return std::move(Send(conn, std::vector<Query>{last}, what).front());
}

// Statements are prepared before a pipeline starts (PQprepare waits for its answer).
void Pg::PrepareOnce(PGconn* conn, const PgStatement* statement) {
    if (statement == nullptr || prepared_.count(statement->name) != 0) return;
    Prepare(conn, statement->name, statement->sql);
    prepared_.insert(statement->name);
}

std::vector<PgResult> Pg::Send(PGconn* conn, const std::vector<Query>& read, std::string_view what) {
    for (const Pending& q : queued_) PrepareOnce(conn, q.statement);
    for (const Query& q : read) PrepareOnce(conn, q.statement);
    std::vector<Query> all;
    all.reserve(queued_.size() + read.size());
    for (const Pending& q : queued_) all.push_back(q.query());
    all.insert(all.end(), read.begin(), read.end());
    int64_t started = observer_ ? NowMicros() : 0;
    NoteSent();
    // Whatever happens, the queue has gone out (or gone with a broken connection); `all` points
    // into it until RoundTrip returns.
    struct Sent {
        std::vector<Pending>& queue;
        ~Sent() { queue.clear(); }
    } sent{queued_};
    std::vector<PgResult> results = RoundTrip(conn, all, read.size(), what);
    if (observer_) observer_(NowMicros() - started);
    return results;
}

// A single statement goes the same way as several: in pipeline mode it is the same Bind, Execute
// and Sync that PQexecPrepared would send, so one path serves both.
std::vector<PgResult> Pg::RoundTrip(PGconn* conn, const std::vector<Query>& all, size_t kept,
                                    std::string_view what) {
    auto broken = [&](const char* why) {
        Log(LogLevel::kWarn, "pg.connection_broken").Str("while", what).Str("error", why);
        Reset();
        throw PgUnavailable("PostgreSQL is unavailable");
    };
    if (PQenterPipelineMode(conn) != 1) broken("could not enter pipeline mode");
    for (const Query& q : all) {
        std::vector<const char*> values = Values(*q.params);
        int n = static_cast<int>(values.size());
        int sent = 0;
        if (q.statement != nullptr) {
            sent = PQsendQueryPrepared(conn, q.statement->name, n, values.data(), nullptr, nullptr, 0);
        } else {
            std::string sql(q.sql);
            sent = PQsendQueryParams(conn, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
        }
        if (sent != 1) broken(PQerrorMessage(conn));
    }
    if (PQpipelineSync(conn) != 1) broken(PQerrorMessage(conn));
    // The answers come in order: each statement's result and a null after it, then the sync. After
    // an error the server skips the rest (PGRES_PIPELINE_ABORTED); the first error is thrown.
    PGresult* failed = nullptr;
    std::string failed_what;
    std::vector<PgResult> answers;  // owns each kept result as it arrives
    answers.reserve(kept);
    auto drop_failed = [&] {
        if (failed != nullptr) PQclear(failed);
    };
    for (size_t i = 0; i < all.size(); ++i) {
        PGresult* r = PQgetResult(conn);
        if (r == nullptr) {
            drop_failed();
            broken(PQerrorMessage(conn));
        }
        ExecStatusType status = PQresultStatus(r);
        bool ok = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
        if (ok && i + kept >= all.size()) {
            answers.emplace_back(r);
        } else if (ok || status == PGRES_PIPELINE_ABORTED || failed != nullptr) {
            PQclear(r);
        } else {
            failed = r;
            failed_what = all[i].statement != nullptr ? all[i].statement->name : std::string(what);
        }
        if (PGresult* end = PQgetResult(conn); end != nullptr) {
            PQclear(end);
            drop_failed();
            broken("a pipelined statement answered more than once");
        }
    }
    PGresult* sync = PQgetResult(conn);
    bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    if (sync != nullptr) PQclear(sync);
    if (!synced || PQexitPipelineMode(conn) != 1) {
        drop_failed();
        broken("the pipeline did not end cleanly");
    }
    if (failed != nullptr) Fail(failed, failed_what);
    return answers;
}

void Pg::Exec(std::string_view sql) {
    PGconn* conn = Connection();
    // Queued statements go first; then `sql` by the simple protocol, which takes several commands
    // at once (a migration file).
    if (!queued_.empty()) {
        Pending last = std::move(queued_.back());
        queued_.pop_back();
        Send(conn, last.query(), "queued statement");
    }
    NoteSent();
    ExecOn(conn, sql);
}

void Pg::ExecOn(PGconn* conn, std::string_view sql) {
    std::string text(sql);
    PGresult* result = PQexec(conn, text.c_str());
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(result, "exec");
    PQclear(result);
}

void Pg::Prepare(PGconn* conn, const char* name, const char* sql) {
    PGresult* prep = PQprepare(conn, name, sql, 0, nullptr);
    if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) Fail(prep, name);
    PQclear(prep);
}

void PgBatch::Add(const PgStatement& statement, PgParams params, Take take) {
    reads_.push_back(Read{&statement, std::move(params), std::move(take)});
}

void PgBatch::Run() {
    if (reads_.empty()) return;
    std::vector<Read> reads = std::move(reads_);
    reads_.clear();
    std::vector<Pg::Query> queries;
    queries.reserve(reads.size());
    for (const Read& r : reads) queries.push_back(Pg::Query{r.statement, {}, &r.params});
    std::vector<PgResult> results = db_.Send(db_.Connection(), queries, reads.front().statement->name);
    for (size_t i = 0; i < reads.size(); ++i) reads[i].take(results[i]);
}

PgTransaction::PgTransaction(Pg& pg) : pg_(pg) {
    if (pg_.in_transaction_) throw std::logic_error("PgTransaction inside a transaction");
    pg_.in_transaction_ = true;
    pg_.queued_.push_back(Pg::Pending{nullptr, "BEGIN", {}});
}

PgTransaction::~PgTransaction() {
    if (done_) return;
    bool sent = pg_.transaction_sent_;
    pg_.in_transaction_ = false;
    pg_.transaction_sent_ = false;
    pg_.queued_.clear();
    if (!sent) return;  // the server never heard of it
    try {
        if (pg_.conn_ != nullptr && PQstatus(pg_.conn_) == CONNECTION_OK) pg_.ExecOn(pg_.conn_, "ROLLBACK");
    } catch (...) {
        pg_.Reset();  // a connection we cannot roll back is not reused
    }
}

void PgTransaction::Commit() {
    if (!pg_.transaction_sent_ && pg_.queued_.size() == 1) {
        pg_.queued_.clear();  // only its BEGIN: nothing to commit
    } else {
        // Behind whatever is queued, in one round trip.
        pg_.Send(pg_.Connection(), Pg::Query{nullptr, "COMMIT", &kNoParams}, "commit");
    }
    pg_.in_transaction_ = false;
    pg_.transaction_sent_ = false;
    done_ = true;
}

PgResult PgTransaction::CommitWith(const PgStatement& statement, const PgParams& params) {
    std::vector<PgResult> results = pg_.Send(
        pg_.Connection(), {Pg::Query{&statement, {}, &params}, Pg::Query{nullptr, "COMMIT", &kNoParams}}, "commit");
    pg_.in_transaction_ = false;
    pg_.transaction_sent_ = false;
    done_ = true;
    return std::move(results.front());
}

}  // namespace streambed
