// The command-line parser of eventmesh-cli: flags of the form --name VALUE,
// --name=VALUE or --switch, -h, positional arguments, and "--" after which
// everything is positional. Small on purpose: the CLI needs nothing more.

#ifndef EVENTMESH_TOOLS_CLI_ARGS_H_
#define EVENTMESH_TOOLS_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace eventmesh::cli {

// One flag a command accepts.
struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;
};

// What a command line parsed into.
struct Args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;
  std::vector<std::string> after_dashes;  // everything after "--"
  bool help = false;

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The last value of `name`, or `fallback`.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const;
  const std::vector<std::string>& All(const std::string& name) const;
};

// A usage error: the message to print and exit code 2.
struct UsageError {
  std::string message;
};

// Parses `argv` (the command's own arguments) against `specs`. Returns
// false and sets `*error` on an unknown flag or a missing value.
bool Parse(const std::vector<std::string>& argv,
           const std::vector<FlagSpec>& specs, Args* out, UsageError* error);

// Parses a non-negative integer; false when `text` is not one.
bool ParseCount(const std::string& text, uint64_t* value);
// Parses seconds (an integer or a decimal like 0.5); false otherwise.
bool ParseSeconds(const std::string& text, double* seconds);

}  // namespace eventmesh::cli

#endif  // EVENTMESH_TOOLS_CLI_ARGS_H_
