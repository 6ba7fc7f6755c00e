#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace eventmesh::cli {

std::string Args::Get(const std::string& name,
                      const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second.back();
}

const std::vector<std::string>& Args::All(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = flags.find(name);
  return it == flags.end() ? kNone : it->second;
}

namespace {

const FlagSpec* Find(const std::vector<FlagSpec>& specs,
                     const std::string& name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

bool Parse(const std::vector<std::string>& argv,
           const std::vector<FlagSpec>& specs, Args* out, UsageError* error) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") {
      out->after_dashes.assign(argv.begin() + i + 1, argv.end());
      return true;
    }
    if (arg == "-h" || arg == "--help") {
      out->help = true;
      continue;
    }
    // A lone "-" or a negative number is positional.
    if (arg.size() < 2 || arg[0] != '-' ||
        (arg[1] != '-' && !isalpha(arg[1]))) {
      out->positional.push_back(arg);
      continue;
    }
    if (arg[1] != '-') {
      error->message = "unknown option '" + arg + "'";
      return false;
    }

    // --name, --name=value or --name value.
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = Find(specs, name);
    if (spec == nullptr) {
      error->message = "unknown option '--" + name + "'";
      return false;
    }
    if (!spec->takes_value) {
      if (value) {
        error->message = "option '--" + name + "' takes no value";
        return false;
      }
      value = "";
    } else if (!value) {
      if (i + 1 >= argv.size()) {
        error->message = "option '--" + name + "' needs a value";
        return false;
      }
      value = argv[++i];
    }
    auto& values = out->flags[name];
    if (!values.empty() && !spec->repeatable) {
      error->message = "option '--" + name + "' given twice";
      return false;
    }
    values.push_back(*value);
  }
  return true;
}

bool ParseCount(const std::string& text, uint64_t* value) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *value = v;
  return true;
}

bool ParseSeconds(const std::string& text, double* seconds) {
  if (text.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v) || v < 0) return false;
  *seconds = v;
  return true;
}

}  // namespace eventmesh::cli
