// fcgi-app/store/pg.h against a real PostgreSQL (the test stack's, named by STREAMBED_PG): how a
// transaction's queued statements (Pg::Queue) leave with its COMMIT, and what happens when one of
// them fails there or the connection dies under it. Not a CTest test, since it needs the running
// stack: tests/contracts/store.test.mjs runs it, one test case at a time.
#define BOOST_TEST_MODULE pg_pipeline
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fcgi-app/store/pg.h"
#include "tests/store/stack_pg.h"

using streambed::Pg;
using streambed::PgBatch;
using streambed::PgError;
using streambed::PgResult;
using streambed::PgParams;
using streambed::PgStatement;
using streambed::PgTransaction;
using streambed::PgUnavailable;

namespace {
// A table of the test's own, per session: gone when the connection is (a reconnect shows).
const PgStatement kCreate{"pgt_create", "CREATE TEMP TABLE IF NOT EXISTS pgt (k text PRIMARY KEY, v int NOT NULL)"};
const PgStatement kInsert{"pgt_insert", "INSERT INTO pgt (k, v) VALUES ($1, $2::int)"};
const PgStatement kCount{"pgt_count", "SELECT count(*) FROM pgt"};
const PgStatement kValue{"pgt_value", "SELECT v FROM pgt WHERE k = $1"};
const PgStatement kBackend{"pgt_backend", "SELECT pg_backend_pid()"};
// What another session sees of a backend: "idle" between transactions, "idle in transaction" inside one.
const PgStatement kState{"pgt_state", "SELECT state FROM pg_stat_activity WHERE pid = $1::int"};
const PgStatement kTerminate{"pgt_terminate", "SELECT pg_terminate_backend($1::int)"};
const PgStatement kSleep{"pgt_sleep", "SELECT pg_sleep($1::float8)"};
const PgStatement kArrays{"pgt_arrays",
                          "SELECT array_to_string($1::bigint[], ','), array_to_json($2::text[])::text, "
                          "cardinality($3::bigint[])"};

std::string Conninfo() { return streambed::testing::StackConninfo(); }

// What `body` threw as an `Error` (nullopt: nothing), kept for the test to examine after the
// transaction inside `body` has gone. Any other exception fails the test case as it is.
template <typename Error = PgError, typename Body>
std::optional<Error> Thrown(Body body) {
    try {
        body();
    } catch (const Error& e) {
        return e;
    }
    return std::nullopt;
}

struct Fixture {
    Pg pg{Conninfo()};
    Fixture() { pg.Run(kCreate); }
    int64_t Count() { return pg.Run(kCount).Int(0, 0); }
    int64_t Backend() { return pg.Run(kBackend).Int(0, 0); }
    // Seen from a second connection, so that asking does not change the answer.
    std::string StateOf(int64_t backend) {
        Pg observer(Conninfo());
        return std::string(observer.Run(kState, PgParams().Add(backend)).Str(0, 0));
    }
    void Insert(const std::string& k, int v) { pg.Run(kInsert, PgParams().Add(k).Add(v)); }
    void QueueInsert(const std::string& k, int v) { pg.Queue(kInsert, PgParams().Add(k).Add(v)); }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(queued_statements_are_committed_with_the_commit, Fixture) {
    {
        PgTransaction tx(pg);
        Insert("a", 1);
        QueueInsert("b", 2);
        QueueInsert("c", 3);
        tx.Commit();
    }
    BOOST_TEST(Count() == 3);
    BOOST_TEST(pg.Run(kValue, PgParams().Add("c")).Int(0, 0) == 3);
}

BOOST_FIXTURE_TEST_CASE(queued_statements_go_before_the_next_statement_of_the_transaction, Fixture) {
    PgTransaction tx(pg);
    QueueInsert("q", 7);
    // Read back in the same transaction: the queued insert reached the server first.
    BOOST_TEST(pg.Run(kValue, PgParams().Add("q")).Int(0, 0) == 7);
    tx.Commit();
}

BOOST_FIXTURE_TEST_CASE(a_queued_statement_that_fails_at_the_commit_rolls_everything_back, Fixture) {
    Insert("taken", 1);
    int64_t backend = Backend();
    auto error = Thrown([&] {
        PgTransaction tx(pg);
        Insert("mine", 2);
        QueueInsert("also-mine", 3);
        QueueInsert("taken", 4);  // a unique violation, known only when the COMMIT goes out
        QueueInsert("never", 5);
        tx.Commit();
    });
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->IsUniqueViolation());
    BOOST_TEST(std::string(error->what()).find("pgt_insert") != std::string::npos);
    BOOST_TEST(!pg.InTransaction());
    // Nothing of the transaction stayed, and the same connection (its temp table with it) serves on.
    BOOST_TEST(Count() == 1);
    BOOST_TEST(Backend() == backend);
    BOOST_TEST(StateOf(backend) == "idle");  // not inside a leftover transaction
}

BOOST_FIXTURE_TEST_CASE(a_failing_statement_after_queued_ones_leaves_the_transaction_to_roll_back, Fixture) {
    Insert("taken", 1);
    int64_t backend = Backend();
    auto error = Thrown([&] {
        PgTransaction tx(pg);
        QueueInsert("queued", 2);
        Insert("taken", 3);  // fails in the same round trip as the queued insert before it
        tx.Commit();
    });
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->IsUniqueViolation());
    BOOST_TEST(Count() == 1);
    BOOST_TEST(Backend() == backend);
    BOOST_TEST(StateOf(backend) == "idle");
    // And the next transaction works normally.
    {
        PgTransaction tx(pg);
        QueueInsert("next", 4);
        tx.Commit();
    }
    BOOST_TEST(Count() == 2);
}

