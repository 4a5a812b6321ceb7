// dbconnd: everything lives in dbconnd_daemon; main only wires the streams.
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return dbconnd::cli::RunCli(argc, argv, std::cout, std::cerr);
}
