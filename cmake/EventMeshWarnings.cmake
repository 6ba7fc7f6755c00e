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

# Fuzzing (tests/fuzz): everything is compiled for libFuzzer's coverage
# and checked by ASan+UBSan; tests/fuzz links each target with libFuzzer.
if(EVENTMESH_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "EVENTMESH_FUZZ=ON needs clang for libFuzzer, but "
      "the C++ compiler is ${CMAKE_CXX_COMPILER_ID}. Configure with "
      "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++, or run "
      "tools/fuzz.sh.")
  endif()
  if(EVENTMESH_SANITIZE)
    message(FATAL_ERROR "EVENTMESH_FUZZ=ON brings its own sanitizers "
      "(address,undefined); leave EVENTMESH_SANITIZE empty.")
  endif()
  if(NOT EVENTMESH_BUILD_TESTS)
    message(FATAL_ERROR "EVENTMESH_FUZZ=ON needs EVENTMESH_BUILD_TESTS=ON: "
      "the fuzz targets live in tests/fuzz.")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