// Outbox::LogAndCommit: the statement that logs an event leaves with the COMMIT, so the row it
// locks is not held across a round trip.
const PgStatement kInsertReturning{"pgt_insert_returning",
                                   "INSERT INTO pgt (k, v) VALUES ($1, $2::int) RETURNING v * 10"};

BOOST_FIXTURE_TEST_CASE(commit_with_a_statement_is_one_round_trip_and_returns_its_result, Fixture) {
    int round_trips = 0;
    pg.SetQueryObserver([&](int64_t) { ++round_trips; });
    int64_t got = 0;
    {
        PgTransaction tx(pg);
        Insert("a", 1);       // with the BEGIN
        QueueInsert("b", 2);  // queued: goes before the last statement and the COMMIT
        got = tx.CommitWith(kInsertReturning, PgParams().Add("c").Add(3)).Int(0, 0);
    }
    BOOST_TEST(round_trips == 2);
    BOOST_TEST(got == 30);
    BOOST_TEST(!pg.InTransaction());
    BOOST_TEST(Count() == 3);
    BOOST_TEST(StateOf(Backend()) == "idle");
}

BOOST_FIXTURE_TEST_CASE(commit_with_a_failing_statement_commits_nothing, Fixture) {
    Insert("taken", 1);
    int64_t backend = Backend();
    auto error = Thrown([&] {
        PgTransaction tx(pg);
        Insert("mine", 2);
        tx.CommitWith(kInsertReturning, PgParams().Add("taken").Add(3));  // the COMMIT is not run
    });
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->IsUniqueViolation());
    BOOST_TEST(!pg.InTransaction());
    BOOST_TEST(Count() == 1);
    BOOST_TEST(Backend() == backend);
    BOOST_TEST(StateOf(backend) == "idle");
}

BOOST_FIXTURE_TEST_CASE(a_transaction_abandoned_before_its_commit_keeps_nothing, Fixture) {
    {
        PgTransaction tx(pg);
        Insert("gone", 1);
        QueueInsert("never-sent", 2);
    }
    BOOST_TEST(!pg.InTransaction());
    BOOST_TEST(Count() == 0);
    BOOST_TEST(StateOf(Backend()) == "idle");
}

