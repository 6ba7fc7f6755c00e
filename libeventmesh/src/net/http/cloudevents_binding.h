// The CloudEvents HTTP Protocol Binding 1.0: events from requests in
// binary, structured and batch mode, and events into binary-mode messages.
//
// Binary mode: each context attribute is a "ce-<name>" header whose value
// is percent-encoded; datacontenttype is Content-Type; the body is data.
// Structured mode: Content-Type application/cloudevents+json and the event
// in the CloudEvents JSON format. Batch mode: Content-Type
// application/cloudevents-batch+json and a JSON array of events.
//
// Thread-safety: pure functions.

#ifndef EVENTMESH_SRC_NET_HTTP_CLOUDEVENTS_BINDING_H_
#define EVENTMESH_SRC_NET_HTTP_CLOUDEVENTS_BINDING_H_

#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/status.h"
#include "net/http/http_message.h"

namespace eventmesh::http {

enum class BindingMode { kBinary, kStructured, kBatch };

// Which mode `request` uses; kInvalidArgument when it is none of them (no
// ce-specversion header and no CloudEvents content type) or when it is a
// structured format other than JSON.
Result<BindingMode> DetectMode(const Request& request);

// The events of `request`, one unless batch mode. Attributes are checked
// with Event::Validate() by the mesh when it accepts them, not here.
Result<std::vector<Event>> DecodeEvents(const Request& request);

// Binary mode: the event from `ce-*` headers, Content-Type and body. The
// headers ce-topic, ce-sequence and ce-storedat (the mesh's fields, which
// EncodeBinaryMode may add) are ignored.
Result<Event> DecodeBinaryMode(const std::vector<Header>& headers,
                               std::string body);

// Adds the binary-mode headers of `event` to `*headers` (Content-Type from
// datacontenttype) and returns the body. With `include_mesh_fields`, the
// mesh's topic, sequence and stored time go along as the extension headers
// ce-topic, ce-sequence and ce-storedat.
std::string EncodeBinaryMode(const Event& event, bool include_mesh_fields,
                             std::vector<Header>* headers);

// The media type of a Content-Type value: lower-cased, parameters and
// spaces removed ("application/json; charset=utf-8" -> "application/json").
std::string MediaType(std::string_view content_type);

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_CLOUDEVENTS_BINDING_H_
