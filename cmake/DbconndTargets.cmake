# Shared build settings: one warnings target every project target links.
add_library(dbconnd_warnings INTERFACE)
# GCC 12 at -O1 reports asio's awaitable frame allocator as a mismatched
# new/delete pair once a coroutine is inlined; asio pairs them correctly.
# Off once here rather than per file; the asan preset still catches a real
# mismatch at run time.
target_compile_options(dbconnd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>
  $<$<BOOL:${DBCONND_WERROR}>:-Werror>)

# dbconnd_library(NAME folder_target [SOURCES ...] [DEPS ...])
# One library per folder; sources default to every *.cc in the folder.
function(dbconnd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;EXCLUDE" ${ARGN})
  if(NOT ARG_SOURCES)
    file(GLOB ARG_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
    foreach(ex IN LISTS ARG_EXCLUDE)
      list(FILTER ARG_SOURCES EXCLUDE REGEX "/${ex}$")
    endforeach()
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE dbconnd_warnings)
endfunction()

# dbconnd_test_folder(NAME DEPS ...): one Catch2 binary for every *_test.cc
# in the calling folder, registered with ctest.
function(dbconnd_test_folder name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} dbconnd_test_main dbconnd_warnings)
  target_compile_definitions(${name} PRIVATE
    DBCONND_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    DBCONND_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(labels ${ARG_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  # --warn NoTests: a ctest entry whose name no longer matches a test case
  # (e.g. a name with ';' split by CMake) fails instead of passing empty.
  catch_discover_tests(${name} TEST_PREFIX "${name}:" EXTRA_ARGS --warn NoTests
                       PROPERTIES LABELS "${labels}"
                       DISCOVERY_TIMEOUT 60)
endfunction()
