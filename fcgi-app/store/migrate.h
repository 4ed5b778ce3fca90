#pragma once
// Schema migrations: sql/NNN_name.sql files applied in name order, each once, each in its own
// transaction, recorded in schema_migrations. An advisory lock lets several hosts run it at once.

#include <string>

namespace streambed {

class Pg;

// Returns the number of migrations applied. Throws PgError or std::runtime_error.
int ApplyMigrations(Pg& pg, const std::string& sql_dir);

}  // namespace streambed