BOOST_FIXTURE_TEST_CASE(round_trips_are_the_statements_whose_results_are_read, Fixture) {
    int round_trips = 0;
    pg.SetQueryObserver([&](int64_t) { ++round_trips; });
    {
        PgTransaction tx(pg);
        Insert("a", 1);       // with the BEGIN
        QueueInsert("b", 2);  // with the COMMIT
        QueueInsert("c", 3);
        tx.Commit();
    }
    BOOST_TEST(round_trips == 2);
    round_trips = 0;
    {
        PgTransaction tx(pg);  // ran nothing: sends nothing
        tx.Commit();
    }
    {
        PgTransaction tx(pg);  // abandoned before anything went out: nothing to roll back
        QueueInsert("d", 4);
    }
    BOOST_TEST(round_trips == 0);
    BOOST_TEST(Count() == 3);
}

BOOST_FIXTURE_TEST_CASE(a_batch_is_one_round_trip_and_each_read_gets_its_own_result, Fixture) {
    Insert("a", 1);
    Insert("b", 2);
    int round_trips = 0;
    pg.SetQueryObserver([&](int64_t) { ++round_trips; });
    std::vector<std::string> seen;
    PgBatch batch(pg);
    batch.Add(kValue, PgParams().Add("b"), [&](const PgResult& r) { seen.push_back("b=" + std::string(r.Str(0, 0))); });
    batch.Add(kCount, PgParams(), [&](const PgResult& r) {
        seen.push_back("count=" + std::string(r.Str(0, 0)));
        // A read that needs this one's answer goes with the batch's next run.
        batch.Add(kValue, PgParams().Add("a"), [&](const PgResult& a) { seen.push_back("a=" + std::string(a.Str(0, 0))); });
    });
    batch.Add(kValue, PgParams().Add("missing"), [&](const PgResult& r) { seen.push_back("rows=" + std::to_string(r.rows())); });
    batch.Run();
    BOOST_TEST(round_trips == 1);
    BOOST_TEST(seen == (std::vector<std::string>{"b=2", "count=2", "rows=0"}), boost::test_tools::per_element());
    BOOST_TEST(!batch.empty());
    batch.Run();
    BOOST_TEST(round_trips == 2);
    BOOST_TEST(seen.back() == "a=1");
    BOOST_TEST(batch.empty());
    batch.Run();  // nothing to send: no round trip
    BOOST_TEST(round_trips == 2);
}

BOOST_FIXTURE_TEST_CASE(a_failing_read_in_a_batch_throws_its_error_and_no_result_is_handed_out, Fixture) {
    Insert("taken", 1);
    int64_t backend = Backend();
    int taken = 0;
    auto error = Thrown([&] {
        PgBatch batch(pg);
        batch.Add(kCount, PgParams(), [&](const PgResult&) { ++taken; });
        batch.Add(kInsert, PgParams().Add("taken").Add(2), [&](const PgResult&) { ++taken; });
        batch.Add(kInsert, PgParams().Add("after").Add(3), [&](const PgResult&) { ++taken; });
        batch.Run();
    });
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->IsUniqueViolation());
    BOOST_TEST(std::string(error->what()).find("pgt_insert") != std::string::npos);
    BOOST_TEST(taken == 0);
    // The batch was one implicit transaction: the statement after the failure did not run, and
    // the same connection serves on, outside any transaction.
    BOOST_TEST(Count() == 1);
    BOOST_TEST(Backend() == backend);
    BOOST_TEST(StateOf(backend) == "idle");
}

BOOST_FIXTURE_TEST_CASE(a_batch_in_a_transaction_goes_out_after_its_queued_statements, Fixture) {
    int round_trips = 0;
    pg.SetQueryObserver([&](int64_t) { ++round_trips; });
    int64_t value = 0;
    {
        PgTransaction tx(pg);
        QueueInsert("q", 7);
        PgBatch batch(pg);
        batch.Add(kValue, PgParams().Add("q"), [&](const PgResult& r) { value = r.Int(0, 0); });
        batch.Run();
        tx.Commit();
    }
    BOOST_TEST(value == 7);
    BOOST_TEST(round_trips == 2);  // BEGIN, the insert and the read; then the COMMIT
    BOOST_TEST(Count() == 1);
}

