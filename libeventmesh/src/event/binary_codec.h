// Internals of the binary event encoding (see event.h for the contract).
//
// Layout of format version 1, every integer an unsigned LEB128 varint in
// its shortest form and every string a varint length followed by bytes:
//
//   u8      version (kBinaryFormatVersion)
//   string  topic
//   varint  sequence
//   varint  stored_at_nanos, zigzag-encoded
//   string  id, source, type, specversion,
//           subject, time, datacontenttype, dataschema
//   varint  number of extensions, then per extension: string name, value
//   string  data
//
// The mesh fields come first so that routing code can read them without
// decoding the rest. Because varints must be minimal, an event has exactly
// one encoding: EncodeBinary(DecodeBinary(b)) == b. Thread-safe.

#ifndef EVENTMESH_SRC_EVENT_BINARY_CODEC_H_
#define EVENTMESH_SRC_EVENT_BINARY_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "eventmesh/event.h"
#include "eventmesh/status.h"

namespace eventmesh::internal {

// The exact number of bytes AppendBinary writes for `event`.
size_t EncodedBinarySize(const Event& event);

// Writes the encoding of `event` to `out`, which has room for exactly
// `size` == EncodedBinarySize(event) bytes (e.g. a page reserved in a
// database), so a caller that sized the event once encodes it in place.
void EncodeBinaryTo(const Event& event, char* out, size_t size);

// Decodes like DecodeBinary, into `*event`, which must be
// default-constructed: a caller that allocates the event itself (e.g. with
// std::make_shared) decodes without moving it afterwards. On error
// `*event` is partly filled.
Status DecodeBinaryInto(std::string_view bytes, Event* event);

// The mesh fields of an encoded event. `topic` points into the bytes given
// to PeekBinaryHeader and lives as long as they do.
struct BinaryEventHeader {
  std::string_view topic;
  uint64_t sequence = 0;
  int64_t stored_at_nanos = 0;
};

// Reads only the mesh fields of an encoded event, without allocating. The
// rest of the bytes is not checked; DecodeBinary does that. Errors are as
// DecodeBinary's.
Result<BinaryEventHeader> PeekBinaryHeader(std::string_view bytes);

}  // namespace eventmesh::internal

#endif  // EVENTMESH_SRC_EVENT_BINARY_CODEC_H_
