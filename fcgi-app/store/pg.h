#pragma once
// PostgreSQL through libpq: one connection per worker process, connected lazily and re-opened
// after it breaks. Every query is a named statement (PgStatement), prepared on first use on each
// connection and always run with bound parameters, never assembled from user input.

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace streambed {

class PgError : public std::runtime_error {
public:
    PgError(std::string message, std::string sqlstate) : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const { return sqlstate_; }
    bool IsUniqueViolation() const { return sqlstate_ == "23505"; }
    bool IsSerializationFailure() const { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }
    // Cancelled: it ran past the Pg's wait limit (or an operator cancelled it).
    bool IsCancelled() const { return sqlstate_ == "57014"; }

private:
    std::string sqlstate_;
};

// The server cannot be reached or the connection broke: the request gets a retryable 503.
class PgUnavailable : public PgError {
public:
    explicit PgUnavailable(std::string message) : PgError(std::move(message), "08000") {}
};

struct PgStatement {
    const char* name;  // unique per statement, e.g. "user_upsert"
    const char* sql;
};

class PgResult {
public:
    explicit PgResult(PGresult* result) : result_(result) {}
    ~PgResult() {
        if (result_ != nullptr) PQclear(result_);
    }
    PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
    PgResult& operator=(PgResult&& other) noexcept;
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;

    int rows() const { return PQntuples(result_); }
    bool empty() const { return rows() == 0; }
    int affected() const;

    bool IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
    std::string_view Str(int row, int col) const {
        return std::string_view(PQgetvalue(result_, row, col), static_cast<size_t>(PQgetlength(result_, row, col)));
    }
    std::optional<std::string> OptStr(int row, int col) const;
    int64_t Int(int row, int col) const;
    std::optional<int64_t> OptInt(int row, int col) const;
    bool Bool(int row, int col) const { return Str(row, col) == "t"; }
    double Num(int row, int col) const;

private:
    PGresult* result_;
};

// Text-format parameters; nullopt is SQL NULL.
class PgParams {
public:
    PgParams() = default;
    PgParams& Add(std::string_view v) {
        values_.emplace_back(std::string(v));
        return *this;
    }
    PgParams& Add(const char* v) { return Add(std::string_view(v)); }
    PgParams& Add(const std::string& v) { return Add(std::string_view(v)); }
    PgParams& Add(int64_t v) {
        values_.emplace_back(std::to_string(v));
        return *this;
    }
    PgParams& Add(int v) { return Add(static_cast<int64_t>(v)); }
    PgParams& Add(bool v) {
        values_.emplace_back(v ? "t" : "f");
        return *this;
    }
    PgParams& Add(const std::optional<std::string>& v) {
        values_.push_back(v);
        return *this;
    }
    PgParams& Add(const std::optional<int64_t>& v) {
        values_.push_back(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt);
        return *this;
    }
    PgParams& AddNull() {
        values_.emplace_back(std::nullopt);
        return *this;
    }
    // A text[] literal: {"a","b"} with quoting.
    PgParams& AddArray(const std::vector<std::string>& items);
    // A bigint[] literal: {1,2}.
    PgParams& AddArray(const std::vector<int64_t>& items);
    // " LIMIT $n OFFSET $m" for a page of a dynamic query, its two values bound as the next
    // parameters.
    std::string AddPage(int limit, int offset) {
        Add(limit);
        std::string page = " LIMIT $" + std::to_string(values_.size());
        Add(offset);
        return page + " OFFSET $" + std::to_string(values_.size());
    }

    const std::vector<std::optional<std::string>>& values() const { return values_; }

private:
    std::vector<std::optional<std::string>> values_;
};

class Pg {
public:
    // `wait_limit_ms` bounds, on every connection, how long a statement may run and how long a
    // transaction may sit idle (statement_timeout, idle_in_transaction_session_timeout); 0 is
    // PostgreSQL's default, no bound. A request-serving process sets it: without it one stuck lock
    // holder (a session that never commits) would block every worker that touches the same row
    // until nginx gives up on the request, and the worker stays blocked after that too.
    // Migrations set none: an index build takes its time.
    explicit Pg(std::string conninfo, int wait_limit_ms = 0)
        : conninfo_(std::move(conninfo)), wait_limit_ms_(wait_limit_ms) {}
    ~Pg();
    Pg(const Pg&) = delete;
    Pg& operator=(const Pg&) = delete;

    PgResult Run(const PgStatement& statement, const PgParams& params = {});
    // SQL assembled at run time from whitelisted fragments (filters.h), with every value bound.
    // Its text depends only on the filter's shape, and a client sends the same few shapes over and
    // over (the SDK's channel list one filter per screen), so each text is prepared once per
    // connection like the fixed statements, up to kMaxDynamicStatements texts; beyond, it is
    // planned on every call. Planning a queryChannels filter took longer than running it.
    PgResult RunDynamic(const std::string& sql, const PgParams& params);
    static constexpr size_t kMaxDynamicStatements = 256;
    // Unprepared SQL without parameters: transaction control and migrations only.
    void Exec(std::string_view sql);
    // A statement of the open transaction whose result nobody reads: it goes out with the
    // transaction's next statement (or its COMMIT) in one libpq pipeline, and its error, if any,
    // is thrown there. Under load every round trip is a wait for two processes to be scheduled,
    // and a send holds its channel's row lock across all of them (docs/performance.md).
    void Queue(const PgStatement& statement, const PgParams& params);

    bool InTransaction() const { return in_transaction_; }
    // Called with the duration of every query (metrics); none by default.
    void SetQueryObserver(std::function<void(int64_t micros)> observer) { observer_ = std::move(observer); }
    // Drops the connection (used when a transaction could not be finished cleanly).
    void Reset();

private:
    friend class PgTransaction;
    friend class PgBatch;
    PGconn* Connection();
    void RefreshPlans();
    // One statement to send: prepared (`statement`) or, for transaction control, plain `sql`.
    struct Query {
        const PgStatement* statement;
        std::string_view sql;
        const PgParams* params;
    };
    // A Queue()d statement, owning what its Query points to.
    struct Pending {
        const PgStatement* statement;
        std::string sql;
        PgParams params;
        Query query() const { return {statement, sql, &params}; }
    };
    // Sends the queued statements and then `last` (one round trip for all), returns `last`'s
    // result, and throws the first error among them.
    PgResult Send(PGconn* conn, const Query& last, std::string_view what);
    // The same for several statements whose results are read: theirs, in order.
    std::vector<PgResult> Send(PGconn* conn, const std::vector<Query>& read, std::string_view what);
    void PrepareOnce(PGconn* conn, const PgStatement* statement);
    // `all` in one libpq pipeline: the results of the last `kept` of them, or the first error thrown.
    std::vector<PgResult> RoundTrip(PGconn* conn, const std::vector<Query>& all, size_t kept, std::string_view what);
    // Whatever goes out while a transaction is open begins it on the server.
    void NoteSent() { transaction_sent_ = in_transaction_; }
    // On `conn` without going through Connection(): for the connection's own set-up.
    void ExecOn(PGconn* conn, std::string_view sql);
    void Prepare(PGconn* conn, const char* name, const char* sql);
    [[noreturn]] void Fail(PGresult* result, std::string_view what);

    std::string conninfo_;
    int wait_limit_ms_;
    PGconn* conn_ = nullptr;
    std::unordered_set<std::string> prepared_;
    std::unordered_map<std::string, std::string> dynamic_names_;  // SQL text -> its statement's name
    bool in_transaction_ = false;      // a PgTransaction is open
    bool transaction_sent_ = false;    // ... and its BEGIN has gone out to the server
    std::vector<Pending> queued_;      // Queue()d statements, the transaction's BEGIN first
    int64_t plans_made_at_ = 0;  // NowMicros() of the last RefreshPlans
    std::function<void(int64_t)> observer_;
};

// Reads that do not depend on one another, sent in one round trip. Each is added with what to do
// with its result; those run in the order added, once every result is in (none runs when one of
// the statements fails: its error is thrown). Outside a transaction the batch is one implicit
// transaction on the server, one start and one commit. A channel's state reads its messages,
// pinned messages, members and the caller's membership, all known from the channel's pk: one
// round trip instead of four. Under load every round trip is a wait for two processes to be
// scheduled, and on this kind of machine that wait costs more CPU than most of these reads do
// (docs/performance.md).
class PgBatch {
public:
    using Take = std::function<void(const PgResult&)>;
    explicit PgBatch(Pg& db) : db_(db) {}
    PgBatch(const PgBatch&) = delete;
    PgBatch& operator=(const PgBatch&) = delete;

    void Add(const PgStatement& statement, PgParams params, Take take);
    // Sends what was added (nothing when nothing was), then hands out the results. The batch is
    // empty again when the takes run, and a take may add to it for a next Run.
    void Run();
    bool empty() const { return reads_.empty(); }
    Pg& db() { return db_; }

private:
    struct Read {
        const PgStatement* statement;
        PgParams params;
        Take take;
    };
    Pg& db_;
    std::vector<Read> reads_;
};

// One batched read on its own, for a caller with nothing to send beside it:
//   RunAlone<std::vector<UserRow>>(db, [&](PgBatch& b, auto& into) { users::FindMany(b, ids, into); })
template <typename Rows, typename AddTo>
Rows RunAlone(Pg& db, AddTo add) {
    Rows rows;
    PgBatch batch(db);
    add(batch, rows);
    batch.Run();
    return rows;
}

// Visible transactions (STYLE.md): BEGIN on construction, ROLLBACK unless Commit() was called.
// The BEGIN is queued and leaves with the first statement, so a transaction costs no round trip
// of its own; one that ran no statement sends nothing at all.
class PgTransaction {
public:
    explicit PgTransaction(Pg& pg);
    ~PgTransaction();
    PgTransaction(const PgTransaction&) = delete;
    PgTransaction& operator=(const PgTransaction&) = delete;
    void Commit();
    // `statement` as the transaction's last, then the COMMIT, in one round trip (behind whatever
    // is queued): its result, the commit done. A row it locks is held only while the two run,
    // not across a round trip to the worker and back.
    PgResult CommitWith(const PgStatement& statement, const PgParams& params);

  private:
    Pg& pg_;
    bool done_ = false;
};

}  // namespace streambed
