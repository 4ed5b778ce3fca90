#include "fcgi-app/store/migrate.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/log.h"
#include "fcgi-app/store/pg.h"

namespace streambed {

namespace {
// Any constant shared by every streambed process: it names the migration lock.
constexpr const char* kLock = "SELECT pg_advisory_lock(424242001)";
constexpr const char* kUnlock = "SELECT pg_advisory_unlock(424242001)";

const PgStatement kIsApplied{"migration_is_applied", "SELECT 1 FROM schema_migrations WHERE version = $1"};
const PgStatement kRecord{"migration_record", "INSERT INTO schema_migrations (version) VALUES ($1)"};
}  // namespace

int ApplyMigrations(Pg& pg, const std::string& sql_dir) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(sql_dir)) {
        if (entry.is_regular_file() && entry.path().extension() == ".sql") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw std::runtime_error("no migrations found in " + sql_dir);

    pg.Exec("SET client_min_messages = warning");  // no NOTICE noise from IF NOT EXISTS
    pg.Exec(kLock);
    int applied = 0;
    try {
        pg.Exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        for (const auto& file : files) {
            std::string version = file.stem().string();
            if (!pg.Run(kIsApplied, PgParams().Add(version)).empty()) continue;
            std::ifstream in(file);
            std::stringstream sql;
            sql << in.rdbuf();
            PgTransaction tx(pg);
            pg.Exec(sql.str());
            pg.Run(kRecord, PgParams().Add(version));
            tx.Commit();
            ++applied;
            Log(LogLevel::kInfo, "migration.applied").Str("version", version);
        }
    } catch (...) {
        try {
            pg.Exec(kUnlock);
        } catch (...) {
        }
        throw;
    }
    pg.Exec(kUnlock);
    return applied;
}

}  // namespace streambed
