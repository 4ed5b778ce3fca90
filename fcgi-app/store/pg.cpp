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

Pg::~Pg() { Reset(); }

void Pg::Reset() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    prepared_.clear();
    dynamic_names_.clear();
    in_transaction_ = false;
}

PGconn* Pg::Connection() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
        RefreshPlans();
        return conn_;
    }
    if (in_transaction_) {
        // The connection died under an open transaction: its work is gone, so say so.
        Reset();
        throw PgUnavailable("PostgreSQL connection lost during a transaction");
    }
    Reset();
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string why = PQerrorMessage(conn_);
        Reset();
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
    ExecOn(conn_, "SET plan_cache_mode = force_generic_plan");
    // A generic plan cannot see how many rows an array parameter holds, and with the default
    // random_page_cost (4, priced for spinning disks) it joined a handful of channel pks to the
    // channels table by scanning all of it, and read a channel's newest messages by sorting all of
    // them instead of walking the index backwards. The working set of a chat server is meant to
    // be in memory, where a random read costs about what a sequential one does; at 1.1 the same
    // statements are index walks (a channel's newest messages 0.9 -> 0.25 ms for two channels).
    ExecOn(conn_, "SET random_page_cost = 1.1");
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
    if (in_transaction_ || NowMicros() - plans_made_at_ < kPlanLifetimeMicros) return;
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

PgResult Pg::Run(const PgStatement& statement, const PgParams& params) {
    PGconn* conn = Connection();
    if (prepared_.find(statement.name) == prepared_.end()) {
        Prepare(conn, statement.name, statement.sql);
        prepared_.insert(statement.name);
    }
    std::vector<const char*> values;
    values.reserve(params.values().size());
    for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
    int64_t started = observer_ ? NowMicros() : 0;
    PGresult* result = PQexecPrepared(conn, statement.name, static_cast<int>(values.size()), values.data(), nullptr,
                                      nullptr, 0);
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (observer_) observer_(NowMicros() - started);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(result, statement.name);
    return PgResult(result);
}

PgResult Pg::RunDynamic(const std::string& sql, const PgParams& params) {
    PGconn* conn = Connection();
    std::vector<const char*> values;
    values.reserve(params.values().size());
    for (const auto& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
    const std::string* name = nullptr;
    if (auto it = dynamic_names_.find(sql); it != dynamic_names_.end()) {
        name = &it->second;
    } else if (dynamic_names_.size() < kMaxDynamicStatements) {
        std::string fresh = "dynamic_" + std::to_string(dynamic_names_.size());
        Prepare(conn, fresh.c_str(), sql.c_str());
        name = &dynamic_names_.emplace(sql, std::move(fresh)).first->second;
    }
    int64_t started = observer_ ? NowMicros() : 0;
    int n = static_cast<int>(values.size());
    PGresult* result = name != nullptr ? PQexecPrepared(conn, name->c_str(), n, values.data(), nullptr, nullptr, 0)
                                       : PQexecParams(conn, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
    if (observer_) observer_(NowMicros() - started);
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(result, "dynamic query");
    return PgResult(result);
}

void Pg::Exec(std::string_view sql) { ExecOn(Connection(), sql); }

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

PgTransaction::PgTransaction(Pg& pg) : pg_(pg) {
    pg_.Exec("BEGIN");
    pg_.in_transaction_ = true;
}

PgTransaction::~PgTransaction() {
    if (done_) return;
    pg_.in_transaction_ = false;
    try {
        if (pg_.conn_ != nullptr && PQstatus(pg_.conn_) == CONNECTION_OK) pg_.Exec("ROLLBACK");
    } catch (...) {
        pg_.Reset();  // a connection we cannot roll back is not reused
    }
}

void PgTransaction::Commit() {
    pg_.Exec("COMMIT");
    pg_.in_transaction_ = false;
    done_ = true;
}

}  // namespace streambed
