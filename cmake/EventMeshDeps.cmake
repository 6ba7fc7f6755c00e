# Every dependency comes from Debian's packages, found through CMake
# config files or pkg-config.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
pkg_check_modules(LIBZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
# JSON: the CloudEvents JSON format and the HTTP API.
find_package(nlohmann_json 3.10 REQUIRED)
# TOML: the server's configuration file.
find_package(tomlplusplus 3 QUIET)
if(NOT tomlplusplus_FOUND)
  pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
  add_library(tomlplusplus::tomlplusplus ALIAS PkgConfig::TOMLPP)
endif()
# HTTP/1.1 request parsing.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(eventmesh_http_parser INTERFACE)
target_include_directories(eventmesh_http_parser INTERFACE
  ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(eventmesh_http_parser INTERFACE ${HTTP_PARSER_LIBRARY})
find_path(CPPZMQ_INCLUDE_DIR zmq.hpp REQUIRED)

if(EVENTMESH_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(EVENTMESH_BUILD_TOOLS)
  find_package(benchmark REQUIRED)
endif()

# The allocator of eventmesh-server, -cli and -bench. An event is built on
# one thread and freed on another (the reclaimer, a connection's loop), and
# glibc's malloc spends about half of a 100-byte event's CPU on such frees
# and the consolidation they cause; jemalloc does not. The library itself
# leaves the allocator to the program that embeds it, and sanitizer builds
# keep their own.
add_library(eventmesh_program_allocator INTERFACE)
if(EVENTMESH_JEMALLOC AND NOT EVENTMESH_SANITIZE)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
  target_link_libraries(eventmesh_program_allocator INTERFACE
    PkgConfig::JEMALLOC)
endif()