BOOST_FIXTURE_TEST_CASE(array_parameters_reach_the_server_as_given, Fixture) {
    std::vector<int64_t> numbers{1, -42, 9007199254740993, 0};
    std::vector<std::string> texts{"plain", "with \"quotes\"", "back\\slash", "comma,brace}"};
    PgResult r = pg.Run(kArrays, PgParams().AddArray(numbers).AddArray(texts).AddArray(std::vector<int64_t>{}));
    BOOST_TEST(r.Str(0, 0) == "1,-42,9007199254740993,0");
    BOOST_TEST(r.Str(0, 1) == R"(["plain","with \"quotes\"","back\\slash","comma,brace}"])");
    BOOST_TEST(r.Int(0, 2) == 0);
}

BOOST_FIXTURE_TEST_CASE(losing_the_connection_inside_a_transaction_is_unavailable_not_a_silent_retry, Fixture) {
    int64_t backend = Backend();
    Pg killer(Conninfo());
    auto lost = Thrown<PgUnavailable>([&] {
        PgTransaction tx(pg);
        Insert("lost", 1);
        killer.Run(kTerminate, PgParams().Add(backend));
        QueueInsert("lost-too", 2);
        tx.Commit();
    });
    BOOST_TEST(lost.has_value());
    BOOST_TEST(!pg.InTransaction());
    // The next statement opens a new connection: a new backend, without the old temp table.
    BOOST_TEST(Backend() != backend);
    auto gone = Thrown([&] { Count(); });
    BOOST_REQUIRE(gone.has_value());
    BOOST_TEST(gone->sqlstate() == "42P01");  // undefined_table
}

BOOST_FIXTURE_TEST_CASE(misuse_is_refused_before_anything_is_sent, Fixture) {
    BOOST_CHECK_THROW(pg.Queue(kInsert, PgParams().Add("x").Add(1)), std::logic_error);
    PgTransaction tx(pg);
    BOOST_CHECK_THROW(PgTransaction nested(pg), std::logic_error);
    tx.Commit();
    BOOST_TEST(Count() == 0);
}

BOOST_AUTO_TEST_CASE(a_statement_past_its_timeout_is_cancelled_and_the_connection_serves_on) {
    Pg pg(Conninfo(), 300);
    pg.Run(kCreate);
    int64_t backend = pg.Run(kBackend).Int(0, 0);
    auto error = Thrown([&] {
        PgTransaction tx(pg);
        pg.Run(kInsert, PgParams().Add("before").Add(1));
        pg.Run(kSleep, PgParams().Add("2"));
        tx.Commit();
    });
    BOOST_REQUIRE(error.has_value());
    BOOST_TEST(error->IsCancelled());
    BOOST_TEST(pg.Run(kBackend).Int(0, 0) == backend);
    BOOST_TEST(pg.Run(kCount).Int(0, 0) == 0);  // the insert went with the transaction
}

BOOST_AUTO_TEST_CASE(a_transaction_left_idle_past_its_timeout_is_ended_by_the_server) {
    Pg pg(Conninfo(), 300);
    pg.Run(kCreate);
    int64_t backend = pg.Run(kBackend).Int(0, 0);
    auto ended = Thrown<PgUnavailable>([&] {
        PgTransaction tx(pg);
        pg.Run(kInsert, PgParams().Add("left").Add(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // a worker stuck mid-transaction
        pg.Run(kCount);
        tx.Commit();
    });
    BOOST_TEST(ended.has_value());
    // Its row lock and its work went with the session; the next statement connects again.
    BOOST_TEST(pg.Run(kBackend).Int(0, 0) != backend);
}
