#pragma once
// How a workload's application receives its database credentials: which
// environment variable carries the password so that the driver reads it with
// no change to the application, which engine the instance runs, and whether
// the user is an IAM principal (no password at all). Pure.
//
//   engine      default password variable   read by
//   PostgreSQL  PGPASSWORD                  libpq (psql, psycopg, Django), node-postgres,
//                                           pgx / lib/pq, asyncpg, Npgsql, ...
//   MySQL       MYSQL_PWD                   libmysqlclient only (mysql CLI, mysqlclient /
//                                           MySQLdb, Ruby mysql2, DBD::mysql); PyMySQL,
//                                           mysql-connector-python, node mysql2,
//                                           go-sql-driver and Connector/J do not
//   SQL Server  (none)                      database.passwordEnv is required

#include <optional>
#include <string>
#include <string_view>

#include "config/model.h"

namespace dbconnd::reconcilers {

enum class DbEngine { kUnknown, kPostgres, kMySql, kSqlServer };

// From a Cloud SQL databaseVersion: POSTGRES_*, MYSQL_*, SQLSERVER_*.
DbEngine EngineOfVersion(std::string_view database_version);
// From a URL scheme (postgres, postgresql, mysql, mysql2, sqlserver, mssql, ...);
// kUnknown for schemes that name no engine (jdbc wrappers included).
DbEngine EngineOfScheme(std::string_view scheme);
std::string_view ToString(DbEngine e);  // "PostgreSQL", "MySQL", "SQL Server", "unknown"

// The password variable the engine's drivers read by themselves; "" for SQL Server.
std::string_view StandardPasswordEnv(DbEngine e);

// True when `user` names an IAM principal as Cloud SQL spells database users:
// PostgreSQL IAM users are the principal's email, a service account without
// ".gserviceaccount.com" (sa@project.iam); MySQL drops everything from '@'
// on, so a MySQL IAM user is recognised by the missing passwordSecret instead.
bool IsIamUser(DbEngine engine, const config::DatabaseIdentity& db,
               bool iam_authentication_declared);

struct Credentials {
  bool iam = false;          // IAM principal: no password is wired
  std::string password_env;  // variable that carries the password; "" = none
  std::string readers;       // which drivers read it, for the plan's note
  std::string blocked;       // non-empty: no variable can be chosen (SQL Server)
};
Credentials ChooseCredentials(DbEngine engine, const config::Workload& w,
                              bool iam_authentication_declared);

// Percent-encodes a URL query value for libpq and friends: everything outside
// unreserved characters, '/' and ':' (libpq decodes %XX in query values).
std::string EncodeQueryValue(std::string_view s);

}  // namespace dbconnd::reconcilers
