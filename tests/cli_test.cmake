# Runs the cutover binary once and checks its exit code and output (cmake -P, driven by CTest).
#   -DBIN=path       the binary
#   -DARGS=a@@b      its arguments, separated by @@ (a ';' would split the CTest command line)
#   -DEXIT=n         the expected exit code
#   -DSTDOUT=r1@@r2  regular expressions that must all match stdout (optional)
#   -DSTDERR=r1@@r2  regular expressions that must all match stderr (optional)
#   -DQUIET_STDOUT=1 stdout must be empty (optional)
cmake_minimum_required(VERSION 3.18)

if(NOT DEFINED BIN OR NOT DEFINED EXIT)
  message(FATAL_ERROR "cli_test.cmake needs -DBIN and -DEXIT")
endif()

set(args "")
if(DEFINED ARGS AND NOT ARGS STREQUAL "")
  string(REPLACE "@@" ";" args "${ARGS}")
endif()

execute_process(COMMAND "${BIN}" ${args}
                RESULT_VARIABLE code
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err)

set(failures "")
if(NOT code STREQUAL "${EXIT}")
  string(APPEND failures "exit code: expected ${EXIT}, got ${code}\n")
endif()

function(check_all stream text patterns)
  if(patterns STREQUAL "")
    return()
  endif()
  string(REPLACE "@@" ";" list "${patterns}")
  foreach(p IN LISTS list)
    if(NOT text MATCHES "${p}")
      set(failures "${failures}${stream} does not match: ${p}\n" PARENT_SCOPE)
      set(failures "${failures}${stream} does not match: ${p}\n")
    endif()
  endforeach()
endfunction()

if(DEFINED STDOUT)
  check_all(stdout "${out}" "${STDOUT}")
endif()
if(DEFINED STDERR)
  check_all(stderr "${err}" "${STDERR}")
endif()
if(QUIET_STDOUT AND NOT out STREQUAL "")
  string(APPEND failures "stdout should be empty\n")
endif()

string(REPLACE ";" " " shown "${args}")
if(NOT failures STREQUAL "")
  message(FATAL_ERROR "${BIN} ${shown}\n${failures}--- stdout:\n${out}--- stderr:\n${err}")
endif()
message(STATUS "ok: ${BIN} ${shown} exited ${code}")
