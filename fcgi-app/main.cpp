// streambed-api: the REST workers.
//   streambed-api            serve: the pre-forked FastCGI pool (STREAMBED_WORKERS processes)
//   streambed-api migrate    apply the schema migrations in STREAMBED_SQL_DIR, then exit

#include <cstdio>
#include <cstring>
#include <exception>

#include "common/config.h"
#include "common/log.h"
#include "fcgi-app/pool.h"
#include "fcgi-app/store/migrate.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/worker.h"

int main(int argc, char** argv) {
    using namespace streambed;
    std::string command = argc > 1 ? argv[1] : "serve";
    Config config;
    try {
        config = Config::FromEnvironment();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "streambed-api: configuration error: %s\n", e.what());
        return 2;
    }
    InitLogging("api", config.log_level);

    if (command == "migrate") {
        try {
            Pg pg(config.pg_conninfo);
            int applied = ApplyMigrations(pg, config.sql_dir);
            std::printf("migrations applied: %d\n", applied);
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "streambed-api: migration failed: %s\n", e.what());
            return 1;
        }
    }
    if (command != "serve") {
        std::fprintf(stderr, "usage: streambed-api [serve|migrate]\n");
        return 2;
    }
    return RunWorkerPool(config, [&config](int listen_fd) { return RunWorker(config, listen_fd); });
}
