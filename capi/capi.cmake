# libeventmesh_c: the C API as a shared library. The core is linked in
# statically and only the em_* functions are exported (hidden visibility
# for our own code, a version script for everything linked in).
file(GLOB EVENTMESH_CAPI_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cc)

add_library(eventmesh_c SHARED ${EVENTMESH_CAPI_SOURCES})
add_library(eventmesh::capi ALIAS eventmesh_c)
set_target_properties(eventmesh_c PROPERTIES
  OUTPUT_NAME eventmesh_c
  EXPORT_NAME capi
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  C_VISIBILITY_PRESET hidden
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  PUBLIC_HEADER ${CMAKE_CURRENT_SOURCE_DIR}/include/eventmesh.h
  LINK_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/eventmesh_c.map)
target_compile_definitions(eventmesh_c PRIVATE EVENTMESH_C_BUILDING)
target_include_directories(eventmesh_c PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(eventmesh_c PRIVATE
  $<BUILD_INTERFACE:eventmesh> $<BUILD_INTERFACE:eventmesh_warnings>)
target_link_options(eventmesh_c PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_SOURCE_DIR}/eventmesh_c.map
  -Wl,--no-undefined)
