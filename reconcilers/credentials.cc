#include "reconcilers/credentials.h"

#include <array>
#include <cctype>

#include "common/percent_encoding.h"

namespace dbconnd::reconcilers {

DbEngine EngineOfVersion(std::string_view v) {
  if (v.rfind("POSTGRES", 0) == 0) return DbEngine::kPostgres;
  if (v.rfind("MYSQL", 0) == 0) return DbEngine::kMySql;
  if (v.rfind("SQLSERVER", 0) == 0) return DbEngine::kSqlServer;
  return DbEngine::kUnknown;
}

DbEngine EngineOfScheme(std::string_view scheme) {
  std::string s;
  for (char c : scheme.substr(0, 32)) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // "postgresql+psycopg", "mysql+pymysql" (SQLAlchemy): the engine is the part before '+'.
  if (auto plus = s.find('+'); plus != std::string::npos) s.resize(plus);
  if (s == "postgres" || s == "postgresql" || s == "pgsql" || s == "postgis") {
    return DbEngine::kPostgres;
  }
  if (s == "mysql" || s == "mysql2" || s == "mysqlx" || s == "mariadb") return DbEngine::kMySql;
  if (s == "sqlserver" || s == "mssql") return DbEngine::kSqlServer;
  return DbEngine::kUnknown;
}

std::string_view ToString(DbEngine e) {
  switch (e) {
    case DbEngine::kPostgres: return "PostgreSQL";
    case DbEngine::kMySql: return "MySQL";
    case DbEngine::kSqlServer: return "SQL Server";
    case DbEngine::kUnknown: break;
  }
  return "unknown";
}

std::string_view StandardPasswordEnv(DbEngine e) {
  switch (e) {
    case DbEngine::kPostgres:
    case DbEngine::kUnknown:  // planned as PostgreSQL, the default engine
      return "PGPASSWORD";
    case DbEngine::kMySql: return "MYSQL_PWD";
    case DbEngine::kSqlServer: break;
  }
  return "";
}

bool IsIamUser(DbEngine engine, const config::DatabaseIdentity& db,
               bool iam_authentication_declared) {
  if (engine != DbEngine::kMySql && db.user.find('@') != std::string::npos) return true;
  return db.password_secret.empty() && iam_authentication_declared;
}

Credentials ChooseCredentials(DbEngine engine, const config::Workload& w,
                              bool iam_authentication_declared) {
  Credentials c;
  if (IsIamUser(engine, w.database, iam_authentication_declared)) {
    c.iam = true;
    return c;
  }
  if (w.database.password_secret.empty()) return c;
  if (!w.database.password_env.empty()) {
    c.password_env = w.database.password_env;
    c.readers = "named by database.passwordEnv: the application reads it itself";
    return c;
  }
  c.password_env = std::string(StandardPasswordEnv(engine));
  switch (engine) {
    case DbEngine::kPostgres:
      c.readers = "read by libpq (psql, psycopg, Django), node-postgres, pgx and lib/pq, asyncpg "
                  "and Npgsql with no change to the application";
      break;
    case DbEngine::kUnknown:
      c.readers = "the instance reports no databaseVersion, so PostgreSQL is assumed: read by "
                  "libpq, node-postgres, pgx and most PostgreSQL drivers";
      break;
    case DbEngine::kMySql:
      c.readers = "read only by drivers built on libmysqlclient (mysql CLI, mysqlclient/MySQLdb "
                  "for Django, Ruby mysql2, DBD::mysql); PyMySQL, mysql-connector-python, "
                  "node mysql2, go-sql-driver/mysql and Connector/J ignore it: such an "
                  "application must read MYSQL_PWD itself, or set database.passwordEnv to the "
                  "variable it reads";
      break;
    case DbEngine::kSqlServer:
      c.blocked = "SQL Server drivers read no password from the environment, so dbconnd cannot "
                  "choose a variable: set database.passwordEnv to the variable the application "
                  "reads";
      break;
  }
  return c;
}

std::string EncodeQueryValue(std::string_view s) { return common::PercentEncode(s, "/:"); }

}  // namespace dbconnd::reconcilers
