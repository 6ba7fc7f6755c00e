#include "eventmesh/filter.h"

#include <algorithm>
#include <utility>

#include "event/json_text.h"

namespace eventmesh {
namespace {

using Json = nlohmann::ordered_json;

// Filters nest through all/any/not; each level is two JSON levels.
constexpr int kMaxFilterJsonDepth = 64;

bool IsCoreAttributeName(std::string_view name) {
  static constexpr std::string_view kCore[] = {
      "id",   "source",          "type",      "specversion", "subject",
      "time", "datacontenttype", "dataschema"};
  return std::find(std::begin(kCore), std::end(kCore), name) != std::end(kCore);
}

// The dialects of the Subscriptions API.
enum class Kind { kExact, kPrefix, kSuffix, kAll, kAny, kNot };

}  // namespace

struct Filter::Node {
  Kind kind;
  std::string attribute;         // exact, prefix, suffix
  std::string value;             // exact, prefix, suffix
  std::vector<Filter> children;  // all, any, not (one child)

  bool Matches(const Event& event) const;
  void AppendJson(std::string* out) const;
  static void AppendFilterJson(const Filter& f, std::string* out);
  bool IsLeaf() const { return kind <= Kind::kSuffix; }
  bool IsMergeableAll() const;
};

namespace {

std::string_view DialectName(Kind kind) {
  switch (kind) {
    case Kind::kExact:
      return "exact";
    case Kind::kPrefix:
      return "prefix";
    case Kind::kSuffix:
      return "suffix";
    case Kind::kAll:
      return "all";
    case Kind::kAny:
      return "any";
    case Kind::kNot:
      return "not";
  }
  return "";
}

bool DialectFromName(std::string_view name, Kind* kind) {
  for (Kind k : {Kind::kExact, Kind::kPrefix, Kind::kSuffix, Kind::kAll,
                 Kind::kAny, Kind::kNot}) {
    if (DialectName(k) == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

bool Filter::Node::Matches(const Event& event) const {
  const auto matches = [&](const Filter& f) { return f.Matches(event); };
  switch (kind) {
    case Kind::kExact:
    case Kind::kPrefix:
    case Kind::kSuffix: {
      const std::string* a = event.Attribute(attribute);
      if (a == nullptr) return false;
      if (kind == Kind::kExact) return *a == value;
      return kind == Kind::kPrefix ? StartsWith(*a, value)
                                   : EndsWith(*a, value);
    }
    case Kind::kAll:
      return std::all_of(children.begin(), children.end(), matches);
    case Kind::kAny:
      return std::any_of(children.begin(), children.end(), matches);
    case Kind::kNot:
      return !children.front().Matches(event);
  }
  return false;
}

// --- Construction
// -------------------------------------------------------------

Filter::Filter() = default;

Filter::Filter(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

Filter Filter::Exact(std::string attribute, std::string value) {
  return Filter(std::make_shared<const Node>(
      Node{Kind::kExact, std::move(attribute), std::move(value), {}}));
}

Filter Filter::Prefix(std::string attribute, std::string value) {
  return Filter(std::make_shared<const Node>(
      Node{Kind::kPrefix, std::move(attribute), std::move(value), {}}));
}

Filter Filter::Suffix(std::string attribute, std::string value) {
  return Filter(std::make_shared<const Node>(
      Node{Kind::kSuffix, std::move(attribute), std::move(value), {}}));
}

Filter Filter::All(std::vector<Filter> filters) {
  return Filter(std::make_shared<const Node>(
      Node{Kind::kAll, {}, {}, std::move(filters)}));
}

Filter Filter::Any(std::vector<Filter> filters) {
  return Filter(std::make_shared<const Node>(
      Node{Kind::kAny, {}, {}, std::move(filters)}));
}

Filter Filter::Not(Filter filter) {
  std::vector<Filter> child;
  child.push_back(std::move(filter));
  return Filter(
      std::make_shared<const Node>(Node{Kind::kNot, {}, {}, std::move(child)}));
}

bool Filter::Matches(const Event& event) const {
  return node_ == nullptr || node_->Matches(event);
}

bool Filter::MatchesEverything() const { return node_ == nullptr; }

// --- JSON
// ---------------------------------------------------------------------

void Filter::Node::AppendFilterJson(const Filter& f, std::string* out) {
  // The match-everything filter has no dialect of its own; an empty "all"
  // means the same.
  if (f.node_ == nullptr) {
    out->append("{\"all\":[]}");
  } else {
    f.node_->AppendJson(out);
  }
}

// An "all" of leaves of one dialect on distinct attributes, which reads
// back from one dialect object such as {"exact": {"type": .., "id": ..}}.
bool Filter::Node::IsMergeableAll() const {
  if (kind != Kind::kAll || children.empty()) return false;
  const Node* first = children.front().node_.get();
  for (size_t i = 0; i < children.size(); ++i) {
    const Node* n = children[i].node_.get();
    if (n == nullptr || !n->IsLeaf() || n->kind != first->kind) return false;
    for (size_t j = 0; j < i; ++j) {
      if (children[j].node_->attribute == n->attribute) return false;
    }
  }
  return true;
}

void Filter::Node::AppendJson(std::string* out) const {
  // Written in the shape FromJson read it from, so that writing and
  // reading again never nests deeper.
  if (IsMergeableAll()) {
    out->push_back('{');
    internal::AppendJsonKey(DialectName(children.front().node_->kind), out);
    out->push_back('{');
    for (size_t i = 0; i < children.size(); ++i) {
      if (i > 0) out->push_back(',');
      internal::AppendJsonKey(children[i].node_->attribute, out);
      internal::AppendJsonString(children[i].node_->value, out);
    }
    out->append("}}");
    return;
  }
  out->push_back('{');
  internal::AppendJsonKey(DialectName(kind), out);
  switch (kind) {
    case Kind::kExact:
    case Kind::kPrefix:
    case Kind::kSuffix:
      out->push_back('{');
      internal::AppendJsonKey(attribute, out);
      internal::AppendJsonString(value, out);
      out->push_back('}');
      break;
    case Kind::kAll:
    case Kind::kAny:
      out->push_back('[');
      for (size_t i = 0; i < children.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendFilterJson(children[i], out);
      }
      out->push_back(']');
      break;
    case Kind::kNot:
      AppendFilterJson(children.front(), out);
      break;
  }
  out->push_back('}');
}

std::string Filter::ToJson() const {
  // The top level is an array whose members must all match, so an "all"
  // there is written as the array itself.
  if (node_ == nullptr) return "[]";
  std::string out = "[";
  if (node_->kind == Kind::kAll) {
    for (size_t i = 0; i < node_->children.size(); ++i) {
      if (i > 0) out.push_back(',');
      Node::AppendFilterJson(node_->children[i], &out);
    }
  } else {
    node_->AppendJson(&out);
  }
  out.push_back(']');
  return out;
}

namespace {

class FilterParser {
 public:
  Result<Filter> ParseTop(const Json& j);

 private:
  Result<Filter> ParseObject(const Json& j, const std::string& path);
  Result<Filter> ParseAttributes(Kind kind, const Json& j,
                                 const std::string& path);
  Result<std::vector<Filter>> ParseList(const Json& j, const std::string& path);
};

Status ShapeError(const std::string& path, std::string_view problem) {
  std::string message = "filter ";
  message.append(path).append(" ").append(problem);
  return InvalidArgument(std::move(message));
}

Result<Filter> FilterParser::ParseTop(const Json& j) {
  if (j.is_object()) return ParseObject(j, "filters[0]");
  if (!j.is_array()) {
    return InvalidArgument(std::string("filters are a JSON array of filter "
                                       "objects, not ") +
                           j.type_name());
  }
  EM_ASSIGN_OR_RETURN(std::vector<Filter> filters, ParseList(j, "filters"));
  // [] matches everything; [f] is f.
  if (filters.empty()) return Filter();
  if (filters.size() == 1) return std::move(filters.front());
  return Filter::All(std::move(filters));
}

Result<Filter> FilterParser::ParseObject(const Json& j,
                                         const std::string& path) {
  if (!j.is_object() || j.size() != 1) {
    return ShapeError(path,
                      "must be an object with exactly one dialect: exact, "
                      "prefix, suffix, all, any or not");
  }
  const std::string& dialect = j.begin().key();
  const Json& body = j.begin().value();
  Kind kind;
  if (!DialectFromName(dialect, &kind)) {
    return ShapeError(path, "uses dialect '" + dialect +
                                "', which is not supported; use exact, "
                                "prefix, suffix, all, any or not");
  }
  const std::string inner = path + "." + dialect;
  switch (kind) {
    case Kind::kExact:
    case Kind::kPrefix:
    case Kind::kSuffix:
      return ParseAttributes(kind, body, inner);
    case Kind::kAll:
    case Kind::kAny: {
      EM_ASSIGN_OR_RETURN(std::vector<Filter> children, ParseList(body, inner));
      return kind == Kind::kAll ? Filter::All(std::move(children))
                                : Filter::Any(std::move(children));
    }
    case Kind::kNot: {
      EM_ASSIGN_OR_RETURN(Filter child, ParseObject(body, inner));
      return Filter::Not(std::move(child));
    }
  }
  return ShapeError(path, "is malformed");
}

// {"type": "a", "source": "b"}: every attribute must match.
Result<Filter> FilterParser::ParseAttributes(Kind kind, const Json& j,
                                             const std::string& path) {
  if (!j.is_object() || j.empty()) {
    return ShapeError(path,
                      "must be an object of one or more attribute "
                      "names and string values, like {\"type\": "
                      "\"order.created\"}");
  }
  std::vector<Filter> leaves;
  for (const auto& [name, value] : j.items()) {
    if (!IsCoreAttributeName(name) && !IsValidExtensionName(name)) {
      return ShapeError(path, "names attribute '" + name +
                                  "', which is not a CloudEvents attribute "
                                  "or extension name (1 to 20 characters of "
                                  "a-z and 0-9)");
    }
    if (!value.is_string()) {
      return ShapeError(path, "gives attribute '" + name + "' a " +
                                  value.type_name() + "; values are strings");
    }
    std::string v = value.get<std::string>();
    leaves.push_back(kind == Kind::kExact    ? Filter::Exact(name, v)
                     : kind == Kind::kPrefix ? Filter::Prefix(name, v)
                                             : Filter::Suffix(name, v));
  }
  if (leaves.size() == 1) return std::move(leaves.front());
  return Filter::All(std::move(leaves));
}

Result<std::vector<Filter>> FilterParser::ParseList(const Json& j,
                                                    const std::string& path) {
  if (!j.is_array()) {
    return ShapeError(path, "must be an array of filter objects");
  }
  std::vector<Filter> children;
  children.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    EM_ASSIGN_OR_RETURN(
        Filter child, ParseObject(j[i], path + "[" + std::to_string(i) + "]"));
    children.push_back(std::move(child));
  }
  return children;
}

}  // namespace

Result<Filter> Filter::FromJson(std::string_view json) {
  Json j;
  std::string error;
  if (!internal::ParseJson(json, &j, &error, kMaxFilterJsonDepth)) {
    return InvalidArgument("filters are not valid JSON: " + error);
  }
  return FilterParser().ParseTop(j);
}

}  // namespace eventmesh
