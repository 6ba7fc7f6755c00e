# Warnings are high for our own targets; -Werror only when CI asks for it,
# never on consumers of the installed package.
add_library(eventmesh_warnings INTERFACE)
target_compile_options(eventmesh_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>)
if(EVENTMESH_WERROR)
  target_compile_options(eventmesh_warnings INTERFACE -Werror)
endif()

if(EVENTMESH_SANITIZE)
  set(_san "-fsanitize=${EVENTMESH_SANITIZE}" -fno-omit-frame-pointer)
  if(EVENTMESH_SANITIZE MATCHES "undefined")
    list(APPEND _san -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()
