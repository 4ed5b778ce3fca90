// What the store's per-request lookups read, against the test stack's PostgreSQL (STREAMBED_PG),
// under the generic plans every worker uses: finding one channel for a user must not cost more
// the more channels that user is in. Counted in index entries read (PostgreSQL's own counters for
// the current transaction), which do not depend on the machine's speed or on what is cached. Not
// a CTest test, since it needs the running stack: tests/contracts/store.test.mjs runs it.
#define BOOST_TEST_MODULE lookup_cost
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>
#include <exception>
#include <string>
#include <unistd.h>

#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/pg.h"
#include "tests/store/stack_pg.h"

using streambed::Pg;
using streambed::PgParams;
using streambed::PgStatement;
using streambed::PgTransaction;
namespace channels = streambed::channels;

namespace {

constexpr int kChannels = 200;

// A user in kChannels channels, each with one other member, so that the statistics say what a
// real app's say: many users, a few memberships each. $1 is a prefix of this run's own.
const PgStatement kSeed{
    "lookup_seed",
    "WITH u AS (INSERT INTO users (id, name) SELECT $1 || '-' || g, 'Lookup ' || g "
    "           FROM generate_series(0, $2::int) g RETURNING id), "
    "c AS (INSERT INTO channels (cid, type, id, name, created_by, member_count) "
    "      SELECT 'messaging:' || $1 || '-' || k, 'messaging', $1 || '-' || k, 'Lookup ' || k, $1 || '-0', 2 "
    "      FROM generate_series(1, $2::int) k RETURNING pk, id) "
    "INSERT INTO members (channel_pk, user_id) "
    "SELECT c.pk, x FROM c, LATERAL unnest(ARRAY[$1 || '-0', $1 || '-' || substr(c.id, length($1) + 2)]) x"};
const PgStatement kAnalyze{"lookup_analyze", "ANALYZE members"};
// Members go with their channels (ON DELETE CASCADE).
const PgStatement kDropChannels{"lookup_drop_channels", "DELETE FROM channels WHERE cid LIKE 'messaging:' || $1 || '-%'"};
const PgStatement kDropUsers{"lookup_drop_users", "DELETE FROM users WHERE id LIKE $1 || '-%'"};
const PgStatement kLastChannel{"lookup_last_channel",
                               "SELECT max(pk) FROM channels WHERE cid LIKE 'messaging:' || $1 || '-%'"};
// Index entries read from members' indexes so far in this transaction (not yet flushed to the
// shared statistics, so nobody else's reads count).
const PgStatement kMemberEntriesRead{
    "lookup_member_entries",
    "SELECT coalesce(sum(pg_stat_get_xact_tuples_returned(indexrelid)), 0)::bigint "
    "FROM pg_index WHERE indrelid = 'members'::regclass"};

std::string Conninfo() { return streambed::testing::StackConninfo(); }

struct Fixture {
    Pg pg{Conninfo()};
    std::string prefix = "lookup-" + std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr));
    std::string user = prefix + "-0";
    int64_t last_pk = 0;

    Fixture() {
        pg.Run(kSeed, PgParams().Add(prefix).Add(kChannels));
        pg.Run(kAnalyze);
        last_pk = pg.Run(kLastChannel, PgParams().Add(prefix)).Int(0, 0);
    }
    ~Fixture() {
        try {
            pg.Run(kDropChannels, PgParams().Add(prefix));
            pg.Run(kDropUsers, PgParams().Add(prefix));
        } catch (const std::exception& e) {
            BOOST_ERROR("could not remove the test's channels and users: " << e.what());
        }
    }
    int64_t MemberEntriesRead() { return pg.Run(kMemberEntriesRead).Int(0, 0); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(finding_a_channel_by_cid_reads_one_membership, Fixture) {
    PgTransaction tx(pg);
    int64_t before = MemberEntriesRead();
    // The user's last channel: its membership comes last among the user's (they are ordered by pk).
    auto view = channels::FindView(pg, "messaging:" + prefix + "-" + std::to_string(kChannels), user);
    int64_t read = MemberEntriesRead() - before;
    BOOST_REQUIRE(view.has_value());
    BOOST_REQUIRE(view->membership.has_value());
    BOOST_TEST(view->membership->user_id == user);
    BOOST_TEST(read <= 2, "read " << read << " membership entries for one channel of a user in " << kChannels);
}

// By pk the planner could always derive the member row's channel_pk from the parameter, so this
// one passed with the old join too; it holds the pk lookup to the same bound as the cid one.
BOOST_FIXTURE_TEST_CASE(finding_a_channel_by_pk_reads_one_membership, Fixture) {
    PgTransaction tx(pg);
    int64_t before = MemberEntriesRead();
    auto view = channels::FindViewByPk(pg, last_pk, user);
    int64_t read = MemberEntriesRead() - before;
    BOOST_REQUIRE(view.has_value());
    BOOST_REQUIRE(view->membership.has_value());
    BOOST_TEST(read <= 2, "read " << read << " membership entries for one channel of a user in " << kChannels);
}

BOOST_FIXTURE_TEST_CASE(a_user_outside_the_channel_has_no_membership, Fixture) {
    auto view = channels::FindView(pg, "messaging:" + prefix + "-" + std::to_string(kChannels), prefix + "-1");
    BOOST_REQUIRE(view.has_value());
    BOOST_TEST(!view->membership.has_value());
}
