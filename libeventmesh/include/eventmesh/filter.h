// Filter: conditions on CloudEvent attributes, in the dialects of the
// CloudEvents Subscriptions API: exact, prefix, suffix, all, any, not.
//
// A Filter is an immutable value, cheap to copy and safe to share between
// threads. The default-constructed Filter matches every event.

#ifndef EVENTMESH_FILTER_H_
#define EVENTMESH_FILTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/status.h"

namespace eventmesh {

class Filter {
 public:
  // Matches everything.
  Filter();

  // `attribute` equals / starts with / ends with `value`. An absent
  // attribute never matches.
  static Filter Exact(std::string attribute, std::string value);
  static Filter Prefix(std::string attribute, std::string value);
  static Filter Suffix(std::string attribute, std::string value);
  // Every / at least one / none of the filters match.
  static Filter All(std::vector<Filter> filters);
  static Filter Any(std::vector<Filter> filters);
  static Filter Not(Filter filter);

  bool Matches(const Event& event) const;
  // True for the default filter.
  bool MatchesEverything() const;

  // The Subscriptions API JSON form: an array of filter objects (all must
  // match), each like {"exact": {"type": "order.created"}},
  // {"all": [...]} or {"not": {...}}. kInvalidArgument names the problem.
  static Result<Filter> FromJson(std::string_view json);
  std::string ToJson() const;

 private:
  struct Node;
  explicit Filter(std::shared_ptr<const Node> node);
  std::shared_ptr<const Node> node_;
};

}  // namespace eventmesh

#endif  // EVENTMESH_FILTER_H_
