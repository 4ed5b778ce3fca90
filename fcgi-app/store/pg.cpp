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
    in_transaction_ = false;
}

PGconn* Pg::Connection() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return conn_;
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
    return conn_;
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
        PGresult* prep = PQprepare(conn, statement.name, statement.sql, 0, nullptr);
        if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) Fail(prep, statement.name);
        PQclear(prep);
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
    int64_t started = observer_ ? NowMicros() : 0;
    PGresult* result = PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                    nullptr, 0);
    if (observer_) observer_(NowMicros() - started);
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(result, "dynamic query");
    return PgResult(result);
}

void Pg::Exec(std::string_view sql) {
    PGconn* conn = Connection();
    std::string text(sql);
    PGresult* result = PQexec(conn, text.c_str());
    ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) Fail(result, "exec");
    PQclear(result);
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
